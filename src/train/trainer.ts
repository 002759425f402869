// `resnet train`: data (Fashion-MNIST's IDX files or the user's labelled folder), then per net a NetTrainer
// (net-trainer.ts: augmentation, SGD with the paper's schedule or cosine with warm-up for small folders, a
// validation pass per epoch) on worker threads, with a checkpoint and logs (CSV and JSON) after every epoch,
// and the trained model written as ONNX with its metadata and sidecar.
// `--race` trains a plain net and its residual twin together, step for step: side by side on their own
// threads (one net's steps in workers, the other's on this thread) when there are two threads or more.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { FASHION_MNIST } from '../datasets';
import { UserError } from '../errors';
import { serializeOnnx } from '../onnx/write';
import type { EpochRecord, Recipe } from '../sidecar';
import { writeUserFile } from '../write-file';
import { type Checkpoint, encodeCheckpoint, readCheckpoint } from './checkpoint';
import { loadFashionMnist } from './data';
import { createEngine, shareWeightGradsAcross } from './engine';
import { describeFolder, isIdxFolder, loadImageFolder } from './folder';
import type { ImageSet } from './image-set';
import { type ClassReport, reportLines } from './metrics';
import {
  buildTrainNet, estimateSeconds, FOLDER_RECIPE, formatDuration, freshStart, makeRecipe, NetTrainer, type RecipeInput, recipeText, sidecarOf, type TrainData,
  trainableSpec, TrainUsageError, trainSpec, twinOf,
} from './net-trainer';

/** The recipe the shipped models were trained with (see models/cards): `resnet train`'s defaults on Fashion-MNIST. */
export const SHIPPED_RECIPE = { epochs: 8, batch: 128, lr: 0.1 } as const;

/** How a folder is read: channels, image size, held-out share. */
export interface FolderOptions {
  readonly channels: 1 | 3;
  readonly size: number;
  readonly valFraction: number;
}

export interface TrainRunOptions {
  readonly recipe: RecipeInput;
  readonly dataDir: string;
  /** The model's files go here; with `race`, into outDir/<model>/ for each net. */
  readonly outDir: string;
  readonly resume: boolean;
  readonly threads: number;
  /** How a folder data set is decoded (ignored for Fashion-MNIST's IDX files). */
  readonly folder?: FolderOptions;
  /** Also train the twin (resnetN <-> plainN), step for step (side by side with 2+ threads). */
  readonly race?: boolean;
  /** Progress lines (ETA, loss, accuracy). */
  readonly log: (line: string) => void;
  /** Stops training between two steps (the last epoch's checkpoint stays, so --resume continues it). */
  readonly signal?: AbortSignal;
}

export interface TrainResult {
  readonly recipe: Recipe;
  readonly history: readonly EpochRecord[];
  readonly onnxPath: string;
  readonly sidecarPath: string;
  readonly testAccuracy: number;
  readonly validation: ClassReport;
}

/** Training stopped by its AbortSignal. */
export class TrainingCancelled extends UserError {
  override name = 'TrainingCancelled';
}

const CHECKPOINT_FILE = 'checkpoint.bin';

function historyCsv(history: readonly EpochRecord[]): string {
  const head = 'epoch,lr,train_loss,train_error,test_loss,test_error,seconds,images_per_second,threads';
  const rows = history.map((h) => [h.epoch, h.lr, h.trainLoss.toFixed(5), h.trainError.toFixed(5), h.testLoss.toFixed(5), h.testError.toFixed(5), h.seconds.toFixed(1), h.imagesPerSecond.toFixed(1), h.threads].join(','));
  return `${[head, ...rows].join('\n')}\n`;
}

export function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

function sameRecipe(a: Recipe, b: Recipe): string | null {
  for (const k of ['model', 'shortcut', 'dataset', 'epochs', 'batch', 'lr', 'warmupSteps', 'weightDecay', 'schedule', 'init', 'seed', 'trainImages', 'testImages'] as const) {
    if (a[k] !== b[k]) return `${k} is ${String(b[k])} in the checkpoint, ${String(a[k])} now`;
  }
  return null;
}

function limitSet(set: ImageSet, limit: number | undefined): ImageSet {
  if (limit === undefined || limit >= set.count) return set;
  const per = set.channels * set.rows * set.cols;
  return { ...set, count: limit, images: set.images.subarray(0, limit * per), labels: set.labels.subarray(0, limit) };
}

/** Reads what `dataDir` holds: Fashion-MNIST's IDX files, or a labelled folder (told apart by content). */
async function loadTrainData(dataDir: string, folder: FolderOptions | undefined, limit: number | undefined, seed: number, log: (line: string) => void): Promise<TrainData> {
  if (!existsSync(dataDir) || isIdxFolder(dataDir)) {
    const { train, test } = loadFashionMnist(dataDir, { limit, testLimit: limit });
    return { kind: 'fashion-mnist', name: FASHION_MNIST.name, train, test, labels: FASHION_MNIST.labels };
  }
  const f = folder ?? { channels: 3, size: FOLDER_RECIPE.size, valFraction: FOLDER_RECIPE.valFraction };
  const d = await loadImageFolder(dataDir, {
    channels: f.channels, size: f.size, valFraction: f.valFraction, seed,
    progress: (done, total) => log(`decoding images: ${done}/${total}`),
  });
  for (const line of describeFolder(dataDir, d)) log(line);
  return {
    kind: 'folder', name: basename(resolve(dataDir)), train: limitSet(d.train, limit), test: limitSet(d.val, limit), labels: d.classes,
    testPaths: d.valPaths,
  };
}

/** What trainTogether drives: one model's training, step by step. */
export interface RaceRun {
  readonly model: string;
  readonly recipe: Pick<Recipe, 'epochs'>;
  readonly stepsPerEpoch: number;
  /** Epochs already done (a resumed checkpoint). */
  readonly start: number;
  readonly secondsPerStep: number;
  beginEpoch(epoch: number): void;
  step(epoch: number, s: number): Promise<void>;
  progress(epoch: number, s: number, eta: string, prefix?: string): string;
  secondsLeft(epoch: number, s: number): number;
  endEpoch(epoch: number, prefix?: string): Promise<unknown>;
}

/** Called before each round of side-by-side steps with which runs step in it (shareWeightGradsAcross). */
type BeforeRound = (stepping: readonly boolean[]) => void;

/** The threads of one run, and whether this thread is one of them. */
interface ThreadShare {
  readonly count: number;
  readonly inThisThread: boolean;
}

/**
 * How a run's threads are shared among its nets: a race on two threads or more runs its nets side by side,
 * the first all in workers and the second with this thread, each on its share (so each net's batch norm sees
 * its whole batch on two threads, as PyTorch's and the app's do); otherwise every net takes all the threads in turn.
 */
export function shareThreads(threads: number, nets: number): ThreadShare[] {
  if (nets < 2 || threads < nets) return Array.from({ length: nets }, () => ({ count: threads, inThisThread: true }));
  const each = Math.floor(threads / nets);
  return Array.from({ length: nets }, (_, i) => i < nets - 1 ? { count: each, inThisThread: false } : { count: threads - each * (nets - 1), inThisThread: true });
}

/** One model's training in the CLI: a NetTrainer with its worker threads, checkpoint, logs and files. */
class TrainRun implements RaceRun {
  private constructor(readonly core: NetTrainer, readonly outDir: string, private readonly log: (line: string) => void) {}

  static async open(
    model: string, input: RecipeInput, data: TrainData, outDir: string, resume: boolean, threads: ThreadShare, log: (line: string) => void,
  ): Promise<TrainRun> {
    const spec = trainSpec(model, input.shortcut, data);
    const recipe = makeRecipe(model, input, spec, data);
    mkdirSync(outDir, { recursive: true });
    const ckptPath = join(outDir, CHECKPOINT_FILE);
    let ckpt: Checkpoint<Recipe, EpochRecord> | null = null;
    if (existsSync(ckptPath)) {
      if (!resume) throw new TrainUsageError(`${outDir} already holds a training checkpoint: add --resume to continue it, or choose another --out`);
      ckpt = readCheckpoint<Recipe, EpochRecord>(ckptPath);
      const diff = ckpt && sameRecipe(recipe, ckpt.recipe);
      if (diff) throw new TrainUsageError(`cannot resume ${ckptPath}: ${diff}`);
    } else if (resume) {
      log(`no checkpoint in ${outDir}: starting from scratch`);
    }
    const { graph, net } = buildTrainNet(spec, recipe, Math.ceil(recipe.batch / threads.count));
    // Workers build their nets from the same graph; their initial values are overwritten by every step.
    const engine = await createEngine(net, serializeOnnx(graph), threads.count, threads.inThisThread);
    const from = ckpt
      ? { theta: Float32Array.from(ckpt.params), states: Float32Array.from(ckpt.states), velocity: Float32Array.from(ckpt.velocity), epochsDone: ckpt.epochsDone, history: ckpt.history }
      : freshStart(net);
    if (from.theta.length !== net.paramCount || from.states.length !== net.stateCount) {
      await engine.close();
      throw new TrainUsageError(`checkpoint ${ckptPath} does not fit ${recipe.model} (${from.theta.length} vs ${net.paramCount} parameters)`);
    }
    return new TrainRun(new NetTrainer(recipe, spec, data, net, engine, from), outDir, log);
  }

  get model(): string {
    return this.core.model;
  }

  get recipe(): Recipe {
    return this.core.recipe;
  }

  get data(): TrainData {
    return this.core.data;
  }

  get stepsPerEpoch(): number {
    return this.core.stepsPerEpoch;
  }

  get start(): number {
    return this.core.start;
  }

  get secondsPerStep(): number {
    return this.core.secondsPerStep;
  }

  describe(): string {
    return this.core.describe();
  }

  beginEpoch(epoch: number): void {
    this.core.beginEpoch(epoch);
  }

  step(epoch: number, s: number): Promise<void> {
    return this.core.step(epoch, s);
  }

  progress(epoch: number, s: number, eta: string, prefix = ''): string {
    return this.core.progress(epoch, s, eta, prefix);
  }

  secondsLeft(epoch: number, s: number): number {
    return this.core.secondsLeft(epoch, s);
  }

  async endEpoch(epoch: number, prefix = ''): Promise<EpochRecord> {
    const { core } = this;
    const r = core.recipe;
    const rec = await core.evaluateEpoch(epoch);
    writeUserFile(join(this.outDir, CHECKPOINT_FILE), encodeCheckpoint<Recipe, EpochRecord>({
      recipe: r, epochsDone: epoch + 1, history: core.history, paramCount: core.theta.length, stateCount: core.states.length,
      params: core.theta, states: core.states, velocity: core.velocity,
    }));
    writeUserFile(join(this.outDir, `${r.model}.log.csv`), historyCsv(core.history));
    writeUserFile(join(this.outDir, `${r.model}.log.json`), `${JSON.stringify({ recipe: r, recipeText: recipeText(r), history: core.history }, null, 2)}\n`);
    const what = core.data.kind === 'folder' ? 'validation' : 'test';
    this.log(`${prefix}epoch ${epoch + 1}/${r.epochs} done in ${formatDuration(rec.seconds)}: train error ${(100 * rec.trainError).toFixed(2)}%, ` +
      `${what} error ${(100 * rec.testError).toFixed(2)}% (${what} loss ${rec.testLoss.toFixed(4)}); checkpoint saved`);
    return rec;
  }

  /** Exports the ONNX model and sidecar; evaluates first if no epoch ran in this process. */
  async finish(): Promise<TrainResult> {
    const { core } = this;
    const r = core.recipe;
    const exp = await core.exportModel();
    const onnxPath = join(this.outDir, `${r.model}.onnx`);
    writeUserFile(onnxPath, exp.bytes);
    const sidecar = sidecarOf(exp, r, core.history, sha256(exp.bytes), core.data.kind === 'folder');
    const sidecarPath = join(this.outDir, `${r.model}.json`);
    writeUserFile(sidecarPath, `${JSON.stringify(sidecar, null, 2)}\n`);
    return { recipe: r, history: core.history, onnxPath, sidecarPath, testAccuracy: exp.meta.training?.testAccuracy ?? 0, validation: exp.report };
  }

  close(): Promise<void> {
    return this.core.engine.close();
  }
}

/**
 * Trains the runs together: step s of every run, then step s + 1 of every run, ..., so a race's nets
 * progress at the same pace: `sideBySide`, each run's step s at once (each on its own threads, the runs in
 * workers started first), else one after the other; every run is evaluated at the end of each epoch. A run
 * resumed further than another joins at its own next epoch. One progress line per run.
 */
export async function trainTogether(
  runs: readonly RaceRun[], log: (line: string) => void, signal?: AbortSignal, sideBySide = false, beforeRound?: BeforeRound,
): Promise<void> {
  const race = runs.length > 1;
  const prefix = (run: RaceRun): string => (race ? `${run.model.padEnd(Math.max(...runs.map((x) => x.model.length)))}  ` : '');
  const first = Math.min(...runs.map((r) => r.start));
  const epochs = runs[0]!.recipe.epochs;
  const steps = runs[0]!.stepsPerEpoch;
  // Side by side the race takes as long as its slowest net; in turn, the sum of the nets' times.
  const total = (xs: number[]): number => (sideBySide ? Math.max(...xs) : xs.reduce((a, b) => a + b, 0));
  for (let epoch = first; epoch < epochs; epoch++) {
    const active = runs.filter((r) => epoch >= r.start);
    for (const run of active) run.beginEpoch(epoch);
    const t0 = performance.now();
    let lastLog = t0;
    for (let s = 0; s < steps; s++) {
      if (signal?.aborted) {
        throw new TrainingCancelled(`training cancelled at epoch ${epoch + 1}, step ${s + 1}: ${epoch > 0 ? `the checkpoint of epoch ${epoch} is kept (--resume continues it)` : 'no epoch was finished'}`);
      }
      if (sideBySide) {
        beforeRound?.(runs.map((r) => active.includes(r)));
        await Promise.all(active.map((run) => run.step(epoch, s)));
      }
      else for (const run of active) await run.step(epoch, s);
      const now = performance.now();
      if (now - lastLog > 30000 || s === steps - 1 || s === 9) {
        lastLog = now;
        const left = total(active.map((r) => r.secondsLeft(epoch, s)));
        const epochLeft = total(active.map((r) => (steps - s - 1) * r.secondsPerStep));
        for (const run of active) log(run.progress(epoch, s, `epoch ${formatDuration(epochLeft)}, run ${formatDuration(left)}`, prefix(run)));
      }
    }
    for (const run of active) await run.endEpoch(epoch, prefix(run));
  }
}

/** Times two steps of each net (at once when they run side by side) and logs the whole run's estimate. */
async function estimate(runs: readonly TrainRun[], sideBySide: boolean, log: (line: string) => void, beforeRound?: BeforeRound): Promise<void> {
  const todo = runs.filter((r) => r.start < r.recipe.epochs);
  if (todo.length === 0) return;
  const perStep: number[] = [];
  if (sideBySide) {
    // Round by round, as the race steps them: a loop of steps on this thread would hold back the replies
    // of the net in workers, and time that net as slow as both together.
    const round = async (): Promise<void> => {
      beforeRound?.(runs.map((r) => todo.includes(r)));
      await Promise.all(todo.map((r) => r.core.trialStep()));
    };
    await round();
    const t0 = performance.now();
    for (let s = 0; s < 2; s++) await round();
    perStep.push(...todo.map(() => (performance.now() - t0) / 1000 / 2));
  } else {
    for (const run of todo) perStep.push(await run.core.timeSteps(2));
  }
  const each = todo.map((run, i) => estimateSeconds(perStep[i]!, run.stepsPerEpoch, run.recipe.epochs - run.start, run.data.test.count, run.recipe.batch));
  const total = sideBySide ? Math.max(...each) : each.reduce((a, b) => a + b, 0);
  const times = sideBySide
    ? [`${todo.map((r) => r.model).join(' and ')} side by side ${perStep[0]!.toFixed(2)} s a step of ${todo[0]!.recipe.batch}`]
    : todo.map((run, i) => `${run.model} ${perStep[i]!.toFixed(2)} s a step of ${run.recipe.batch}`);
  log(`estimated time: ${formatDuration(total)} (${times.join(', ')}; measured on 2 steps)`);
}

/** Trains (or resumes) one model, or with `race` the model and its twin, as the options say. */
export async function trainModels(opts: TrainRunOptions): Promise<TrainResult[]> {
  const { recipe: input, outDir, log } = opts;
  if (input.batch < 2) throw new TrainUsageError('--batch must be at least 2 (batch norm needs batch statistics)');
  trainableSpec(input.model);
  const models = opts.race ? [input.model, twinOf(input.model)] : [input.model];
  const data = await loadTrainData(opts.dataDir, opts.folder, input.limit, input.seed ?? 1, log);
  if (data.train.count < input.batch) throw new TrainUsageError(`--batch ${input.batch} is larger than the ${data.train.count} training images`);
  if (data.test.count === 0) throw new TrainUsageError('no validation images: give the folder a val/ folder, or keep --val above 0');
  const threads = Math.max(1, Math.min(opts.threads, input.batch));
  const runs: TrainRun[] = [];
  try {
    const shares = shareThreads(threads, models.length);
    const sideBySide = shares.some((s) => !s.inThisThread);
    for (const [i, m] of models.entries()) runs.push(await TrainRun.open(m, input, data, opts.race ? join(outDir, m) : outDir, opts.resume, shares[i]!, log));
    for (const run of runs) log(run.describe());
    if (data.kind === 'folder') log(`recipe: ${recipeText(runs[0]!.recipe)}`);
    // Side by side, a net's threads done with their step help with the other's weight gradients.
    const beforeRound = sideBySide ? (await shareWeightGradsAcross(runs.map((r) => r.core.engine))) ?? undefined : undefined;
    await estimate(runs, sideBySide, log, beforeRound);
    await trainTogether(runs, log, opts.signal, sideBySide, beforeRound);
    const results: TrainResult[] = [];
    for (const run of runs) {
      const out = await run.finish();
      results.push(out);
      if (data.kind === 'folder') {
        log(`${run.model}: validation accuracy ${(100 * out.validation.accuracy).toFixed(2)}% (${out.validation.correct}/${out.validation.images})`);
        for (const line of reportLines(out.validation)) log(`  ${line}`);
      }
      log(`exported ${out.onnxPath} (${data.kind === 'folder' ? 'validation' : 'test'} accuracy ${(100 * out.testAccuracy).toFixed(2)}%) and ${out.sidecarPath}`);
    }
    return results;
  } finally {
    await Promise.all(runs.map((r) => r.close()));
  }
}

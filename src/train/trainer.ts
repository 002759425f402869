// The training loop: data (Fashion-MNIST's IDX files or the user's labelled folder), augmentation, SGD with
// the paper's schedule (or cosine with warm-up for small folders), a validation pass and a checkpoint after
// every epoch, logs (CSV and JSON), and the trained model exported as ONNX with its metadata and sidecar.
// `--race` trains a plain net and its residual twin step by step in turn, so both progress together.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { FASHION_MNIST } from '../datasets';
import { UserError } from '../errors';
import type { ModelMeta, TrainingRecord } from '../model-meta';
import { META_KEY } from '../model-meta';
import { serializeOnnx } from '../onnx/write';
import type { EpochRecord, Recipe, Sidecar } from '../sidecar';
import { buildModel, seededRandom } from '../zoo/build';
import { isZooName, type ModelSpec, type ShortcutOption, zooSpec } from '../zoo/spec';
import { wasmBackend } from './backend';
import { writeUserFile } from '../write-file';
import { type Checkpoint, encodeCheckpoint, readCheckpoint } from './checkpoint';
import { type Augment, channelStats, fillBatch, type ImageSet, loadFashionMnist, PAPER_AUGMENT, pixelStats, shuffled } from './data';
import { createEngine, type GradientEngine } from './engine';
import { describeFolder, isIdxFolder, loadImageFolder } from './folder';
import { type ClassReport, ReportBuilder, reportLines } from './metrics';
import { TrainNet } from './net';
import { cosineLearningRate, PAPER_SGD, paperLearningRate, sgdStep } from './optim';

/** The recipe the shipped models were trained with (see models/cards): `resnet train`'s defaults on Fashion-MNIST. */
export const SHIPPED_RECIPE = { epochs: 8, batch: 128, lr: 0.1 } as const;

/**
 * The defaults for a user's folder (hundreds to a few thousand images, trained from scratch): smaller
 * batches (more steps on little data), cosine decay after one epoch of linear warm-up, stronger weight
 * decay, pad-4 crops, flips and a light brightness/contrast jitter. Measured in README.md
 * ("Training on your own folders").
 */
export const FOLDER_RECIPE = {
  epochs: 15, batch: 64, lr: 0.1, weightDecay: 5e-4, warmupEpochs: 1, schedule: 'cosine', size: 32, graySize: 28, valFraction: 0.2,
  augment: { pad: 4, flip: true, jitter: 0.1 },
} as const;

export interface RecipeInput {
  readonly model: string;
  readonly shortcut?: ShortcutOption;
  readonly epochs: number;
  readonly batch: number;
  readonly lr: number;
  /** Steps of warm-up (see optim.ts); folders default to one epoch's. */
  readonly warmupSteps?: number;
  readonly seed?: number;
  /** Only the first N training (and test) images: for smoke tests. */
  readonly limit?: number;
  readonly schedule?: 'steps' | 'cosine';
  readonly weightDecay?: number;
  readonly augment?: Augment;
}

/** How a folder is read: channels, image size, held-out share. */
export interface FolderOptions {
  readonly channels: 1 | 3;
  readonly size: number;
  readonly valFraction: number;
}

/** How weights start: the zoo's seeded He weights, fresh batch norms, residual branches silenced (see TrainNet). */
const INIT = 'He normal (fan-in), zoo seed; batch norm gamma 1, except 0 at the end of each residual branch';

export interface TrainRunOptions {
  readonly recipe: RecipeInput;
  readonly dataDir: string;
  /** The model's files go here; with `race`, into outDir/<model>/ for each net. */
  readonly outDir: string;
  readonly resume: boolean;
  readonly threads: number;
  /** How a folder data set is decoded (ignored for Fashion-MNIST's IDX files). */
  readonly folder?: FolderOptions;
  /** Also train the twin (resnetN <-> plainN), interleaved step by step. */
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

class TrainUsageError extends UserError {
  override name = 'TrainUsageError';
}

/** Training stopped by its AbortSignal. */
export class TrainingCancelled extends UserError {
  override name = 'TrainingCancelled';
}

const CHECKPOINT_FILE = 'checkpoint.bin';

/** What a run trains on, whichever the source. */
export interface TrainData {
  readonly kind: 'fashion-mnist' | 'folder';
  /** As recipes and model metadata name it: 'Fashion-MNIST', or the folder's name. */
  readonly name: string;
  readonly train: ImageSet;
  /** Fashion-MNIST's test set, or the folder's validation images. */
  readonly test: ImageSet;
  readonly labels: readonly string[];
  /** Relative paths of the test images (folders), for the worst mistakes. */
  readonly testPaths?: readonly string[];
}

/** The twin of a CIFAR-family zoo net: resnetN <-> plainN. */
function twinOf(model: string): string {
  const m = /^(resnet|plain)(\d+)$/.exec(model);
  const twin = m ? `${m[1] === 'resnet' ? 'plain' : 'resnet'}${m[2]}` : '';
  if (!m || !isZooName(twin)) throw new TrainUsageError(`--race needs a CIFAR-style zoo net with a twin (resnet20/plain20 ... resnet110/plain110), not '${model}'`);
  return twin;
}

/** The zoo spec of a model training covers (a CIFAR-style net), or a TrainUsageError. */
function trainableSpec(model: string): ModelSpec {
  const base = zooSpec(model);
  if (base.family !== 'cifar') throw new TrainUsageError(`--model ${model}: training covers the CIFAR-style nets (plain20..resnet110), not ImageNet ones`);
  return base;
}

/** The zoo spec a model is trained from: the data's channels, size and classes. */
function trainSpec(model: string, shortcut: ShortcutOption | undefined, data: TrainData): ModelSpec {
  const base = trainableSpec(model);
  return { ...base, ...(shortcut && { shortcut }), inputChannels: data.train.channels, inputSize: data.train.rows, classes: data.labels.length };
}

export function recipeText(r: Recipe): string {
  const cosine = r.schedule === 'cosine';
  const warm = r.warmupSteps > 0 ? (cosine ? `, after a linear warm-up over the first ${r.warmupSteps} steps` : `, first ${r.warmupSteps} steps at ${r.lr / 10}`) : '';
  const schedule = cosine ? `learning rate ${r.lr} decayed to 0 along a cosine${warm}` : `learning rate ${r.lr} divided by 10 at 50% and 75% of training${warm}`;
  const jitter = r.augment.jitter ? `, brightness and contrast jitter ${r.augment.jitter}` : '';
  const crop = r.augment.pad > 0 ? `${r.augment.pad}-pixel zero padding, random ${r.augment.flip ? 'crop and horizontal flip' : 'crop'}` : r.augment.flip ? 'random horizontal flip' : 'none';
  return `SGD, momentum ${r.momentum}, weight decay ${r.weightDecay}, batch ${r.batch}, ${r.epochs} epochs of ${r.trainImages} images, ` +
    `${schedule}; initialisation: ${r.init}; augmentation: ${crop}${jitter}; option ${r.shortcut} shortcuts in the residual nets; seed ${r.seed}`;
}

function formatDuration(s: number): string {
  if (!Number.isFinite(s)) return '?';
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = Math.floor(s % 60);
  return h > 0 ? `${h}h${String(m).padStart(2, '0')}m` : m > 0 ? `${m}m${String(sec).padStart(2, '0')}s` : `${sec}s`;
}

/** Loss, error and the class report of a model over a whole set, in inference mode. */
async function evaluate(
  engine: GradientEngine, theta: Float32Array, states: Float32Array, data: TrainData, mean: Recipe['mean'], std: Recipe['std'], batch: number,
): Promise<{ loss: number; error: number; report: ClassReport }> {
  const set = data.test;
  const classes = data.labels.length;
  const per = set.channels * set.rows * set.cols;
  const images = new Float32Array(batch * per);
  const builder = new ReportBuilder(data.labels);
  let loss = 0;
  for (let start = 0; start < set.count; start += batch) {
    const n = Math.min(batch, set.count - start);
    const idx = Int32Array.from({ length: n }, (_, i) => start + i);
    fillBatch(set, idx, mean, std, images);
    const logits = await engine.predict(theta, states, images.subarray(0, n * per), n);
    for (let i = 0; i < n; i++) {
      const row = logits.subarray(i * classes, (i + 1) * classes);
      let max = -Infinity;
      for (let k = 0; k < classes; k++) if (row[k]! > max) max = row[k]!;
      let z = 0;
      for (let k = 0; k < classes; k++) z += Math.exp(row[k]! - max);
      const label = set.labels[start + i]!;
      loss += Math.log(z) - (row[label]! - max);
      builder.add(label, row, data.testPaths?.[start + i] ?? `#${start + i}`);
    }
  }
  const report = builder.report();
  return { loss: loss / Math.max(1, set.count), error: 1 - report.accuracy, report };
}

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

/** The full recipe of one model on this data: the input's values, else the defaults of the data's kind. */
function makeRecipe(model: string, input: RecipeInput, spec: ModelSpec, data: TrainData): Recipe {
  const folder = data.kind === 'folder';
  const steps = Math.floor(data.train.count / input.batch);
  const base = {
    model, shortcut: spec.shortcut, dataset: data.name, epochs: input.epochs, batch: input.batch, lr: input.lr, momentum: PAPER_SGD.momentum,
    init: INIT, seed: input.seed ?? 1, trainImages: data.train.count, testImages: data.test.count,
  };
  if (!folder) {
    const stats = pixelStats(data.train);
    return {
      ...base, lrSteps: 'divide by 10 at 50% and 75% of the steps', warmupSteps: input.warmupSteps ?? 0, weightDecay: input.weightDecay ?? PAPER_SGD.weightDecay,
      augment: input.augment ?? PAPER_AUGMENT, mean: Number(stats.mean.toFixed(6)), std: Number(stats.std.toFixed(6)),
      ...(input.schedule === 'cosine' && { schedule: 'cosine' as const }),
    };
  }
  const stats = channelStats(data.train);
  const schedule = input.schedule ?? FOLDER_RECIPE.schedule;
  return {
    ...base, lrSteps: schedule === 'cosine' ? 'cosine to 0 after a linear warm-up' : 'divide by 10 at 50% and 75% of the steps',
    warmupSteps: input.warmupSteps ?? FOLDER_RECIPE.warmupEpochs * steps, weightDecay: input.weightDecay ?? FOLDER_RECIPE.weightDecay,
    augment: input.augment ?? FOLDER_RECIPE.augment, mean: stats.mean.map((v) => Number(v.toFixed(6))), std: stats.std.map((v) => Number(v.toFixed(6))),
    schedule, input: [data.train.channels, data.train.rows, data.train.cols], classes: data.labels.length,
  };
}

function learningRate(r: Recipe, step: number, totalSteps: number): number {
  return r.schedule === 'cosine' ? cosineLearningRate(r.lr, step, totalSteps, r.warmupSteps) : paperLearningRate(r.lr, step, totalSteps, r.warmupSteps);
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

/** One model's training: its net, engine, optimizer state, history and files. */
class TrainRun implements RaceRun {
  readonly stepsPerEpoch: number;
  readonly totalSteps: number;
  readonly history: EpochRecord[];
  readonly start: number;
  /** Seconds per step measured so far (NaN before any step). */
  secondsPerStep = NaN;
  private readonly images: Float32Array;
  private readonly labels: Int32Array;
  private readonly per: number;
  private order: Int32Array = new Int32Array(0);
  private rng = seededRandom(0);
  private epochStats = { loss: 0, wrong: 0, seen: 0, lr: 0, stepTime: 0 };
  private lastReport: ClassReport | null = null;

  private constructor(
    readonly recipe: Recipe, readonly spec: ModelSpec, readonly data: TrainData, readonly outDir: string, readonly net: TrainNet,
    readonly engine: GradientEngine, readonly threads: number, private readonly theta: Float32Array, private readonly states: Float32Array,
    private readonly velocity: Float32Array, ckpt: Checkpoint<Recipe, EpochRecord> | null, private readonly log: (line: string) => void,
  ) {
    this.stepsPerEpoch = Math.floor(data.train.count / recipe.batch);
    this.totalSteps = this.stepsPerEpoch * recipe.epochs;
    this.history = ckpt ? [...ckpt.history] : [];
    this.start = ckpt ? ckpt.epochsDone : 0;
    this.per = data.train.channels * data.train.rows * data.train.cols;
    this.images = new Float32Array(recipe.batch * this.per);
    this.labels = new Int32Array(recipe.batch);
  }

  static async open(model: string, input: RecipeInput, data: TrainData, outDir: string, resume: boolean, threads: number, log: (line: string) => void): Promise<TrainRun> {
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
    const graph = buildModel(spec, { name: recipe.model, seed: recipe.seed });
    const shardBatch = Math.ceil(recipe.batch / threads);
    const net = new TrainNet(graph, { backend: wasmBackend(), maxBatch: shardBatch, resetBatchNorm: true });
    net.zeroResidualBranchGammas();
    // Workers build their nets from the same graph; their initial values are overwritten by every step.
    const engine = await createEngine(net, serializeOnnx(graph), threads);
    const theta = ckpt ? Float32Array.from(ckpt.params) : net.getParams();
    const states = ckpt ? Float32Array.from(ckpt.states) : net.getStates();
    const velocity = ckpt ? Float32Array.from(ckpt.velocity) : new Float32Array(theta.length);
    if (theta.length !== net.paramCount || states.length !== net.stateCount) {
      await engine.close();
      throw new TrainUsageError(`checkpoint ${ckptPath} does not fit ${recipe.model} (${theta.length} vs ${net.paramCount} parameters)`);
    }
    return new TrainRun(recipe, spec, data, outDir, net, engine, threads, theta, states, velocity, ckpt, log);
  }

  get model(): string {
    return this.recipe.model;
  }

  describe(): string {
    const r = this.recipe;
    return `training ${r.model} (${this.net.paramCount} parameters, ${(this.net.macsPerSample / 1e6).toFixed(1)}M multiply-adds per image) on ${this.data.train.count} images, ` +
      `${r.epochs} epochs of ${this.stepsPerEpoch} steps, ${this.threads} thread${this.threads > 1 ? 's' : ''}${this.start > 0 ? `, resuming after epoch ${this.start}` : ''}`;
  }

  /** Seconds per training step, timed on `steps` steps after one to warm up (the weights are left unchanged). */
  async timeSteps(steps: number): Promise<number> {
    const rng = seededRandom(12345);
    const idx = shuffled(this.data.train.count, rng).subarray(0, this.recipe.batch);
    fillBatch(this.data.train, idx, this.recipe.mean, this.recipe.std, this.images);
    for (let i = 0; i < idx.length; i++) this.labels[i] = this.data.train.labels[idx[i]!]!;
    await this.engine.step(this.theta, this.states, this.images, this.labels, this.recipe.batch);
    const t0 = performance.now();
    for (let s = 0; s < steps; s++) await this.engine.step(this.theta, this.states, this.images, this.labels, this.recipe.batch);
    return (performance.now() - t0) / 1000 / steps;
  }

  beginEpoch(epoch: number): void {
    this.rng = seededRandom(this.recipe.seed * 1000003 + epoch);
    this.order = shuffled(this.data.train.count, this.rng);
    this.epochStats = { loss: 0, wrong: 0, seen: 0, lr: this.recipe.lr, stepTime: 0 };
  }

  async step(epoch: number, s: number): Promise<void> {
    const r = this.recipe;
    const t0 = performance.now();
    const step = epoch * this.stepsPerEpoch + s;
    const lr = learningRate(r, step, this.totalSteps);
    const idx = this.order.subarray(s * r.batch, (s + 1) * r.batch);
    fillBatch(this.data.train, idx, r.mean, r.std, this.images, { spec: r.augment, rng: this.rng });
    for (let i = 0; i < idx.length; i++) this.labels[i] = this.data.train.labels[idx[i]!]!;
    const out = await this.engine.step(this.theta, this.states, this.images, this.labels, r.batch);
    if (!Number.isFinite(out.loss)) throw new Error(`training ${r.model} diverged at epoch ${epoch + 1}, step ${s + 1}: loss is ${out.loss}`);
    sgdStep(this.theta, out.grads, this.velocity, lr, r);
    this.states.set(out.states);
    const e = this.epochStats;
    e.loss += out.loss * r.batch;
    e.wrong += r.batch - out.correct;
    e.seen += r.batch;
    e.lr = lr;
    e.stepTime += (performance.now() - t0) / 1000;
    this.secondsPerStep = e.stepTime / (s + 1);
  }

  /** The progress line after step s of the epoch; `eta` is what the caller knows of the time left. */
  progress(epoch: number, s: number, eta: string, prefix = ''): string {
    const e = this.epochStats;
    return `${prefix}epoch ${epoch + 1}/${this.recipe.epochs}  step ${s + 1}/${this.stepsPerEpoch}  lr ${Number(e.lr.toPrecision(4))}  loss ${(e.loss / e.seen).toFixed(4)}  ` +
      `accuracy ${(100 * (1 - e.wrong / e.seen)).toFixed(2)}%  ${(e.seen / e.stepTime).toFixed(1)} images/s  ETA ${eta}`;
  }

  /** Seconds left for this run's training steps, from step s of epoch on. */
  secondsLeft(epoch: number, s: number): number {
    return ((this.recipe.epochs - epoch) * this.stepsPerEpoch - s - 1) * this.secondsPerStep;
  }

  async endEpoch(epoch: number, prefix = ''): Promise<EpochRecord> {
    const r = this.recipe;
    const e = this.epochStats;
    // This run's own training time (in a race, the twin's steps in between are not counted).
    const seconds = e.stepTime;
    const ev = await evaluate(this.engine, this.theta, this.states, this.data, r.mean, r.std, Math.ceil(r.batch / this.threads) * this.threads);
    this.lastReport = ev.report;
    const rec: EpochRecord = {
      epoch: epoch + 1, lr: e.lr, trainLoss: e.loss / e.seen, trainError: e.wrong / e.seen, testLoss: ev.loss, testError: ev.error,
      seconds, imagesPerSecond: e.seen / e.stepTime, threads: this.threads,
    };
    this.history.push(rec);
    writeUserFile(join(this.outDir, CHECKPOINT_FILE), encodeCheckpoint<Recipe, EpochRecord>({
      recipe: r, epochsDone: epoch + 1, history: this.history, paramCount: this.theta.length, stateCount: this.states.length,
      params: this.theta, states: this.states, velocity: this.velocity,
    }));
    writeUserFile(join(this.outDir, `${r.model}.log.csv`), historyCsv(this.history));
    writeUserFile(join(this.outDir, `${r.model}.log.json`), `${JSON.stringify({ recipe: r, recipeText: recipeText(r), history: this.history }, null, 2)}\n`);
    const what = this.data.kind === 'folder' ? 'validation' : 'test';
    this.log(`${prefix}epoch ${epoch + 1}/${r.epochs} done in ${formatDuration(seconds)}: train error ${(100 * rec.trainError).toFixed(2)}%, ` +
      `${what} error ${(100 * rec.testError).toFixed(2)}% (${what} loss ${rec.testLoss.toFixed(4)}); checkpoint saved`);
    return rec;
  }

  /** Exports the ONNX model and sidecar; evaluates first if no epoch ran in this process. */
  async finish(): Promise<TrainResult> {
    const r = this.recipe;
    const last = this.history[this.history.length - 1];
    if (!last) throw new Error('export: no epoch has been trained');
    const report = this.lastReport ?? (await evaluate(this.engine, this.theta, this.states, this.data, r.mean, r.std, Math.ceil(r.batch / this.threads) * this.threads)).report;
    this.net.setParams(this.theta);
    this.net.setStates(this.states);
    const training: TrainingRecord = {
      dataset: r.dataset, epochs: r.epochs, recipe: recipeText(r), testAccuracy: 1 - last.testError, trainError: last.trainError,
    };
    const [c, h, w] = [this.data.train.channels, this.data.train.rows, this.data.train.cols];
    const asArray = (v: Recipe['mean']): number[] => (typeof v === 'number' ? [v] : [...v]);
    const meta: ModelMeta = {
      name: r.model, input: [c, h, w], mean: asArray(r.mean), std: asArray(r.std), labels: this.data.labels, trained: true, spec: this.spec, training,
    };
    const bytes = serializeOnnx(this.net.toGraph({ [META_KEY]: JSON.stringify(meta) }));
    const onnxPath = join(this.outDir, `${r.model}.onnx`);
    writeUserFile(onnxPath, bytes);
    const sidecar: Sidecar = {
      ...meta, file: `${r.model}.onnx`, bytes: bytes.length, sha256: sha256(bytes), recipe: r, history: this.history,
      ...(this.data.kind === 'folder' && { validation: report }),
    };
    const sidecarPath = join(this.outDir, `${r.model}.json`);
    writeUserFile(sidecarPath, `${JSON.stringify(sidecar, null, 2)}\n`);
    return { recipe: r, history: this.history, onnxPath, sidecarPath, testAccuracy: training.testAccuracy, validation: report };
  }

  close(): Promise<void> {
    return this.engine.close();
  }
}

/**
 * Trains the runs together: step s of every run, then step s + 1 of every run, ..., so a race's nets
 * progress at the same pace (each on all the threads in its turn); every run is evaluated at the end of
 * each epoch. A run resumed further than another joins at its own next epoch. One progress line per run.
 */
export async function trainTogether(runs: readonly RaceRun[], log: (line: string) => void, signal?: AbortSignal): Promise<void> {
  const race = runs.length > 1;
  const prefix = (run: RaceRun): string => (race ? `${run.model.padEnd(Math.max(...runs.map((x) => x.model.length)))}  ` : '');
  const first = Math.min(...runs.map((r) => r.start));
  const epochs = runs[0]!.recipe.epochs;
  const steps = runs[0]!.stepsPerEpoch;
  for (let epoch = first; epoch < epochs; epoch++) {
    const active = runs.filter((r) => epoch >= r.start);
    for (const run of active) run.beginEpoch(epoch);
    const t0 = performance.now();
    let lastLog = t0;
    for (let s = 0; s < steps; s++) {
      if (signal?.aborted) {
        throw new TrainingCancelled(`training cancelled at epoch ${epoch + 1}, step ${s + 1}: ${epoch > 0 ? `the checkpoint of epoch ${epoch} is kept (--resume continues it)` : 'no epoch was finished'}`);
      }
      for (const run of active) await run.step(epoch, s);
      const now = performance.now();
      if (now - lastLog > 30000 || s === steps - 1 || s === 9) {
        lastLog = now;
        const left = active.reduce((sum, r) => sum + r.secondsLeft(epoch, s), 0);
        const epochLeft = active.reduce((sum, r) => sum + (steps - s - 1) * r.secondsPerStep, 0);
        for (const run of active) log(run.progress(epoch, s, `epoch ${formatDuration(epochLeft)}, run ${formatDuration(left)}`, prefix(run)));
      }
    }
    for (const run of active) await run.endEpoch(epoch, prefix(run));
  }
}

async function estimate(runs: readonly TrainRun[], log: (line: string) => void): Promise<void> {
  const todo = runs.filter((r) => r.start < r.recipe.epochs);
  if (todo.length === 0) return;
  const times: string[] = [];
  let total = 0;
  for (const run of todo) {
    const sps = await run.timeSteps(2);
    const left = (run.recipe.epochs - run.start) * run.stepsPerEpoch;
    // Validation each epoch: a forward pass is about a third of a training step.
    const evalSeconds = ((run.recipe.epochs - run.start) * run.data.test.count / run.recipe.batch) * sps / 3;
    total += left * sps + evalSeconds;
    times.push(`${run.model} ${sps.toFixed(2)} s a step of ${run.recipe.batch}`);
  }
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
    for (const m of models) runs.push(await TrainRun.open(m, input, data, opts.race ? join(outDir, m) : outDir, opts.resume, threads, log));
    for (const run of runs) log(run.describe());
    if (data.kind === 'folder') log(`recipe: ${recipeText(runs[0]!.recipe)}`);
    await estimate(runs, log);
    await trainTogether(runs, log, opts.signal);
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

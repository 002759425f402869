// One net's training, apart from files and threads: the recipe a data set gets, the net built from the zoo
// spec, SGD steps with augmentation and the learning-rate schedule, the validation pass after each epoch
// (with the class report of metrics.ts), and the trained model as ONNX bytes with its metadata and sidecar.
// Pure: the CLI's trainer (trainer.ts: checkpoints, logs, worker threads, the race) and the app's training
// worker (a Web Worker per net) both drive it.
import { UserError } from '../errors';
import type { Graph } from '../graph/ir';
import { META_KEY, type ModelMeta, type TrainingRecord } from '../model-meta';
import { serializeOnnx } from '../onnx/write';
import type { EpochRecord, Recipe, Sidecar } from '../sidecar';
import { buildModel, seededRandom } from '../zoo/build';
import { isZooName, type ModelSpec, type ShortcutOption, zooSpec } from '../zoo/spec';
import { wasmBackend } from './backend';
import { type Augment, channelStats, fillBatch, type ImageSet, PAPER_AUGMENT, pixelStats, shuffled } from './image-set';
import type { GradientEngine } from './local-engine';
import { type ClassReport, ReportBuilder } from './metrics';
import { TrainNet } from './net';
import { cosineLearningRate, PAPER_SGD, paperLearningRate, sgdStep } from './optim';

/**
 * The defaults for a user's folder (hundreds to a few thousand images, trained from scratch): smaller
 * batches (more steps on little data), cosine decay after one epoch of linear warm-up, stronger weight
 * decay, pad-4 crops, flips and a light brightness/contrast jitter. Measured in README.md
 * ("Training on your own folders").
 */
export const FOLDER_RECIPE = {
  epochs: 15, batch: 64, lr: 0.1, weightDecay: 5e-4, warmupEpochs: 1, schedule: 'cosine', size: 32, graySize: 28, valFraction: 0.2,
  augment: { pad: 4, flip: true, jitter: 0.1 },
  // Residual branches start live: silenced (gamma 0), resnet20 sat at chance for 10-13 of 15 epochs on a
  // 3000-image folder and ended at 25% (PyTorch alike), against 82% live (docs/race-vs-pytorch.md).
  zeroGamma: false,
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
  /** Start each residual branch's last batch norm at gamma 0 (TrainNet.zeroResidualBranchGammas); default by the data's kind. */
  readonly zeroGamma?: boolean;
}

/** How weights start: the zoo's seeded He weights, fresh batch norms, residual branches silenced or not. */
const initText = (zeroGamma: boolean): string =>
  `He normal (fan-in), classifier normal with variance 1/(3 fan-in), zoo seed; batch norm gamma 1${zeroGamma ? ', except 0 at the end of each residual branch' : ''}`;

export class TrainUsageError extends UserError {
  override name = 'TrainUsageError';
}

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
export function twinOf(model: string): string {
  const m = /^(resnet|plain)(\d+)$/.exec(model);
  const twin = m ? `${m[1] === 'resnet' ? 'plain' : 'resnet'}${m[2]}` : '';
  if (!m || !isZooName(twin)) throw new TrainUsageError(`--race needs a CIFAR-style zoo net with a twin (resnet20/plain20 ... resnet110/plain110), not '${model}'`);
  return twin;
}

/** The zoo spec of a model training covers (a CIFAR-style net), or a TrainUsageError. */
export function trainableSpec(model: string): ModelSpec {
  const base = zooSpec(model);
  if (base.family !== 'cifar') throw new TrainUsageError(`--model ${model}: training covers the CIFAR-style nets (plain20..resnet110), not ImageNet ones`);
  return base;
}

/** The zoo spec a model is trained from: the data's channels, size and classes. */
export function trainSpec(model: string, shortcut: ShortcutOption | undefined, data: TrainData): ModelSpec {
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

export function formatDuration(s: number): string {
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

/** The full recipe of one model on this data: the input's values, else the defaults of the data's kind. */
export function makeRecipe(model: string, input: RecipeInput, spec: ModelSpec, data: TrainData): Recipe {
  const folder = data.kind === 'folder';
  const steps = Math.floor(data.train.count / input.batch);
  const base = {
    model, shortcut: spec.shortcut, dataset: data.name, epochs: input.epochs, batch: input.batch, lr: input.lr, momentum: PAPER_SGD.momentum,
    seed: input.seed ?? 1, trainImages: data.train.count, testImages: data.test.count,
  };
  // Fashion-MNIST keeps the silenced branches its shipped nets were trained with.
  const zeroGamma = input.zeroGamma ?? (folder ? FOLDER_RECIPE.zeroGamma : true);
  const init = { init: initText(zeroGamma), zeroGamma };
  if (!folder) {
    const stats = pixelStats(data.train);
    return {
      ...base, ...init, lrSteps: 'divide by 10 at 50% and 75% of the steps', warmupSteps: input.warmupSteps ?? 0, weightDecay: input.weightDecay ?? PAPER_SGD.weightDecay,
      augment: input.augment ?? PAPER_AUGMENT, mean: Number(stats.mean.toFixed(6)), std: Number(stats.std.toFixed(6)),
      ...(input.schedule === 'cosine' && { schedule: 'cosine' as const }),
    };
  }
  const stats = channelStats(data.train);
  const schedule = input.schedule ?? FOLDER_RECIPE.schedule;
  return {
    ...base, ...init, lrSteps: schedule === 'cosine' ? 'cosine to 0 after a linear warm-up' : 'divide by 10 at 50% and 75% of the steps',
    warmupSteps: input.warmupSteps ?? FOLDER_RECIPE.warmupEpochs * steps, weightDecay: input.weightDecay ?? FOLDER_RECIPE.weightDecay,
    augment: input.augment ?? FOLDER_RECIPE.augment, mean: stats.mean.map((v) => Number(v.toFixed(6))), std: stats.std.map((v) => Number(v.toFixed(6))),
    schedule, input: [data.train.channels, data.train.rows, data.train.cols], classes: data.labels.length,
  };
}

function learningRate(r: Recipe, step: number, totalSteps: number): number {
  return r.schedule === 'cosine' ? cosineLearningRate(r.lr, step, totalSteps, r.warmupSteps) : paperLearningRate(r.lr, step, totalSteps, r.warmupSteps);
}

/**
 * Seconds to train `epochs` epochs of `steps` steps at `secondsPerStep`, with a validation pass over
 * `valImages` after each (a forward pass is about a third of a training step).
 */
export function estimateSeconds(secondsPerStep: number, steps: number, epochs: number, valImages: number, batch: number): number {
  return epochs * steps * secondsPerStep + ((epochs * valImages) / batch) * secondsPerStep / 3;
}

/** A trainable net for `spec` from the zoo's seeded weights, with shards of up to `maxBatch` images. */
export function buildTrainNet(spec: ModelSpec, recipe: Recipe, maxBatch: number): { graph: Graph; net: TrainNet } {
  const graph = buildModel(spec, { name: recipe.model, seed: recipe.seed });
  const net = new TrainNet(graph, { backend: wasmBackend(), maxBatch, resetBatchNorm: true });
  if (recipe.zeroGamma ?? true) net.zeroResidualBranchGammas(); // absent: a recipe from before the choice, which silenced them
  return { graph, net };
}

/** Where a net's training starts: fresh, or a checkpoint's weights, optimizer state and history. */
export interface TrainerStart {
  readonly theta: Float32Array;
  readonly states: Float32Array;
  readonly velocity: Float32Array;
  readonly epochsDone: number;
  readonly history: readonly EpochRecord[];
}

/** A fresh start: the net's initial weights, zero momentum. */
export function freshStart(net: TrainNet): TrainerStart {
  const theta = net.getParams();
  return { theta, states: net.getStates(), velocity: new Float32Array(theta.length), epochsDone: 0, history: [] };
}

/** A trained model as files: the ONNX bytes (metadata inside) and what its sidecar repeats. */
export interface ModelExport {
  readonly bytes: Uint8Array;
  readonly meta: ModelMeta;
  /** The validation (or test) report of the last epoch. */
  readonly report: ClassReport;
}

/** The sidecar of an exported model (`sha256` of its bytes, computed by the caller: Node's crypto or the browser's). */
export function sidecarOf(exp: ModelExport, recipe: Recipe, history: readonly EpochRecord[], sha256: string, folder: boolean): Sidecar {
  return {
    ...exp.meta, file: `${recipe.model}.onnx`, bytes: exp.bytes.length, sha256, recipe, history,
    ...(folder && { validation: exp.report }),
  };
}

/** One model's training: its net, engine, weights, optimizer state and history. */
export class NetTrainer {
  readonly stepsPerEpoch: number;
  readonly totalSteps: number;
  readonly history: EpochRecord[];
  readonly start: number;
  /** Seconds per step measured so far (NaN before any step). */
  secondsPerStep = NaN;
  readonly theta: Float32Array;
  readonly states: Float32Array;
  readonly velocity: Float32Array;
  private readonly images: Float32Array;
  private readonly labels: Int32Array;
  private order: Int32Array = new Int32Array(0);
  private rng = seededRandom(0);
  private epochStats = { loss: 0, wrong: 0, seen: 0, lr: 0, stepTime: 0 };
  private lastReport: ClassReport | null = null;

  constructor(readonly recipe: Recipe, readonly spec: ModelSpec, readonly data: TrainData, readonly net: TrainNet, readonly engine: GradientEngine, from: TrainerStart) {
    this.stepsPerEpoch = Math.floor(data.train.count / recipe.batch);
    this.totalSteps = this.stepsPerEpoch * recipe.epochs;
    this.history = [...from.history];
    this.start = from.epochsDone;
    this.theta = from.theta;
    this.states = from.states;
    this.velocity = from.velocity;
    const per = data.train.channels * data.train.rows * data.train.cols;
    this.images = new Float32Array(recipe.batch * per);
    this.labels = new Int32Array(recipe.batch);
  }

  get model(): string {
    return this.recipe.model;
  }

  get threads(): number {
    return this.engine.threads;
  }

  /** Images per evaluation batch: the training batch, rounded up to a multiple of the threads. */
  private get evalBatch(): number {
    return Math.ceil(this.recipe.batch / this.threads) * this.threads;
  }

  describe(): string {
    const r = this.recipe;
    return `training ${r.model} (${this.net.paramCount} parameters, ${(this.net.macsPerSample / 1e6).toFixed(1)}M multiply-adds per image) on ${this.data.train.count} images, ` +
      `${r.epochs} epochs of ${this.stepsPerEpoch} steps, ${this.threads} thread${this.threads > 1 ? 's' : ''}${this.start > 0 ? `, resuming after epoch ${this.start}` : ''}`;
  }

  /** Seconds per training step, timed on `steps` steps after one to warm up (the weights are left unchanged). */
  async timeSteps(steps: number): Promise<number> {
    await this.trialStep();
    const t0 = performance.now();
    for (let s = 0; s < steps; s++) await this.trialStep();
    return (performance.now() - t0) / 1000 / steps;
  }

  /** One full step on a fixed batch, weights left as they are: for timing. */
  async trialStep(): Promise<void> {
    const idx = shuffled(this.data.train.count, seededRandom(12345)).subarray(0, this.recipe.batch);
    fillBatch(this.data.train, idx, this.recipe.mean, this.recipe.std, this.images);
    for (let i = 0; i < idx.length; i++) this.labels[i] = this.data.train.labels[idx[i]!]!;
    await this.engine.step(this.theta, this.states, this.images, this.labels, this.recipe.batch);
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

  /** This epoch so far: mean training loss and error of the steps done. */
  running(): { loss: number; error: number } {
    const e = this.epochStats;
    return { loss: e.loss / Math.max(1, e.seen), error: e.wrong / Math.max(1, e.seen) };
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

  /** The validation pass at the end of an epoch: its record joins the history. */
  async evaluateEpoch(epoch: number): Promise<EpochRecord> {
    const r = this.recipe;
    const e = this.epochStats;
    // This net's own training time (in a race, the twin's steps in between are not counted).
    const ev = await evaluate(this.engine, this.theta, this.states, this.data, r.mean, r.std, this.evalBatch);
    this.lastReport = ev.report;
    const rec: EpochRecord = {
      epoch: epoch + 1, lr: e.lr, trainLoss: e.loss / e.seen, trainError: e.wrong / e.seen, testLoss: ev.loss, testError: ev.error,
      seconds: e.stepTime, imagesPerSecond: e.seen / e.stepTime, threads: this.threads,
    };
    this.history.push(rec);
    return rec;
  }

  /** The trained model as ONNX bytes with its metadata; evaluates first if no epoch ran here. */
  async exportModel(): Promise<ModelExport> {
    const r = this.recipe;
    const last = this.history[this.history.length - 1];
    if (!last) throw new Error('export: no epoch has been trained');
    const report = this.lastReport ?? (await evaluate(this.engine, this.theta, this.states, this.data, r.mean, r.std, this.evalBatch)).report;
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
    return { bytes: serializeOnnx(this.net.toGraph({ [META_KEY]: JSON.stringify(meta) })), meta, report };
  }
}

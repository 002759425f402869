// The training loop: data, augmentation, SGD with the paper's schedule, a test evaluation and a checkpoint
// after every epoch, logs (CSV and JSON), and the trained model exported as ONNX with its metadata.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { FASHION_MNIST } from '../datasets';
import { UserError } from '../errors';
import type { ModelMeta, TrainingRecord } from '../model-meta';
import { serializeOnnx } from '../onnx/write';
import { buildModel, seededRandom } from '../zoo/build';
import { type ModelSpec, type ShortcutOption, zooSpec } from '../zoo/spec';
import { META_KEY } from '../model-meta';
import type { EpochRecord, Recipe, Sidecar } from '../sidecar';
import { wasmBackend } from './backend';
import { type Checkpoint, encodeCheckpoint, readCheckpoint, writeAtomic } from './checkpoint';
import { type ImageSet, PAPER_AUGMENT, fillBatch, loadFashionMnist, pixelStats, shuffled } from './data';
import { createEngine, type GradientEngine } from './engine';
import { TrainNet } from './net';
import { PAPER_SGD, paperLearningRate, sgdStep } from './optim';

/** The recipe the shipped models were trained with (see models/cards): `resnet train`'s defaults. */
export const SHIPPED_RECIPE = { epochs: 8, batch: 128, lr: 0.1 } as const;

export interface RecipeInput {
  readonly model: string;
  readonly shortcut?: ShortcutOption;
  readonly epochs: number;
  readonly batch: number;
  readonly lr: number;
  readonly warmupSteps?: number;
  readonly seed?: number;
  /** Only the first N training (and test) images: for smoke tests. */
  readonly limit?: number;
}

/** How weights start: the zoo's seeded He weights, fresh batch norms, residual branches silenced (see TrainNet). */
const INIT = 'He normal (fan-in), zoo seed; batch norm gamma 1, except 0 at the end of each residual branch';

export interface TrainRunOptions {
  readonly recipe: RecipeInput;
  readonly dataDir: string;
  readonly outDir: string;
  readonly resume: boolean;
  readonly threads: number;
  /** Progress lines (ETA, loss, accuracy). */
  readonly log: (line: string) => void;
}

export interface TrainResult {
  readonly recipe: Recipe;
  readonly history: readonly EpochRecord[];
  readonly onnxPath: string;
  readonly sidecarPath: string;
  readonly testAccuracy: number;
}

class TrainUsageError extends UserError {
  override name = 'TrainUsageError';
}

const CHECKPOINT_FILE = 'checkpoint.bin';

/** The zoo spec a Fashion-MNIST model is built from: 1x28x28 input, 10 classes. */
function fashionSpec(model: string, shortcut: ShortcutOption | undefined, size: number): ModelSpec {
  const base = zooSpec(model);
  if (base.family !== 'cifar') throw new TrainUsageError(`--model ${model}: training covers the CIFAR-style nets (plain20..resnet110), not ImageNet ones`);
  return { ...base, ...(shortcut && { shortcut }), inputChannels: FASHION_MNIST.channels, inputSize: size, classes: FASHION_MNIST.classes };
}

export function recipeText(r: Recipe): string {
  const warm = r.warmupSteps > 0 ? `, first ${r.warmupSteps} steps at ${r.lr / 10}` : '';
  return `SGD, momentum ${r.momentum}, weight decay ${r.weightDecay}, batch ${r.batch}, ${r.epochs} epochs of ${r.trainImages} images, ` +
    `learning rate ${r.lr} divided by 10 at 50% and 75% of training${warm}; initialisation: ${r.init}; augmentation: ${r.augment.pad}-pixel ` +
    `zero padding, random ${r.augment.flip ? 'crop and horizontal flip' : 'crop'}; option ${r.shortcut} shortcuts in the residual nets; seed ${r.seed}`;
}

function formatDuration(s: number): string {
  if (!Number.isFinite(s)) return '?';
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = Math.floor(s % 60);
  return h > 0 ? `${h}h${String(m).padStart(2, '0')}m` : m > 0 ? `${m}m${String(sec).padStart(2, '0')}s` : `${sec}s`;
}

/** Loss, error and confusion matrix [true][predicted] of a model over a whole set, in inference mode. */
async function evaluate(
  engine: GradientEngine, theta: Float32Array, states: Float32Array, set: ImageSet, mean: number, std: number, batch: number, classes: number,
): Promise<{ loss: number; error: number; confusion: number[][] }> {
  const per = set.rows * set.cols;
  const images = new Float32Array(batch * per);
  const confusion = Array.from({ length: classes }, () => new Array<number>(classes).fill(0));
  let loss = 0;
  let wrong = 0;
  for (let start = 0; start < set.count; start += batch) {
    const n = Math.min(batch, set.count - start);
    const idx = Int32Array.from({ length: n }, (_, i) => start + i);
    fillBatch(set, idx, mean, std, images);
    const logits = await engine.predict(theta, states, images.subarray(0, n * per), n);
    for (let i = 0; i < n; i++) {
      const row = logits.subarray(i * classes, (i + 1) * classes);
      let max = -Infinity;
      let arg = 0;
      for (let k = 0; k < classes; k++) if (row[k]! > max) { max = row[k]!; arg = k; }
      let z = 0;
      for (let k = 0; k < classes; k++) z += Math.exp(row[k]! - max);
      const label = set.labels[start + i]!;
      loss += Math.log(z) - (row[label]! - max);
      if (arg !== label) wrong++;
      confusion[label]![arg]!++;
    }
  }
  return { loss: loss / set.count, error: wrong / set.count, confusion };
}

function historyCsv(history: readonly EpochRecord[]): string {
  const head = 'epoch,lr,train_loss,train_error,test_loss,test_error,seconds,images_per_second,threads';
  const rows = history.map((h) => [h.epoch, h.lr, h.trainLoss.toFixed(5), h.trainError.toFixed(5), h.testLoss.toFixed(5), h.testError.toFixed(5), h.seconds.toFixed(1), h.imagesPerSecond.toFixed(1), h.threads].join(','));
  return `${[head, ...rows].join('\n')}\n`;
}

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** Writes the net's weights into its graph with metadata, as ONNX, plus the sidecar JSON. */
function exportTrained(net: TrainNet, spec: ModelSpec, recipe: Recipe, history: readonly EpochRecord[], outDir: string): { onnxPath: string; sidecarPath: string; testAccuracy: number } {
  const last = history[history.length - 1];
  if (!last) throw new Error('export: no epoch has been trained');
  const training: TrainingRecord = {
    dataset: recipe.dataset, epochs: recipe.epochs, recipe: recipeText(recipe), testAccuracy: 1 - last.testError, trainError: last.trainError,
  };
  const size = spec.inputSize ?? FASHION_MNIST.size;
  const meta: ModelMeta = {
    name: recipe.model, input: [FASHION_MNIST.channels, size, size], mean: [recipe.mean], std: [recipe.std], labels: FASHION_MNIST.labels, trained: true, spec, training,
  };
  const bytes = serializeOnnx(net.toGraph({ [META_KEY]: JSON.stringify(meta) }));
  const onnxPath = join(outDir, `${recipe.model}.onnx`);
  writeAtomic(onnxPath, bytes);
  const sidecar: Sidecar = { ...meta, file: `${recipe.model}.onnx`, bytes: bytes.length, sha256: sha256(bytes), recipe, history };
  const sidecarPath = join(outDir, `${recipe.model}.json`);
  writeAtomic(sidecarPath, `${JSON.stringify(sidecar, null, 2)}\n`);
  return { onnxPath, sidecarPath, testAccuracy: training.testAccuracy };
}

function sameRecipe(a: Recipe, b: Recipe): string | null {
  for (const k of ['model', 'shortcut', 'epochs', 'batch', 'lr', 'warmupSteps', 'init', 'seed', 'trainImages', 'testImages'] as const) {
    if (a[k] !== b[k]) return `${k} is ${String(b[k])} in the checkpoint, ${String(a[k])} now`;
  }
  return null;
}

/** Trains (or resumes) one model as the options say; returns where the exported model is. */
export async function trainModel(opts: TrainRunOptions): Promise<TrainResult> {
  const { recipe: input, outDir, log } = opts;
  if (input.batch < 2) throw new TrainUsageError('--batch must be at least 2 (batch norm needs batch statistics)');
  const threads = Math.max(1, Math.min(opts.threads, input.batch));
  const data = loadFashionMnist(opts.dataDir, { limit: input.limit, testLimit: input.limit });
  const { train, test } = data;
  if (train.count < input.batch) throw new TrainUsageError(`--batch ${input.batch} is larger than the ${train.count} training images`);
  const spec = fashionSpec(input.model, input.shortcut, train.rows);
  const stats = pixelStats(train);
  const recipe: Recipe = {
    model: input.model, shortcut: spec.shortcut, dataset: FASHION_MNIST.name, epochs: input.epochs, batch: input.batch, lr: input.lr,
    lrSteps: 'divide by 10 at 50% and 75% of the steps', warmupSteps: input.warmupSteps ?? 0, ...PAPER_SGD, augment: PAPER_AUGMENT,
    init: INIT, seed: input.seed ?? 1, trainImages: train.count, testImages: test.count,
    mean: Number(stats.mean.toFixed(6)), std: Number(stats.std.toFixed(6)),
  };
  mkdirSync(outDir, { recursive: true });
  const ckptPath = join(outDir, CHECKPOINT_FILE);
  let ckpt: Checkpoint<Recipe, EpochRecord> | null = null;
  if (existsSync(ckptPath)) {
    if (!opts.resume) throw new TrainUsageError(`${outDir} already holds a training checkpoint: add --resume to continue it, or choose another --out`);
    ckpt = readCheckpoint<Recipe, EpochRecord>(ckptPath);
    const diff = ckpt && sameRecipe(recipe, ckpt.recipe);
    if (diff) throw new TrainUsageError(`cannot resume ${ckptPath}: ${diff}`);
  } else if (opts.resume) {
    log(`no checkpoint in ${outDir}: starting from scratch`);
  }

  const graph = buildModel(spec, { name: recipe.model, seed: recipe.seed });
  const shardBatch = Math.ceil(recipe.batch / threads);
  const net = new TrainNet(graph, { backend: wasmBackend(), maxBatch: shardBatch, resetBatchNorm: true });
  net.zeroResidualBranchGammas();
  // Workers build their nets from the same graph; their initial values are overwritten by every step.
  const engine = await createEngine(net, serializeOnnx(graph), threads);
  try {
    const theta = ckpt ? Float32Array.from(ckpt.params) : net.getParams();
    const states = ckpt ? Float32Array.from(ckpt.states) : net.getStates();
    const velocity = ckpt ? Float32Array.from(ckpt.velocity) : new Float32Array(theta.length);
    if (theta.length !== net.paramCount || states.length !== net.stateCount) throw new TrainUsageError(`checkpoint ${ckptPath} does not fit ${recipe.model} (${theta.length} vs ${net.paramCount} parameters)`);
    const history: EpochRecord[] = ckpt ? [...ckpt.history] : [];
    const stepsPerEpoch = Math.floor(train.count / recipe.batch);
    const totalSteps = stepsPerEpoch * recipe.epochs;
    const per = train.rows * train.cols;
    const images = new Float32Array(recipe.batch * per);
    const labels = new Int32Array(recipe.batch);
    const start = ckpt ? ckpt.epochsDone : 0;
    log(`training ${recipe.model} (${net.paramCount} parameters, ${(net.macsPerSample / 1e6).toFixed(1)}M multiply-adds per image) on ${train.count} images, ` +
      `${recipe.epochs} epochs of ${stepsPerEpoch} steps, ${threads} thread${threads > 1 ? 's' : ''}${start > 0 ? `, resuming after epoch ${start}` : ''}`);
    let secondsPerStep = NaN;
    for (let epoch = start; epoch < recipe.epochs; epoch++) {
      const rng = seededRandom(recipe.seed * 1000003 + epoch);
      const order = shuffled(train.count, rng);
      let lossSum = 0;
      let wrong = 0;
      let seen = 0;
      let lr = recipe.lr;
      const t0 = performance.now();
      let lastLog = t0;
      for (let s = 0; s < stepsPerEpoch; s++) {
        const step = epoch * stepsPerEpoch + s;
        lr = paperLearningRate(recipe.lr, step, totalSteps, recipe.warmupSteps);
        const idx = order.subarray(s * recipe.batch, (s + 1) * recipe.batch);
        fillBatch(train, idx, recipe.mean, recipe.std, images, { spec: recipe.augment, rng });
        for (let i = 0; i < idx.length; i++) labels[i] = train.labels[idx[i]!]!;
        const r = await engine.step(theta, states, images, labels, recipe.batch);
        if (!Number.isFinite(r.loss)) throw new Error(`training diverged at epoch ${epoch + 1}, step ${s + 1}: loss is ${r.loss}`);
        sgdStep(theta, r.grads, velocity, lr, recipe);
        states.set(r.states);
        lossSum += r.loss * recipe.batch;
        wrong += recipe.batch - r.correct;
        seen += recipe.batch;
        const now = performance.now();
        secondsPerStep = (now - t0) / 1000 / (s + 1);
        if (now - lastLog > 30000 || s === stepsPerEpoch - 1 || s === 9) {
          lastLog = now;
          const left = (stepsPerEpoch - s - 1) * secondsPerStep;
          const allLeft = left + (recipe.epochs - epoch - 1) * stepsPerEpoch * secondsPerStep;
          log(`epoch ${epoch + 1}/${recipe.epochs}  step ${s + 1}/${stepsPerEpoch}  lr ${lr}  loss ${(lossSum / seen).toFixed(4)}  ` +
            `accuracy ${(100 * (1 - wrong / seen)).toFixed(2)}%  ${(seen / ((now - t0) / 1000)).toFixed(1)} images/s  ` +
            `ETA epoch ${formatDuration(left)}, run ${formatDuration(allLeft)}`);
        }
      }
      const seconds = (performance.now() - t0) / 1000;
      const ev = await evaluate(engine, theta, states, test, recipe.mean, recipe.std, shardBatch * threads, net.classes);
      const rec: EpochRecord = {
        epoch: epoch + 1, lr, trainLoss: lossSum / seen, trainError: wrong / seen, testLoss: ev.loss, testError: ev.error,
        seconds, imagesPerSecond: seen / seconds, threads,
      };
      history.push(rec);
      writeAtomic(ckptPath, encodeCheckpoint<Recipe, EpochRecord>({
        recipe, epochsDone: epoch + 1, history, paramCount: theta.length, stateCount: states.length, params: theta, states, velocity,
      }));
      writeAtomic(join(outDir, `${recipe.model}.log.csv`), historyCsv(history));
      writeAtomic(join(outDir, `${recipe.model}.log.json`), `${JSON.stringify({ recipe, recipeText: recipeText(recipe), history }, null, 2)}\n`);
      log(`epoch ${epoch + 1}/${recipe.epochs} done in ${formatDuration(seconds)}: train error ${(100 * rec.trainError).toFixed(2)}%, ` +
        `test error ${(100 * rec.testError).toFixed(2)}% (test loss ${rec.testLoss.toFixed(4)}); checkpoint saved`);
    }
    net.setParams(theta);
    net.setStates(states);
    const out = exportTrained(net, spec, recipe, history, outDir);
    log(`exported ${out.onnxPath} (test accuracy ${(100 * out.testAccuracy).toFixed(2)}%) and ${out.sidecarPath}`);
    return { recipe, history, ...out };
  } finally {
    await engine.close();
  }
}

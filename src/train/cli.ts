// `resnet train` and `resnet eval`, as functions the CLI's command table calls.
import { availableParallelism } from 'node:os';
import { CliError, choice, intOption, parse } from '../cli/args';
import type { CliIO } from '../cli/main';
import { modelBytes } from '../cli/models';
import { loadModel } from '../engine/session';
import { tensor } from '../../kernels/core/tensor';
import { CheckpointError } from './checkpoint';
import { DatasetError, DEFAULT_DATA_DIR, fillBatch, loadSplit, pixelStats } from './data';
import { TrainUsageError, trainModel } from './trainer';

/** The recipe the shipped models were trained with (see models/cards). */
export const DEFAULT_EPOCHS = 8;
export const DEFAULT_BATCH = 128;
export const DEFAULT_LR = 0.1;

export const TRAIN_USAGE = 'resnet train --model NAME [--shortcut A|B] [--data DIR] [--epochs N] [--batch N] [--lr X] --out DIR [--resume] [--threads N] [--limit N] [--warmup STEPS] [--seed N]';
export const EVAL_USAGE = 'resnet eval --model FILE.onnx|NAME [--data DIR] [--engine wasm|ts|ort-wasm] [--json] [--limit N] [--threads N]';

function floatOption(v: unknown, name: string, min: number, max: number, dflt: number): number {
  if (v === undefined) return dflt;
  const x = Number(v);
  if (typeof v !== 'string' || v.trim() === '' || !Number.isFinite(x) || x <= min || x > max) throw new CliError(`--${name} must be a number above ${min} and at most ${max}, got '${String(v)}'`);
  return x;
}

/** Our own failures that are the user's to fix (bad data, bad checkpoint, conflicting options) as CliErrors. */
function asCliError(e: unknown): unknown {
  if (e instanceof DatasetError || e instanceof TrainUsageError || e instanceof CheckpointError) return new CliError(e.message);
  if (e instanceof Error && e.name === 'TrainGraphError') return new CliError(e.message);
  if (e instanceof Error && /^unknown model/.test(e.message)) return new CliError(e.message);
  return e;
}

export async function cmdTrain(argv: string[], io: CliIO): Promise<void> {
  const { values, positionals } = parse(argv, {
    model: { type: 'string' }, shortcut: { type: 'string' }, data: { type: 'string' }, epochs: { type: 'string' },
    batch: { type: 'string' }, lr: { type: 'string' }, out: { type: 'string' }, resume: { type: 'boolean' },
    threads: { type: 'string' }, limit: { type: 'string' }, warmup: { type: 'string' }, seed: { type: 'string' },
  });
  if (positionals.length > 0) throw new CliError(`train takes no positional arguments (got '${positionals[0]}'): ${TRAIN_USAGE}`);
  if (typeof values['model'] !== 'string') throw new CliError(`train needs --model NAME: ${TRAIN_USAGE}`);
  if (typeof values['out'] !== 'string') throw new CliError(`train needs --out DIR (checkpoints, logs and the model go there): ${TRAIN_USAGE}`);
  const shortcut = values['shortcut'] === undefined ? undefined : choice(values['shortcut'], 'shortcut', ['A', 'B'] as const, 'A');
  try {
    await trainModel({
      recipe: {
        model: values['model'],
        shortcut,
        epochs: intOption(values['epochs'], 'epochs', 1, 10000, DEFAULT_EPOCHS),
        batch: intOption(values['batch'], 'batch', 2, 4096, DEFAULT_BATCH),
        lr: floatOption(values['lr'], 'lr', 0, 10, DEFAULT_LR),
        warmupSteps: intOption(values['warmup'], 'warmup', 0, 1e9, 0),
        seed: intOption(values['seed'], 'seed', 0, 2 ** 31 - 1, 1),
        limit: values['limit'] === undefined ? undefined : intOption(values['limit'], 'limit', 1, 1e9, 0),
      },
      dataDir: (values['data'] as string | undefined) ?? DEFAULT_DATA_DIR,
      outDir: values['out'],
      resume: values['resume'] === true,
      threads: intOption(values['threads'], 'threads', 1, 256, Math.min(2, availableParallelism())),
      log: (line) => io.err(line),
    });
  } catch (e) {
    throw asCliError(e);
  }
}

export interface EvalReport {
  readonly model: string;
  readonly engine: string;
  readonly images: number;
  readonly correct: number;
  /** Fraction of the images classified correctly. */
  readonly accuracy: number;
  readonly labels: readonly string[];
  /** confusion[true class][predicted class] */
  readonly confusion: number[][];
  readonly seconds: number;
}

const EVAL_ENGINES = ['wasm', 'ts', 'ort-wasm'] as const;
export type EvalEngine = (typeof EVAL_ENGINES)[number];

/** Accuracy and confusion matrix of an ONNX model on the Fashion-MNIST test set (or its first `limit` images). */
export async function evaluateModel(bytes: Uint8Array, dataDir: string, engine: EvalEngine, opts: { limit?: number; threads?: number } = {}): Promise<EvalReport> {
  const test = loadSplit(dataDir, 't10k', 10, opts.limit);
  const session = await loadModel(bytes, { engine, threads: opts.threads ?? 1 });
  try {
    const info = session.info;
    const want = [1, test.rows, test.cols];
    if (info.inputShape.join(',') !== want.join(',')) {
      throw new CliError(`model ${info.name} expects input [${info.inputShape.join(',')}], Fashion-MNIST images are [${want.join(',')}]`);
    }
    if (info.classes !== 10) throw new CliError(`model ${info.name} has ${info.classes} classes, Fashion-MNIST has 10`);
    // The model's own normalisation; a foreign model without our metadata gets the test set's statistics.
    const { mean, std } = info.meta ? { mean: info.meta.mean[0]!, std: info.meta.std[0]! } : pixelStats(test);
    const K = 10;
    const confusion = Array.from({ length: K }, () => new Array<number>(K).fill(0));
    const per = test.rows * test.cols;
    const batch = 100;
    const images = new Float32Array(batch * per);
    let correct = 0;
    const t0 = performance.now();
    for (let start = 0; start < test.count; start += batch) {
      const n = Math.min(batch, test.count - start);
      fillBatch(test, Int32Array.from({ length: n }, (_, i) => start + i), mean, std, images);
      const r = await session.run(tensor([n, 1, test.rows, test.cols], images.slice(0, n * per)));
      for (let i = 0; i < n; i++) {
        let arg = 0;
        for (let k = 1; k < K; k++) if (r.output.data[i * K + k]! > r.output.data[i * K + arg]!) arg = k;
        const label = test.labels[start + i]!;
        confusion[label]![arg]!++;
        if (arg === label) correct++;
      }
    }
    return {
      model: info.name, engine, images: test.count, correct, accuracy: correct / test.count,
      labels: info.labels.length === K ? info.labels : Array.from({ length: K }, (_, i) => String(i)), confusion,
      seconds: (performance.now() - t0) / 1000,
    };
  } finally {
    await session.dispose();
  }
}

export async function cmdEval(argv: string[], io: CliIO): Promise<void> {
  const { values, positionals } = parse(argv, {
    model: { type: 'string' }, data: { type: 'string' }, engine: { type: 'string' }, json: { type: 'boolean' },
    limit: { type: 'string' }, threads: { type: 'string' },
  });
  if (positionals.length > 0) throw new CliError(`eval takes no positional arguments (got '${positionals[0]}'): ${EVAL_USAGE}`);
  if (typeof values['model'] !== 'string') throw new CliError(`eval needs --model FILE.onnx|NAME: ${EVAL_USAGE}`);
  const engine = choice(values['engine'], 'engine', EVAL_ENGINES, 'wasm');
  let report: EvalReport;
  try {
    report = await evaluateModel(modelBytes(values['model']), (values['data'] as string | undefined) ?? DEFAULT_DATA_DIR, engine, {
      limit: values['limit'] === undefined ? undefined : intOption(values['limit'], 'limit', 1, 1e9, 0),
      threads: intOption(values['threads'], 'threads', 1, 256, availableParallelism()),
    });
  } catch (e) {
    throw asCliError(e);
  }
  if (values['json']) {
    io.out(JSON.stringify(report, null, 2));
    return;
  }
  io.out(`${report.model} on ${report.engine}: accuracy ${(100 * report.accuracy).toFixed(2)}% (${report.correct}/${report.images} Fashion-MNIST test images) in ${report.seconds.toFixed(1)} s`);
  io.out('confusion matrix (rows: true class, columns: predicted):');
  const w = Math.max(5, ...report.confusion.flat().map((v) => String(v).length + 1));
  const nameW = Math.max(...report.labels.map((l) => l.length));
  io.out(`${''.padEnd(nameW)}  ${report.labels.map((_, i) => String(i).padStart(w)).join('')}`);
  report.confusion.forEach((row, i) => io.out(`${report.labels[i]!.padEnd(nameW)}  ${row.map((v) => String(v).padStart(w)).join('')}   ${i}`));
}

// `resnet bench --train`: training throughput. Full steps (forward, backward, gradient averaging across the
// threads, SGD update with momentum and weight decay) at batch 128 on the zoo's CIFAR nets, at the shape of
// Fashion-MNIST (1x28x28) and of CIFAR (3x32x32), on the same engine `resnet train` uses (src/train/engine.ts).
// Every (model, shape, threads) cell is warmed up, then the steps are interleaved (step r of every cell
// before step r+1 of any), so a noisy neighbour hurts all cells alike; each cell reports its median.
import { serializeOnnx } from '../onnx/write';
import { wasmBackend } from '../train/backend';
import { createEngine } from '../train/engine';
import type { GradientEngine } from '../train/local-engine';
import { TrainNet, type TrainNetOptions } from '../train/net';
import { PAPER_SGD, sgdStep } from '../train/optim';
import { buildModel, seededRandom } from '../zoo/build';
import { zooSpec } from '../zoo/spec';

const TRAIN_BENCH_USAGE = `resnet bench --train [--models resnet20,resnet56] [--shapes 1x28x28,3x32x32] [--threads 1,2]
             [--batch N] [--runs N] [--warmup N] [--profile] [--json]`;

export interface TrainBenchArgs {
  models: string[];
  /** Input shapes as [channels, size] (square images). */
  shapes: [number, number][];
  threads: number[];
  batch: number;
  runs: number;
  warmup: number;
  json: boolean;
  /** Also profile one thread's forward + backward by phase (CPU time, the shard of the largest thread count). */
  profile: boolean;
}

export interface TrainBenchRow {
  readonly model: string;
  /** Input per image, e.g. "1x28x28". */
  readonly shape: string;
  readonly threads: number;
  readonly batch: number;
  /** Median, min and max of the timed steps, milliseconds per step. */
  readonly ms: number;
  readonly msMin: number;
  readonly msMax: number;
  readonly steps: number;
  readonly imagesPerSec: number;
  /** Multiply-adds of one forward pass per image (a training step does about 3x this). */
  readonly macsPerImage: number;
  /** Effective GFLOPS of the step: 3 passes x 2 x forward multiply-adds x images / time. */
  readonly gflops: number;
  /**
   * Where a step's time went (medians over the timed steps): the slowest and the fastest shard's forward +
   * backward in its thread, and the rest of the step beyond the slowest shard (averaging the shards'
   * gradients, SGD, messages between the threads). With one thread both shard figures are its one shard.
   */
  readonly slowShardMs: number;
  readonly fastShardMs: number;
  readonly restMs: number;
}

const list = (v: string): string[] => v.split(',').map((s) => s.trim()).filter((s) => s.length > 0);

function parseShape(s: string): [number, number] {
  const m = /^(\d+)x(\d+)x(\d+)$/.exec(s);
  if (!m || m[2] !== m[3] || Number(m[1]) < 1 || Number(m[2]) < 8) throw new Error(`bench: --shapes needs CxSxS with S >= 8 (e.g. 1x28x28), got '${s}'`);
  return [Number(m[1]), Number(m[2])];
}

export function parseTrainBenchArgs(argv: readonly string[]): TrainBenchArgs {
  const a: TrainBenchArgs = { models: ['resnet20', 'resnet56'], shapes: [[1, 28], [3, 32]], threads: [1, 2], batch: 128, runs: 5, warmup: 2, json: false, profile: false };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]!;
    const value = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`bench: ${flag} needs a value\n${TRAIN_BENCH_USAGE}`);
      return v;
    };
    const int = (v: string, min: number): number => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < min) throw new Error(`bench: ${flag} needs integers >= ${min}, got '${v}'`);
      return n;
    };
    switch (flag) {
      case '--train': break;
      case '--models': a.models = list(value()); break;
      case '--shapes': a.shapes = list(value()).map(parseShape); break;
      case '--threads': a.threads = list(value()).map((t) => int(t, 1)); break;
      case '--batch': a.batch = int(value(), 2); break;
      case '--runs': a.runs = int(value(), 1); break;
      case '--warmup': a.warmup = int(value(), 0); break;
      case '--json': a.json = true; break;
      case '--profile': a.profile = true; break;
      default: throw new Error(`bench: unknown option '${flag}' for --train\n${TRAIN_BENCH_USAGE}`);
    }
  }
  if (a.models.length === 0 || a.shapes.length === 0 || a.threads.length === 0) throw new Error(`bench: --models, --shapes and --threads need at least one value\n${TRAIN_BENCH_USAGE}`);
  return a;
}

interface Cell {
  readonly model: string;
  readonly shape: string;
  readonly threads: number;
  readonly macs: number;
  readonly engine: GradientEngine;
  readonly theta: Float32Array;
  readonly states: Float32Array;
  readonly velocity: Float32Array;
  readonly images: Float32Array;
  readonly labels: Int32Array;
  readonly times: number[];
  /** Per timed step: [slowest shard, fastest shard, rest of the step] in ms. */
  readonly split: [number, number, number][];
}

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

/** One training step as `resnet train` takes it; returns its wall time in ms and where it went (see Cell.split). */
async function step(c: Cell, batch: number): Promise<[number, [number, number, number]]> {
  const t0 = performance.now();
  const r = await c.engine.step(c.theta, c.states, c.images, c.labels, batch);
  if (!Number.isFinite(r.loss)) throw new Error(`bench: ${c.model} ${c.shape} diverged (loss ${r.loss})`);
  sgdStep(c.theta, r.grads, c.velocity, 0.01, PAPER_SGD);
  c.states.set(r.states);
  const ms = performance.now() - t0;
  const slow = Math.max(...r.shardMs);
  return [ms, [slow, Math.min(...r.shardMs), ms - slow]];
}

export async function runTrainBench(a: TrainBenchArgs, log: (line: string) => void = () => {}): Promise<TrainBenchRow[]> {
  const cells: Cell[] = [];
  try {
    for (const model of a.models) {
      const base = zooSpec(model);
      if (base.family !== 'cifar') throw new Error(`bench: --train covers the CIFAR-style nets (resnet20..resnet110, plain20..), not ${model}`);
      for (const [channels, size] of a.shapes) {
        const spec = { ...base, inputChannels: channels, inputSize: size, classes: 10 };
        const graph = buildModel(spec, { name: model, seed: 1 });
        const onnx = serializeOnnx(graph);
        for (const threads of a.threads) {
          const t = Math.min(threads, a.batch);
          log(`loading ${model} ${channels}x${size}x${size} (${t} thread${t > 1 ? 's' : ''})`);
          const net = new TrainNet(graph, { backend: wasmBackend(), maxBatch: Math.ceil(a.batch / t), resetBatchNorm: true });
          net.zeroResidualBranchGammas();
          const rng = seededRandom(7);
          const images = Float32Array.from({ length: a.batch * net.inputSize }, () => rng.normal());
          const labels = Int32Array.from({ length: a.batch }, () => Math.floor(rng.uniform() * 10));
          const theta = net.getParams();
          cells.push({
            model, shape: `${channels}x${size}x${size}`, threads: t, macs: net.macsPerSample, engine: await createEngine(net, onnx, t),
            theta, states: net.getStates(), velocity: new Float32Array(theta.length), images, labels, times: [], split: [],
          });
        }
      }
    }
    for (const c of cells) {
      log(`warming up ${c.model} ${c.shape} x${c.threads}`);
      for (let i = 0; i < a.warmup; i++) await step(c, a.batch);
    }
    for (let r = 0; r < a.runs; r++) {
      log(`step ${r + 1}/${a.runs}`);
      for (const c of cells) {
        const [ms, split] = await step(c, a.batch);
        c.times.push(ms);
        c.split.push(split);
      }
    }
  } finally {
    for (const c of cells) await c.engine.close();
  }
  return cells.map((c) => {
    const ms = median(c.times);
    return {
      model: c.model, shape: c.shape, threads: c.threads, batch: a.batch, ms, msMin: Math.min(...c.times), msMax: Math.max(...c.times),
      steps: c.times.length, imagesPerSec: (a.batch * 1000) / ms, macsPerImage: c.macs, gflops: (3 * 2 * c.macs * a.batch) / (ms * 1e6),
      slowShardMs: median(c.split.map((t) => t[0])), fastShardMs: median(c.split.map((t) => t[1])), restMs: median(c.split.map((t) => t[2])),
    };
  });
}

export interface PhaseProfile {
  readonly model: string;
  readonly shape: string;
  /** Images in the profiled forward + backward (one thread's shard). */
  readonly batch: number;
  /** Median CPU ms of the whole forward + backward, and per phase (medians, so they need not add up). */
  readonly totalMs: number;
  readonly phases: readonly { readonly phase: string; readonly ms: number }[];
  /** Median CPU ms per layer shape (the ops' output, "CxHxW"), every timed phase; in network order. */
  readonly layers: readonly { readonly layer: string; readonly ms: number }[];
}

const cpuMs = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

/**
 * One thread's forward + backward of `batch` images, timed by phase in CPU time (steady on a machine other
 * jobs keep busy, where wall time measures the scheduler): convs by pass and method, batch norm, ReLU, ...;
 * "other" is the rest (loss, input layout, JS glue).
 */
export function profileTrainStep(model: string, channels: number, size: number, batch: number, runs: number, warmup: number, opts: Partial<TrainNetOptions> = {}): PhaseProfile {
  const graph = buildModel({ ...zooSpec(model), inputChannels: channels, inputSize: size, classes: 10 }, { name: model, seed: 1 });
  let cur = new Map<string, number>();
  let byLayer = new Map<string, number>();
  const net = new TrainNet(graph, {
    backend: wasmBackend(), maxBatch: batch, resetBatchNorm: true, ...opts,
    clock: cpuMs,
    profile: (phase, ms, layer) => {
      cur.set(phase, (cur.get(phase) ?? 0) + ms);
      byLayer.set(layer, (byLayer.get(layer) ?? 0) + ms);
    },
  });
  net.zeroResidualBranchGammas();
  const rng = seededRandom(7);
  const x = Float32Array.from({ length: batch * net.inputSize }, () => rng.normal());
  const labels = Int32Array.from({ length: batch }, () => Math.floor(rng.uniform() * 10));
  const steps: Map<string, number>[] = [];
  const layerSteps: Map<string, number>[] = [];
  for (let r = 0; r < warmup + runs; r++) {
    cur = new Map();
    byLayer = new Map();
    const t0 = cpuMs();
    net.forward(x, batch, true);
    net.lossAndBackward(labels);
    const total = cpuMs() - t0;
    let timed = 0;
    cur.forEach((ms) => { timed += ms; });
    cur.set('other (loss, layouts, JS)', total - timed);
    cur.set('TOTAL', total);
    if (r >= warmup) {
      steps.push(cur);
      layerSteps.push(byLayer);
    }
  }
  const names = new Set<string>();
  steps.forEach((m) => m.forEach((_, k) => names.add(k)));
  names.delete('TOTAL');
  const phases = [...names].map((phase) => ({ phase, ms: median(steps.map((m) => m.get(phase) ?? 0)) })).sort((p, q) => q.ms - p.ms);
  const layers = [...layerSteps[0]!.keys()].map((layer) => ({ layer, ms: median(layerSteps.map((m) => m.get(layer) ?? 0)) }));
  return { model, shape: `${channels}x${size}x${size}`, batch, totalMs: median(steps.map((m) => m.get('TOTAL')!)), phases, layers };
}

function formatProfile(p: PhaseProfile): string {
  const lines = [`${p.model} ${p.shape}, ${p.batch} images on one thread: forward + backward ${p.totalMs.toFixed(1)} ms CPU (medians)`];
  const row = (name: string, ms: number): string => `  ${name.padEnd(40)} ${ms.toFixed(1).padStart(8)} ms ${(100 * ms / p.totalMs).toFixed(1).padStart(5)}%`;
  for (const { phase, ms } of p.phases) lines.push(row(phase, ms));
  lines.push('by layer (the ops\' output shape; forward + backward, all timed phases):');
  for (const { layer, ms } of p.layers) lines.push(row(layer, ms));
  return lines.join('\n');
}

/**
 * Where each cell's steps went, one line a cell: a step lasts as long as its slowest shard (the threads
 * wait for each other), plus the averaging, SGD and messages after it.
 */
export function formatStepSplit(rows: readonly TrainBenchRow[]): string {
  const lines = ['per step (medians): forward + backward of the slowest and the fastest shard, then the rest (averaging, SGD, messages)'];
  for (const r of rows) {
    const shards = r.threads > 1 ? `slowest shard ${r.slowShardMs.toFixed(1)} ms, fastest ${r.fastShardMs.toFixed(1)} ms` : `the one shard ${r.slowShardMs.toFixed(1)} ms`;
    lines.push(`  ${r.model} ${r.shape} x${r.threads}: ${shards}, rest ${r.restMs.toFixed(1)} ms`);
  }
  return lines.join('\n');
}

export function formatTrainBenchTable(rows: readonly TrainBenchRow[]): string {
  const head = ['model', 'input', 'batch', 'threads', 'median ms', 'min-max ms', 'images/s', 'GFLOPS'];
  const body = rows.map((r) => [
    r.model, r.shape, String(r.batch), String(r.threads), r.ms.toFixed(1), `${r.msMin.toFixed(1)}-${r.msMax.toFixed(1)}`,
    r.imagesPerSec.toFixed(1), r.gflops.toFixed(1),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cols: readonly string[]): string => `| ${cols.map((c, i) => (i < 2 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(' | ')} |`;
  return [line(head), `|${widths.map((w, i) => (i < 2 ? '-'.repeat(w + 2) : `${'-'.repeat(w + 1)}:`)).join('|')}|`, ...body.map(line)].join('\n');
}

/** `resnet bench --train ...`: runs the cells and prints the table (or JSON) with `print`. */
export async function trainBenchMain(argv: readonly string[], print: (s: string) => void): Promise<TrainBenchRow[]> {
  const a = parseTrainBenchArgs(argv);
  const log = a.json ? undefined : (line: string): void => console.error(`bench: ${line}`);
  const rows = await runTrainBench(a, log);
  const profiles: PhaseProfile[] = [];
  if (a.profile) {
    const shard = Math.ceil(a.batch / Math.max(...a.threads));
    for (const model of a.models) for (const [c, size] of a.shapes) {
      log?.(`profiling ${model} ${c}x${size}x${size}, ${shard} images`);
      profiles.push(profileTrainStep(model, c, size, shard, a.runs, a.warmup));
    }
  }
  if (a.json) print(JSON.stringify({ rows, profiles }, null, 2));
  else {
    print(formatTrainBenchTable(rows));
    print('');
    print(`training steps (forward, backward, SGD) at batch ${a.batch}; median of ${a.runs} after ${a.warmup} warm-up step${a.warmup === 1 ? '' : 's'}; ` +
      'GFLOPS = 3 x 2 x forward multiply-adds per image x images/s');
    print(formatStepSplit(rows));
    for (const p of profiles) print(`\n${formatProfile(p)}`);
  }
  return rows;
}

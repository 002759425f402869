// The benchmark: our engines (ts, wasm) against ONNX Runtime Web's wasm backend on zoo models, the same
// ONNX bytes for ORT as our compiler reads. Every (model, engine, threads) cell is warmed up, then the runs
// are interleaved (run r of every cell before run r+1 of any), so a noisy neighbour hurts all cells alike,
// and each cell reports its median. Before each timed run the process is let go idle (ORT's threads spin
// for a while after their runs and would otherwise slow the next cell down).
import { registerAll } from '../engine/register';
import { enableRelaxedSimdInNode } from '../../kernels/wasm/node-relaxed';
import { type MemoryBreakdown, type WasmExecutor, createWasmExecutor } from '../engine/wasm/executor';
import { measureSimdPeak } from '../../kernels/wasm/peak';
import { compileGraph } from '../engine/compile';
import { type Plan, withWeightsInMemory } from '../engine/plan';
import { runPlan } from '../engine/run-ts';
import { UserError } from '../errors';
import { serializeOnnx } from '../onnx/write';
import { type Tensor, maxAbs, sizeOf, tensor } from '../../kernels/core/tensor';
import { buildModel } from '../zoo/build';
import { zooSpec } from '../zoo/spec';
import { OrtWorkerSession } from './ort-worker';

const BENCH_ENGINES = ['ts', 'wasm', 'ort-wasm'] as const;
export type BenchEngine = (typeof BENCH_ENGINES)[number];

/** Options the benchmark cannot run with (an unknown engine, a batch of 0...). */
class BenchOptionError extends UserError {
  override name = 'BenchOptionError';
}

export interface BenchOptions {
  readonly models: readonly string[];
  readonly engines: readonly string[];
  readonly threads: readonly number[];
  readonly batch: number;
  /** Timed runs per cell (default 5), after `warmup` untimed ones (default 2). */
  readonly runs?: number;
  readonly warmup?: number;
  /** The caller prints JSON instead of the table (kept here so the CLI can pass its flags through). */
  readonly json?: boolean;
  /** wasm engine: use relaxed SIMD (default true; in Node 20 this turns on V8's flag for it). */
  readonly relaxedSimd?: boolean;
  /** Progress lines (loading, warm-up) for a terminal; silent when absent. */
  readonly log?: (line: string) => void;
}

export interface BenchRow {
  readonly model: string;
  readonly engine: BenchEngine;
  readonly threads: number;
  readonly batch: number;
  /** Median, min and max of the timed runs, milliseconds per batch. */
  readonly ms: number;
  readonly msMin: number;
  readonly msMax: number;
  readonly runs: number;
  readonly imagesPerSec: number;
  /** Effective GFLOPS: 2 * multiply-adds of the model / time. */
  readonly gflops: number;
  readonly macsPerImage: number;
  /** ms / ORT-web wasm's ms at the same thread count (null without an ORT cell to compare with). */
  readonly vsOrt: number | null;
  /** max |ours - ORT| / max |ORT| on the first run's output (null for ORT itself or without ORT). */
  readonly diffVsOrt: number | null;
}

interface Cell {
  readonly model: string;
  readonly engine: BenchEngine;
  readonly threads: number;
  readonly run: (x: Tensor) => Promise<{ output: Tensor; ms: number }>;
  readonly dispose: () => Promise<void>;
  readonly times: number[];
  first?: Tensor;
}

/**
 * Waits (untimed) until this process is idle: ORT-web's thread pool keeps spinning for ~0.25 s after a run,
 * which would steal a core from whichever cell runs next. Returns after `maxMs` regardless.
 */
async function settle(maxMs = 1000): Promise<void> {
  const proc = (globalThis as unknown as { process: { cpuUsage(prev?: { user: number; system: number }): { user: number; system: number } } }).process;
  const t0 = performance.now();
  while (performance.now() - t0 < maxMs) {
    const c0 = proc.cpuUsage();
    const w0 = performance.now();
    await new Promise((r) => setTimeout(r, 5));
    const c = proc.cpuUsage(c0);
    if ((c.user + c.system) / 1000 / (performance.now() - w0) < 0.25) return;
  }
}

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

function isBenchEngine(e: string): e is BenchEngine {
  return (BENCH_ENGINES as readonly string[]).includes(e);
}

/** A deterministic input in [-1, 1] (the values do not matter for speed; they make outputs comparable). */
function benchInput(shape: readonly number[]): Tensor {
  const t = tensor(shape);
  // biome-ignore lint/suspicious/noApproximativeNumericConstant: an arbitrary frequency, not the square root of 1/2
  for (let i = 0; i < t.data.length; i++) t.data[i] = Math.sin(i * 0.7071) * 0.9;
  return t;
}

function planMacs(plan: Plan): number {
  return plan.stats.reduce((s, l) => s + l.macs, 0);
}

async function makeCell(model: string, engine: BenchEngine, threads: number, plan: Plan, onnx: () => Uint8Array, relaxed: boolean): Promise<Cell> {
  const base = { model, engine, threads, times: [] as number[] };
  switch (engine) {
    case 'ts': {
      // The ts engine reads the weights at every run: hold them computed (plan.ts: withWeightsInMemory).
      const held = withWeightsInMemory(plan);
      return {
        ...base,
        run: async (x) => {
          const t0 = performance.now();
          const output = runPlan(held, x, 'ts').outputs[0]!;
          return { output, ms: performance.now() - t0 };
        },
        dispose: async () => {},
      };
    }
    case 'wasm': {
      const ex: WasmExecutor = await createWasmExecutor(plan, { threads, relaxedSimd: relaxed });
      return {
        ...base,
        run: async (x) => {
          const t0 = performance.now();
          const output = (await ex.run(x)).outputs[0]!;
          return { output, ms: performance.now() - t0 };
        },
        dispose: async () => ex.dispose(),
      };
    }
    case 'ort-wasm': {
      const s = await OrtWorkerSession.create(onnx(), threads);
      return { ...base, run: (x) => s.run(x), dispose: () => s.dispose() };
    }
  }
}

export async function runBench(opts: BenchOptions): Promise<BenchRow[]> {
  const runs = opts.runs ?? 5;
  const warmup = opts.warmup ?? 2;
  const log = opts.log ?? (() => {});
  for (const e of opts.engines) if (!isBenchEngine(e)) throw new BenchOptionError(`unknown engine '${e}' (known: ${BENCH_ENGINES.join(', ')})`);
  if (opts.threads.length === 0 || opts.threads.some((t) => !Number.isInteger(t) || t < 1)) throw new BenchOptionError(`threads must be integers >= 1, got [${opts.threads.join(',')}]`);
  if (!Number.isInteger(opts.batch) || opts.batch < 1) throw new BenchOptionError(`batch must be an integer >= 1, got ${opts.batch}`);
  if (!Number.isInteger(runs) || runs < 1) throw new BenchOptionError(`runs must be an integer >= 1, got ${runs}`);
  const engines = opts.engines as BenchEngine[];
  registerAll();
  const relaxed = opts.relaxedSimd !== false && engines.includes('wasm') ? await enableRelaxedSimdInNode() : false;

  const cells: Cell[] = [];
  const inputs = new Map<string, Tensor>();
  const macs = new Map<string, number>();
  try {
    for (const model of opts.models) {
      const graph = buildModel(zooSpec(model), { name: model });
      const plan = compileGraph(graph);
      macs.set(model, planMacs(plan));
      inputs.set(model, benchInput([opts.batch, ...plan.values[plan.input]!.shape]));
      let bytes: Uint8Array | undefined;
      const onnx = (): Uint8Array => (bytes ??= serializeOnnx(graph));
      for (const engine of engines) {
        // The ts engine is single-threaded: one cell, labelled 1 thread.
        const threadCounts = engine === 'ts' ? [1] : opts.threads;
        for (const threads of threadCounts) {
          log(`loading ${model} on ${engine} (${threads} thread${threads > 1 ? 's' : ''})`);
          cells.push(await makeCell(model, engine, threads, plan, onnx, relaxed));
        }
      }
    }
    for (const c of cells) {
      log(`warming up ${c.model} ${c.engine} x${c.threads}`);
      for (let i = 0; i < warmup; i++) {
        const r = await c.run(inputs.get(c.model)!);
        c.first ??= r.output;
      }
    }
    for (let r = 0; r < runs; r++) {
      log(`run ${r + 1}/${runs}`);
      for (const c of cells) {
        await settle();
        const res = await c.run(inputs.get(c.model)!);
        c.first ??= res.output;
        c.times.push(res.ms);
      }
    }
  } finally {
    for (const c of cells) await c.dispose();
  }

  const ortCell = (model: string, threads: number): Cell | undefined =>
    cells.find((c) => c.model === model && c.engine === 'ort-wasm' && c.threads === threads) ??
    cells.find((c) => c.model === model && c.engine === 'ort-wasm');
  return cells.map((c) => {
    const ms = median(c.times);
    const m = macs.get(c.model)!;
    const ort = c.engine === 'ort-wasm' ? undefined : ortCell(c.model, c.threads);
    const ortSame = cells.find((o) => o.model === c.model && o.engine === 'ort-wasm' && o.threads === c.threads);
    let diffVsOrt: number | null = null;
    if (ort?.first && c.first && ort.first.data.length === c.first.data.length) {
      let d = 0;
      for (let i = 0; i < c.first.data.length; i++) d = Math.max(d, Math.abs(c.first.data[i]! - ort.first.data[i]!));
      diffVsOrt = d / Math.max(maxAbs(ort.first.data), 1e-30);
    }
    return {
      model: c.model, engine: c.engine, threads: c.threads, batch: opts.batch,
      ms, msMin: Math.min(...c.times), msMax: Math.max(...c.times), runs: c.times.length,
      imagesPerSec: (opts.batch * 1000) / ms,
      gflops: (2 * m * opts.batch) / (ms * 1e6),
      macsPerImage: m,
      vsOrt: ortSame && c.engine !== 'ort-wasm' ? ms / median(ortSame.times) : null,
      diffVsOrt,
    };
  });
}

/** A plain-text table of bench rows (one line per model, engine and thread count). */
export function formatBenchTable(rows: readonly BenchRow[]): string {
  const head = ['model', 'batch', 'engine', 'threads', 'median ms', 'min-max ms', 'images/s', 'GFLOPS', 'vs ORT', 'diff vs ORT'];
  const body = rows.map((r) => [
    r.model, String(r.batch), r.engine, String(r.threads), r.ms.toFixed(1), `${r.msMin.toFixed(1)}-${r.msMax.toFixed(1)}`,
    r.imagesPerSec.toFixed(1), r.gflops.toFixed(1), r.vsOrt === null ? '' : `${r.vsOrt.toFixed(2)}x`,
    r.diffVsOrt === null ? '' : r.diffVsOrt.toExponential(1),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cols: readonly string[]): string => `| ${cols.map((c, i) => (i < 3 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(' | ')} |`;
  return [line(head), `|${widths.map((w, i) => (i < 3 ? '-'.repeat(w + 2) : `${'-'.repeat(w + 1)}:`)).join('|')}|`, ...body.map(line)].join('\n');
}

export interface MachinePeak {
  /** Single-core wasm SIMD GFLOPS with f32x4.mul + f32x4.add. */
  readonly mulAdd: number;
  /** With f32x4.relaxed_madd (FMA), or null where relaxed SIMD does not validate. */
  readonly relaxedMadd: number | null;
}

export async function measureMachinePeak(): Promise<MachinePeak> {
  const relaxed = await enableRelaxedSimdInNode();
  return { mulAdd: measureSimdPeak(false).gflopsPerCore, relaxedMadd: relaxed ? measureSimdPeak(true).gflopsPerCore : null };
}

export interface MemoryReport {
  readonly model: string;
  readonly batch: number;
  /** Float32 parameters of the compiled plan (BN folded), bytes. */
  readonly weightBytes: number;
  /** The two largest activations of one batch, bytes. */
  readonly largestTwoActivationBytes: number;
  /** The bar: 2 x weights + the two largest activations. */
  readonly boundBytes: number;
  /** The wasm engine's whole memory (packed weights, activation arena, indirection tables, program). */
  readonly wasmMemoryBytes: number;
  /** Where the wasm memory goes. */
  readonly wasmBreakdown: MemoryBreakdown;
  /** Resident set growth of this process from before loading the model to after one run (plan + engine). */
  readonly rssGrowthBytes: number;
}

/** Peak memory of the wasm engine for one model and batch size. */
export async function measureWasmMemory(model: string, batch: number, threads: number): Promise<MemoryReport> {
  const rss = (): number => (globalThis as unknown as { process: { memoryUsage(): { rss: number } } }).process.memoryUsage().rss;
  const rss0 = rss();
  const plan = compileGraph(buildModel(zooSpec(model), { name: model }));
  let weightBytes = 0;
  for (const s of plan.steps) if (s.kind === 'conv' || s.kind === 'fc') weightBytes += (sizeOf(s.weight.shape) + s.bias.length) * 4;
  const acts = plan.values.map((v) => sizeOf(v.shape) * 4 * batch).sort((a, b) => b - a);
  const largestTwoActivationBytes = (acts[0] ?? 0) + (acts[1] ?? 0);
  const ex = await createWasmExecutor(plan, { threads });
  try {
    await ex.run(benchInput([batch, ...plan.values[plan.input]!.shape]));
    return {
      model, batch, weightBytes, largestTwoActivationBytes, boundBytes: 2 * weightBytes + largestTwoActivationBytes,
      wasmMemoryBytes: ex.memoryBytes(), wasmBreakdown: ex.memoryBreakdown(), rssGrowthBytes: rss() - rss0,
    };
  } finally {
    ex.dispose();
  }
}

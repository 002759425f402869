// How fast a model loads and how much memory loading takes: the zoo model written to an ONNX file, then what
// `resnet classify` does with a file, phase by phase: parse (the file read by range, its weights left in it),
// compile (BN folding is computed later, as each layer is packed), pack + start (the kernels generated and
// compiled, each layer's weights read, folded and packed into the engine's memory, the worker threads started)
// and the first inference. Each model loads in a fresh process of its own, so its peak resident set is the
// whole process's, as a user's `resnet classify` sees it.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tensor } from '../../kernels/core/tensor';
import { enableRelaxedSimdInNode } from '../../kernels/wasm/node-relaxed';
import { compileGraph } from '../engine/compile';
import { createWasmExecutor } from '../engine/wasm/executor';
import { MAX_MODEL_BYTES, parseOnnx } from '../onnx/read';
import { serializeOnnx } from '../onnx/write';
import { openRegularFile } from '../read-file';
import { buildModel } from '../zoo/build';
import { zooSpec } from '../zoo/spec';

export interface LoadRow {
  readonly model: string;
  readonly engine: 'wasm';
  readonly threads: number;
  /** The ONNX file's size, bytes. */
  readonly fileBytes: number;
  readonly parseMs: number;
  readonly compileMs: number;
  /** Kernels generated and compiled, weights read, folded and packed, worker threads started. */
  readonly packMs: number;
  readonly firstRunMs: number;
  readonly totalMs: number;
  /** Peak resident set of the process that loaded the model (node itself included), bytes. */
  readonly peakRssBytes: number;
  /** Whether that process did only this load (false: measured in a process that did other work first). */
  readonly isolated: boolean;
}

/** The process's peak resident set (VmHWM on Linux, else the OS's maximum RSS), bytes. */
function peakRss(): number {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
    if (m) return Number(m[1]) * 1024;
  } catch {
    // not Linux
  }
  return process.resourceUsage().maxRSS * 1024;
}

/** Loads the model file the way `resnet classify` does and times each phase, in this process. */
async function measureLoad(model: string, file: string, threads: number, isolated = false): Promise<LoadRow> {
  await enableRelaxedSimdInNode();
  const t0 = performance.now();
  const source = openRegularFile(file, { maxBytes: MAX_MODEL_BYTES });
  try {
    const graph = parseOnnx(source);
    const t1 = performance.now();
    const plan = compileGraph(graph);
    const t2 = performance.now();
    const ex = await createWasmExecutor(plan, { threads });
    const t3 = performance.now();
    try {
      const x = tensor([1, ...plan.values[plan.input]!.shape]);
      await ex.run(x);
      const t4 = performance.now();
      return {
        model, engine: 'wasm', threads, fileBytes: source.byteLength, parseMs: t1 - t0, compileMs: t2 - t1, packMs: t3 - t2,
        firstRunMs: t4 - t3, totalMs: t4 - t0, peakRssBytes: peakRss(), isolated,
      };
    } finally {
      ex.dispose();
    }
  } finally {
    source.close();
  }
}

/** Set in the environment of the process that measures one load (see runLoadBench). */
const LOAD_CHILD_ENV = 'RESNET_LAB_BENCH_LOAD';

export interface LoadOptions {
  readonly models: readonly string[];
  /** Each model is loaded at each of these thread counts. */
  readonly threads: readonly number[];
  /**
   * Each load in a fresh process, running this process's own entry point again (the CLI) with the job in
   * LOAD_CHILD_ENV; false measures in this process (then only the first load's peak memory is its own).
   */
  readonly isolate: boolean;
}

function runChild(job: { model: string; file: string; threads: number }): Promise<LoadRow> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...process.execArgv, ...process.argv.slice(1)], {
      env: { ...process.env, [LOAD_CHILD_ENV]: JSON.stringify(job) },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    child.on('error', reject);
    child.on('close', (code) => {
      const line = out.split('\n').find((l) => l.startsWith('{"model"'));
      if (code === 0 && line) resolve(JSON.parse(line) as LoadRow);
      else reject(new Error(`bench: the load of ${job.model} failed in its own process (exit code ${code})`));
    });
  });
}

/** In the child: the job from the environment, measured, printed as one JSON line. True if this was a child. */
export async function loadChildMain(print: (s: string) => void): Promise<boolean> {
  const job = process.env[LOAD_CHILD_ENV];
  if (!job) return false;
  const { model, file, threads } = JSON.parse(job) as { model: string; file: string; threads: number };
  print(JSON.stringify(await measureLoad(model, file, threads, true)));
  return true;
}

/**
 * Whether this process was started as the `resnet` command or the bench itself (bin/resnet.js, the bundle,
 * src/cli/from-source.ts, src/bench/main.ts): only then can a load run in a fresh copy of it.
 */
export function startedAsCli(): boolean {
  return /(bin[\\/]resnet(\.js)?|dist[\\/]cli\.js|src[\\/]cli[\\/]from-source\.ts|src[\\/]bench[\\/]main\.ts)$/.test(process.argv[1] ?? '');
}

/** Writes each zoo model to a temporary ONNX file and measures its load (see the file's comment). */
export async function runLoadBench(opts: LoadOptions): Promise<LoadRow[]> {
  const dir = mkdtempSync(join(tmpdir(), 'resnet-bench-load-'));
  try {
    const rows: LoadRow[] = [];
    for (const model of opts.models) {
      const file = join(dir, `${model}.onnx`);
      writeFileSync(file, serializeOnnx(buildModel(zooSpec(model), { name: model })));
      for (const threads of opts.threads) rows.push(opts.isolate ? await runChild({ model, file, threads }) : await measureLoad(model, file, threads));
    }
    return rows;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The load table: one line per model. */
export function formatLoadTable(rows: readonly LoadRow[]): string {
  const mb = (b: number): string => (b / 2 ** 20).toFixed(1);
  const head = ['model', 'engine', 'threads', 'file MB', 'parse ms', 'compile ms', 'pack+start ms', 'first run ms', 'load total ms', 'peak RSS MB'];
  const body = rows.map((r) => [
    r.model, r.engine, String(r.threads), mb(r.fileBytes), r.parseMs.toFixed(0), r.compileMs.toFixed(0), r.packMs.toFixed(0),
    r.firstRunMs.toFixed(0), r.totalMs.toFixed(0), `${mb(r.peakRssBytes)}${r.isolated ? '' : '*'}`,
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cols: readonly string[]): string => `| ${cols.map((c, i) => (i < 2 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(' | ')} |`;
  return [line(head), `|${widths.map((w, i) => (i < 2 ? '-'.repeat(w + 2) : `${'-'.repeat(w + 1)}:`)).join('|')}|`, ...body.map(line)].join('\n');
}

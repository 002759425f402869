// `resnet bench` in one function: parses the flags, runs the interleaved benchmark, prints the table (or
// JSON), the machine's wasm SIMD peak and the wasm engine's memory for resnet50. The CLI delegates here;
// `node --import tsx src/bench/main.ts [flags]` runs it directly.
import { CliError, intListOption, intOption, listOption, parse } from '../cli/args';
import { UserError } from '../errors';
import { type BenchRow, formatBenchTable, measureMachinePeak, measureWasmMemory, runBench } from './bench';
import { formatLoadTable, loadChildMain, runLoadBench, startedAsCli } from './load';
import { type TrainBenchRow, trainBenchMain } from './train-bench';

export const BENCH_USAGE = `resnet bench [--models resnet18,resnet50,resnet20,resnet56] [--engines ts,wasm,ort-wasm]
             [--threads 1,2] [--batch N] [--runs N] [--warmup N] [--no-relaxed] [--no-memory] [--no-load] [--json]`;

export interface BenchArgs {
  models: string[];
  engines: string[];
  threads: number[];
  batch: number;
  runs: number;
  warmup: number;
  json: boolean;
  relaxedSimd: boolean;
  memory: boolean;
  /** Load times and peak memory per model (wasm engine), each in a fresh process. */
  load: boolean;
}

const DEFAULTS: BenchArgs = {
  models: ['resnet18', 'resnet50', 'resnet20', 'resnet56'], engines: ['ts', 'wasm', 'ort-wasm'], threads: [1, 2],
  batch: 1, runs: 5, warmup: 2, json: false, relaxedSimd: true, memory: true, load: true,
};

/** The bench's flags, through the CLI's one argument parser (src/cli/args.ts). */
export function parseBenchArgs(argv: readonly string[]): BenchArgs {
  const { values, positionals } = parse(argv, {
    models: { type: 'string' }, engines: { type: 'string' }, threads: { type: 'string' }, batch: { type: 'string' },
    runs: { type: 'string' }, warmup: { type: 'string' }, json: { type: 'boolean' }, 'no-relaxed': { type: 'boolean' },
    'no-memory': { type: 'boolean' }, 'no-load': { type: 'boolean' },
  });
  if (positionals.length > 0) throw new CliError(`bench takes no positional arguments (got '${positionals[0]}'): ${BENCH_USAGE}`);
  return {
    models: listOption(values['models'], DEFAULTS.models),
    engines: listOption(values['engines'], DEFAULTS.engines),
    threads: intListOption(values['threads'], 'threads', 1, 256, DEFAULTS.threads),
    batch: intOption(values['batch'], 'batch', 1, 65536, DEFAULTS.batch),
    runs: intOption(values['runs'], 'runs', 1, 100000, DEFAULTS.runs),
    warmup: intOption(values['warmup'], 'warmup', 0, 100000, DEFAULTS.warmup),
    json: values['json'] === true,
    relaxedSimd: values['no-relaxed'] !== true,
    memory: values['no-memory'] !== true,
    load: values['no-load'] !== true,
  };
}

/** Runs the benchmark and writes its report with `print`; returns the rows. */
export async function benchMain(argv: readonly string[], print: (s: string) => void = (s) => console.log(s)): Promise<BenchRow[] | TrainBenchRow[]> {
  if (await loadChildMain(print)) return [];
  if (argv.includes('--train')) return trainBenchMain(argv, print);
  const a = parseBenchArgs(argv);
  const log = a.json ? undefined : (line: string): void => console.error(`bench: ${line}`);
  const threads = Math.max(...a.threads);
  // Loads first, each in a process of its own; then memory, while this process holds nothing else.
  if (a.load && a.engines.includes('wasm')) log?.(`loading ${a.models.join(', ')} from ONNX files, each in a fresh process`);
  const load = a.load && a.engines.includes('wasm') ? await runLoadBench({ models: a.models, threads: a.threads, isolate: startedAsCli() }) : null;
  const memory = a.memory && a.engines.includes('wasm') ? await measureWasmMemory('resnet50', 1, threads) : null;
  const rows = await runBench({ ...a, log });
  const peak = await measureMachinePeak();
  if (a.json) {
    print(JSON.stringify({ rows, peak, memory, load }, null, 2));
    return rows;
  }
  print(formatBenchTable(rows));
  print('');
  print(`wasm SIMD peak per core: ${peak.mulAdd.toFixed(1)} GFLOPS (f32x4.mul+add)` +
    (peak.relaxedMadd !== null ? `, ${peak.relaxedMadd.toFixed(1)} GFLOPS (relaxed_madd)` : ', relaxed SIMD unavailable'));
  if (memory) {
    const mb = (b: number): string => `${(b / 2 ** 20).toFixed(1)} MB`;
    const b = memory.wasmBreakdown;
    print(`memory, ${memory.model} batch ${memory.batch}: wasm engine ${mb(memory.wasmMemoryBytes)} = packed weights ${mb(b.weights)} + ` +
      `activation arena ${mb(b.arena)} + Winograd scratch ${mb(b.scratch)} + tables ${mb(b.tables)}; model weights ${mb(memory.weightBytes)}, ` +
      `bound 2 x weights + two largest activations = ${mb(memory.boundBytes)}; process RSS growth incl. graph and plan ${mb(memory.rssGrowthBytes)}`);
  }
  if (load) {
    print('');
    const where = load.every((r) => r.isolated) ? 'each model in a fresh process' : 'in this process (*: peak RSS of all it did)';
    print(`load, from an ONNX file as \`resnet classify\` reads it (one image: 1 thread), wasm engine, ${where} (peak RSS: the whole process's, node and sharp included):`);
    print(formatLoadTable(load));
  }
  return rows;
}

if (/src[\\/]bench[\\/]main\.ts$/.test(process.argv[1] ?? '')) {
  benchMain(process.argv.slice(2)).catch((err: unknown) => {
    console.error(err instanceof UserError ? `bench: ${err.message}` : err);
    process.exitCode = err instanceof UserError ? 1 : 2;
  });
}

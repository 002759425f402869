// `resnet bench` in one function: parses the flags, runs the interleaved benchmark, prints the table (or
// JSON), the machine's wasm SIMD peak and the wasm engine's memory for resnet50. The CLI delegates here;
// `node --import tsx src/bench/main.ts [flags]` runs it directly.
import { type BenchRow, formatBenchTable, measureMachinePeak, measureWasmMemory, runBench } from './bench';
import { type TrainBenchRow, trainBenchMain } from './train-bench';

export const BENCH_USAGE = `resnet bench [--models resnet18,resnet50,resnet20,resnet56] [--engines ts,wasm,ort-wasm]
             [--threads 1,2] [--batch N] [--runs N] [--warmup N] [--no-relaxed] [--no-memory] [--json]`;

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
}

const list = (v: string): string[] => v.split(',').map((s) => s.trim()).filter((s) => s.length > 0);

export function parseBenchArgs(argv: readonly string[]): BenchArgs {
  const a: BenchArgs = {
    models: ['resnet18', 'resnet50', 'resnet20', 'resnet56'], engines: ['ts', 'wasm', 'ort-wasm'], threads: [1, 2],
    batch: 1, runs: 5, warmup: 2, json: false, relaxedSimd: true, memory: true,
  };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]!;
    const value = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`bench: ${flag} needs a value\n${BENCH_USAGE}`);
      return v;
    };
    const int = (): number => {
      const v = value();
      const n = Number(v);
      if (!Number.isInteger(n) || n < 1) throw new Error(`bench: ${flag} needs a positive integer, got '${v}'`);
      return n;
    };
    switch (flag) {
      case '--models': a.models = list(value()); break;
      case '--engines': a.engines = list(value()); break;
      case '--threads': a.threads = list(value()).map((t) => {
        const n = Number(t);
        if (!Number.isInteger(n) || n < 1) throw new Error(`bench: --threads needs positive integers, got '${t}'`);
        return n;
      }); break;
      case '--batch': a.batch = int(); break;
      case '--runs': a.runs = int(); break;
      case '--warmup': a.warmup = Number(value()); break;
      case '--json': a.json = true; break;
      case '--no-relaxed': a.relaxedSimd = false; break;
      case '--no-memory': a.memory = false; break;
      default: throw new Error(`bench: unknown option '${flag}'\n${BENCH_USAGE}`);
    }
  }
  return a;
}

/** Runs the benchmark and writes its report with `print`; returns the rows. */
export async function benchMain(argv: readonly string[], print: (s: string) => void = (s) => console.log(s)): Promise<BenchRow[] | TrainBenchRow[]> {
  if (argv.includes('--train')) return trainBenchMain(argv, print);
  const a = parseBenchArgs(argv);
  const log = a.json ? undefined : (line: string): void => console.error(`bench: ${line}`);
  // Memory first, while the process holds nothing else.
  const memory = a.memory && a.engines.includes('wasm') ? await measureWasmMemory('resnet50', 1, Math.max(...a.threads)) : null;
  const rows = await runBench({ ...a, log });
  const peak = await measureMachinePeak();
  if (a.json) {
    print(JSON.stringify({ rows, peak, memory }, null, 2));
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
  return rows;
}

const self = (globalThis as { process?: { argv: string[] } }).process?.argv[1] ?? '';
if (/src[\\/]bench[\\/]main\.ts$/.test(self)) {
  benchMain((globalThis as unknown as { process: { argv: string[] } }).process.argv.slice(2)).catch((err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    (globalThis as unknown as { process: { exitCode: number } }).process.exitCode = 1;
  });
}

// The model fuzzer from the command line (npm run fuzz):
//   node --import tsx scripts/fuzz-models.ts [--cases N] [--seed S] [--first I] [--base FILE.onnx]
//                                            [--timeout-ms MS] [--only m1,m2] [--side N] [--verbose]
//   node --import tsx scripts/fuzz-models.ts --case I [--seed S] [--write FILE.onnx]   one case, in detail
// Seeded mutants of the base model (models/resnet20.onnx unless --base) loaded on every engine (ts,
// wasm, ort-wasm) and run on one fixed input; prints the figures at the end and exits 1 if any case is
// a finding (an unexplained disagreement, an internal error, a hang, unbounded memory). --side N declares
// the base model's input N x N (src/onnx/fuzz.test.ts runs resnet20 at 8x8: --side 8 reproduces its cases).
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { caseSeed, MUTATORS, mutateModel, withInputSide } from '../src/onnx/fuzz';
import { type CaseReport, formatSummary, runFuzz } from '../src/fuzz/harness';
import { judgeModel } from '../src/fuzz/judge';
import { explain } from '../src/fuzz/exceptions';
import { MAX_MODEL_BYTES } from '../src/onnx/read';
import { readRegularFile } from '../src/read-file';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

const { values } = parseArgs({
  options: {
    cases: { type: 'string' }, seed: { type: 'string' }, first: { type: 'string' }, base: { type: 'string' },
    'timeout-ms': { type: 'string' }, only: { type: 'string' }, verbose: { type: 'boolean' }, case: { type: 'string' },
    write: { type: 'string' }, side: { type: 'string' },
  },
});

function int(v: string | undefined, name: string, dflt: number): number {
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < 0) {
    process.stderr.write(`fuzz-models: --${name} must be a non-negative integer, got '${v}'\n`);
    process.exit(1);
  }
  return n;
}

const seed = int(values.seed, 'seed', 1);
const basePath = values.base ?? join(ROOT, 'models', 'resnet20.onnx');
const side = values.side === undefined ? undefined : int(values.side, 'side', 0);
const file = readRegularFile(basePath, { maxBytes: MAX_MODEL_BYTES });
const base = side === undefined ? file : withInputSide(file, side);
const only = values.only?.split(',').map((s) => s.trim()).filter(Boolean);
for (const m of only ?? []) {
  if (!MUTATORS.includes(m)) {
    process.stderr.write(`fuzz-models: unknown mutator '${m}' (mutators: ${MUTATORS.join(', ')})\n`);
    process.exit(1);
  }
}

if (values.case !== undefined) {
  // One case in detail: its mutations, every engine's result and the verdict.
  const index = int(values.case, 'case', 0);
  const { bytes, mutations } = mutateModel(base, caseSeed(seed, index), only);
  if (values.write) writeFileSync(values.write, bytes);
  const j = await judgeModel(bytes);
  const show = (o: unknown): string => JSON.stringify(o, (_k, v: unknown) => (v instanceof Float32Array ? [...v.subarray(0, 12)] : v));
  process.stdout.write(`case ${index} (seed ${caseSeed(seed, index)}): ${mutations.join(' + ')}\n`);
  for (const [engine, r] of Object.entries(j.results)) process.stdout.write(`  ${engine}: ${show(r)}\n`);
  process.stdout.write(`verdict: ${show(j.verdict)}${explain(j) ? ` (known: ${explain(j)!.id})` : ''}\n`);
  process.exit(0);
}

const cases = int(values.cases, 'cases', 1000);
const first = int(values.first, 'first', 0);
const timeoutMs = int(values['timeout-ms'], 'timeout-ms', 60_000);
process.stdout.write(`fuzzing ${basePath.startsWith(ROOT) ? basePath.slice(ROOT.length + 1) : basePath}: ${cases} cases from ${first}, seed ${seed}, engines ts, wasm, ort-wasm\n`);
let done = 0;
const summary = await runFuzz({ base, seed, cases, first, timeoutMs, ...(only && { only }) }, (c: CaseReport) => {
  done++;
  if (values.verbose || c.outcome === 'finding') {
    process.stdout.write(`case ${c.index} ${c.outcome}${c.kind !== c.outcome ? ` ${c.kind}` : ''} (${c.ms.toFixed(0)} ms): ${c.mutations.join(' + ')}${c.detail ? ` => ${c.detail}` : ''}\n`);
  }
  if (done % 100 === 0) process.stderr.write(`${done}/${cases} cases\n`);
});
process.stdout.write(`${formatSummary(summary).join('\n')}\n`);
process.exit(summary.counts.finding > 0 ? 1 : 0);

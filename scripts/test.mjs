// Runs the test files with Node's test runner (TypeScript through tsx).
//   node scripts/test.mjs            unit tests, then e2e tests
//   node scripts/test.mjs --unit     unit tests only (src/, kernels/, app/)
//   node scripts/test.mjs --e2e      Playwright e2e tests only (e2e/)
//   node scripts/test.mjs --fast     the quick loop (`npm run test:fast`): unit tests but the SLOW ones below
//   node scripts/test.mjs FILE...    the named test files
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';

/**
 * What --fast leaves out: scoring whole models (engine parity, the shipped models, product photos, ORT),
 * training and benchmark runs, and suites that compile every zoo model: about 10 s a file or more on a
 * 2-core machine. `npm test` runs everything.
 */
const SLOW = [
  'src/engine/parity.test.ts',
  'src/engine/compile.test.ts',
  'src/train/shipped-models.test.ts',
  'src/train/optim.test.ts',
  'src/preprocess/polarity.test.ts',
  'src/onnx/ort.test.ts',
  'src/analysis/layer-responses.test.ts',
  'src/cli/cli.test.ts',
  'src/cli/commands/train-eval.test.ts',
  'src/train/transfer.test.ts',
  'src/train/folder.test.ts',
  'src/bench/bench.test.ts',
  'src/zoo/zoo.test.ts',
  'src/engine/wasm/wasm.test.ts',
  'src/onnx/fuzz.test.ts',
  'src/import/import.test.ts',
  'src/analysis/cam.test.ts',
  'src/train/wasm-backend.test.ts',
  'src/train/engine.test.ts',
  'src/bench/train-bench.test.ts',
  'app/shared/catalogue.test.ts',
];

function findTests(dir) {
  const out = [];
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name.startsWith('.')) continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...findTests(p));
    else if (name.endsWith('.test.ts')) out.push(p);
  }
  return out.sort();
}

const args = process.argv.slice(2);
const files = args.filter((a) => !a.startsWith('--'));
const unit = ['src', 'kernels', 'app'].flatMap(findTests);
const e2e = findTests('e2e');
const fast = args.includes('--fast');
if (fast) {
  // A file that moved would silently become "fast": keep the list honest.
  for (const f of SLOW) if (!existsSync(f)) console.warn(`test.mjs: ${f} (in the SLOW list) does not exist`);
}
const selected = files.length > 0 ? files
  : fast ? unit.filter((f) => !SLOW.includes(f))
  : args.includes('--unit') ? unit : args.includes('--e2e') ? e2e : [...unit, ...e2e];

const r = spawnSync(
  process.execPath,
  ['--import', 'tsx', '--test', `--test-concurrency=${fast ? availableParallelism() : 1}`, '--test-reporter=spec', ...selected],
  { stdio: 'inherit' },
);
process.exit(r.status ?? 1);

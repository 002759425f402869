// Runs the test files with Node's test runner (TypeScript through tsx).
//   node scripts/test.mjs            unit tests, then e2e tests
//   node scripts/test.mjs --unit     unit tests only (src/, kernels/, app/)
//   node scripts/test.mjs --e2e      Playwright e2e tests only (e2e/)
//   node scripts/test.mjs FILE...    the named test files
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

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
const selected = files.length > 0 ? files : args.includes('--unit') ? unit : args.includes('--e2e') ? e2e : [...unit, ...e2e];

const r = spawnSync(
  process.execPath,
  ['--import', 'tsx', '--test', '--test-concurrency=1', '--test-reporter=spec', ...selected],
  { stdio: 'inherit' },
);
process.exit(r.status ?? 1);

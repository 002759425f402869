// The import directions ARCHITECTURE.md describes, checked on the source: kernels/ is the floor (it imports
// nothing from src/ or app/; kernels/core imports nothing else at all), and src/engine sits below the CLI,
// the app, training and the benchmark. Test files and kernels/testdata may reach up (the op tests run on
// every backend registerAll registers); everything else may not.
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, normalize, relative, sep } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

function sources(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(join(root, dir))) {
    const rel = join(dir, name);
    if (statSync(join(root, rel)).isDirectory()) {
      if (name !== 'testdata') out.push(...sources(rel));
    } else if (name.endsWith('.ts') && !name.endsWith('.test.ts')) {
      out.push(rel);
    }
  }
  return out;
}

/** Repo-relative targets (with / separators) of a file's relative imports, static and dynamic. */
function importsOf(file: string): string[] {
  const text = readFileSync(join(root, file), 'utf8');
  const specs = [...text.matchAll(/(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)['"](\.{1,2}\/[^'"]+)['"]/g)].map((m) => m[1]!);
  return specs.map((s) => relative(root, normalize(join(root, dirname(file), s))).split(sep).join('/'));
}

function violations(dir: string, allowed: (target: string) => boolean): string[] {
  return sources(dir).flatMap((f) => importsOf(f).filter((t) => !allowed(t)).map((t) => `${f} imports ${t}`));
}

test('kernels/ imports nothing from src/ or app/', () => {
  assert.deepEqual(violations('kernels', (t) => t.startsWith('kernels/')), []);
});

test('kernels/core is self-contained', () => {
  assert.deepEqual(violations('kernels/core', (t) => t.startsWith('kernels/core/')), []);
});

test('kernel families do not import each other: ts and wasm kernels share only kernels/core (and ts the registry)', () => {
  assert.deepEqual(violations('kernels/ts', (t) => !t.startsWith('kernels/wasm/')), []);
  assert.deepEqual(violations('kernels/wasm', (t) => t.startsWith('kernels/wasm/') || t.startsWith('kernels/core/')), []);
});

test('src/engine does not import the CLI, the app, training or the benchmark', () => {
  const above = ['app/', 'src/cli/', 'src/train/', 'src/bench/'];
  assert.deepEqual(violations('src/engine', (t) => !above.some((a) => t.startsWith(a))), []);
});

// The model fuzzer in `npm test`: seeded mutants of the shipped resnet20 (byte-level damage and structured
// edits, src/onnx/fuzz.ts) loaded on every engine (ts, wasm, ort-wasm) through loadModel and run on one
// fixed input (src/fuzz/). Every case must end in a clean refusal by every engine, or in every engine
// agreeing, or in a difference src/fuzz/exceptions.ts explains; an internal error, a hang or unbounded
// memory growth fails the test. `npm run fuzz` runs thousands of cases on the full-size file.
//
// The test's base is resnet20 itself with its input declared 8x8 instead of 28x28 (the graph is the same;
// global average pooling takes any size): a tenth of the compute per case, so 200 cases fit in about a
// minute on a loaded 2-core machine. A failing case is reproduced with
//   node --import tsx scripts/fuzz-models.ts --side 8 --seed 1 --case N
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { formatSummary, runFuzz } from '../fuzz/harness';
import { caseSeed, MUTATORS, mutateModel, withInputSide } from './fuzz';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const CASES = 200;

describe('the model fuzzer', () => {
  const base = withInputSide(new Uint8Array(readFileSync(join(ROOT, 'models', 'resnet20.onnx'))), 8);

  it('makes the same mutant from the same seed, and different ones from others', () => {
    const before = Uint8Array.from(base);
    const a = mutateModel(base, caseSeed(1, 5));
    const b = mutateModel(base, caseSeed(1, 5));
    assert.deepEqual(a.mutations, b.mutations);
    assert.deepEqual(a.bytes, b.bytes);
    const kinds = new Set<string>();
    for (let i = 0; i < 400; i++) for (const m of mutateModel(base, caseSeed(1, i)).mutations) kinds.add(m.split(/[: ]/)[0]!);
    // Every mutator is drawn within 400 cases (names as they start the descriptions).
    assert.ok(kinds.size >= MUTATORS.length - 6, `only ${kinds.size} kinds of mutation: ${[...kinds].join(', ')}`);
    // ...and never changes the base model it was given (a Node Buffer's slice() is a view).
    assert.ok(base.every((v, i) => v === before[i]), "the base model was changed");
  });

  it(`${CASES} seeded mutants of resnet20: refused cleanly by every engine or run alike by all, never an internal error, a hang or unbounded memory`, { timeout: 15 * 60_000 }, async (t) => {
    const summary = await runFuzz({ base, seed: 1, cases: CASES, timeoutMs: 30_000, memoryLimitBytes: 2 * 2 ** 30 });
    const text = formatSummary(summary).join('\n');
    t.diagnostic(text);
    assert.equal(summary.counts.finding, 0, text);
    // The mix exercises both sides: files refused at every stage, and models that run.
    assert.ok(summary.counts.refused >= CASES / 4, text);
    assert.ok(summary.counts.agreed >= CASES / 10, text);
    assert.ok(Object.keys(summary.refusedBy).length >= 2, text);
  });
});

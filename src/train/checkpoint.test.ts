import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { CheckpointError, decodeCheckpoint, encodeCheckpoint, readCheckpoint, writeAtomic } from './checkpoint';

const tmp = mkdtempSync(join(tmpdir(), 'rl-ckpt-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

const sample = {
  recipe: { model: 'résnet', lr: 0.1 }, epochsDone: 2, history: [{ e: 1 }, { e: 2 }], paramCount: 5, stateCount: 2,
  params: Float32Array.from([1, 2, 3, 4.5, -6]), states: Float32Array.from([0.25, 7]), velocity: Float32Array.from([0, 0.1, 0, 0, 1e-9]),
};

describe('checkpoints', () => {
  it('round-trip exactly through an atomic write', () => {
    const path = join(tmp, 'c.bin');
    writeAtomic(path, encodeCheckpoint(sample));
    assert.deepEqual(readdirSync(tmp), ['c.bin']);
    const c = readCheckpoint<typeof sample.recipe, { e: number }>(path)!;
    assert.deepEqual(c.recipe, sample.recipe);
    assert.equal(c.epochsDone, 2);
    assert.deepEqual(c.history, sample.history);
    assert.deepEqual([...c.params], [...sample.params]);
    assert.deepEqual([...c.states], [...sample.states]);
    assert.deepEqual([...c.velocity], [...sample.velocity]);
    assert.equal(readCheckpoint(join(tmp, 'none.bin')), null);
  });

  it('refuses other files, truncation and sizes that do not match', () => {
    const bytes = encodeCheckpoint(sample);
    const isCkptError = (re: RegExp) => (e: Error): boolean => e instanceof CheckpointError && re.test(e.message);
    assert.throws(() => decodeCheckpoint(new TextEncoder().encode('PK\x03\x04 a zip file'), 'x'), isCkptError(/not a resnet-lab checkpoint/));
    assert.throws(() => decodeCheckpoint(bytes.subarray(0, bytes.length - 4), 'x'), isCkptError(/needs/));
    assert.throws(() => decodeCheckpoint(bytes.subarray(0, 20), 'x'), isCkptError(/truncated checkpoint header/));
    assert.throws(() => encodeCheckpoint({ ...sample, paramCount: 4 }), isCkptError(/do not match the header/));
    // The header is readable JSON after the magic, for a human looking at a run directory.
    const text = new TextDecoder().decode(readFileSync(join(tmp, 'c.bin')).subarray(12, 60));
    assert.match(text, /^\{"recipe":\{"model":"résnet"/);
  });
});

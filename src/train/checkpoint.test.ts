import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { CheckpointError, crc32, decodeCheckpoint, encodeCheckpoint, readCheckpoint } from './checkpoint';
import { writeUserFile } from '../write-file';

const tmp = mkdtempSync(join(tmpdir(), 'rl-ckpt-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

const sample = {
  recipe: { model: 'résnet', lr: 0.1, epochs: 3 }, epochsDone: 2, history: [{ epoch: 1, e: 1 }, { epoch: 2, e: 2 }], paramCount: 5, stateCount: 2,
  params: Float32Array.from([1, 2, 3, 4.5, -6]), states: Float32Array.from([0.25, 7]), velocity: Float32Array.from([0, 0.1, 0, 0, 1e-9]),
};

const isCkptError = (re: RegExp) => (e: Error): boolean => e instanceof CheckpointError && re.test(e.message) && !e.message.includes('\n');

/** The sample with a header changed as given and a correct checksum (what a forger or a bug would write). */
function withHeader(header: unknown): Uint8Array {
  const good = encodeCheckpoint(sample);
  const json = new TextEncoder().encode(JSON.stringify(header));
  const start = Math.ceil((16 + json.length) / 4) * 4;
  const floatStart = Math.ceil((16 + new DataView(good.buffer).getUint32(8, true)) / 4) * 4;
  const out = new Uint8Array(start + good.length - floatStart);
  out.set(good.subarray(0, 8));
  new DataView(out.buffer).setUint32(8, json.length, true);
  out.set(json, 16);
  out.set(good.subarray(floatStart), start);
  new DataView(out.buffer).setUint32(12, crc32(out.subarray(16)), true);
  return out;
}

describe('checkpoints', () => {
  it('round-trip exactly through an atomic write', () => {
    const path = join(tmp, 'c.bin');
    writeUserFile(path, encodeCheckpoint(sample));
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
    assert.throws(() => decodeCheckpoint(new TextEncoder().encode('PK\x03\x04 a zip file'), 'x'), isCkptError(/not a resnet-lab checkpoint/));
    assert.throws(() => decodeCheckpoint(bytes.subarray(0, bytes.length - 4), 'x'), isCkptError(/checksum mismatch/));
    assert.throws(() => decodeCheckpoint(bytes.subarray(0, 20), 'x'), isCkptError(/truncated checkpoint header/));
    assert.throws(() => encodeCheckpoint({ ...sample, paramCount: 4 }), isCkptError(/do not match the header/));
    assert.throws(() => decodeCheckpoint(withHeader({ ...sample, params: undefined, states: undefined, velocity: undefined, paramCount: 6 }), 'x'), isCkptError(/its header needs/));
    // The header is readable JSON after the 16-byte prefix, for a human looking at a run directory.
    const text = new TextDecoder().decode(readFileSync(join(tmp, 'c.bin')).subarray(16, 64));
    assert.match(text, /^\{"recipe":\{"model":"résnet"/);
  });

  it('refuses any flipped bit (20 seeded flips in the floats, one in the header) by its CRC-32', () => {
    const bytes = encodeCheckpoint(sample);
    const start = bytes.length - 4 * 12;
    for (let k = 0; k < 20; k++) {
      const bad = bytes.slice();
      bad[start + ((k * 7) % 48)]! ^= 1 << (k % 8);
      assert.throws(() => decodeCheckpoint(bad, 'ck.bin'), isCkptError(/^ck\.bin: checksum mismatch .*corrupt/));
    }
    const bad = bytes.slice();
    bad[30]! ^= 4; // inside the header JSON
    assert.throws(() => decodeCheckpoint(bad, 'ck.bin'), isCkptError(/checksum mismatch/));
    assert.equal(crc32(new TextEncoder().encode('123456789')), 0xcbf43926); // the CRC-32 check value
  });

  it('refuses NaN or infinite parameters, states or velocities even with a valid checksum', () => {
    const nan = { ...sample, params: Float32Array.from([1, NaN, 3, NaN, NaN]) };
    assert.throws(() => decodeCheckpoint(encodeCheckpoint(nan), 'x'), isCkptError(/3 of its 5 params are not finite \(params 1 is NaN\)/));
    const inf = { ...sample, states: Float32Array.from([0, -Infinity]) };
    assert.throws(() => decodeCheckpoint(encodeCheckpoint(inf), 'x'), isCkptError(/states are not finite/));
    const hundred = { ...sample, paramCount: 200, params: new Float32Array(200).fill(NaN, 0, 100), velocity: new Float32Array(200) };
    assert.throws(() => decodeCheckpoint(encodeCheckpoint(hundred), 'x'), isCkptError(/100 of its 200 params/));
  });

  it('refuses epochsDone of 99, -1, 0.5 or "x", and history that does not match it', () => {
    for (const epochsDone of [99, 4, -1, 0.5, 'x', null]) {
      const h = { recipe: sample.recipe, epochsDone, history: sample.history, paramCount: 5, stateCount: 2 };
      assert.throws(() => decodeCheckpoint(withHeader(h), 'x'), isCkptError(/epochsDone .* is not an integer from 0 to the recipe's 3 epochs/), String(epochsDone));
    }
    const short = { recipe: sample.recipe, epochsDone: 3, history: sample.history, paramCount: 5, stateCount: 2 };
    assert.throws(() => decodeCheckpoint(withHeader(short), 'x'), isCkptError(/history has 2 records, epochsDone says 3/));
    const odd = { recipe: sample.recipe, epochsDone: 2, history: [{ epoch: 1 }, { epoch: 5 }], paramCount: 5, stateCount: 2 };
    assert.throws(() => decodeCheckpoint(withHeader(odd), 'x'), isCkptError(/history record 2 says epoch 5/));
    const text = { recipe: sample.recipe, epochsDone: 1, history: [{ epoch: 1, loss: 'x' }], paramCount: 5, stateCount: 2 };
    assert.throws(() => decodeCheckpoint(withHeader(text), 'x'), isCkptError(/history record 1 is not a record of finite numbers/));
  });

  it('refuses a header of null, an array, a number, or one without a recipe: a CheckpointError, not an internal error', () => {
    assert.throws(() => decodeCheckpoint(withHeader(null), 'x'), isCkptError(/header is null, not an object/));
    assert.throws(() => decodeCheckpoint(withHeader([1]), 'x'), isCkptError(/header is an array/));
    assert.throws(() => decodeCheckpoint(withHeader(5), 'x'), isCkptError(/header is number/));
    assert.throws(() => decodeCheckpoint(withHeader({ epochsDone: 0, history: [], paramCount: 5, stateCount: 2 }), 'x'), isCkptError(/no recipe/));
  });

  it('refuses a first-layout checkpoint (RLCKPT01, no checksum) with a message saying why', () => {
    const old = encodeCheckpoint(sample);
    old.set(new TextEncoder().encode('RLCKPT01'), 0);
    assert.throws(() => decodeCheckpoint(old, 'run/checkpoint.bin'), isCkptError(/^run\/checkpoint\.bin: written by an older resnet-lab, without a checksum/));
  });

  it('refuses a FIFO, a link to /dev/zero and a directory in place of the checkpoint, without reading them', async () => {
    const fifo = join(tmp, 'fifo.bin');
    execFileSync('mkfifo', [fifo]);
    const link = join(tmp, 'zero.bin');
    symlinkSync('/dev/zero', link);
    const t0 = performance.now();
    assert.throws(() => readCheckpoint(fifo), isCkptError(/FIFO/));
    assert.throws(() => readCheckpoint(link), isCkptError(/^.*zero\.bin: not a regular file \(a character device\)$/));
    assert.throws(() => readCheckpoint(tmp), isCkptError(/a directory/));
    assert.ok(performance.now() - t0 < 2000);
  });
});

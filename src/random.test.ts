import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { seededRandom } from './random';

describe('seeded randomness', () => {
  it('fillNormal gives exactly the values of normal(), and the stream goes on from the same place', () => {
    const a = seededRandom(42);
    const b = seededRandom(42);
    const want = Float32Array.from({ length: 1001 }, () => a.normal() * 0.3);
    const got = new Float32Array(1001);
    b.fillNormal(got, 0.3);
    assert.deepEqual(got, want);
    assert.equal(b.uniform(), a.uniform());
    assert.equal(b.normal(), a.normal());
  });

  it('the same seed gives the same stream; another seed another', () => {
    const x = new Float32Array(64);
    const y = new Float32Array(64);
    seededRandom(1).fillNormal(x, 1);
    seededRandom(1).fillNormal(y, 1);
    assert.deepEqual(x, y);
    seededRandom(2).fillNormal(y, 1);
    assert.notDeepEqual(x, y);
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { raceSeconds, trainBatch } from './train-plan';

describe('train plan', () => {
  it('uses the folder batch of 64, and at least four steps an epoch on small folders', () => {
    assert.equal(trainBatch(5000), 64);
    assert.equal(trainBatch(256), 64);
    assert.equal(trainBatch(40), 10);
    assert.equal(trainBatch(5), 2);
  });

  it('times the race as its slower net, with a validation pass a third of a step per batch', () => {
    const nets = [{ secondsPerStep: 0.5, stepsPerEpoch: 10, batch: 64 }, { secondsPerStep: 1, stepsPerEpoch: 10, batch: 64 }];
    // 3 epochs x 10 steps x 1 s, plus 3 x 128/64 batches x 1/3 s.
    assert.equal(raceSeconds(nets, 3, 128), 32);
  });
});

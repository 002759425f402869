// SGD and the learning-rate schedule, then the whole loop on real data: a small net fits a fixed batch.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { FASHION_MNIST } from '../datasets';
import { buildModel } from '../zoo/build';
import { zooSpec } from '../zoo/spec';
import { wasmBackend } from './backend';
import './relaxed-simd-node';
import { loadSplit } from './data';
import { fillBatch } from './image-set';
import { TrainNet } from './net';
import { PAPER_SGD, paperLearningRate, sgdStep } from './optim';

describe('SGD with momentum and weight decay', () => {
  it('follows v = m v + g + wd w, w -= lr v, step by step', () => {
    const w = Float32Array.from([1, -2, 0.5]);
    const v = new Float32Array(3);
    const cfg = { momentum: 0.9, weightDecay: 0.01 };
    sgdStep(w, [0.5, 0.5, -1], v, 0.1, cfg);
    // v = g + 0.01 w = [0.51, 0.48, -0.995]; w = w - 0.1 v
    assert.deepEqual([...v].map((x) => +x.toFixed(6)), [0.51, 0.48, -0.995]);
    assert.deepEqual([...w].map((x) => +x.toFixed(6)), [0.949, -2.048, 0.5995]);
    sgdStep(w, [0, 0, 0], v, 0.1, cfg);
    // v = 0.9 v + wd w
    assert.deepEqual([...v].map((x) => +x.toFixed(6)), [+(0.9 * 0.51 + 0.01 * 0.949).toFixed(6), +(0.9 * 0.48 + 0.01 * -2.048).toFixed(6), +(0.9 * -0.995 + 0.01 * 0.5995).toFixed(6)]);
    assert.throws(() => sgdStep(w, [1], v, 0.1, cfg), /3 weights, 1 gradients/);
  });

  it('uses the paper\'s momentum and weight decay', () => {
    assert.deepEqual(PAPER_SGD, { momentum: 0.9, weightDecay: 1e-4 });
  });

  it('divides the learning rate by 10 at 50% and 75% of the steps, with optional warm-up', () => {
    const lr = (s: number, warm = 0): number => paperLearningRate(0.1, s, 400, warm);
    assert.deepEqual([lr(0), lr(199), lr(200), lr(299), lr(300), lr(399)].map((x) => +x.toPrecision(3)), [0.1, 0.1, 0.01, 0.01, 0.001, 0.001]);
    assert.deepEqual([lr(0, 10), lr(9, 10), lr(10, 10)].map((x) => +x.toPrecision(3)), [0.01, 0.01, 0.1]);
  });
});

describe('the training loop on real images', () => {
  it('resnet20 (Fashion-MNIST shape) fits 16 real images: loss falls, accuracy rises', () => {
    const set = loadSplit(join(import.meta.dirname, '../testdata/fashion-mnist'), 't10k', 10, 16);
    const spec = { ...zooSpec('resnet20'), inputChannels: 1, inputSize: 28, classes: 10 };
    const net = new TrainNet(buildModel(spec, { name: 'resnet20', seed: 1 }), { backend: wasmBackend(), maxBatch: 16, resetBatchNorm: true });
    const x = new Float32Array(16 * 784);
    fillBatch(set, Array.from({ length: 16 }, (_, i) => i), FASHION_MNIST.mean[0]!, FASHION_MNIST.std[0]!, x);
    const theta = net.getParams();
    const v = new Float32Array(theta.length);
    const losses: number[] = [];
    let correct = 0;
    for (let step = 0; step < 20; step++) {
      net.setParams(theta);
      net.forward(x, 16, true);
      const r = net.lossAndBackward(set.labels);
      losses.push(r.loss);
      correct = r.correct;
      sgdStep(theta, net.getGrads(), v, 0.05, PAPER_SGD);
    }
    assert.ok(losses[0]! > 2, `first loss ${losses[0]}`);
    assert.ok(losses[19]! < 0.3 * losses[0]!, `loss went from ${losses[0]} to ${losses[19]}`);
    assert.ok(correct >= 14, `${correct}/16 correct after 20 steps`);
  });
});

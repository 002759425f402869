// The engine on several threads: a step and a prediction give the same bits as one thread, whether the net
// runs in this thread or in a worker (a race's net beside another).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseOnnx } from '../onnx/read';
import { serializeOnnx } from '../onnx/write';
import { buildModel, seededRandom } from '../zoo/build';
import type { ModelSpec } from '../zoo/spec';
import { wasmBackend } from './backend';
import { createEngine, nodeBackend } from './engine';
import { TrainNet } from './net';

describe('gradient engine on several threads', () => {
  for (const inThisThread of [true, false]) it(`2 threads${inThisThread ? '' : ' in a worker'} give the same bits as one; predictions too`, async () => {
    // Wide and large enough for every kind of kernel call to be cut into several chunks.
    const spec: ModelSpec = { family: 'cifar', block: 'basic', stages: [1, 1], widths: [16, 32], shortcut: 'A', residual: true, inputChannels: 1, inputSize: 16, classes: 5 };
    const graph = buildModel(spec, { name: 'tiny', seed: 2 });
    const n = 37;
    const rng = seededRandom(4);
    const net = new TrainNet(graph, { backend: nodeBackend(inThisThread ? 2 : 1), maxBatch: n, resetBatchNorm: true });
    const images = Float32Array.from({ length: n * net.inputSize }, () => rng.normal());
    const labels = Int32Array.from({ length: n }, (_, i) => (i * 3) % 5);
    const theta = net.getParams();
    const states = net.getStates();
    const engine = await createEngine(net, serializeOnnx(graph), 2, inThisThread);
    // The worker builds its net from the ONNX bytes (batch norm's epsilon float32 there): so does the reference.
    const one = new TrainNet(inThisThread ? graph : parseOnnx(serializeOnnx(graph)), { backend: wasmBackend(), maxBatch: n });
    try {
      assert.equal(engine.threads, 2);
      const r = await engine.step(theta, states, images, labels, n);
      one.setParams(theta);
      one.setStates(states);
      one.forward(images, n, true);
      const l = one.lossAndBackward(labels);
      assert.equal(r.loss, l.loss);
      assert.deepEqual(r.grads, one.getGrads());
      assert.deepEqual(r.states, one.getStates());
      one.setStates(r.states);
      one.forward(images, n, false);
      assert.deepEqual(await engine.predict(theta, r.states, images, n), one.logitsRows());
    } finally {
      await engine.close();
    }
  });

  it('refuses a net built for another number of threads', async () => {
    const spec: ModelSpec = { family: 'cifar', block: 'basic', stages: [1], widths: [4], shortcut: 'A', residual: true, inputChannels: 1, inputSize: 8, classes: 5 };
    const graph = buildModel(spec, { name: 'tiny', seed: 2 });
    const net = new TrainNet(graph, { backend: wasmBackend(), maxBatch: 2 });
    await assert.rejects(createEngine(net, serializeOnnx(graph), 2), /runs on 1 thread\(s\), the engine was asked for 2/);
  });
});

describe('zero-initialised residual branches', () => {
  const net = (name: string, shortcut: 'A' | 'B'): TrainNet => {
    const spec: ModelSpec = { family: 'cifar', block: 'basic', stages: [2, 2], widths: [4, 8], shortcut, residual: name.startsWith('res'), inputChannels: 1, inputSize: 8, classes: 5 };
    return new TrainNet(buildModel(spec, { name, seed: 3 }), { backend: wasmBackend(), maxBatch: 2, resetBatchNorm: true });
  };

  it('sets gamma 0 in the last BN of every residual branch only (not projections, not plain nets)', () => {
    for (const shortcut of ['A', 'B'] as const) {
      const res = net('resnet', shortcut);
      assert.deepEqual(res.zeroResidualBranchGammas(), ['layer1.0.bn2', 'layer1.1.bn2', 'layer2.0.bn2', 'layer2.1.bn2']);
      for (const p of res.params.filter((q) => q.kind === 'bn-scale')) {
        const branchEnd = /^layer\d\.\d\.bn2\./.test(p.name);
        assert.ok(p.data.every((v) => v === (branchEnd ? 0 : 1)), `${p.name} (shortcut ${shortcut})`);
      }
    }
    const plain = net('plain', 'A');
    const before = plain.getParams();
    assert.deepEqual(plain.zeroResidualBranchGammas(), []);
    assert.deepEqual(plain.getParams(), before);
  });

  it('a residual net so initialised computes what its shortcuts alone compute', () => {
    const res = net('resnet', 'A');
    res.zeroResidualBranchGammas();
    const rng = seededRandom(9);
    const x = Float32Array.from({ length: 2 * res.inputSize }, () => rng.normal());
    const full = Float32Array.from(res.forward(x, 2, false));
    // Scaling every block's branch weights changes nothing while its output BN has gamma 0.
    for (const p of res.params.filter((q) => /^layer\d\.\d\.conv\d\./.test(q.name))) p.data.forEach((v, i) => { p.data[i] = 3 * v; });
    assert.deepEqual(Float32Array.from(res.forward(x, 2, false)), full);
  });
});

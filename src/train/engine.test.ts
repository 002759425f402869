// The data-parallel engine: with 2 threads a step is the size-weighted average of the shards' gradients
// (each shard with its own batch statistics) and inference logits are the same as in one thread, whether
// this thread runs a shard or workers run them all (a race's net beside another).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { serializeOnnx } from '../onnx/write';
import { buildModel, seededRandom } from '../zoo/build';
import type { ModelSpec } from '../zoo/spec';
import { wasmBackend } from './backend';
import { createEngine } from './engine';
import { TrainNet } from './net';

describe('gradient engine across worker threads', () => {
  for (const inThisThread of [true, false]) it(`2 threads${inThisThread ? '' : ', both workers'} = weighted average of the two shards; predictions match one thread`, async () => {
    const spec: ModelSpec = { family: 'cifar', block: 'basic', stages: [1, 1], widths: [4, 8], shortcut: 'A', residual: true, inputChannels: 1, inputSize: 8, classes: 5 };
    const graph = buildModel(spec, { name: 'tiny', seed: 2 });
    const n = 7;
    const rng = seededRandom(4);
    const net = new TrainNet(graph, { backend: wasmBackend(), maxBatch: 4, resetBatchNorm: true });
    const images = Float32Array.from({ length: n * net.inputSize }, () => rng.normal());
    const labels = Int32Array.from({ length: n }, (_, i) => (i * 3) % 5);
    const theta = net.getParams();
    const states = net.getStates();
    const engine = await createEngine(net, serializeOnnx(graph), 2, inThisThread);
    try {
      const r = await engine.step(theta, states, images, labels, n);
      // Shards [0,3) and [3,7), computed here one after the other.
      const ref = new TrainNet(graph, { backend: wasmBackend(), maxBatch: 4 });
      const grads = new Float32Array(theta.length);
      const st = new Float32Array(states.length);
      let loss = 0;
      for (const [a, b] of [[0, 3], [3, 7]] as const) {
        ref.setParams(theta);
        ref.setStates(states);
        ref.forward(images.subarray(a * ref.inputSize, b * ref.inputSize), b - a, true);
        const l = ref.lossAndBackward(labels.subarray(a, b));
        const w = (b - a) / n;
        loss += w * l.loss;
        ref.getGrads().forEach((g, i) => { grads[i]! += w * g; });
        ref.getStates().forEach((s, i) => { st[i]! += w * s; });
      }
      assert.ok(Math.abs(r.loss - loss) < 1e-6, `loss ${r.loss} vs ${loss}`);
      r.grads.forEach((g, i) => assert.ok(Math.abs(g - grads[i]!) <= 1e-6 * Math.max(1, Math.abs(grads[i]!)), `gradient ${i}: ${g} vs ${grads[i]}`));
      r.states.forEach((s, i) => assert.ok(Math.abs(s - st[i]!) < 1e-6, `state ${i}`));
      // Inference: same logits as one net over all samples (maxBatch 8 for the reference).
      const one = new TrainNet(graph, { backend: wasmBackend(), maxBatch: 8 });
      one.setParams(theta);
      one.setStates(r.states);
      one.forward(images, n, false);
      const want = one.logitsRows();
      const got = await engine.predict(theta, r.states, images, n);
      got.forEach((v, i) => assert.ok(Math.abs(v - want[i]!) < 1e-5, `logit ${i}: ${v} vs ${want[i]}`));
    } finally {
      await engine.close();
    }
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

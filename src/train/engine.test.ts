// The data-parallel engine: with 2 threads a step is the size-weighted average of the shards' gradients
// (each shard with its own batch statistics) and inference logits are the same as in one thread.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { serializeOnnx } from '../onnx/write';
import { buildModel, seededRandom } from '../zoo/build';
import type { ModelSpec } from '../zoo/spec';
import { wasmBackend } from './backend';
import { createEngine } from './engine';
import { TrainNet } from './net';

describe('gradient engine across worker threads', () => {
  it('2 threads = weighted average of the two shards; predictions match one thread', async () => {
    const spec: ModelSpec = { family: 'cifar', block: 'basic', stages: [1, 1], widths: [4, 8], shortcut: 'A', residual: true, inputChannels: 1, inputSize: 8, classes: 5 };
    const graph = buildModel(spec, { name: 'tiny', seed: 2 });
    const n = 7;
    const rng = seededRandom(4);
    const net = new TrainNet(graph, { backend: wasmBackend(), maxBatch: 4, resetBatchNorm: true });
    const images = Float32Array.from({ length: n * net.inputSize }, () => rng.normal());
    const labels = Int32Array.from({ length: n }, (_, i) => (i * 3) % 5);
    const theta = net.getParams();
    const states = net.getStates();
    const engine = await createEngine(net, serializeOnnx(graph), 2);
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
        ref.getGrads().forEach((g, i) => { grads[i] += w * g; });
        ref.getStates().forEach((s, i) => { st[i] += w * s; });
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

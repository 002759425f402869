// The kernel team: work cut into fixed pieces, shared with a helper thread on the same memory, the same
// results as on one thread, and a failing kernel reported instead of hanging.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildModel, seededRandom } from '../zoo/build';
import type { ModelSpec } from '../zoo/spec';
import { wasmBackend } from './backend';
import { nodeBackend } from './engine';
import { pieces } from './kernel-team';
import { TrainNet } from './net';

describe('pieces', () => {
  it('cover [0, total) in order, inner boundaries on the alignment, empty pieces dropped', () => {
    for (const [total, k, align] of [[100, 8, 1], [100, 8, 16], [5, 8, 1], [1000, 3, 8], [16, 16, 1]] as const) {
      const ps = pieces(total, k, align);
      assert.equal(ps[0]![0], 0);
      assert.equal(ps.at(-1)![1], total);
      ps.forEach(([a, b], i) => {
        assert.ok(b > a, `${total}/${k}: empty piece ${i}`);
        if (i > 0) assert.equal(a, ps[i - 1]![1]);
        if (i > 0) assert.equal(a % align, 0, `${total}/${k}/${align}: boundary ${a}`);
      });
      assert.ok(ps.length <= k);
    }
    assert.deepEqual(pieces(100, 8, 16), [[0, 16], [16, 32], [32, 48], [48, 64], [64, 80], [80, 100]]);
  });
});

describe('a net on a team of two threads', () => {
  it('runs chunks on the helper and gives the bits of one thread', async () => {
    const spec: ModelSpec = { family: 'cifar', block: 'basic', stages: [1, 1], widths: [16, 32], shortcut: 'B', residual: true, inputChannels: 3, inputSize: 16, classes: 4 };
    const graph = buildModel(spec, { name: 'tiny', seed: 5 });
    const n = 33;
    const rng = seededRandom(8);
    const backend = nodeBackend(2);
    const two = new TrainNet(graph, { backend, maxBatch: n, resetBatchNorm: true });
    const one = new TrainNet(graph, { backend: wasmBackend(), maxBatch: n, resetBatchNorm: true });
    try {
      await two.ready();
      const x = Float32Array.from({ length: n * two.inputSize }, () => rng.normal());
      const labels = Int32Array.from({ length: n }, (_, i) => i % 4);
      for (let r = 0; r < 3; r++) {
        for (const net of [two, one]) {
          net.forward(x, n, true);
          net.lossAndBackward(labels);
        }
        assert.deepEqual(two.getGrads(), one.getGrads());
        assert.deepEqual(two.getStates(), one.getStates());
      }
      assert.ok(backend.chunksByHelpers() > 0, 'the helper ran no chunk');
    } finally {
      await two.close();
    }
  });

  it('reports a kernel that fails, on whichever thread, and runs the next call', async () => {
    const backend = nodeBackend(2);
    try {
      await backend.ready();
      const a = backend.alloc(1 << 16);
      // An output past the end of memory: every chunk traps.
      const bad = new Float32Array(a.buffer, a.byteOffset, a.length);
      Object.defineProperty(bad, 'byteOffset', { value: a.buffer.byteLength - 64 });
      assert.throws(() => backend.relu(a, a.length, bad), /out of bounds|helper thread/);
      a.forEach((_, i) => { a[i] = i % 3 - 1; });
      const y = backend.alloc(a.length);
      backend.relu(a, a.length, y);
      assert.ok(y.every((v, i) => v === Math.max(0, i % 3 - 1)));
    } finally {
      await backend.close();
    }
  });
});

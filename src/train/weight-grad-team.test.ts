// Weight gradients shared between an engine's threads: the board's bookkeeping, a gradient handed to another
// backend and computed there on this backend's memory (the same bits as computed here), 2-thread engines with
// and without sharing giving the same bits step after step, and so two nets' engines side by side (a race).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { serializeOnnx } from '../onnx/write';
import { buildModel, seededRandom } from '../zoo/build';
import type { ModelSpec } from '../zoo/spec';
import { type WinogradTile, wasmBackend } from './backend';
import { createEngine, shareWeightGradsAcross } from './engine';
import './relaxed-simd-node';
import { TrainNet } from './net';
import { BUSY, HELPING, OUT, WgradBoard, type WgradTask } from './weight-grad-team';

const task = (i: number): WgradTask => ({ tile: 4, x: 64 * i, dy: 2, dW: 3, C: 4, M: 5, n: 6, H: 7, W: 8, tb: 9, ldv: 10, vXi: 11, mXi: 12, scratchBytes: 13 });

describe('weight-gradient board', () => {
  it('hands out each published task once, in order, and counts them done', () => {
    const b = new WgradBoard(3);
    b.reset(2);
    assert.deepEqual([b.state(0), b.state(1), b.state(2)], [BUSY, BUSY, OUT]);
    assert.equal(b.someoneHelping(0), false);
    assert.equal(b.claim(0), null);
    assert.ok(b.publish(0, task(1)) && b.publish(0, task(2)));
    assert.deepEqual(b.claim(0), task(1));
    assert.deepEqual(b.claim(0), task(2));
    assert.equal(b.claim(0), null);
    b.setState(1, HELPING);
    assert.equal(b.someoneHelping(0), true);
    assert.equal(b.someoneHelping(1), false);
    // Thread 1 may stop helping only when thread 0 no longer runs and left nothing unclaimed.
    assert.equal(b.allSettled(1), false);
    b.setState(0, HELPING);
    assert.equal(b.allSettled(1), true);
    b.publish(0, task(3));
    assert.equal(b.allSettled(1), false);
    b.claim(0);
    assert.equal(b.allSettled(1), true);
    for (let i = 0; i < 3; i++) b.complete(0);
    b.waitCompleted(0);
    b.reset(3);
    assert.deepEqual([b.state(0), b.state(2)], [BUSY, BUSY]);
    assert.equal(b.claim(0), null, 'a reset empties the queues');
  });

  it('keeps each owner\'s areas per helper, across resets; a view of the same buffer sees them', () => {
    const b = new WgradBoard(2);
    const area = { scratch: 4096, scratchBytes: 1000, sums: 8192, sumsFloats: 300, zero: 12288, zeroFloats: 64 };
    b.setArea(1, 0, area);
    b.reset(2);
    const view = new WgradBoard(2, b.buffer);
    assert.deepEqual(view.area(1, 0), area);
    assert.equal(view.area(0, 1).scratchBytes, 0);
    assert.throws(() => new WgradBoard(3, b.buffer), /bytes for 3 threads/);
  });
});

describe('weight gradients computed by another thread', () => {
  it('a gradient handed to a helper is computed on the owner\'s memory with the same bits', () => {
    const rng = seededRandom(11);
    const owner = wasmBackend();
    const helper = wasmBackend();
    const solo = wasmBackend();
    const board = new WgradBoard(2);
    owner.joinTeam(board, 0, [null, helper.memory]);
    helper.joinTeam(board, 1, [owner.memory, null]);
    const shapes: [number, number, number, number, WinogradTile][] = [[5, 6, 3, 9, 4], [8, 4, 4, 7, 7], [6, 7, 5, 6, 2]];
    const want: Float32Array[] = [];
    const got: Float32Array[] = [];
    board.reset(2);
    board.setState(1, HELPING);
    for (const [C, M, n, S, tile] of shapes) {
      const xs = Float32Array.from({ length: C * S * S * n }, () => Math.max(0, rng.normal()));
      const dys = Float32Array.from({ length: M * S * S * n }, () => rng.normal());
      const [x, dy, dW] = [owner.alloc(xs.length), owner.alloc(dys.length), owner.alloc(M * C * 9)];
      x.set(xs);
      dy.set(dys);
      owner.winograd!.weightGrad(x, dy, dW, C, M, n, S, S, tile);
      assert.ok(dW.every((v) => v === 0), 'handed off, not computed here');
      got.push(dW as Float32Array);
      const [x1, dy1, dW1] = [solo.alloc(xs.length), solo.alloc(dys.length), solo.alloc(M * C * 9)];
      x1.set(xs);
      dy1.set(dys);
      solo.winograd!.weightGrad(x1, dy1, dW1, C, M, n, S, S, tile);
      want.push(dW1 as Float32Array);
    }
    // The owner reaches the end of its backward pass; the helper takes its queue, then the owner returns.
    board.setState(0, HELPING);
    helper.finishWeightGrads!();
    owner.finishWeightGrads!();
    got.forEach((g, i) => assert.deepEqual(g, want[i], `shape ${i}`));
    assert.ok(want.every((w) => w.some((v) => v !== 0)));
  });

  it('a task no helper took is run by its owner, which stops waiting for a thread that never finishes', () => {
    const self = wasmBackend({ helperPatienceMs: 50 });
    const other = wasmBackend();
    const solo = wasmBackend();
    const board = new WgradBoard(2);
    self.joinTeam(board, 0, [null, other.memory]);
    const [C, M, n, S] = [6, 5, 3, 8];
    const rng = seededRandom(12);
    const xs = Float32Array.from({ length: C * S * S * n }, () => rng.normal());
    const dys = Float32Array.from({ length: M * S * S * n }, () => rng.normal());
    const grad = (be: ReturnType<typeof wasmBackend>): Float32Array => {
      const [x, dy, dW] = [be.alloc(xs.length), be.alloc(dys.length), be.alloc(M * C * 9)];
      x.set(xs);
      dy.set(dys);
      be.winograd!.weightGrad(x, dy, dW, C, M, n, S, S, 4);
      return dW as Float32Array;
    };
    board.reset(2);
    board.setState(1, HELPING);
    const dW = grad(self);
    assert.ok(dW.every((v) => v === 0), 'handed off');
    // Thread 1 goes back to work and never finishes (as if its step were never posted).
    board.setState(1, BUSY);
    const t0 = performance.now();
    self.finishWeightGrads!();
    const waited = performance.now() - t0;
    assert.ok(waited >= 50 && waited < 5000, `waited ${waited} ms`);
    assert.deepEqual(dW, grad(solo));
  });

  it('2-thread engines with and without sharing give the same bits, step after step', async () => {
    const spec: ModelSpec = { family: 'cifar', block: 'basic', stages: [2, 2], widths: [8, 16], shortcut: 'A', residual: true, inputChannels: 1, inputSize: 12, classes: 5 };
    const graph = buildModel(spec, { name: 'small', seed: 5 });
    const n = 24;
    const rng = seededRandom(6);
    const mk = async (share: boolean) => {
      const net = new TrainNet(graph, { backend: wasmBackend(), maxBatch: n / 2, resetBatchNorm: true });
      return createEngine(net, serializeOnnx(graph), 2, true, share);
    };
    const [a, b] = [await mk(true), await mk(false)];
    try {
      const net = new TrainNet(graph, { backend: wasmBackend(), maxBatch: 1 });
      const theta = net.getParams();
      const states = net.getStates();
      for (let s = 0; s < 4; s++) {
        const images = Float32Array.from({ length: n * net.inputSize }, () => rng.normal());
        const labels = Int32Array.from({ length: n }, () => Math.floor(rng.uniform() * 5));
        const [ra, rb] = [await a.step(theta, states, images, labels, n), await b.step(theta, states, images, labels, n)];
        assert.deepEqual(ra.grads, rb.grads, `step ${s}: gradients`);
        assert.deepEqual(ra.states, rb.states, `step ${s}: statistics`);
        ra.grads.forEach((g, i) => { theta[i]! -= 0.05 * g; });
        states.set(ra.states);
      }
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('two nets side by side (one in a worker, one here) share weight gradients with the same bits, also when one sits a round out', async () => {
    const spec = (residual: boolean): ModelSpec => ({ family: 'cifar', block: 'basic', stages: [2, 1], widths: [8, 16], shortcut: 'A', residual, inputChannels: 3, inputSize: 10, classes: 4 });
    const graphs = [buildModel(spec(false), { name: 'plain', seed: 7 }), buildModel(spec(true), { name: 'res', seed: 8 })];
    const n = 10;
    const rng = seededRandom(9);
    const pair = (): Promise<Awaited<ReturnType<typeof createEngine>>[]> => Promise.all(graphs.map((g, i) => {
      const net = new TrainNet(g, { backend: wasmBackend(), maxBatch: n, resetBatchNorm: true });
      return createEngine(net, serializeOnnx(g), 1, i === 1);
    }));
    const [shared, apart] = [await pair(), await pair()];
    try {
      const round = await shareWeightGradsAcross(shared);
      assert.ok(round);
      const start = graphs.map((g) => new TrainNet(g, { backend: wasmBackend(), maxBatch: 1 }));
      const theta = start.map((t) => t.getParams());
      const states = start.map((t) => t.getStates());
      for (const stepping of [[true, true], [false, true], [true, true], [true, false]]) {
        const images = Float32Array.from({ length: n * start[0]!.inputSize }, () => rng.normal());
        const labels = Int32Array.from({ length: n }, () => Math.floor(rng.uniform() * 4));
        const nets = [0, 1].filter((i) => stepping[i]);
        round(stepping);
        // The worker's engine first: its step is posted before this thread runs its own.
        const got = await Promise.all(nets.map((i) => shared[i]!.step(theta[i]!, states[i]!, images, labels, n)));
        for (const [j, i] of nets.entries()) {
          const want = await apart[i]!.step(theta[i]!, states[i]!, images, labels, n);
          assert.deepEqual(got[j]!.grads, want.grads, `net ${i}, round ${stepping}`);
          got[j]!.grads.forEach((g, k) => { theta[i]![k]! -= 0.05 * g; });
          states[i]!.set(got[j]!.states);
        }
      }
    } finally {
      for (const e of [...shared, ...apart]) await e.close();
    }
  });
});

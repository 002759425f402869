// The WebAssembly training kernels against the TypeScript reference kernels (float32 vs float64), kernel by
// kernel on odd sizes, then whole networks: same loss and gradients from both backends.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type ConvGeom, colCols, colRows, convGeom } from '../../kernels/ts/train/conv';
import type { FloatArray } from '../../kernels/ts/train/gemm';
import { buildModel, seededRandom } from '../zoo/build';
import { zooSpec, type ModelSpec } from '../zoo/spec';
import { jsBackend, wasmBackend, type TrainBackend, type WinogradTile } from './backend';
import './relaxed-simd-node';
import { NO_WINOGRAD, TrainNet, type WinogradPlan } from './net';

const rng = seededRandom(42);
const wb = wasmBackend();
const ref = jsBackend(64);

function filled(be: TrainBackend, n: number, scale = 1, offset = 0): FloatArray {
  const a = be.alloc(n);
  for (let i = 0; i < n; i++) a[i] = offset + scale * rng.normal();
  return a;
}
/** A float64 copy of a (float32) buffer. */
const f64 = (a: FloatArray): Float64Array => Float64Array.from(a);

/** |got - want| <= tol * max(largest |want|, floor), element by element. */
function assertClose(got: FloatArray, want: FloatArray, tol: number, what: string, floor = 1e-6): void {
  assert.equal(got.length, want.length, `${what}: lengths`);
  let scale = floor;
  for (let i = 0; i < want.length; i++) scale = Math.max(scale, Math.abs(want[i]!));
  for (let i = 0; i < want.length; i++) {
    if (!(Math.abs(got[i]! - want[i]!) <= tol * scale)) assert.fail(`${what}: element ${i} is ${got[i]}, want ${want[i]} (tolerance ${tol} of ${scale})`);
  }
}

/**
 * A conv's three passes in float64 by im2col + GEMM: y = W col(x), dcol = W^T dy (dx = col2im(dcol)),
 * dW = dy col(x)^T; dx is dcol scattered into zeros.
 */
function convReference(g: ConvGeom, x: Float64Array, w: Float64Array, dy: Float64Array): { y: Float64Array; dcol: Float64Array; dx: Float64Array; dW: Float64Array } {
  const R = colRows(g), P = colCols(g), M = g.m;
  const col = new Float64Array(R * P);
  ref.im2col(x, g, col, P, 0, P);
  const y = new Float64Array(M * P);
  ref.gemmNN(M, P, R, w, R, col, P, y, P, false);
  const wT = new Float64Array(R * M);
  for (let m = 0; m < M; m++) for (let r = 0; r < R; r++) wT[r * M + m] = w[m * R + r]!;
  const dcol = new Float64Array(R * P);
  ref.gemmNN(R, P, M, wT, M, dy, P, dcol, P, false);
  const dx = new Float64Array(x.length);
  ref.col2im(dcol, g, dx, P, 0, P);
  const dW = new Float64Array(M * R);
  ref.gemmNT(M, R, P, dy, P, col, P, dW, R, false);
  return { y, dcol, dx, dW };
}

/**
 * A random 3x3 conv case drawn from `r` (x, then w, then dy): inputs as after a ReLU (non-negative), weights
 * and output gradients centred; with its float64 reference.
 */
function reluConvCase(r: ReturnType<typeof seededRandom>, C: number, M: number, H: number, n: number) {
  const g = convGeom(C, n, H, H, M, 3, 1, 1);
  const xs = Array.from({ length: C * H * H * n }, () => Math.abs(r.normal()));
  const ws = Array.from({ length: M * colRows(g) }, () => 0.3 * r.normal());
  const dys = Array.from({ length: M * colCols(g) }, () => r.normal());
  return { g, xs, ws, dys, want: convReference(g, Float64Array.from(xs), Float64Array.from(ws), Float64Array.from(dys)) };
}

/**
 * Relative RMS errors of `be`'s Winograd forward, backward data and weight gradient (tile `tile`, square
 * images) on x, w, dy against convReference's `want`.
 */
function winogradErrors(be: TrainBackend, g: ConvGeom, xs: number[], ws: number[], dys: number[], tile: WinogradTile, want: ReturnType<typeof convReference>): [number, number, number] {
  const copy = (v: number[]): FloatArray => { const a = be.alloc(v.length); a.set(v); return a; };
  const x = copy(xs), w = copy(ws), dy = copy(dys);
  const y = be.alloc(want.y.length), dx = be.alloc(want.dx.length), dW = be.alloc(want.dW.length);
  be.winograd!.conv(x, y, w, g.c, g.m, g.n, g.h, g.h, false, false, tile);
  be.winograd!.conv(dy, dx, w, g.c, g.m, g.n, g.h, g.h, true, false, tile);
  be.winograd!.weightGrad(x, dy, dW, g.c, g.m, g.n, g.h, g.h, tile);
  return [rms(y, want.y), rms(dx, want.dx), rms(dW, want.dW)];
}

/** RMS of got - want over RMS of want. */
function rms(got: FloatArray, want: FloatArray): number {
  let e = 0, s = 0;
  for (let i = 0; i < want.length; i++) { e += (got[i]! - want[i]!) ** 2; s += want[i]! ** 2; }
  return Math.sqrt(e / s);
}

describe('wasm training kernels match the reference', () => {
  it('gemm_nn and gemm_nt on odd sizes, leading dimensions and accumulate', () => {
    for (const [M, N, K] of [[1, 1, 1], [5, 19, 7], [16, 64, 144], [7, 13, 1030], [4, 8, 0], [9, 2, 3]] as const) {
      for (const acc of [false, true]) {
        const lda = K + 3, ldb = N + 5, ldc = N + 2;
        const A = filled(wb, M * lda), B = filled(wb, Math.max(K, 1) * ldb), C = filled(wb, M * ldc);
        const want = f64(C);
        ref.gemmNN(M, N, K, f64(A), lda, f64(B), ldb, want, ldc, acc);
        wb.gemmNN(M, N, K, A, lda, B, ldb, C, ldc, acc);
        assertClose(C, want, 1e-5, `gemm_nn ${M}x${N}x${K} acc=${acc}`);
        const Bt = filled(wb, N * (K + 1));
        const C2 = filled(wb, M * ldc);
        const want2 = f64(C2);
        ref.gemmNT(M, N, K, f64(A), lda, f64(Bt), K + 1, want2, ldc, acc);
        wb.gemmNT(M, N, K, A, lda, Bt, K + 1, C2, ldc, acc);
        assertClose(C2, want2, 1e-5, `gemm_nt ${M}x${N}x${K} acc=${acc}`);
      }
    }
  });

  it('im2col and col2im over pixel ranges, strides 1 and 2, kernels 1/3/5, pads 0..2, same-size and not', () => {
    for (const [c, n, h, w, k, s, p] of [[3, 2, 7, 8, 3, 1, 1], [2, 3, 9, 5, 3, 2, 1], [4, 2, 6, 6, 1, 2, 0], [1, 1, 5, 6, 3, 1, 1], [2, 2, 4, 9, 5, 1, 2], [2, 1, 3, 3, 3, 2, 2], [2, 3, 4, 5, 1, 1, 0], [2, 2, 4, 5, 3, 1, 2], [3, 4, 2, 3, 3, 1, 1]] as const) {
      const g = convGeom(c, n, h, w, 4, k, s, p);
      const P = colCols(g);
      // Column ranges are whole pixels (multiples of n) for the wasm kernels.
      const px = (q: number): number => q * n;
      const Q = P / n;
      for (const [p0, p1] of [[0, P], [px(1), px(Q - 1)], [px(Math.floor(Q / 3)), px(Math.floor(Q / 2) + 1)]] as [number, number][]) {
        const ld = p1 - p0 + 3;
        const x = filled(wb, c * n * h * w);
        const col = filled(wb, colRows(g) * ld);
        const want = f64(col);
        ref.im2col(f64(x), g, want, ld, p0, p1);
        wb.im2col(x, g, col, ld, p0, p1);
        assertClose(col, want, 0, `im2col ${JSON.stringify(g)} [${p0},${p1})`);
        const dx = filled(wb, x.length);
        const wantDx = f64(dx);
        ref.col2im(f64(col), g, wantDx, ld, p0, p1);
        wb.col2im(col, g, dx, ld, p0, p1);
        assertClose(dx, wantDx, 1e-6, `col2im ${JSON.stringify(g)} [${p0},${p1})`);
      }
    }
  });

  it('Winograd F(2x2) and F(4x4) 3x3 convs: forward, backward data, weight gradient (odd channels, sizes, batches)', () => {
    const wg = wb.winograd!;
    for (const [C, M, H, W, n] of [[3, 5, 7, 5, 1], [1, 2, 4, 4, 3], [5, 3, 6, 9, 8], [8, 16, 5, 5, 6], [16, 8, 9, 7, 4], [2, 3, 1, 3, 5]] as const) {
      const g = convGeom(C, n, H, W, M, 3, 1, 1);
      const R = colRows(g), P = colCols(g);
      const x = filled(wb, C * H * W * n), w = filled(wb, M * R, 0.3), dy = filled(wb, M * P);
      const { y: wantY, dcol, dW: wantDW } = convReference(g, f64(x), f64(w), f64(dy));
      for (const tile of [2, 4, 7] as const) {
        const what = `F(${tile}x${tile}) C=${C} M=${M} ${H}x${W} n=${n}`;
        // F(7x7)'s float32 error is ~30x F(4x4)'s (WINOGRAD_F7X7_3X3_TRAIN).
        const tol = tile === 7 ? 3e-4 : 1e-5;
        const y = filled(wb, M * P);
        wg.conv(x, y, w, C, M, n, H, W, false, false, tile);
        assertClose(y, wantY, tol, `forward ${what}`);
        for (const acc of [false, true]) {
          const dx = filled(wb, C * H * W * n);
          const wantDx = acc ? f64(dx) : new Float64Array(dx.length);
          ref.col2im(dcol, g, wantDx, P, 0, P);
          wg.conv(dy, dx, w, C, M, n, H, W, true, acc, tile);
          assertClose(dx, wantDx, tol, `backward data ${what} acc=${acc}`);
        }
        const dW = filled(wb, M * R);
        wg.weightGrad(x, dy, dW, C, M, n, H, W, tile);
        assertClose(dW, wantDW, tol, `weight gradient ${what}`);
      }
    }
  });

  it('Winograd weight gradient over several blocks and K chunks (sums carried across gemm_nt calls)', () => {
    // 34x34 at F(2x2): 289 tiles, blocks of 256 (2048 columns: two K chunks of gemm_nt) and 33; one tile
    // per block with the small-block backend. Odd channel counts and 7 images (scalar tails of K).
    const oneTile = wasmBackend({ winogradBlockFloats: 1 });
    for (const [C, M, H, n] of [[3, 5, 34, 8], [5, 3, 10, 7]] as const) {
      const g = convGeom(C, n, H, H, M, 3, 1, 1);
      const R = colRows(g), P = colCols(g);
      const xs = Array.from({ length: C * H * H * n }, () => rng.normal()), dys = Array.from({ length: M * P }, () => rng.normal());
      const col = new Float64Array(R * P);
      ref.im2col(Float64Array.from(xs), g, col, P, 0, P);
      const wantDW = new Float64Array(M * R);
      ref.gemmNT(M, R, P, Float64Array.from(dys), P, col, P, wantDW, R, false);
      for (const be of [wb, oneTile]) for (const tile of [2, 4] as const) {
        const x = be.alloc(xs.length), dy = be.alloc(dys.length), dW = filled(be, M * R);
        x.set(xs);
        dy.set(dys);
        be.winograd!.weightGrad(x, dy, dW, C, M, n, H, H, tile);
        assertClose(dW, wantDW, 2e-5, `weight gradient F(${tile}x${tile}) C=${C} M=${M} ${H}x${H} n=${n} ${be === wb ? '' : 'one tile a block'}`);
      }
    }
  });

  it('F(4x4) on points 0, 1, -1, 1/2, -2 is more accurate than on 0, +-1, +-2 (RMS error against float64, all three passes)', () => {
    const textbook = wasmBackend({ f4Points: [0, 1, -1, 2, -2] });
    for (const [C, M, H, n] of [[16, 16, 12, 8], [32, 32, 8, 8], [64, 64, 4, 8]] as const) {
      const { g, xs, ws, dys, want } = reluConvCase(rng, C, M, H, n);
      const errors = [wb, textbook].map((be) => winogradErrors(be, g, xs, ws, dys, 4, want));
      ['forward', 'backward data', 'weight gradient'].forEach((pass, i) => {
        const [ours, theirs] = [errors[0]![i]!, errors[1]![i]!];
        assert.ok(ours < 1.5e-6, `${pass} C=${C} ${H}x${H}: RMS error ${ours}`);
        assert.ok(ours < theirs, `${pass} C=${C} ${H}x${H}: ${ours} against ${theirs} on 0, +-1, +-2`);
      });
    }
  });

  it('relu, relu backward, add, pass (odd lengths, accumulate)', () => {
    for (const n of [1, 7, 64, 1001]) {
      const x = filled(wb, n), y = wb.alloc(n), want = new Float64Array(n);
      wb.relu(x, n, y);
      ref.relu(f64(x), n, want);
      assertClose(y, want, 0, `relu ${n}`);
      for (const acc of [false, true]) {
        const dy = filled(wb, n), dx = filled(wb, n), wantDx = f64(dx);
        wb.reluBackward(y, dy, n, dx, acc);
        ref.reluBackward(f64(y), f64(dy), n, wantDx, acc);
        assertClose(dx, wantDx, 1e-7, `relu backward ${n} acc=${acc}`);
        for (const mask of [null, y]) {
          const dx2 = filled(wb, n), want2 = f64(dx2);
          wb.pass(dy, n, dx2, acc, mask);
          ref.pass(f64(dy), n, want2, acc, mask && f64(mask));
          assertClose(dx2, want2, 1e-7, `pass ${n} acc=${acc} relu mask=${mask !== null}`);
        }
      }
      for (const relu of [false, true]) {
        const s = wb.alloc(n), wantS = new Float64Array(n);
        wb.add(x, y, n, s, relu);
        ref.add(f64(x), f64(y), n, wantS, relu);
        assertClose(s, wantS, 1e-7, `add ${n} relu=${relu}`);
      }
    }
  });

  it('batch norm: training forward (with running averages), inference forward, backward, each with and without a fused residual add and ReLU (its mask read or recomputed)', () => {
    for (const [C, S] of [[3, 2], [5, 37], [16, 1568], [2, 4001]] as const) for (const relu of [false, true]) for (const withResidual of [false, true]) {
      const residual = withResidual ? filled(wb, C * S, 1.5, -0.2) : null;
      const x = filled(wb, C * S, 2, 0.5), gamma = filled(wb, C, 0.2, 1), beta = filled(wb, C, 0.3);
      const mean = filled(wb, C, 0.1), variance = filled(wb, C, 0.1, 1);
      const rMean = f64(mean), rVar = f64(variance);
      const y = wb.alloc(C * S), want = new Float64Array(C * S);
      const saved = { mean: new Float64Array(C), invStd: new Float64Array(C) };
      const savedRef = { mean: new Float64Array(C), invStd: new Float64Array(C) };
      wb.bnForwardTrain(x, C, S, gamma, beta, 1e-5, y, saved, { mean, variance, momentum: 0.9 }, relu, residual);
      ref.bnForwardTrain(f64(x), C, S, f64(gamma), f64(beta), 1e-5, want, savedRef, { mean: rMean, variance: rVar, momentum: 0.9 }, relu, residual && f64(residual));
      assertClose(y, want, 1e-5, `bn train forward C=${C} S=${S} relu=${relu} residual=${withResidual}`);
      assertClose(mean, rMean, 1e-5, 'running mean');
      assertClose(variance, rVar, 1e-5, 'running variance');
      for (const acc of [false, true]) {
        const dy = filled(wb, C * S), dx = filled(wb, C * S), wantDx = f64(dx);
        const dG = wb.alloc(C), dB = wb.alloc(C), wantDG = new Float64Array(C), wantDB = new Float64Array(C);
        const dxRead = wb.alloc(C * S);
        dxRead.set(dx);
        wb.bnBackward(x, dy, C, S, gamma, saved, dG, dB, dx, acc, relu ? y : null);
        ref.bnBackward(f64(x), f64(dy), C, S, f64(gamma), savedRef, wantDG, wantDB, wantDx, acc, relu ? f64(y) : null);
        if (relu && !withResidual) {
          // The ReLU's mask was recomputed from x and the forward's affine map: the same bits as reading y
          // (statistics copied into a new object, which no forward has seen, so the backward reads y).
          const dGRead = wb.alloc(C), dBRead = wb.alloc(C);
          wb.bnBackward(x, dy, C, S, gamma, { mean: Float64Array.from(saved.mean), invStd: Float64Array.from(saved.invStd) }, dGRead, dBRead, dxRead, acc, y);
          assert.deepEqual([dxRead, dGRead, dBRead], [dx, dG, dB], `gate and mask agree C=${C} S=${S} acc=${acc}`);
        }
        // With S = 2 the exact dx is ~0 (two values normalise to +-1 whatever they are): compare at dy's scale.
        assertClose(dx, wantDx, 1e-4, `bn backward dx C=${C} S=${S} acc=${acc}`, 1);
        assertClose(dG, wantDG, 1e-4, 'dgamma');
        assertClose(dB, wantDB, 1e-4, 'dbeta');
      }
      const yEval = wb.alloc(C * S), wantEval = new Float64Array(C * S);
      wb.bnForwardEval(x, C, S, gamma, beta, mean, variance, 1e-5, yEval, relu, residual);
      ref.bnForwardEval(f64(x), C, S, f64(gamma), f64(beta), f64(mean), f64(variance), 1e-5, wantEval, relu, residual && f64(residual));
      assertClose(yEval, wantEval, 1e-5, `bn eval C=${C} S=${S} relu=${relu} residual=${withResidual}`);
    }
  });

  it('batch norm over a long channel (64 images at 32x32) sums in float64: y and dx within 3e-7 of exact', () => {
    // A conv's output over a batch: 65536 values and an odd tail per channel. Summed in float32 all the way,
    // y and dx were 9e-7 off here (relative RMS; 5e-6 in plain20's first batch norm), now 1e-7.
    const C = 2, S = 65536 + 7;
    const x = filled(wb, C * S, 0.5, 1.5), gamma = filled(wb, C, 0.2, 1), beta = filled(wb, C, 0.3);
    const y = wb.alloc(C * S), want = new Float64Array(C * S);
    const saved = { mean: new Float64Array(C), invStd: new Float64Array(C) };
    const savedRef = { mean: new Float64Array(C), invStd: new Float64Array(C) };
    wb.bnForwardTrain(x, C, S, gamma, beta, 1e-5, y, saved, null, false);
    ref.bnForwardTrain(f64(x), C, S, f64(gamma), f64(beta), 1e-5, want, savedRef, null, false);
    assert.ok(rms(y, want) < 3e-7, `forward: relative RMS error ${rms(y, want)}`);
    const dy = filled(wb, C * S), dx = wb.alloc(C * S), wantDx = new Float64Array(C * S);
    wb.bnBackward(x, dy, C, S, gamma, saved, wb.alloc(C), wb.alloc(C), dx, false, null);
    ref.bnBackward(f64(x), f64(dy), C, S, f64(gamma), savedRef, new Float64Array(C), new Float64Array(C), wantDx, false, null);
    assert.ok(rms(dx, wantDx) < 3e-7, `backward: relative RMS error ${rms(dx, wantDx)}`);
  });
});

describe('a whole net trains the same on both backends', () => {
  const nets: [string, ModelSpec, WinogradPlan | undefined][] = [
    ['tiny option B', { family: 'cifar', block: 'basic', stages: [1, 2], widths: [4, 8], shortcut: 'B', residual: true, inputChannels: 2, inputSize: 9, classes: 5 }, undefined],
    ['resnet20 at 1x12x12', { ...zooSpec('resnet20'), inputChannels: 1, inputSize: 12 }, undefined],
    ['plain20 at 1x12x12', { ...zooSpec('plain20'), inputChannels: 1, inputSize: 12 }, undefined],
    // Every conv on im2col + GEMM (the paths Winograd replaced for 3x3 stride-1 convs, kept for the others).
    ['resnet20 at 1x12x12 without Winograd', { ...zooSpec('resnet20'), inputChannels: 1, inputSize: 12 }, NO_WINOGRAD],
  ];
  for (const [what, spec, winograd] of nets) {
    it(`${what}: loss, every gradient, running statistics, inference logits`, () => {
      const graph = buildModel(spec, { name: 't', seed: 5 });
      const batch = 6;
      const a = new TrainNet(graph, { backend: wb, maxBatch: batch, resetBatchNorm: true, ...(winograd && { winograd }) });
      const b = new TrainNet(graph, { backend: ref, maxBatch: batch, resetBatchNorm: true });
      // Its own random inputs: the tests before it do not change them.
      const r = seededRandom(3);
      const x = Float32Array.from({ length: batch * a.inputSize }, () => r.normal());
      const labels = Array.from({ length: batch }, (_, i) => i % a.classes);
      a.forward(x, batch, true);
      b.forward(x, batch, true);
      const la = a.lossAndBackward(labels);
      const lb = b.lossAndBackward(labels);
      assert.ok(Math.abs(la.loss - lb.loss) < 1e-5 * Math.max(1, lb.loss), `loss ${la.loss} vs ${lb.loss}`);
      assert.equal(la.correct, lb.correct);
      a.params.forEach((p, i) => assertClose(p.grad, b.params[i]!.grad, 2e-3, `gradient of ${p.name}`));
      a.states.forEach((s, i) => assertClose(s.data, b.states[i]!.data, 1e-4, `state ${s.name}`));
      assertClose(a.forward(x, 3, false), b.forward(x, 3, false), 1e-4, 'inference logits');
    });
  }
});

describe('F(7x7) accuracy', () => {
  it('stays within 5e-5 relative RMS of float64 in all three passes at the layers it serves (14x14 and 7x7, 32 and 64 channels)', () => {
    const r = seededRandom(11);
    for (const [C, H, n] of [[32, 14, 8], [64, 7, 8]] as const) {
      const { g, xs, ws, dys, want } = reluConvCase(r, C, C, H, n);
      const [ey, edx, edW] = winogradErrors(wb, g, xs, ws, dys, 7, want);
      for (const [pass, e] of [['forward', ey], ['backward data', edx], ['weight gradient', edW]] as const) {
        assert.ok(e < 5e-5, `${pass} C=${C} ${H}x${H}: RMS error ${e}`);
      }
    }
  });
});

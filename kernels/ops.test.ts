// Every registered backend's kernels against deliberately simple direct implementations, on random shapes.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { registerAll } from '../src/engine/register';
import type { ConvAttrs, GemmAttrs, PoolAttrs } from './core/attrs';
import { assertClose, forEachBackend, randInt, randomTensor, rng } from './testdata/helpers';
import { shapeStr, sizeOf, tensor, type Tensor } from './core/tensor';

registerAll();

// ---------------------------------------------------------------------------------------------------------
// Naive references: one output element at a time, straight from the ONNX operator definitions.

/** Row-major flat index of `idx` in `shape`. */
function flat(idx: readonly number[], shape: readonly number[]): number {
  let f = 0;
  for (let d = 0; d < shape.length; d++) f = f * shape[d]! + idx[d]!;
  return f;
}

/** The multi-index of flat position `f` in `shape`. */
function unflat(f: number, shape: readonly number[]): number[] {
  const idx = new Array<number>(shape.length);
  for (let d = shape.length - 1; d >= 0; d--) {
    idx[d] = f % shape[d]!;
    f = Math.floor(f / shape[d]!);
  }
  return idx;
}

function naiveConv(x: Tensor, w: Tensor, bias: Float32Array | null, a: ConvAttrs, residual: Tensor | undefined, relu: boolean): Tensor {
  const [N, C, H, W] = x.shape as [number, number, number, number];
  const [M, , KH, KW] = w.shape as [number, number, number, number];
  const OH = Math.floor((H + a.pads[0] + a.pads[2] - (a.dilations[0] * (KH - 1) + 1)) / a.strides[0]) + 1;
  const OW = Math.floor((W + a.pads[1] + a.pads[3] - (a.dilations[1] * (KW - 1) + 1)) / a.strides[1]) + 1;
  const out = tensor([N, M, OH, OW]);
  for (let n = 0; n < N; n++) for (let m = 0; m < M; m++) for (let oy = 0; oy < OH; oy++) for (let ox = 0; ox < OW; ox++) {
    let s = bias ? bias[m]! : 0;
    for (let c = 0; c < C; c++) for (let ky = 0; ky < KH; ky++) for (let kx = 0; kx < KW; kx++) {
      const y = oy * a.strides[0] - a.pads[0] + ky * a.dilations[0];
      const xi = ox * a.strides[1] - a.pads[1] + kx * a.dilations[1];
      if (y < 0 || y >= H || xi < 0 || xi >= W) continue;
      s += x.data[flat([n, c, y, xi], x.shape)]! * w.data[flat([m, c, ky, kx], w.shape)]!;
    }
    const o = flat([n, m, oy, ox], out.shape);
    if (residual) s += residual.data[o]!;
    out.data[o] = relu ? Math.max(0, s) : s;
  }
  return out;
}

/**
 * Pooling the way ONNX's Python reference does it: pad with NaN (0 when padding counts), cut windows out of the
 * padded plane (a window hanging past it in ceil mode is truncated), reduce over the non-NaN cells.
 */
function naivePool(x: Tensor, a: PoolAttrs, kind: 'max' | 'avg'): Tensor {
  const [N, C, H, W] = x.shape as [number, number, number, number];
  const [pt, pl, pb, pr] = a.pads;
  const Hp = H + pt + pb;
  const Wp = W + pl + pr;
  const outSize = (padded: number, k: number, s: number, d: number, inSize: number, begin: number): number => {
    const span = padded - ((k - 1) * d + 1);
    let o = (a.ceilMode ? Math.ceil(span / s) : Math.floor(span / s)) + 1;
    if (a.ceilMode && (o - 1) * s >= inSize + begin) o--; // the last window must start inside input or begin pad
    return o;
  };
  const OH = outSize(Hp, a.kernel[0], a.strides[0], a.dilations[0], H, pt);
  const OW = outSize(Wp, a.kernel[1], a.strides[1], a.dilations[1], W, pl);
  const out = tensor([N, C, OH, OW]);
  const padValue = kind === 'avg' && a.countIncludePad ? 0 : NaN;
  for (let n = 0; n < N; n++) for (let c = 0; c < C; c++) {
    const plane = new Float64Array(Hp * Wp).fill(padValue);
    for (let y = 0; y < H; y++) for (let xi = 0; xi < W; xi++) plane[(y + pt) * Wp + xi + pl] = x.data[flat([n, c, y, xi], x.shape)]!;
    for (let oy = 0; oy < OH; oy++) for (let ox = 0; ox < OW; ox++) {
      const cells: number[] = [];
      for (let ky = 0; ky < a.kernel[0]; ky++) for (let kx = 0; kx < a.kernel[1]; kx++) {
        const y = oy * a.strides[0] + ky * a.dilations[0];
        const xi = ox * a.strides[1] + kx * a.dilations[1];
        if (y < Hp && xi < Wp && !Number.isNaN(plane[y * Wp + xi]!)) cells.push(plane[y * Wp + xi]!);
      }
      out.data[flat([n, c, oy, ox], out.shape)] = kind === 'max' ? Math.max(...cells) : cells.reduce((s, v) => s + v, 0) / cells.length;
    }
  }
  return out;
}

function naiveGemm(A: Tensor, B: Tensor, Cm: Tensor | null, g: GemmAttrs): Tensor {
  const M = g.transA ? A.shape[1]! : A.shape[0]!;
  const K = g.transA ? A.shape[0]! : A.shape[1]!;
  const N = g.transB ? B.shape[0]! : B.shape[1]!;
  const aAt = (i: number, k: number): number => (g.transA ? A.data[k * M + i]! : A.data[i * K + k]!);
  const bAt = (k: number, j: number): number => (g.transB ? B.data[j * K + k]! : B.data[k * N + j]!);
  const out = tensor([M, N]);
  for (let i = 0; i < M; i++) for (let j = 0; j < N; j++) {
    let s = 0;
    for (let k = 0; k < K; k++) s += aAt(i, k) * bAt(k, j);
    let c = 0;
    if (Cm) {
      const cs = Cm.shape;
      const ci = cs.length === 2 ? (cs[0] === 1 ? 0 : i) : 0;
      const cj = cs.length === 0 ? 0 : cs[cs.length - 1] === 1 ? 0 : j;
      c = Cm.data[cs.length === 2 ? ci * cs[1]! + cj : cj]!;
    }
    out.data[i * N + j] = g.alpha * s + g.beta * c;
  }
  return out;
}

function naiveSoftmax(x: Tensor, axis: number): Tensor {
  const a = axis < 0 ? axis + x.shape.length : axis;
  const out = tensor(x.shape);
  for (let f = 0; f < x.data.length; f++) {
    const idx = unflat(f, x.shape);
    const row: number[] = [];
    for (let j = 0; j < x.shape[a]!; j++) row.push(x.data[flat(idx.map((v, d) => (d === a ? j : v)), x.shape)]!);
    const max = Math.max(...row);
    out.data[f] = Math.exp(x.data[f]! - max) / row.reduce((s, v) => s + Math.exp(v - max), 0);
  }
  return out;
}

function naiveAdd(a: Tensor, b: Tensor): Tensor {
  const rank = Math.max(a.shape.length, b.shape.length);
  const pa = [...new Array<number>(rank - a.shape.length).fill(1), ...a.shape];
  const pb = [...new Array<number>(rank - b.shape.length).fill(1), ...b.shape];
  const shape = pa.map((d, i) => Math.max(d, pb[i]!));
  const out = tensor(shape);
  for (let f = 0; f < out.data.length; f++) {
    const idx = unflat(f, shape);
    out.data[f] = a.data[flat(idx.map((v, d) => (pa[d] === 1 ? 0 : v)), pa)]! + b.data[flat(idx.map((v, d) => (pb[d] === 1 ? 0 : v)), pb)]!;
  }
  return out;
}

function naivePad(x: Tensor, pads: readonly number[], value: number): Tensor {
  const r = x.shape.length;
  const shape = x.shape.map((d, i) => d + pads[i]! + pads[i + r]!);
  const out = tensor(shape);
  for (let f = 0; f < out.data.length; f++) {
    const src = unflat(f, shape).map((v, d) => v - pads[d]!);
    out.data[f] = src.every((v, d) => v >= 0 && v < x.shape[d]!) ? x.data[flat(src, x.shape)]! : value;
  }
  return out;
}

/** Python's slice(start, end, step) over range(dim), as a literal loop (ONNX Slice follows NumPy). */
function pythonSliceIndices(dim: number, start: number, end: number, step: number): number[] {
  const lower = step < 0 ? -1 : 0;
  const upper = step < 0 ? dim - 1 : dim;
  const norm = (v: number): number => (v < 0 ? Math.max(v + dim, lower) : Math.min(v, upper));
  const out: number[] = [];
  for (let i = norm(start); step > 0 ? i < norm(end) : i > norm(end); i += step) out.push(i);
  return out;
}

function naiveSlice(x: Tensor, starts: number[], ends: number[], axes: number[], steps: number[]): Tensor {
  const r = x.shape.length;
  const lists = x.shape.map((d) => Array.from({ length: d }, (_, i) => i));
  axes.forEach((ax, k) => {
    const a = ax < 0 ? ax + r : ax;
    lists[a] = pythonSliceIndices(x.shape[a]!, starts[k]!, ends[k]!, steps[k]!);
  });
  const shape = lists.map((l) => l.length);
  const out = tensor(shape);
  for (let f = 0; f < out.data.length; f++) out.data[f] = x.data[flat(unflat(f, shape).map((v, d) => lists[d]![v]!), x.shape)]!;
  return out;
}

// ---------------------------------------------------------------------------------------------------------

forEachBackend('conv2d', (conv2d) => {
  test('matches a direct loop: kernels 1/3/7, strides 1/2, pads 0/1/3, batch 1/3, every epilogue', () => {
    const next = rng(1);
    let cases = 0;
    for (const k of [1, 3, 7]) for (const s of [1, 2]) for (const p of [0, 1, 3]) for (const batch of [1, 3]) {
      const C = randInt(next, 1, 6);
      const M = randInt(next, 1, 9); // often not a multiple of the 4-channel tile
      const H = 2 * randInt(next, 3, 8) + 1; // odd sizes
      const W = 2 * randInt(next, 3, 8) + 1;
      if (H + 2 * p < k || W + 2 * p < k) continue;
      const x = randomTensor([batch, C, H, W], next);
      const w = randomTensor([M, C, k, k], next);
      const attrs: ConvAttrs = { strides: [s, s], pads: [p, p, p, p], dilations: [1, 1] };
      const OH = Math.floor((H + 2 * p - k) / s) + 1;
      const OW = Math.floor((W + 2 * p - k) / s) + 1;
      for (const [useBias, useResidual, relu] of [[false, false, false], [true, false, true], [true, true, false], [true, true, true]] as const) {
        const bias = useBias ? randomTensor([M], next).data : null;
        const residual = useResidual ? randomTensor([batch, M, OH, OW], next) : undefined;
        const what = `x ${shapeStr(x.shape)} w ${shapeStr(w.shape)} s${s} p${p} bias=${useBias} residual=${useResidual} relu=${relu}`;
        const got = conv2d(x, w, bias, attrs, residual ? { residual, relu } : { relu });
        assertClose(got, naiveConv(x, w, bias, attrs, residual, relu), what);
        cases++;
      }
    }
    assert.ok(cases >= 100, `ran only ${cases} cases`);
  });

  test('matches a direct loop with dilations, asymmetric pads and different strides per axis', () => {
    const next = rng(2);
    const configs: ConvAttrs[] = [
      { strides: [1, 1], pads: [2, 2, 2, 2], dilations: [2, 2] },
      { strides: [2, 1], pads: [1, 0, 2, 3], dilations: [1, 3] },
      { strides: [3, 2], pads: [0, 3, 1, 0], dilations: [2, 1] },
      { strides: [1, 3], pads: [3, 1, 0, 2], dilations: [3, 2] },
    ];
    for (const attrs of configs) {
      for (const [kh, kw] of [[3, 3], [1, 5], [2, 3]] as const) {
        const x = randomTensor([2, 3, 13, 11], next);
        const w = randomTensor([6, 3, kh, kw], next);
        const bias = randomTensor([6], next).data;
        assertClose(conv2d(x, w, bias, attrs, { relu: true }), naiveConv(x, w, bias, attrs, undefined, true), `w ${shapeStr(w.shape)} ${JSON.stringify(attrs)}`);
      }
    }
  });

  test('a ResNet-sized layer (32 channels, 3x3, pad 1) matches', () => {
    const next = rng(3);
    const x = randomTensor([1, 32, 15, 15], next);
    const w = randomTensor([32, 32, 3, 3], next, 0.2);
    const bias = randomTensor([32], next).data;
    const residual = randomTensor([1, 32, 15, 15], next);
    const attrs: ConvAttrs = { strides: [1, 1], pads: [1, 1, 1, 1], dilations: [1, 1] };
    assertClose(conv2d(x, w, bias, attrs, { residual, relu: true }), naiveConv(x, w, bias, attrs, residual, true), 'resnet layer');
  });

  test('does not modify its inputs', () => {
    const next = rng(4);
    const x = randomTensor([1, 2, 5, 5], next);
    const w = randomTensor([3, 2, 3, 3], next);
    const residual = randomTensor([1, 3, 5, 5], next);
    const copies = [x.data.slice(), w.data.slice(), residual.data.slice()];
    conv2d(x, w, null, { strides: [1, 1], pads: [1, 1, 1, 1], dilations: [1, 1] }, { residual, relu: true });
    assert.deepEqual([x.data, w.data, residual.data], copies);
  });

  test('refuses bad shapes and attributes, naming the shapes', () => {
    const x = tensor([1, 3, 8, 8]);
    const ok: ConvAttrs = { strides: [1, 1], pads: [0, 0, 0, 0], dilations: [1, 1] };
    assert.throws(() => conv2d(x, tensor([4, 2, 3, 3]), null, ok, { relu: false }), /\[1,3,8,8\].*\[4,2,3,3\]/);
    assert.throws(() => conv2d(x, tensor([4, 3, 3, 3]), new Float32Array(3), ok, { relu: false }), /bias has 3/);
    assert.throws(() => conv2d(x, tensor([4, 3, 3, 3]), null, { ...ok, strides: [0, 1] }, { relu: false }), /strides/);
    assert.throws(() => conv2d(x, tensor([4, 3, 3, 3]), null, { ...ok, pads: [-1, 0, 0, 0] }, { relu: false }), /pads/);
    assert.throws(() => conv2d(x, tensor([4, 3, 9, 9]), null, ok, { relu: false }), /smaller than the/);
    assert.throws(() => conv2d(x, tensor([4, 3, 3, 3]), null, ok, { residual: tensor([1, 4, 8, 8]), relu: false }), /residual \[1,4,8,8\].*\[1,4,6,6\]/);
    assert.throws(() => conv2d(tensor([3, 8, 8]), tensor([4, 3, 3, 3]), null, ok, { relu: false }), /4-D/);
  });
});

function poolCases(seed: number): { x: Tensor; attrs: PoolAttrs }[] {
  const next = rng(seed);
  const cases: { x: Tensor; attrs: PoolAttrs }[] = [];
  for (const k of [1, 2, 3, 5]) for (const s of [1, 2, 3]) for (const d of [1, 2]) for (const ceilMode of [false, true]) {
    const ek = (k - 1) * d + 1;
    const pads = [0, 1, 2, 3].map(() => randInt(next, 0, ek - 1)) as [number, number, number, number];
    const x = randomTensor([randInt(next, 1, 2), randInt(next, 1, 3), randInt(next, 5, 12), randInt(next, 5, 12)], next);
    for (const countIncludePad of [false, true]) {
      cases.push({ x, attrs: { kernel: [k, k], strides: [s, s], pads, dilations: [d, d], ceilMode, countIncludePad } });
    }
  }
  return cases;
}

forEachBackend('maxPool2d', (maxPool2d) => {
  test('matches a NaN-padded reference: kernels 1-5, strides 1-3, dilations 1-2, ceil mode, random pads', () => {
    for (const { x, attrs } of poolCases(5)) assertClose(maxPool2d(x, attrs), naivePool(x, attrs, 'max'), `x ${shapeStr(x.shape)} ${JSON.stringify(attrs)}`);
  });
  test('ResNet stem pool: 3x3 stride 2 pad 1 on 112x112 gives 56x56', () => {
    const x = randomTensor([1, 2, 112, 112], rng(6));
    const attrs: PoolAttrs = { kernel: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1], dilations: [1, 1], ceilMode: false, countIncludePad: false };
    const got = maxPool2d(x, attrs);
    assert.deepEqual(got.shape, [1, 2, 56, 56]);
    assertClose(got, naivePool(x, attrs, 'max'), 'stem pool');
  });
  test('refuses pads as wide as the kernel', () => {
    const attrs: PoolAttrs = { kernel: [2, 2], strides: [1, 1], pads: [2, 0, 0, 0], dilations: [1, 1], ceilMode: false, countIncludePad: false };
    assert.throws(() => maxPool2d(tensor([1, 1, 4, 4]), attrs), /pads/);
  });
});

forEachBackend('avgPool2d', (avgPool2d) => {
  test('matches a NaN-padded reference, with and without count_include_pad', () => {
    for (const { x, attrs } of poolCases(7)) assertClose(avgPool2d(x, attrs), naivePool(x, attrs, 'avg'), `x ${shapeStr(x.shape)} ${JSON.stringify(attrs)}`);
  });
  test('count_include_pad divides corner windows by the full window', () => {
    const x = tensor([1, 1, 2, 2], Float32Array.of(1, 2, 3, 4));
    const base = { kernel: [2, 2], strides: [1, 1], pads: [1, 1, 0, 0], dilations: [1, 1], ceilMode: false } as const;
    assert.deepEqual([...avgPool2d(x, { ...base, countIncludePad: false }).data], [1, 1.5, 2, 2.5]);
    assert.deepEqual([...avgPool2d(x, { ...base, countIncludePad: true }).data], [0.25, 0.75, 1, 2.5]);
  });
});

forEachBackend('globalAvgPool', (globalAvgPool) => {
  test('is the mean of each plane', () => {
    const next = rng(8);
    for (const shape of [[1, 3, 5, 5], [3, 4, 7, 1], [2, 64, 7, 7]]) {
      const x = randomTensor(shape, next);
      const [N, C, H, W] = shape as [number, number, number, number];
      const want = tensor([N, C, 1, 1]);
      for (let p = 0; p < N * C; p++) {
        let s = 0;
        for (let i = 0; i < H * W; i++) s += x.data[p * H * W + i]!;
        want.data[p] = s / (H * W);
      }
      assertClose(globalAvgPool(x), want, `x ${shapeStr(shape)}`);
    }
  });
});

forEachBackend('gemm', (gemm) => {
  test('matches a triple loop for every transpose, alpha/beta and C broadcast', () => {
    const next = rng(9);
    for (const [M, K, N] of [[1, 1, 1], [3, 5, 4], [6, 130, 300], [9, 7, 2], [1, 512, 10]] as const) {
      const cShapes = [null, [], [1], [N], [1, N], [M, 1], [M, N]];
      for (const transA of [false, true]) for (const transB of [false, true]) {
        const a = randomTensor(transA ? [K, M] : [M, K], next);
        const b = randomTensor(transB ? [N, K] : [K, N], next);
        for (const cShape of cShapes) {
          const c = cShape === null ? null : randomTensor(cShape, next);
          const attrs: GemmAttrs = { transA, transB, alpha: cShape === null ? 1 : 0.5 + next(), beta: next() * 2 - 1 };
          const what = `A ${shapeStr(a.shape)} B ${shapeStr(b.shape)} C ${cShape ? shapeStr(cShape) : 'none'} ${JSON.stringify(attrs)}`;
          assertClose(gemm(a, b, c, attrs), naiveGemm(a, b, c, attrs), what);
        }
      }
    }
  });
  test('refuses mismatched K and a C that cannot broadcast', () => {
    const attrs: GemmAttrs = { transA: false, transB: false, alpha: 1, beta: 1 };
    assert.throws(() => gemm(tensor([2, 3]), tensor([4, 5]), null, attrs), /\[2,3\].*\[4,5\].*3 vs 4/);
    assert.throws(() => gemm(tensor([2, 3]), tensor([3, 5]), tensor([3]), attrs), /C \[3\]/);
  });
});

forEachBackend('softmax', (softmax) => {
  test('matches the definition along every axis, including negative ones and huge logits', () => {
    const next = rng(10);
    const x = randomTensor([3, 4, 5], next, 3);
    for (const axis of [0, 1, 2, -1, -3]) assertClose(softmax(x, axis), naiveSoftmax(x, axis), `axis ${axis}`);
    const big = randomTensor([2, 1000], next, 1000);
    const got = softmax(big, 1);
    assertClose(got, naiveSoftmax(big, 1), 'logits up to 1000');
    assert.ok(got.data.every(Number.isFinite), 'large logits must not overflow');
  });
  test('refuses an axis out of range', () => {
    assert.throws(() => softmax(tensor([2, 3]), 2), /axis 2.*\[2,3\]/);
  });
});

forEachBackend('relu', (relu) => {
  test('clamps negatives to 0 and keeps the shape', () => {
    const x = tensor([2, 3], Float32Array.of(-1, 0, 2.5, -0.001, 7, -3e38));
    const got = relu(x);
    assert.deepEqual(got.shape, [2, 3]);
    assert.deepEqual([...got.data], [0, 0, 2.5, 0, 7, 0]);
  });
});

forEachBackend('add', (add) => {
  test('matches the broadcasting definition', () => {
    const next = rng(11);
    const pairs: [number[], number[]][] = [
      [[3, 4, 5], [3, 4, 5]], [[3, 4, 5], [5]], [[5], [3, 4, 5]], [[2, 1, 4], [3, 1]], [[], [2, 3]], [[1], [2, 3]],
      [[2, 8, 5, 5], [8, 1, 1]], [[1, 8, 1, 1], [2, 8, 5, 5]], [[4, 1], [1, 6]], [[2, 3, 1, 5], [3, 4, 1]],
    ];
    for (const [sa, sb] of pairs) {
      const a = randomTensor(sa, next);
      const b = randomTensor(sb, next);
      assertClose(add(a, b), naiveAdd(a, b), `${shapeStr(sa)} + ${shapeStr(sb)}`);
    }
  });
  test('refuses incompatible shapes, naming them', () => {
    assert.throws(() => add(tensor([2, 3]), tensor([4])), /\[2,3\].*\[4\]/);
  });
});

forEachBackend('batchNorm', (batchNorm) => {
  test('matches (x - mean) / sqrt(var + eps) * scale + bias', () => {
    const next = rng(12);
    for (const shape of [[2, 3, 4, 5], [4, 6], [1, 16, 7, 7]]) {
      const C = shape[1]!;
      const x = randomTensor(shape, next, 3);
      const [scale, bias, mean] = [0, 1, 2].map(() => randomTensor([C], next).data) as [Float32Array, Float32Array, Float32Array];
      const variance = randomTensor([C], next).data.map((v) => Math.abs(v) + 0.1);
      const eps = 1e-5;
      const spatial = sizeOf(shape.slice(2));
      const want = tensor(shape);
      for (let i = 0; i < x.data.length; i++) {
        const c = Math.floor(i / spatial) % C;
        want.data[i] = ((x.data[i]! - mean[c]!) / Math.sqrt(variance[c]! + eps)) * scale[c]! + bias[c]!;
      }
      assertClose(batchNorm(x, scale, bias, mean, variance, eps), want, `x ${shapeStr(shape)}`);
    }
  });
  test('refuses per-channel vectors of the wrong length', () => {
    const v = new Float32Array(3);
    assert.throws(() => batchNorm(tensor([1, 4, 2, 2]), v, v, v, v, 1e-5), /scale has 3 values.*\[1,4,2,2\]/);
  });
});

forEachBackend('pad', (pad) => {
  test('matches the definition, including negative (cropping) pads', () => {
    const next = rng(13);
    const cases: [number[], number[]][] = [
      [[1, 3, 4, 5], [0, 0, 1, 3, 0, 0, 2, 4]], [[1, 3, 4, 5], [0, 0, -1, -2, 0, 1, 1, -2]], [[5], [2, -3]],
      [[2, 3], [-2, 0, 1, -3]], [[2, 3, 4], [1, 1, 1, 1, 1, 1]], [[3, 3], [0, 0, 0, 0]],
    ];
    for (const [shape, pads] of cases) {
      const x = randomTensor(shape, next);
      assertClose(pad(x, pads, 1.5), naivePad(x, pads, 1.5), `x ${shapeStr(shape)} pads [${pads.join(',')}]`);
    }
  });
  test('refuses wrong pads length and over-cropping', () => {
    assert.throws(() => pad(tensor([2, 3]), [1, 1], 0), /\[2,3\] needs 4 pads/);
    assert.throws(() => pad(tensor([2, 3]), [-3, 0, 0, 0], 0), /remove more/);
  });
});

forEachBackend('slice', (slice) => {
  // ONNX's 'to the end' marker as exporters write it; as a double it rounds to 2^63, which is the point.
  // biome-ignore lint/correctness/noPrecisionLoss: the literal as it appears in ONNX files
  const INT64_MAX = 9223372036854775807;
  test('matches Python slicing: negative starts/ends/steps/axes, clamping, INT64_MAX ends', () => {
    const x = randomTensor([6, 7, 5], rng(14));
    const cases: [number[], number[], number[], number[]][] = [
      [[0, 1], [3, 5], [0, 1], [1, 1]], [[-3], [-1], [1], [1]], [[5], [INT64_MAX], [0], [1]], [[-1], [-INT64_MAX], [0], [-1]],
      [[20], [-20], [2], [-2]], [[-20], [20], [-1], [3]], [[4, 6, 2], [0, -INT64_MAX, 4], [0, 1, 2], [-1, -2, 1]],
      [[3], [3], [1], [1]], [[2], [0], [0], [1]], [[1000], [1000], [0], [1]], [[0, -1], [INT64_MAX, 0], [-3, -2], [4, -3]],
    ];
    for (const [starts, ends, axes, steps] of cases) {
      assertClose(slice(x, starts, ends, axes, steps), naiveSlice(x, starts, ends, axes, steps), `starts [${starts}] ends [${ends}] axes [${axes}] steps [${steps}]`);
    }
  });
  test('a step of -1 over a whole axis reverses it', () => {
    const x = tensor([5], Float32Array.of(1, 2, 3, 4, 5));
    assert.deepEqual([...slice(x, [-1], [-INT64_MAX], [0], [-1]).data], [5, 4, 3, 2, 1]);
  });
  test('refuses step 0, repeated axes and axes out of range', () => {
    const x = tensor([2, 3]);
    assert.throws(() => slice(x, [0], [1], [0], [0]), /step/);
    assert.throws(() => slice(x, [0, 0], [1, 1], [1, -1], [1, 1]), /repeated/);
    assert.throws(() => slice(x, [0], [1], [2], [1]), /axis 2 out of range/);
  });
});

forEachBackend('shortcutA', (shortcutA) => {
  test('equals x[:, :, ::s, ::s] followed by zero channels at the end', () => {
    const next = rng(15);
    for (const [shape, stride, outC] of [[[2, 3, 7, 6], 2, 5], [[1, 16, 32, 32], 2, 32], [[1, 4, 5, 5], 1, 4], [[3, 2, 9, 9], 3, 7]] as const) {
      const x = randomTensor(shape, next);
      const [N, C, H, W] = shape;
      const OH = Math.ceil(H / stride);
      const OW = Math.ceil(W / stride);
      const want = tensor([N, outC, OH, OW]);
      for (let f = 0; f < want.data.length; f++) {
        const [n, c, y, xi] = unflat(f, want.shape) as [number, number, number, number];
        want.data[f] = c < C ? x.data[flat([n, c, y * stride, xi * stride], shape)]! : 0;
      }
      assertClose(shortcutA(x, stride, outC), want, `x ${shapeStr(shape)} stride ${stride} -> ${outC} channels`);
    }
  });
  test('refuses fewer output channels than input channels', () => {
    assert.throws(() => shortcutA(tensor([1, 8, 4, 4]), 2, 4), /outChannels 4.*\[1,8,4,4\]/);
  });
});

test('registerAll is idempotent and the registry refuses duplicates', async () => {
  registerAll(); // a second call: no-op, no throw
  const { registerKernel } = await import('./registry');
  const { relu } = await import('./ts/elementwise');
  assert.throws(() => registerKernel('ts', 'relu', relu), /already registered/);
});

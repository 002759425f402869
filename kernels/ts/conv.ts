// 2-D convolution (NCHW, groups 1) with a fused epilogue: out = relu?(conv(x, w) + bias + residual?).
//
// How it is computed, per image:
//  1. The input is copied once into a zero-padded buffer, so the inner loops never test bounds. For stride
//     s > 1 each padded row is also split into s "phases" (columns r, r+s, r+2s, ... for r < s), so that the
//     input pixels read by consecutive output columns are contiguous for every stride and dilation.
//  2. The weights are packed as [M/4][C*kh*kw][4]: the 4 output channels of a block are adjacent, zero-filled
//     past M. Together with a table holding, for every (input channel, tap), its offset in the padded buffer,
//     the whole reduction is one flat loop over C*kh*kw.
//  3. A 4-channel x 4-pixel tile keeps its 16 sums in local variables (registers, mostly): per step it loads
//     4 weights and 4 pixels for 16 multiply-adds. Accumulators start at the bias; the store adds the
//     residual (pre-copied into the output) and clamps at 0 for ReLU.
import type { ConvAttrs, ConvEpilogue } from '../core/attrs';
import { convOutputHW } from '../core/shape';
import { shapeStr, type Tensor } from '../core/tensor';

/** Channels and output pixels per register tile. */
const TILE = 4;

export function conv2d(x: Tensor, w: Tensor, bias: Float32Array | null, attrs: ConvAttrs, epilogue: ConvEpilogue): Tensor {
  if (x.shape.length !== 4 || w.shape.length !== 4) {
    throw new Error(`conv2d: x ${shapeStr(x.shape)} and w ${shapeStr(w.shape)} must both be 4-D (NCHW, MCkhkw)`);
  }
  const [N, C, H, W] = x.shape as [number, number, number, number];
  const [M, wC, KH, KW] = w.shape as [number, number, number, number];
  if (wC !== C) throw new Error(`conv2d: x ${shapeStr(x.shape)} has ${C} channels but w ${shapeStr(w.shape)} expects ${wC} (groups > 1 unsupported)`);
  if (bias !== null && bias.length !== M) throw new Error(`conv2d: bias has ${bias.length} values, w ${shapeStr(w.shape)} has ${M} output channels`);
  const [OH, OW] = convOutputHW([H, W], [KH, KW], attrs);
  const outShape = [N, M, OH, OW];
  const residual = epilogue.residual;
  if (residual !== undefined && shapeStr(residual.shape) !== shapeStr(outShape)) {
    throw new Error(`conv2d: residual ${shapeStr(residual.shape)} must match the output ${shapeStr(outShape)}`);
  }

  const [sy, sx] = attrs.strides;
  const [dy, dx] = attrs.dilations;
  const [pt, pl, pb, pr] = attrs.pads;
  const layout = paddedLayout(C, H, W, pt, pl, pb, pr, sx);
  const taps = tapOffsets(C, KH, KW, dy, dx, sx, layout);
  const packed = packWeights(w.data, M, C * KH * KW);
  const out = residual !== undefined ? residual.data.slice() : new Float32Array(N * M * OH * OW);
  const floor = epilogue.relu ? 0 : -Infinity;
  const zeroBias = new Float32Array(M);

  const needsCopy = pt + pl + pb + pr > 0 || sx > 1;
  const scratch = needsCopy ? new Float32Array(layout.size) : null;
  for (let n = 0; n < N; n++) {
    const image = x.data.subarray(n * C * H * W, (n + 1) * C * H * W);
    const input = scratch !== null ? copyPadded(image, scratch, C, H, W, pt, pl, sx, layout) : image;
    convImage(input, packed, bias ?? zeroBias, taps, out, n * M * OH * OW, M, OH, OW, sy * layout.rowStride, floor);
  }
  return { shape: outShape, data: out };
}

/** Where padded, phase-split input pixels live: pixel (c, y, X) is at c*channelStride + y*rowStride + (X % s)*Wq + floor(X / s). */
interface PaddedLayout {
  readonly Wq: number;
  readonly rowStride: number;
  readonly channelStride: number;
  readonly size: number;
}

function paddedLayout(C: number, H: number, W: number, pt: number, pl: number, pb: number, pr: number, sx: number): PaddedLayout {
  const Hp = H + pt + pb;
  const Wq = Math.ceil((W + pl + pr) / sx);
  const rowStride = sx * Wq;
  return { Wq, rowStride, channelStride: Hp * rowStride, size: C * Hp * rowStride };
}

/** Copies one image [C,H,W] into `dst` (whose padding cells stay 0) in the padded, phase-split layout. */
function copyPadded(src: Float32Array, dst: Float32Array, C: number, H: number, W: number, pt: number, pl: number, sx: number, layout: PaddedLayout): Float32Array {
  const { Wq, rowStride, channelStride } = layout;
  for (let c = 0; c < C; c++) {
    for (let y = 0; y < H; y++) {
      const srcRow = (c * H + y) * W;
      const dstRow = c * channelStride + (y + pt) * rowStride;
      if (sx === 1) {
        dst.set(src.subarray(srcRow, srcRow + W), dstRow + pl);
        continue;
      }
      for (let xi = 0; xi < W; xi++) {
        const X = xi + pl;
        dst[dstRow + (X % sx) * Wq + Math.floor(X / sx)] = src[srcRow + xi]!;
      }
    }
  }
  return dst;
}

/** Offset of each (input channel, ky, kx) tap, relative to the input position of output pixel (0, ox). */
function tapOffsets(C: number, KH: number, KW: number, dy: number, dx: number, sx: number, layout: PaddedLayout): Int32Array {
  const offsets = new Int32Array(C * KH * KW);
  for (let c = 0; c < C; c++) {
    for (let ky = 0; ky < KH; ky++) {
      for (let kx = 0; kx < KW; kx++) {
        const X = kx * dx;
        offsets[(c * KH + ky) * KW + kx] = c * layout.channelStride + ky * dy * layout.rowStride + (X % sx) * layout.Wq + Math.floor(X / sx);
      }
    }
  }
  return offsets;
}

/** w [M, K] -> [ceil(M/4)][K][4], zero-filled past M, so a 4-channel block reads its 4 weights at once. */
function packWeights(w: Float32Array, M: number, K: number): Float32Array {
  const blocks = Math.ceil(M / TILE);
  const packed = new Float32Array(blocks * K * TILE);
  for (let m = 0; m < M; m++) {
    const block = Math.floor(m / TILE);
    const lane = m % TILE;
    for (let k = 0; k < K; k++) packed[(block * K + k) * TILE + lane] = w[m * K + k]!;
  }
  return packed;
}

/** All output channels and pixels of one image, written at out[outBase...]. */
function convImage(
  input: Float32Array, packed: Float32Array, bias: Float32Array, taps: Int32Array,
  out: Float32Array, outBase: number, M: number, OH: number, OW: number, inputRowStep: number, floor: number,
): void {
  const K = taps.length;
  const plane = OH * OW;
  for (let m0 = 0; m0 < M; m0 += TILE) {
    const wBase = m0 * K;
    // Bias of the 4 channels (0 past M; those rows are computed but never stored).
    const b0 = bias[m0]!, b1 = m0 + 1 < M ? bias[m0 + 1]! : 0, b2 = m0 + 2 < M ? bias[m0 + 2]! : 0, b3 = m0 + 3 < M ? bias[m0 + 3]! : 0;
    const rows = Math.min(TILE, M - m0);
    for (let oy = 0; oy < OH; oy++) {
      const inRow = oy * inputRowStep;
      const outRow = outBase + m0 * plane + oy * OW;
      let ox = 0;
      for (; ox + TILE <= OW; ox += TILE) {
        let a00 = b0, a01 = b0, a02 = b0, a03 = b0;
        let a10 = b1, a11 = b1, a12 = b1, a13 = b1;
        let a20 = b2, a21 = b2, a22 = b2, a23 = b2;
        let a30 = b3, a31 = b3, a32 = b3, a33 = b3;
        const base = inRow + ox;
        for (let k = 0, wi = wBase; k < K; k++, wi += TILE) {
          const p = base + taps[k]!;
          const x0 = input[p]!, x1 = input[p + 1]!, x2 = input[p + 2]!, x3 = input[p + 3]!;
          let wv = packed[wi]!;
          a00 += wv * x0; a01 += wv * x1; a02 += wv * x2; a03 += wv * x3;
          wv = packed[wi + 1]!;
          a10 += wv * x0; a11 += wv * x1; a12 += wv * x2; a13 += wv * x3;
          wv = packed[wi + 2]!;
          a20 += wv * x0; a21 += wv * x1; a22 += wv * x2; a23 += wv * x3;
          wv = packed[wi + 3]!;
          a30 += wv * x0; a31 += wv * x1; a32 += wv * x2; a33 += wv * x3;
        }
        const o = outRow + ox;
        store4(out, o, floor, a00, a01, a02, a03);
        if (rows > 1) store4(out, o + plane, floor, a10, a11, a12, a13);
        if (rows > 2) store4(out, o + 2 * plane, floor, a20, a21, a22, a23);
        if (rows > 3) store4(out, o + 3 * plane, floor, a30, a31, a32, a33);
      }
      // Leftover columns (OW not a multiple of 4): one pixel at a time.
      for (; ox < OW; ox++) {
        let a0 = b0, a1 = b1, a2 = b2, a3 = b3;
        const base = inRow + ox;
        for (let k = 0, wi = wBase; k < K; k++, wi += TILE) {
          const xv = input[base + taps[k]!]!;
          a0 += packed[wi]! * xv; a1 += packed[wi + 1]! * xv; a2 += packed[wi + 2]! * xv; a3 += packed[wi + 3]! * xv;
        }
        const o = outRow + ox;
        out[o] = Math.max(floor, out[o]! + a0);
        if (rows > 1) out[o + plane] = Math.max(floor, out[o + plane]! + a1);
        if (rows > 2) out[o + 2 * plane] = Math.max(floor, out[o + 2 * plane]! + a2);
        if (rows > 3) out[o + 3 * plane] = Math.max(floor, out[o + 3 * plane]! + a3);
      }
    }
  }
}

/** The epilogue for 4 adjacent pixels of one channel: out holds the residual (or 0); floor is 0 for ReLU, else -Infinity. */
function store4(out: Float32Array, o: number, floor: number, v0: number, v1: number, v2: number, v3: number): void {
  out[o] = Math.max(floor, out[o]! + v0);
  out[o + 1] = Math.max(floor, out[o + 1]! + v1);
  out[o + 2] = Math.max(floor, out[o + 2]! + v2);
  out[o + 3] = Math.max(floor, out[o + 3]! + v3);
}

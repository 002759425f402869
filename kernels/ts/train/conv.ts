// Convolution for training, as GEMMs over CHWN activations ([C, H, W, N]: channel-major, the batch innermost;
// square kernels, equal strides and pads, groups 1):
//   forward       y[M, P]      = W[M, C*k*k] x col(x)[C*k*k, P]            (P = OH*OW*N, column (oh*OW + ow)*N + n)
//   weight grad   dW[M, C*k*k] = dy[M, P] x col(x)^T
//   input grad    dx           = col2im(W^T x dy)
// The output of the forward GEMM is CHWN already. With the batch innermost, a pixel's N values are contiguous,
// so im2col copies runs of N (or more) floats and the Winograd kernels vectorise over images.
import { windowOutputSize } from '../../core/shape';
import type { FloatArray } from './gemm';

export interface ConvGeom {
  /** input channels, batch, input height and width */
  readonly c: number;
  readonly n: number;
  readonly h: number;
  readonly w: number;
  /** output channels, kernel size, stride, zero padding on every side */
  readonly m: number;
  readonly k: number;
  readonly stride: number;
  readonly pad: number;
  readonly oh: number;
  readonly ow: number;
}

export function convGeom(c: number, n: number, h: number, w: number, m: number, k: number, stride: number, pad: number): ConvGeom {
  const oh = windowOutputSize(h, k, stride, 1, pad, pad);
  const ow = windowOutputSize(w, k, stride, 1, pad, pad);
  if (oh < 1 || ow < 1) throw new Error(`conv: input [${c},${n},${h},${w}] is too small for kernel ${k}, stride ${stride}, pad ${pad}`);
  return { c, n, h, w, m, k, stride, pad, oh, ow };
}

/** Rows of col(x) (C*k*k) and its columns (N*OH*OW). */
export const colRows = (g: ConvGeom): number => g.c * g.k * g.k;
export const colCols = (g: ConvGeom): number => g.n * g.oh * g.ow;

/**
 * col[(c*k + kh)*k + kw, p - p0] = x[c, oh*s - p + kh, ow*s - p + kw, n] (0 outside the image) for the columns
 * p = (oh*OW + ow)*N + n in [p0, p1); rows of col are ldcol apart. Defaults: all columns, packed.
 */
export function im2col(x: FloatArray, g: ConvGeom, col: FloatArray, ldcol = colCols(g), p0 = 0, p1 = colCols(g)): void {
  forEachTap(g, p0, p1, (r, p, xi) => { col[r * ldcol + p - p0] = xi < 0 ? 0 : x[xi]!; });
}

/** The adjoint of im2col: dx[c, n, ih, iw] += every col entry that was read from it. */
export function col2im(col: FloatArray, g: ConvGeom, dx: FloatArray, ldcol = colCols(g), p0 = 0, p1 = colCols(g)): void {
  forEachTap(g, p0, p1, (r, p, xi) => { if (xi >= 0) dx[xi]! += col[r * ldcol + p - p0]!; });
}

/** Calls fn(row of col, output pixel, index into x or -1 for padding) for every tap of every pixel in range. */
function forEachTap(g: ConvGeom, p0: number, p1: number, fn: (r: number, p: number, xi: number) => void): void {
  const { c: C, n: N, h: H, w: W, k: K, stride: S, pad: P, ow: OW } = g;
  for (let c = 0; c < C; c++) {
    for (let kh = 0; kh < K; kh++) {
      for (let kw = 0; kw < K; kw++) {
        const r = (c * K + kh) * K + kw;
        for (let p = p0; p < p1; p++) {
          const n = p % N;
          const q = Math.floor(p / N);
          const oh = Math.floor(q / OW);
          const ow = q % OW;
          const ih = oh * S - P + kh;
          const iw = ow * S - P + kw;
          fn(r, p, ih >= 0 && ih < H && iw >= 0 && iw < W ? ((c * H + ih) * W + iw) * N + n : -1);
        }
      }
    }
  }
}

// ReLU, add, the option-A shortcut's pieces (spatial subsampling and zero channels), global average pool:
// forward and backward over CHWN activations ([C, H, W, N], see conv.ts). Backward functions add into dx when `accumulate` (a value
// read by two ops gets the sum of both gradients), else overwrite it.
import type { FloatArray } from './gemm';

export function reluForward(x: FloatArray, n: number, y: FloatArray): void {
  for (let i = 0; i < n; i++) {
    const v = x[i]!;
    // Not Math.max: a NaN input gives 0 here, as the wasm kernel's comparison does.
    // biome-ignore lint/complexity/useMathMinMax: NaN semantics above
    y[i] = v > 0 ? v : 0;
  }
}

/** dx = dy where the output was positive (the subgradient at 0 is 0, as in PyTorch). */
export function reluBackward(y: FloatArray, dy: FloatArray, n: number, dx: FloatArray, accumulate: boolean): void {
  if (accumulate) for (let i = 0; i < n; i++) dx[i]! += y[i]! > 0 ? dy[i]! : 0;
  else for (let i = 0; i < n; i++) dx[i] = y[i]! > 0 ? dy[i]! : 0;
}

/** y = a + b, or max(a + b, 0) with `relu` (the residual add with the ReLU after it fused). */
export function addForward(a: FloatArray, b: FloatArray, n: number, y: FloatArray, relu = false): void {
  for (let i = 0; i < n; i++) y[i] = relu ? Math.max(0, a[i]! + b[i]!) : a[i]! + b[i]!;
}

/**
 * The gradient of a sum passes through unchanged: dx (+)= dy; with `reluOut` (the output of an add with a
 * fused ReLU) only where reluOut > 0.
 */
export function passBackward(dy: FloatArray, n: number, dx: FloatArray, accumulate: boolean, reluOut: FloatArray | null = null): void {
  if (reluOut) {
    if (accumulate) for (let i = 0; i < n; i++) dx[i]! += reluOut[i]! > 0 ? dy[i]! : 0;
    else for (let i = 0; i < n; i++) dx[i] = reluOut[i]! > 0 ? dy[i]! : 0;
  } else if (accumulate) for (let i = 0; i < n; i++) dx[i]! += dy[i]!;
  else dx.set(dy.subarray(0, n));
}

/** y[c, oh, ow, n] = x[c, oh*s, ow*s, n] (ONNX Slice with starts 0 and steps s on H and W). */
export function subsampleForward(x: FloatArray, C: number, H: number, W: number, N: number, s: number, y: FloatArray): void {
  const OH = Math.ceil(H / s);
  const OW = Math.ceil(W / s);
  let o = 0;
  for (let c = 0; c < C; c++) {
    for (let oh = 0; oh < OH; oh++) {
      for (let ow = 0; ow < OW; ow++) {
        const src = ((c * H + oh * s) * W + ow * s) * N;
        for (let n = 0; n < N; n++) y[o++] = x[src + n]!;
      }
    }
  }
}

export function subsampleBackward(dy: FloatArray, C: number, H: number, W: number, N: number, s: number, dx: FloatArray, accumulate: boolean): void {
  const OH = Math.ceil(H / s);
  const OW = Math.ceil(W / s);
  if (!accumulate) dx.fill(0, 0, C * H * W * N);
  let o = 0;
  for (let c = 0; c < C; c++) {
    for (let oh = 0; oh < OH; oh++) {
      for (let ow = 0; ow < OW; ow++) {
        const dst = ((c * H + oh * s) * W + ow * s) * N;
        for (let n = 0; n < N; n++) dx[dst + n]! += dy[o++]!;
      }
    }
  }
}

/** Zero channels around x: y has `before` zero channels, x's C channels, then `after` zero channels. */
export function channelPadForward(x: FloatArray, C: number, before: number, after: number, S: number, y: FloatArray): void {
  y.fill(0, 0, before * S);
  y.set(x.subarray(0, C * S), before * S);
  y.fill(0, (before + C) * S, (before + C + after) * S);
}

export function channelPadBackward(dy: FloatArray, C: number, before: number, S: number, dx: FloatArray, accumulate: boolean): void {
  passBackward(dy.subarray(before * S, (before + C) * S), C * S, dx, accumulate);
}

/** y[c, n] = mean of x[c, :, :, n] (C channels of HW pixels of N values). */
export function gapForward(x: FloatArray, C: number, HW: number, N: number, y: FloatArray): void {
  for (let c = 0; c < C; c++) {
    for (let n = 0; n < N; n++) {
      let s = 0;
      for (let i = 0; i < HW; i++) s += x[(c * HW + i) * N + n]!;
      y[c * N + n] = s / HW;
    }
  }
}

export function gapBackward(dy: FloatArray, C: number, HW: number, N: number, dx: FloatArray, accumulate: boolean): void {
  for (let c = 0; c < C; c++) {
    for (let i = 0; i < HW; i++) {
      const o = (c * HW + i) * N;
      for (let n = 0; n < N; n++) {
        const g = dy[c * N + n]! / HW;
        dx[o + n] = accumulate ? dx[o + n]! + g : g;
      }
    }
  }
}

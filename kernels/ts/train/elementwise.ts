// ReLU, add, the option-A shortcut's pieces (spatial subsampling and zero channels), global average pool:
// forward and backward over CNHW activations. Backward functions add into dx when `accumulate` (a value
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
  if (accumulate) for (let i = 0; i < n; i++) dx[i] += y[i]! > 0 ? dy[i]! : 0;
  else for (let i = 0; i < n; i++) dx[i] = y[i]! > 0 ? dy[i]! : 0;
}

export function addForward(a: FloatArray, b: FloatArray, n: number, y: FloatArray): void {
  for (let i = 0; i < n; i++) y[i] = a[i]! + b[i]!;
}

/** The gradient of a sum passes through unchanged: dx (+)= dy. */
export function passBackward(dy: FloatArray, n: number, dx: FloatArray, accumulate: boolean): void {
  if (accumulate) for (let i = 0; i < n; i++) dx[i] += dy[i]!;
  else dx.set(dy.subarray(0, n));
}

/** y[c, n, oh, ow] = x[c, n, oh*s, ow*s] (ONNX Slice with starts 0 and steps s on H and W). */
export function subsampleForward(x: FloatArray, CN: number, H: number, W: number, s: number, y: FloatArray): void {
  const OH = Math.ceil(H / s);
  const OW = Math.ceil(W / s);
  let o = 0;
  for (let p = 0; p < CN; p++) {
    const base = p * H * W;
    for (let oh = 0; oh < OH; oh++) for (let ow = 0; ow < OW; ow++) y[o++] = x[base + oh * s * W + ow * s]!;
  }
}

export function subsampleBackward(dy: FloatArray, CN: number, H: number, W: number, s: number, dx: FloatArray, accumulate: boolean): void {
  const OH = Math.ceil(H / s);
  const OW = Math.ceil(W / s);
  if (!accumulate) dx.fill(0, 0, CN * H * W);
  let o = 0;
  for (let p = 0; p < CN; p++) {
    const base = p * H * W;
    for (let oh = 0; oh < OH; oh++) for (let ow = 0; ow < OW; ow++) dx[base + oh * s * W + ow * s] += dy[o++]!;
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

/** y[c, n] = mean of x[c, n, :, :] (CN = C*N runs of HW values). */
export function gapForward(x: FloatArray, CN: number, HW: number, y: FloatArray): void {
  for (let p = 0; p < CN; p++) {
    let s = 0;
    for (let i = 0; i < HW; i++) s += x[p * HW + i]!;
    y[p] = s / HW;
  }
}

export function gapBackward(dy: FloatArray, CN: number, HW: number, dx: FloatArray, accumulate: boolean): void {
  for (let p = 0; p < CN; p++) {
    const g = dy[p]! / HW;
    if (accumulate) for (let i = 0; i < HW; i++) dx[p * HW + i] += g;
    else dx.fill(g, p * HW, (p + 1) * HW);
  }
}

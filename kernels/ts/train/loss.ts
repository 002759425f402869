// The fully-connected layer and softmax cross-entropy over class-major activations: features x[F, N],
// logits y[K, N] (column n is sample n), so the FC layer is one GEMM as the convs are.
import { type FloatArray, gemmNN, gemmNT } from './gemm';

/** y[K, N] = W[K, F] x[F, N] + b (ONNX Gemm with transB=1, seen from the transposed side). */
export function fcForward(x: FloatArray, W: FloatArray, b: FloatArray, F: number, K: number, N: number, y: FloatArray): void {
  gemmNN(K, N, F, W, F, x, N, y, N, false);
  for (let k = 0; k < K; k++) for (let n = 0; n < N; n++) y[k * N + n]! += b[k]!;
}

/** dW = dy x^T and db = row sums of dy (overwritten); dx (+)= W^T dy if dx is given. */
export function fcBackward(
  x: FloatArray, W: FloatArray, dy: FloatArray, F: number, K: number, N: number,
  dW: FloatArray, db: FloatArray, dx: FloatArray | null, accumulate: boolean,
): void {
  gemmNT(K, F, N, dy, N, x, N, dW, F, false);
  for (let k = 0; k < K; k++) {
    let s = 0;
    for (let n = 0; n < N; n++) s += dy[k * N + n]!;
    db[k] = s;
  }
  if (!dx) return;
  if (!accumulate) dx.fill(0, 0, F * N);
  for (let k = 0; k < K; k++) {
    for (let f = 0; f < F; f++) {
      const w = W[k * F + f]!;
      for (let n = 0; n < N; n++) dx[f * N + n]! += w * dy[k * N + n]!;
    }
  }
}

export interface LossResult {
  /** Mean cross-entropy over the batch. */
  readonly loss: number;
  /** Samples whose largest logit is their label. */
  readonly correct: number;
}

/**
 * Mean softmax cross-entropy of logits[K, N] against labels, and (if dLogits is given) its gradient
 * (softmax - onehot) / N. Stable: logits are shifted by their column maximum.
 */
export function softmaxCrossEntropy(
  logits: FloatArray, labels: ArrayLike<number>, K: number, N: number, dLogits: FloatArray | null,
): LossResult {
  let loss = 0;
  let correct = 0;
  for (let n = 0; n < N; n++) {
    const label = labels[n]!;
    if (!Number.isInteger(label) || label < 0 || label >= K) throw new Error(`cross-entropy: label ${label} of sample ${n} is not in [0, ${K})`);
    let max = -Infinity;
    let arg = 0;
    for (let k = 0; k < K; k++) {
      const v = logits[k * N + n]!;
      if (v > max) { max = v; arg = k; }
    }
    if (arg === label) correct++;
    let z = 0;
    for (let k = 0; k < K; k++) z += Math.exp(logits[k * N + n]! - max);
    loss += Math.log(z) - (logits[label * N + n]! - max);
    if (dLogits) {
      for (let k = 0; k < K; k++) {
        const p = Math.exp(logits[k * N + n]! - max) / z;
        dLogits[k * N + n] = (p - (k === label ? 1 : 0)) / N;
      }
    }
  }
  return { loss: loss / N, correct };
}

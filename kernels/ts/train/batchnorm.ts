// Batch normalisation for training over channel-major (CHWN) activations: channel c is the contiguous run
// x[c*S, (c+1)*S), S = H*W*N, so every statistic is one pass over one run.
import type { FloatArray } from './gemm';

export interface BnSaved {
  /** Per-channel batch mean and 1/sqrt(var + eps), kept for the backward pass. */
  readonly mean: FloatArray;
  readonly invStd: FloatArray;
}

/**
 * Training-mode forward: normalise with the batch's statistics (biased variance), then update the running
 * averages as ONNX and PyTorch do: running = momentum * running + (1 - momentum) * batch, with the unbiased
 * variance. `momentum` is ONNX's (0.9 = PyTorch's 0.1). With `residual`, y = batch norm + residual (the
 * residual add after the batch norm that ends a branch, fused); with `relu`, y = max(that, 0) (a ReLU fused
 * in as well: see bnBackward's reluOut).
 */
export function bnForwardTrain(
  x: FloatArray, C: number, S: number, gamma: FloatArray, beta: FloatArray, eps: number, y: FloatArray,
  saved: BnSaved, running: { mean: FloatArray; variance: FloatArray; momentum: number } | null, relu = false,
  residual: FloatArray | null = null,
): void {
  if (S < 2) throw new Error(`batch norm: training needs more than one value per channel, got ${S} (C=${C})`);
  for (let c = 0; c < C; c++) {
    const o = c * S;
    let sum = 0;
    for (let i = 0; i < S; i++) sum += x[o + i]!;
    const mean = sum / S;
    let sq = 0;
    for (let i = 0; i < S; i++) {
      const d = x[o + i]! - mean;
      sq += d * d;
    }
    const variance = sq / S;
    const invStd = 1 / Math.sqrt(variance + eps);
    saved.mean[c] = mean;
    saved.invStd[c] = invStd;
    const scale = gamma[c]! * invStd;
    affine(x, o, S, scale, beta[c]! - mean * scale, residual, relu, y);
    if (running) {
      const m = running.momentum;
      running.mean[c] = m * running.mean[c]! + (1 - m) * mean;
      running.variance[c] = m * running.variance[c]! + (1 - m) * variance * (S / (S - 1));
    }
  }
}

/** Inference-mode forward with the running statistics (and the fused residual add and ReLU as above). */
export function bnForwardEval(
  x: FloatArray, C: number, S: number, gamma: FloatArray, beta: FloatArray, mean: FloatArray, variance: FloatArray,
  eps: number, y: FloatArray, relu = false, residual: FloatArray | null = null,
): void {
  for (let c = 0; c < C; c++) {
    const scale = gamma[c]! / Math.sqrt(variance[c]! + eps);
    affine(x, c * S, S, scale, beta[c]! - mean[c]! * scale, residual, relu, y);
  }
}

/** y = scale x + shift (+ residual), max(., 0) with relu, over the S values of one channel from offset o. */
function affine(x: FloatArray, o: number, S: number, scale: number, shift: number, residual: FloatArray | null, relu: boolean, y: FloatArray): void {
  for (let i = o; i < o + S; i++) {
    const v = residual ? x[i]! * scale + shift + residual[i]! : x[i]! * scale + shift;
    y[i] = relu ? Math.max(0, v) : v;
  }
}

/**
 * Backward of the training-mode forward: with xhat = (x - mean) * invStd,
 *   dgamma = sum(dy * xhat), dbeta = sum(dy), dx = gamma * invStd / S * (S*dy - dbeta - xhat * dgamma).
 * dgamma and dbeta are overwritten; dx is added to when accumulate. With `reluOut` (the output of a forward
 * with a fused ReLU) dy is the gradient of that output: it passes where reluOut > 0 and is 0 elsewhere.
 */
export function bnBackward(
  x: FloatArray, dy: FloatArray, C: number, S: number, gamma: FloatArray, saved: BnSaved,
  dGamma: FloatArray, dBeta: FloatArray, dx: FloatArray, accumulate: boolean, reluOut: FloatArray | null = null,
): void {
  const grad = (i: number): number => (reluOut && !(reluOut[i]! > 0) ? 0 : dy[i]!);
  for (let c = 0; c < C; c++) {
    const o = c * S;
    const mean = saved.mean[c]!;
    const invStd = saved.invStd[c]!;
    let sdy = 0;
    let sdyx = 0;
    for (let i = 0; i < S; i++) {
      const g = grad(o + i);
      sdy += g;
      sdyx += g * (x[o + i]! - mean);
    }
    const dg = sdyx * invStd;
    dGamma[c] = dg;
    dBeta[c] = sdy;
    // dx = k * (dy - sdy/S - (x - mean) * invStd^2 * sdyx / S), k = gamma * invStd
    const k = gamma[c]! * invStd;
    const a = k;
    const b = -k * sdy / S + k * mean * invStd * invStd * sdyx / S;
    const cx = -k * invStd * invStd * sdyx / S;
    if (accumulate) for (let i = 0; i < S; i++) dx[o + i]! += a * grad(o + i) + cx * x[o + i]! + b;
    else for (let i = 0; i < S; i++) dx[o + i] = a * grad(o + i) + cx * x[o + i]! + b;
  }
}

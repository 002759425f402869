// From an output row to what a user reads: probabilities and the top-k classes with names.
import type { Tensor } from '../../kernels/core/tensor';

export interface ClassScore {
  readonly index: number;
  readonly label: string;
  readonly probability: number;
}

/** Row-wise softmax of [N,K] logits, computed stably (max subtracted). */
export function softmaxRows(logits: Tensor): Tensor {
  const [n, k] = [logits.shape[0]!, logits.data.length / logits.shape[0]!];
  const out = new Float32Array(logits.data.length);
  for (let r = 0; r < n; r++) {
    let max = -Infinity;
    for (let j = 0; j < k; j++) max = Math.max(max, logits.data[r * k + j]!);
    let sum = 0;
    for (let j = 0; j < k; j++) sum += out[r * k + j] = Math.exp(logits.data[r * k + j]! - max);
    for (let j = 0; j < k; j++) out[r * k + j]! /= sum;
  }
  return { shape: [n, k], data: out };
}

function labelOf(labels: readonly string[], index: number): string {
  return labels[index] ?? `class ${index}`;
}

/** The k most probable classes of row `row` of [N,K] probabilities, best first. */
export function topK(probs: Tensor, row: number, k: number, labels: readonly string[]): ClassScore[] {
  const width = probs.data.length / probs.shape[0]!;
  const rowData = probs.data.subarray(row * width, (row + 1) * width);
  const idx = Array.from(rowData.keys()).sort((a, b) => rowData[b]! - rowData[a]! || a - b);
  return idx.slice(0, Math.min(k, width)).map((index) => ({ index, label: labelOf(labels, index), probability: rowData[index]! }));
}

// ONNX Gemm: Y = alpha * A' * B' + beta * C, with A' = transA ? A^T : A ([M,K]), B' = transB ? B^T : B ([K,N])
// and C unidirectionally broadcast to [M,N].
import type { GemmAttrs } from '../core/attrs';
import { shapeStr, type Tensor } from '../core/tensor';

/** Rows of B' per block and columns per block: a 64x256 block of B' (64 KB) stays in L2 while every row of A' uses it. */
const K_BLOCK = 64;
const N_BLOCK = 256;

export function gemm(a: Tensor, b: Tensor, c: Tensor | null, attrs: GemmAttrs): Tensor {
  if (a.shape.length !== 2 || b.shape.length !== 2) {
    throw new Error(`gemm: A ${shapeStr(a.shape)} and B ${shapeStr(b.shape)} must both be 2-D`);
  }
  const [a0, a1] = a.shape as [number, number];
  const [b0, b1] = b.shape as [number, number];
  const [M, K] = attrs.transA ? [a1, a0] : [a0, a1];
  const [Kb, N] = attrs.transB ? [b1, b0] : [b0, b1];
  if (K !== Kb) {
    throw new Error(`gemm: A ${shapeStr(a.shape)} (transA=${attrs.transA}) and B ${shapeStr(b.shape)} (transB=${attrs.transB}) disagree on K: ${K} vs ${Kb}`);
  }
  // Transposing once keeps a single, contiguous inner loop below; it costs O(MK + KN) next to O(MKN).
  const A = attrs.transA ? transpose(a.data, a0, a1) : a.data;
  const B = attrs.transB ? transpose(b.data, b0, b1) : b.data;
  const out = new Float32Array(M * N);
  // As ONNX Runtime does, beta = 0 ignores C entirely (so an Inf or NaN in C does not leak through).
  if (c !== null && attrs.beta !== 0) fillBroadcast(out, c, M, N, attrs.beta);
  matmulAccumulate(A, B, out, M, K, N, attrs.alpha);
  return { shape: [M, N], data: out };
}

/**
 * out[M,N] += alpha * A[M,K] * B[K,N], cache-blocked over K and N, in i-k-j order so the inner loop runs over
 * contiguous rows of B and out. Four rows of A go together, so each loaded B value feeds four multiply-adds.
 */
function matmulAccumulate(A: Float32Array, B: Float32Array, out: Float32Array, M: number, K: number, N: number, alpha: number): void {
  for (let k0 = 0; k0 < K; k0 += K_BLOCK) {
    const k1 = Math.min(K, k0 + K_BLOCK);
    for (let j0 = 0; j0 < N; j0 += N_BLOCK) {
      const j1 = Math.min(N, j0 + N_BLOCK);
      let i = 0;
      for (; i + 4 <= M; i += 4) {
        const o0 = i * N, o1 = o0 + N, o2 = o1 + N, o3 = o2 + N;
        for (let k = k0; k < k1; k++) {
          const a0 = alpha * A[i * K + k]!, a1 = alpha * A[(i + 1) * K + k]!;
          const a2 = alpha * A[(i + 2) * K + k]!, a3 = alpha * A[(i + 3) * K + k]!;
          const bRow = k * N;
          for (let j = j0; j < j1; j++) {
            const b = B[bRow + j]!;
            out[o0 + j]! += a0 * b;
            out[o1 + j]! += a1 * b;
            out[o2 + j]! += a2 * b;
            out[o3 + j]! += a3 * b;
          }
        }
      }
      for (; i < M; i++) {
        const o = i * N;
        for (let k = k0; k < k1; k++) {
          const a = alpha * A[i * K + k]!;
          const bRow = k * N;
          for (let j = j0; j < j1; j++) out[o + j]! += a * B[bRow + j]!;
        }
      }
    }
  }
}

function transpose(src: Float32Array, rows: number, cols: number): Float32Array {
  const dst = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) dst[c * rows + r] = src[r * cols + c]!;
  return dst;
}

/** out[M,N] = beta * C, with C of shape [], [1], [N], [1,N], [M,1] or [M,N] (ONNX unidirectional broadcast). */
function fillBroadcast(out: Float32Array, c: Tensor, M: number, N: number, beta: number): void {
  const dims = c.shape.length === 0 ? [1, 1] : c.shape.length === 1 ? [1, c.shape[0]!] : c.shape;
  const [cm, cn] = dims as [number, number];
  if (dims.length !== 2 || (cm !== 1 && cm !== M) || (cn !== 1 && cn !== N)) {
    throw new Error(`gemm: C ${shapeStr(c.shape)} cannot broadcast to [${M},${N}]`);
  }
  const rowStep = cm === 1 ? 0 : cn;
  const colStep = cn === 1 ? 0 : 1;
  for (let i = 0; i < M; i++) {
    for (let j = 0; j < N; j++) out[i * N + j] = beta * c.data[i * rowStep + j * colStep]!;
  }
}

// Training kernels, readable reference versions. They work on Float32Array and Float64Array alike, so the
// gradient checks can run in float64; the WebAssembly versions (kernels/wasm/modules.ts, buildTrainingModule)
// are tested against these.
//
// Layout: activations are channel-major "CHWN" ([C, H, W, N], row-major, the batch innermost). A convolution
// over a whole batch is then one GEMM, out[M, OH*OW*N] = W[M, C*kh*kw] x col[C*kh*kw, OH*OW*N], and its output
// is already CHWN.

export type FloatArray = Float32Array | Float64Array;

/** C[M,N] = A[M,K] B[K,N] (+ C if accumulate). Row-major with leading dimensions lda, ldb, ldc. */
export function gemmNN(
  M: number, N: number, K: number,
  A: FloatArray, lda: number, B: FloatArray, ldb: number, C: FloatArray, ldc: number, accumulate: boolean,
): void {
  for (let i = 0; i < M; i++) {
    const c0 = i * ldc;
    if (!accumulate) C.fill(0, c0, c0 + N);
    for (let k = 0; k < K; k++) {
      const a = A[i * lda + k]!;
      if (a === 0) continue;
      const b0 = k * ldb;
      for (let j = 0; j < N; j++) C[c0 + j]! += a * B[b0 + j]!;
    }
  }
}

/** C[M,N] = A[M,K] B[N,K]^T (+ C if accumulate): dot products of rows of A with rows of B. */
export function gemmNT(
  M: number, N: number, K: number,
  A: FloatArray, lda: number, B: FloatArray, ldb: number, C: FloatArray, ldc: number, accumulate: boolean,
): void {
  for (let i = 0; i < M; i++) {
    for (let j = 0; j < N; j++) {
      let s = 0;
      const a0 = i * lda;
      const b0 = j * ldb;
      for (let k = 0; k < K; k++) s += A[a0 + k]! * B[b0 + k]!;
      C[i * ldc + j] = accumulate ? C[i * ldc + j]! + s : s;
    }
  }
}

// f32-gemm-nt-4x2: the training GEMM with B transposed, C[M,N] (+)= A[M,K] B[N,K]^T, as 4x2 tiles of dot
// products (contiguous rows of both operands), K in L2-sized chunks and B in blocks of rows reused by every
// row block of A.
import { forBlocks, forLoop, hsum } from './builders';
import { F32, I32, type Local, type ModuleBuilder, V128 } from './emit';

/** gemm_nt reduces over K in chunks of this many floats, so the chunk of B's rows stays in L2. */
const NT_KC = 1024;
/** gemm_nt walks B in blocks of this many rows (even), each reused by all row blocks of A. */
const NT_NB = 64;

/** Export `gemm_nt(M, N, K, A, lda, B, ldb, C, ldc, acc)`: C[M,N] (+)= A[M,K] B[N,K]^T (addresses in bytes, leading dimensions in floats). */
export function emitF32GemmNt4x2(m: ModuleBuilder, relaxed: boolean): number {
  const { f, index } = m.func('gemm_nt', [I32, I32, I32, I32, I32, I32, I32, I32, I32, I32]);
  const [M, N, K, A, lda, B, ldb, C, ldc, accFlag] = f.params as Local[] as [Local, Local, Local, Local, Local, Local, Local, Local, Local, Local];
  const lda4 = f.local(I32), ldb4 = f.local(I32), ldc4 = f.local(I32), M4 = f.local(I32), N2 = f.local(I32);
  const i = f.local(I32), j = f.local(I32), k0 = f.local(I32), k1 = f.local(I32), k1v = f.local(I32), kk = f.local(I32);
  const first = f.local(I32), cp = f.local(I32), off = f.local(I32);
  const ar: Local[] = Array.from({ length: 4 }, () => f.local(I32));
  const br: Local[] = Array.from({ length: 2 }, () => f.local(I32));
  const acc: Local[][] = Array.from({ length: 4 }, () => [f.local(V128), f.local(V128)]);
  const va: Local[] = Array.from({ length: 4 }, () => f.local(V128));
  const vb: Local[] = Array.from({ length: 2 }, () => f.local(V128));
  const sum = f.local(F32);
  f.get(lda).i32Const(4).i32Mul().set(lda4);
  f.get(ldb).i32Const(4).i32Mul().set(ldb4);
  f.get(ldc).i32Const(4).i32Mul().set(ldc4);
  f.get(M).i32Const(-4).i32And().set(M4);

  /** rows x cols dot products over k in [k0, k1), added into C unless this is the first chunk without acc. */
  const tile = (rows: number, cols: number): void => {
    f.get(A).get(i).get(lda4).i32Mul().i32Add().get(k0).i32Const(4).i32Mul().i32Add().set(ar[0]!);
    for (let r = 1; r < rows; r++) f.get(ar[r - 1]!).get(lda4).i32Add().set(ar[r]!);
    f.get(B).get(j).get(ldb4).i32Mul().i32Add().get(k0).i32Const(4).i32Mul().i32Add().set(br[0]!);
    for (let c = 1; c < cols; c++) f.get(br[c - 1]!).get(ldb4).i32Add().set(br[c]!);
    for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) f.v128Const0().set(acc[r]![c]!);
    // Vector part: k1v - k0 is a multiple of 4.
    f.i32Const(0).set(off);
    f.get(k1v).get(k0).i32Sub().i32Const(4).i32Mul().set(kk);
    f.block().loop();
    f.get(off).get(kk).i32GeS().brIf(1);
    for (let r = 0; r < rows; r++) f.get(ar[r]!).get(off).i32Add().v128Load().set(va[r]!);
    for (let c = 0; c < cols; c++) f.get(br[c]!).get(off).i32Add().v128Load().set(vb[c]!);
    for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) f.madd(relaxed, va[r]!, vb[c]!, acc[r]![c]!);
    f.get(off).i32Const(16).i32Add().set(off);
    f.br(0).end().end();
    for (let r = 0; r < rows; r++) {
      for (let c = 0; c < cols; c++) {
        hsum(f, acc[r]![c]!);
        f.set(sum);
        // Scalar tail k in [k1v, k1).
        f.get(k1v).set(kk);
        f.block().loop();
        f.get(kk).get(k1).i32GeS().brIf(1);
        f.get(ar[r]!).get(kk).get(k0).i32Sub().i32Const(4).i32Mul().i32Add().f32Load();
        f.get(br[c]!).get(kk).get(k0).i32Sub().i32Const(4).i32Mul().i32Add().f32Load();
        f.f32Mul().get(sum).f32Add().set(sum);
        f.get(kk).i32Const(1).i32Add().set(kk);
        f.br(0).end().end();
        f.get(C).get(i).i32Const(r).i32Add().get(ldc4).i32Mul().i32Add().get(j).i32Const(c).i32Add().i32Const(4).i32Mul().i32Add().set(cp);
        f.get(cp);
        f.get(first).get(accFlag).i32Eqz().i32And().if(F32).get(sum).else().get(cp).f32Load().get(sum).f32Add().end();
        f.f32Store();
      }
    }
  };

  // for j-blocks of NT_NB rows of B: for k-chunks: for row blocks of A: for pairs of B rows in the j-block.
  // With N >> M (a conv's forward) the j-block of B is reused by every row block of A from cache.
  const jb = f.local(I32), jEnd = f.local(I32);
  f.i32Const(0);
  forBlocks(f, jb, N, NT_NB, jEnd, () => {
    f.get(jEnd).get(jb).i32Sub().i32Const(-2).i32And().get(jb).i32Add().set(N2);
    f.i32Const(1).set(first);
    f.i32Const(0).set(k0);
    // At least one chunk, so that K = 0 still writes C.
    f.loop();
    {
      f.get(k0).i32Const(NT_KC).i32Add().tee(k1).get(K).get(k1).get(K).i32LtS().select().set(k1);
      f.get(k1).get(k0).i32Sub().i32Const(-4).i32And().get(k0).i32Add().set(k1v);
      f.i32Const(0);
      forLoop(f, i, M4, 4, () => {
        f.get(jb);
        forLoop(f, j, N2, 2, () => tile(4, 2));
        f.get(N2);
        forLoop(f, j, jEnd, 1, () => tile(4, 1));
      });
      f.get(M4);
      forLoop(f, i, M, 1, () => {
        f.get(jb);
        forLoop(f, j, N2, 2, () => tile(1, 2));
        f.get(N2);
        forLoop(f, j, jEnd, 1, () => tile(1, 1));
      });
      f.i32Const(0).set(first);
      f.get(k1).set(k0);
      f.get(k0).get(K).i32LtS().brIf(0);
    }
    f.end();
  });
  return index;
}

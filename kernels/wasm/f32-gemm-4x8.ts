// f32-gemm-4x8: the MR x 8 register tile every GEMM-shaped kernel is built on (2 v128 accumulators per row,
// per k step two B vectors and one splat of A per row: 2 * MR multiply-adds), and the training GEMM
// C[M,N] (+)= A[M,K] B[K,N] over row-major matrices built from it. The inference conv (f32-igemm-4x8.ts)
// uses the same tile over packed weight panels.
import { forLoop } from './builders';
import { F32, type FuncBuilder, I32, type Local, type ModuleBuilder, V128 } from './emit';

/** The locals of an MR x 8 register tile. */
export interface Tile {
  /** MR pointers to the current element of each row of A. */
  readonly rows: readonly Local[];
  /** Per row, the accumulators of columns 0-3 and 4-7. */
  readonly acc: readonly (readonly [Local, Local])[];
  /** The current k's 8 columns of B. */
  readonly b0: Local;
  readonly b1: Local;
  /** A splat of the current row's element of A. */
  readonly s: Local;
}

/** Declares a tile's locals (row pointers, then accumulators, then b0, b1 and the splat). */
export function tileLocals(f: FuncBuilder, mr: number): Tile {
  const rows = Array.from({ length: mr }, () => f.local(I32));
  const acc = Array.from({ length: mr }, () => [f.local(V128), f.local(V128)] as const);
  const b0 = f.local(V128), b1 = f.local(V128), s = f.local(V128);
  return { rows, acc, b0, b1, s };
}

/**
 * One k step of the tile's first `rows` rows: loads B's 8 columns at `b + bOffset` (two vectors), then for
 * each row splats A's element at `rows[r] + aOffset` and multiply-adds it with both (2 * rows madds).
 * `afterLoads` emits code between the loads and the multiply-adds (e.g. advancing `b`).
 */
export function emitTileStep(
  f: FuncBuilder, t: Tile, relaxed: boolean, rows: number, b: Local, bOffset: number, aOffset: number, afterLoads?: () => void,
): void {
  f.get(b).v128Load(bOffset).set(t.b0);
  f.get(b).v128Load(bOffset + 16).set(t.b1);
  afterLoads?.();
  for (let r = 0; r < rows; r++) {
    f.get(t.rows[r]!).v128Load32Splat(aOffset).set(t.s);
    f.madd(relaxed, t.s, t.b0, t.acc[r]![0]);
    f.madd(relaxed, t.s, t.b1, t.acc[r]![1]);
  }
}

/**
 * Rows of A per gemm_nn tile of 8 columns: 4 rows = 8 accumulators, one k step per loop iteration. Wider
 * tiles or an unrolled k loop make V8 spill (as kernels/wasm/README.md found for inference): on this
 * machine 4x8 not unrolled runs at about 37 GFLOPS per core, 6x8 at 28 whether unrolled 1, 2 or 4 times,
 * 5x8 at 26. Row counts that 4 does not divide end with 1-row tiles.
 */
const NN_MR = 4;

/**
 * The training GEMM C[M,N] (+)= A[M,K] B[K,N] (export `gemm_nn(M, N, K, A, lda, B, ldb, C, ldc, acc)`,
 * addresses in bytes, leading dimensions in floats): 4x8 tiles, then 1x8 tiles for the last rows, then
 * scalar dot products for the columns past the last multiple of 8.
 *
 * With `aKMajor` the same for A stored K-major, A[i][k] at A + (k * lda + i) floats (export `gemm_tn`, the
 * Winograd convs' transformed weights): a tile's 4 splats per k come from one pointer at immediate offsets
 * 0, 4, 8, 12, which then moves on by lda, instead of 4 row pointers each moving on by one float (fewer
 * integer ops and live pointers in the inner loop).
 */
export function emitF32Gemm4x8(m: ModuleBuilder, relaxed: boolean, aKMajor = false): number {
  const { f, index } = m.func(aKMajor ? 'gemm_tn' : 'gemm_nn', [I32, I32, I32, I32, I32, I32, I32, I32, I32, I32]);
  const [M, N, K, A, lda, B, ldb, C, ldc, accFlag] = f.params as Local[] as [Local, Local, Local, Local, Local, Local, Local, Local, Local, Local];
  const lda4 = f.local(I32), ldb4 = f.local(I32), ldc4 = f.local(I32), rem = f.local(I32), N8 = f.local(I32);
  const i = f.local(I32), j = f.local(I32), k = f.local(I32), pb = f.local(I32), cp = f.local(I32);
  const tl = tileLocals(f, NN_MR);
  const { rows: a, acc } = tl;
  const sa = f.local(F32), sc = f.local(I32);
  f.get(lda).i32Const(4).i32Mul().set(lda4);
  f.get(ldb).i32Const(4).i32Mul().set(ldb4);
  f.get(ldc).i32Const(4).i32Mul().set(ldc4);
  f.get(N).i32Const(-8).i32And().set(N8);

  /** One tile of `rows` rows x 8 columns at (i, j). */
  const tile = (rows: number): void => {
    if (aKMajor) f.get(A).get(i).i32Const(4).i32Mul().i32Add().set(a[0]!);
    else {
      f.get(A).get(i).get(lda4).i32Mul().i32Add().set(a[0]!);
      for (let r = 1; r < rows; r++) f.get(a[r - 1]!).get(lda4).i32Add().set(a[r]!);
    }
    f.get(C).get(i).get(ldc4).i32Mul().i32Add().get(j).i32Const(4).i32Mul().i32Add().set(cp);
    f.get(B).get(j).i32Const(4).i32Mul().i32Add().set(pb);
    f.get(accFlag).if();
    for (let r = 0; r < rows; r++) {
      f.get(cp).get(ldc4).i32Const(r).i32Mul().i32Add().tee(sc).v128Load(0).set(acc[r]![0]);
      f.get(sc).v128Load(16).set(acc[r]![1]);
    }
    f.else();
    for (let r = 0; r < rows; r++) f.v128Const0().tee(acc[r]![0]).set(acc[r]![1]);
    f.end();
    const step = (): void => {
      if (!aKMajor) {
        emitTileStep(f, tl, relaxed, rows, pb, 0, 0, () => f.get(pb).get(ldb4).i32Add().set(pb));
        return;
      }
      f.get(pb).v128Load(0).set(tl.b0);
      f.get(pb).v128Load(16).set(tl.b1);
      f.get(pb).get(ldb4).i32Add().set(pb);
      for (let r = 0; r < rows; r++) {
        f.get(a[0]!).v128Load32Splat(r * 4).set(tl.s);
        f.madd(relaxed, tl.s, tl.b0, acc[r]![0]);
        f.madd(relaxed, tl.s, tl.b1, acc[r]![1]);
      }
    };
    f.get(K).tee(k).if();
    f.loop();
    step();
    if (aKMajor) f.get(a[0]!).get(lda4).i32Add().set(a[0]!);
    else for (let r = 0; r < rows; r++) f.get(a[r]!).i32Const(4).i32Add().set(a[r]!);
    f.get(k).i32Const(1).i32Sub().tee(k).brIf(0);
    f.end();
    f.end();
    for (let r = 0; r < rows; r++) {
      f.get(cp).get(ldc4).i32Const(r).i32Mul().i32Add().tee(sc).get(acc[r]![0]).v128Store(0);
      f.get(sc).get(acc[r]![1]).v128Store(16);
    }
  };

  f.i32Const(0);
  forLoop(f, j, N8, 8, () => {
    // Row tiles of 4, then of 1.
    f.i32Const(0).set(i);
    f.block().loop();
    {
      f.get(M).get(i).i32Sub().tee(rem).i32Eqz().brIf(1);
      f.get(rem).i32Const(NN_MR).i32GeS();
      f.if();
      tile(NN_MR);
      f.get(i).i32Const(NN_MR).i32Add().set(i);
      f.br(1);
      f.end();
      tile(1);
      f.get(i).i32Const(1).i32Add().set(i);
      f.br(0);
    }
    f.end().end();
  });
  // Columns past the last full 8: scalar dot products.
  f.i32Const(0);
  forLoop(f, i, M, 1, () => {
    f.get(N8);
    forLoop(f, j, N, 1, () => {
      f.get(C).get(i).get(ldc4).i32Mul().i32Add().get(j).i32Const(4).i32Mul().i32Add().set(cp);
      f.get(accFlag).if(F32).get(cp).f32Load().else().f32Const(0).end().set(sa);
      if (aKMajor) f.get(A).get(i).i32Const(4).i32Mul().i32Add().set(a[0]!);
      else f.get(A).get(i).get(lda4).i32Mul().i32Add().set(a[0]!);
      f.get(B).get(j).i32Const(4).i32Mul().i32Add().set(pb);
      f.i32Const(0);
      forLoop(f, k, K, 1, () => {
        f.get(a[0]!).f32Load().get(pb).f32Load().f32Mul().get(sa).f32Add().set(sa);
        if (aKMajor) f.get(a[0]!).get(lda4).i32Add().set(a[0]!);
        else f.get(a[0]!).i32Const(4).i32Add().set(a[0]!);
        f.get(pb).get(ldb4).i32Add().set(pb);
      });
      f.get(cp).get(sa).f32Store();
    });
  });
  return index;
}

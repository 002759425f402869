// The training engine's WebAssembly kernels, generated at load time with the wasm engine's binary emitter
// (kernels/wasm/emit.ts). Inference packs weights once; training changes them every step, so these are
// plain GEMMs over row-major matrices plus im2col/col2im over CNHW activations (see kernels/ts/train, the
// reference versions they are tested against).
//
// Exports (addresses in bytes, leading dimensions in floats, `acc` = add into C instead of overwriting):
//   gemm_nn(M, N, K, A, lda, B, ldb, C, ldc, acc)   C[M,N] (+)= A[M,K] B[K,N]
//   gemm_nt(M, N, K, A, lda, B, ldb, C, ldc, acc)   C[M,N] (+)= A[M,K] B[N,K]^T
//   im2col(x, col, ldcol, p0, p1, C, N, H, W, k, stride, pad, OH, OW)   output pixels [p0, p1) only
//   col2im(col, dx, ldcol, p0, p1, C, N, H, W, k, stride, pad, OH, OW)   dx += adjoint of im2col
import { F32, type FuncBuilder, I32, type Local, ModuleBuilder, V128, forLoop } from '../../../kernels/wasm/emit';

export interface TrainKernelOptions {
  /** f32x4.relaxed_madd (fused multiply-add) in the GEMMs, where the runtime validates it. */
  readonly relaxedSimd: boolean;
}

/**
 * Rows of A per gemm_nn tile of 8 columns: 4 rows = 8 accumulators, one k step per loop iteration. Wider
 * tiles or an unrolled k loop make V8 spill (as kernels/wasm/README.md found for inference): on this
 * machine 4x8 not unrolled runs at about 37 GFLOPS per core, 6x8 at 28 whether unrolled 1, 2 or 4 times,
 * 5x8 at 26. Row counts that 4 does not divide end with 1-row tiles.
 */
const NN_MR = 4;
/** gemm_nt reduces over K in chunks of this many floats, so the chunk of B's rows stays in L2. */
const NT_KC = 1024;
/** gemm_nt walks B in blocks of this many rows (even), each reused by all row blocks of A. */
const NT_NB = 64;

function madd(f: FuncBuilder, relaxed: boolean, a: Local, b: Local, acc: Local): void {
  if (relaxed) f.get(a).get(b).get(acc).f32x4RelaxedMadd().set(acc);
  else f.get(a).get(b).f32x4Mul().get(acc).f32x4Add().set(acc);
}

function emitGemmNN(m: ModuleBuilder, opts: TrainKernelOptions): number {
  const { f, index } = m.func('gemm_nn', [I32, I32, I32, I32, I32, I32, I32, I32, I32, I32]);
  const [M, N, K, A, lda, B, ldb, C, ldc, accFlag] = f.params as Local[] as [Local, Local, Local, Local, Local, Local, Local, Local, Local, Local];
  const lda4 = f.local(I32), ldb4 = f.local(I32), ldc4 = f.local(I32), rem = f.local(I32), N8 = f.local(I32);
  const i = f.local(I32), j = f.local(I32), k = f.local(I32), pb = f.local(I32), cp = f.local(I32);
  const a: Local[] = Array.from({ length: NN_MR }, () => f.local(I32));
  const acc: [Local, Local][] = Array.from({ length: NN_MR }, () => [f.local(V128), f.local(V128)]);
  const b0 = f.local(V128), b1 = f.local(V128), s = f.local(V128);
  const sa = f.local(F32), sc = f.local(I32);
  f.get(lda).i32Const(4).i32Mul().set(lda4);
  f.get(ldb).i32Const(4).i32Mul().set(ldb4);
  f.get(ldc).i32Const(4).i32Mul().set(ldc4);
  f.get(N).i32Const(-8).i32And().set(N8);

  /** One tile of `rows` rows x 8 columns at (i, j). */
  const tile = (rows: number): void => {
    f.get(A).get(i).get(lda4).i32Mul().i32Add().set(a[0]!);
    for (let r = 1; r < rows; r++) f.get(a[r - 1]!).get(lda4).i32Add().set(a[r]!);
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
      f.get(pb).v128Load(0).set(b0);
      f.get(pb).v128Load(16).set(b1);
      f.get(pb).get(ldb4).i32Add().set(pb);
      for (let r = 0; r < rows; r++) {
        f.get(a[r]!).v128Load32Splat(0).set(s);
        madd(f, opts.relaxedSimd, s, b0, acc[r]![0]);
        madd(f, opts.relaxedSimd, s, b1, acc[r]![1]);
      }
    };
    f.get(K).tee(k).if();
    f.loop();
    step();
    for (let r = 0; r < rows; r++) f.get(a[r]!).i32Const(4).i32Add().set(a[r]!);
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
      f.get(A).get(i).get(lda4).i32Mul().i32Add().set(a[0]!);
      f.get(B).get(j).i32Const(4).i32Mul().i32Add().set(pb);
      f.i32Const(0);
      forLoop(f, k, K, 1, () => {
        f.get(a[0]!).f32Load().get(pb).f32Load().f32Mul().get(sa).f32Add().set(sa);
        f.get(a[0]!).i32Const(4).i32Add().set(a[0]!);
        f.get(pb).get(ldb4).i32Add().set(pb);
      });
      f.get(cp).get(sa).f32Store();
    });
  });
  return index;
}

/** Horizontal sum of a v128 local, left on the stack as f32. */
function hsum(f: FuncBuilder, v: Local): void {
  f.get(v).f32x4ExtractLane(0).get(v).f32x4ExtractLane(1).f32Add();
  f.get(v).f32x4ExtractLane(2).get(v).f32x4ExtractLane(3).f32Add().f32Add();
}

function emitGemmNT(m: ModuleBuilder, opts: TrainKernelOptions): number {
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
    for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) madd(f, opts.relaxedSimd, va[r]!, vb[c]!, acc[r]![c]!);
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
  f.i32Const(0).set(jb);
  f.block().loop();
  {
    f.get(jb).get(N).i32GeS().brIf(1);
    f.get(jb).i32Const(NT_NB).i32Add().tee(jEnd).get(N).get(jEnd).get(N).i32LtS().select().set(jEnd);
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
    f.get(jEnd).set(jb);
    f.br(0);
  }
  f.end().end();
  return index;
}

/**
 * im2col (or, with `adjoint`, col2im: dx += ...) over CNHW for the output pixels p in [p0, p1):
 * col[r * ldcol + p - p0] with r = (c*k + kh)*k + kw. Pixels are walked in runs along one output row
 * (n, oh); in each run the columns [a, b) read inside the image and the rest are padding (zeros for
 * im2col, skipped by col2im). Stride 1 copies 4 floats at a time.
 *
 * im2col of a stride-1 'same' conv (output as large as the input) takes a faster path: in CNHW each col row
 * is the channel plane shifted by (kh - P) * W + (kw - P) floats, so it is one bulk vector copy, after which
 * the entries that crossed an image border (whole rows at the top or bottom, a few columns at the sides)
 * are zeroed row by row. Small feature maps (7x7) no longer pay a run setup every 7 floats.
 */
function emitIm2col(m: ModuleBuilder, adjoint: boolean): number {
  const { f, index } = m.func(adjoint ? 'col2im' : 'im2col', Array<typeof I32>(14).fill(I32));
  const [src, dst, ldcol, p0, p1, Cc, Nn, H, W, Kk, S, P, OH, OW] = f.params as Local[] as [
    Local, Local, Local, Local, Local, Local, Local, Local, Local, Local, Local, Local, Local, Local];
  const xBase = adjoint ? dst : src;
  const colBase = adjoint ? src : dst;
  const c = f.local(I32), kh = f.local(I32), kw = f.local(I32), n = f.local(I32), oh = f.local(I32), ow = f.local(I32);
  const lo = f.local(I32), hi = f.local(I32), ih = f.local(I32), t = f.local(I32), xp = f.local(I32);
  const hw4 = f.local(I32), w4 = f.local(I32), s4 = f.local(I32), xi = f.local(I32), ci = f.local(I32);
  const rowPtr = f.local(I32), p = f.local(I32), ow0 = f.local(I32), owEnd = f.local(I32), a = f.local(I32), b = f.local(I32);
  const bV = f.local(I32), ohw = f.local(I32), colRow = f.local(I32);
  f.get(H).get(W).i32Mul().i32Const(4).i32Mul().set(hw4);
  f.get(W).i32Const(4).i32Mul().set(w4);
  f.get(S).i32Const(4).i32Mul().set(s4);
  f.get(OH).get(OW).i32Mul().set(ohw);
  f.get(colBase).set(colRow);
  const same = f.local(I32), nhw = f.local(I32), dh = f.local(I32), dw = f.local(I32), shift = f.local(I32);
  const colA = f.local(I32), colB = f.local(I32), rs = f.local(I32);
  if (!adjoint) {
    f.get(Nn).get(H).i32Mul().get(W).i32Mul().set(nhw);
    f.get(S).i32Const(1).i32Eq().get(OH).get(H).i32Eq().i32And().get(OW).get(W).i32Eq().i32And().set(same);
  }
  /** Pushes max(x, y) (or min) of two locals. */
  const max = (x: Local, y: Local): void => { f.get(x).get(y).get(x).get(y).i32GtS().select(); };
  const min = (x: Local, y: Local): void => { f.get(x).get(y).get(x).get(y).i32LtS().select(); };
  /** col entries of columns (pixels, in the same-size path) [from, to) to 0 (im2col only). */
  const zeros = (from: Local, to: Local): void => {
    if (adjoint) return;
    f.get(from);
    forLoop(f, ow, to, 1, () => { f.get(rowPtr).get(ow).i32Const(4).i32Mul().i32Add().f32Const(0).f32Store(); });
  };
  const sameBody = (): void => {
    f.get(kh).get(P).i32Sub().set(dh);
    f.get(kw).get(P).i32Sub().set(dw);
    f.get(dh).get(W).i32Mul().get(dw).i32Add().set(shift);
    f.get(xBase).get(c).get(nhw).i32Mul().get(shift).i32Add().i32Const(4).i32Mul().i32Add().set(xp);
    f.get(colRow).get(p0).i32Const(4).i32Mul().i32Sub().set(rowPtr);
    // Pixels whose source p + shift lies inside the plane: [qa, qb) = [max(p0, -shift), min(p1, NHW - shift)).
    f.i32Const(0).get(shift).i32Sub().set(t);
    max(p0, t);
    f.set(lo);
    f.get(nhw).get(shift).i32Sub().set(t);
    min(p1, t);
    f.set(hi);
    max(hi, lo);
    f.set(hi);
    f.get(p0).set(a);
    f.get(lo).set(b);
    zeros(a, b);
    f.get(hi).get(lo).i32Sub().i32Const(-4).i32And().get(lo).i32Add().set(bV);
    f.get(lo);
    forLoop(f, p, bV, 4, () => {
      f.get(p).i32Const(4).i32Mul().set(t);
      f.get(rowPtr).get(t).i32Add().get(xp).get(t).i32Add().v128Load().v128Store();
    });
    f.get(bV);
    forLoop(f, p, hi, 1, () => {
      f.get(p).i32Const(4).i32Mul().set(t);
      f.get(rowPtr).get(t).i32Add().get(xp).get(t).i32Add().f32Load().f32Store();
    });
    f.get(hi).set(a);
    f.get(p1).set(b);
    zeros(a, b);
    // Border fix-ups, one output row (n, oh) at a time: rows whose source row is outside the image are all
    // zero; otherwise the columns [colA, colB) are (dw < 0: [0, -dw); dw > 0: [W - dw, W); dw = 0: none).
    f.get(dw).i32Const(0).i32LtS();
    f.if(I32).i32Const(0).else().get(W).get(dw).i32Sub().end().set(colA);
    f.get(dw).i32Const(0).i32LtS();
    f.if(I32).i32Const(0).get(dw).i32Sub().else().get(W).end().set(colB);
    f.get(p0).get(p0).get(W).i32RemU().i32Sub().set(rs);
    f.get(p0).get(W).i32DivU().get(H).i32RemU().set(oh);
    f.block().loop();
    {
      f.get(rs).get(p1).i32GeS().brIf(1);
      f.get(oh).get(dh).i32Add().tee(ih).i32Const(0).i32LtS().get(ih).get(H).i32GeS().i32Or();
      f.if();
      f.get(rs).set(lo);
      f.get(rs).get(W).i32Add().set(hi);
      f.else();
      f.get(rs).get(colA).i32Add().set(lo);
      f.get(rs).get(colB).i32Add().set(hi);
      f.end();
      max(lo, p0);
      f.set(a);
      min(hi, p1);
      f.set(b);
      zeros(a, b);
      f.get(rs).get(W).i32Add().set(rs);
      f.get(oh).i32Const(1).i32Add().tee(oh).get(H).i32Eq().if();
      f.i32Const(0).set(oh);
      f.end();
      f.br(0);
    }
    f.end().end();
  };
  f.i32Const(0);
  forLoop(f, c, Cc, 1, () => {
    f.i32Const(0);
    forLoop(f, kh, Kk, 1, () => {
      f.i32Const(0);
      forLoop(f, kw, Kk, 1, () => {
        if (!adjoint) {
          f.get(same).if();
          sameBody();
          f.else();
        }
        // lo = max(0, ceil((P - kw) / S)), hi = max(0, floor((W - 1 + P - kw) / S) + 1): the columns inside.
        f.get(P).get(kw).i32Sub().tee(t).i32Const(0).i32LeS();
        f.if(I32).i32Const(0).else().get(t).get(S).i32Add().i32Const(1).i32Sub().get(S).i32DivU().end().set(lo);
        f.get(W).i32Const(1).i32Sub().get(P).i32Add().get(kw).i32Sub().tee(t).i32Const(0).i32LtS();
        f.if(I32).i32Const(0).else().get(t).get(S).i32DivU().i32Const(1).i32Add().end().set(hi);
        // Runs of pixels along output rows, starting at p0.
        f.get(p0).set(p);
        f.get(p0).get(ohw).i32DivU().set(n);
        f.get(p0).get(ohw).i32RemU().tee(t).get(OW).i32DivU().set(oh);
        f.get(t).get(OW).i32RemU().set(ow0);
        f.block().loop();
        {
          f.get(p).get(p1).i32GeS().brIf(1);
          // owEnd = min(OW, ow0 + p1 - p)
          f.get(ow0).get(p1).i32Add().get(p).i32Sub().tee(owEnd).get(OW).get(owEnd).get(OW).i32LtS().select().set(owEnd);
          // col pointer such that column ow is at rowPtr + 4*ow
          f.get(colRow).get(p).get(p0).i32Sub().get(ow0).i32Sub().i32Const(4).i32Mul().i32Add().set(rowPtr);
          f.get(oh).get(S).i32Mul().get(P).i32Sub().get(kh).i32Add().set(ih);
          f.get(ih).i32Const(0).i32GeS().get(ih).get(H).i32LtS().i32And();
          f.if();
          {
            // a = clamp(lo, ow0, owEnd), b = clamp(hi, a, owEnd)
            f.get(lo).get(ow0).get(lo).get(ow0).i32GtS().select().set(a);
            f.get(a).get(owEnd).get(a).get(owEnd).i32LtS().select().set(a);
            f.get(hi).get(owEnd).get(hi).get(owEnd).i32LtS().select().set(b);
            f.get(b).get(a).get(b).get(a).i32GtS().select().set(b);
            f.get(xBase).get(c).get(Nn).i32Mul().get(n).i32Add().get(hw4).i32Mul().i32Add();
            f.get(ih).get(w4).i32Mul().i32Add();
            f.get(kw).get(P).i32Sub().i32Const(4).i32Mul().i32Add().set(xp);
            zeros(ow0, a);
            f.get(a).set(t);
            f.get(S).i32Const(1).i32Eq().if();
            {
              f.get(b).get(a).i32Sub().i32Const(-4).i32And().get(a).i32Add().set(bV);
              f.get(a);
              forLoop(f, ow, bV, 4, () => {
                f.get(ow).i32Const(4).i32Mul().tee(t).get(rowPtr).i32Add().set(ci);
                f.get(t).get(xp).i32Add().set(xi);
                if (adjoint) f.get(xi).get(xi).v128Load().get(ci).v128Load().f32x4Add().v128Store();
                else f.get(ci).get(xi).v128Load().v128Store();
              });
              f.get(bV).set(t);
            }
            f.end();
            f.get(t);
            forLoop(f, ow, b, 1, () => {
              f.get(rowPtr).get(ow).i32Const(4).i32Mul().i32Add().set(ci);
              f.get(xp).get(ow).get(s4).i32Mul().i32Add().set(xi);
              if (adjoint) f.get(xi).get(xi).f32Load().get(ci).f32Load().f32Add().f32Store();
              else f.get(ci).get(xi).f32Load().f32Store();
            });
            zeros(b, owEnd);
          }
          if (!adjoint) {
            f.else();
            zeros(ow0, owEnd);
          }
          f.end();
          f.get(p).get(owEnd).i32Add().get(ow0).i32Sub().set(p);
          f.i32Const(0).set(ow0);
          f.get(oh).i32Const(1).i32Add().tee(oh).get(OH).i32Eq().if();
          f.i32Const(0).set(oh).get(n).i32Const(1).i32Add().set(n);
          f.end();
          f.br(0);
        }
        f.end().end();
        if (!adjoint) f.end();
        f.get(colRow).get(ldcol).i32Const(4).i32Mul().i32Add().set(colRow);
      });
    });
  });
  return index;
}

/** SIMD ops the shared emitter does not name (opcodes from the wasm SIMD spec). */
const simdOp = (f: FuncBuilder, sub: number): void => { f.code.byte(0xfd).u32(sub); };
const F32X4_GT = 0x44;
const V128_AND = 0x4e;
const F32_GT = 0x5e;

/**
 * `for (i = 0; i < n; i++)` over floats, 4 at a time while 4 remain, then one at a time. The body gets the
 * byte offset of element i and whether it is the vector or the scalar step.
 */
function floatLoop(f: FuncBuilder, n: Local, body: (off: Local, vector: boolean) => void): void {
  const i = f.local(I32), nv = f.local(I32), off = f.local(I32);
  f.get(n).i32Const(-4).i32And().set(nv);
  f.i32Const(0);
  forLoop(f, i, nv, 4, () => { f.get(i).i32Const(4).i32Mul().set(off); body(off, true); });
  f.get(nv);
  forLoop(f, i, n, 1, () => { f.get(i).i32Const(4).i32Mul().set(off); body(off, false); });
}

/** Pushes a float (or 4-lane vector) at address base + off. */
const load = (f: FuncBuilder, base: Local, off: Local, vector: boolean): void => {
  f.get(base).get(off).i32Add();
  if (vector) f.v128Load(); else f.f32Load();
};
/** Adds the old value at base + off to the stack top when `acc` is set (a block cannot see the outer stack, so both arms push). */
function addOld(f: FuncBuilder, acc: Local, base: Local, off: Local, vector: boolean): void {
  f.get(acc).if(vector ? V128 : F32);
  load(f, base, off, vector);
  f.else();
  if (vector) f.v128Const0(); else f.f32Const(0);
  f.end();
  if (vector) f.f32x4Add(); else f.f32Add();
}
const storeAt = (f: FuncBuilder, base: Local, off: Local): void => { f.get(base).get(off).i32Add(); };

/**
 * Elementwise kernels over n floats. relu: y = max(x, 0). relu_bwd: dx (+)= y > 0 ? dy : 0. add: y = a + b.
 * pass: dx (+)= dy.
 */
function emitElementwise(m: ModuleBuilder): void {
  {
    const { f, index } = m.func('relu', [I32, I32, I32]);
    const [x, y, n] = f.params as Local[] as [Local, Local, Local];
    const zero = f.local(V128);
    f.v128Const0().set(zero);
    floatLoop(f, n, (off, v) => {
      storeAt(f, y, off);
      load(f, x, off, v);
      if (v) f.get(zero).f32x4Pmax().v128Store();
      else f.f32Const(0).f32Max().f32Store();
    });
    m.export('relu', index);
  }
  {
    const { f, index } = m.func('relu_bwd', [I32, I32, I32, I32, I32]);
    const [y, dy, dx, n, acc] = f.params as Local[] as [Local, Local, Local, Local, Local];
    const zero = f.local(V128);
    f.v128Const0().set(zero);
    floatLoop(f, n, (off, v) => {
      storeAt(f, dx, off);
      if (v) {
        load(f, dy, off, true);
        load(f, y, off, true);
        f.get(zero);
        simdOp(f, F32X4_GT);
        simdOp(f, V128_AND);
        addOld(f, acc, dx, off, true);
        f.v128Store();
      } else {
        load(f, dy, off, false);
        f.f32Const(0);
        load(f, y, off, false);
        f.f32Const(0);
        f.code.byte(F32_GT);
        f.select();
        addOld(f, acc, dx, off, false);
        f.f32Store();
      }
    });
    m.export('relu_bwd', index);
  }
  {
    const { f, index } = m.func('add', [I32, I32, I32, I32]);
    const [a, b, y, n] = f.params as Local[] as [Local, Local, Local, Local];
    floatLoop(f, n, (off, v) => {
      storeAt(f, y, off);
      load(f, a, off, v);
      load(f, b, off, v);
      if (v) f.f32x4Add().v128Store(); else f.f32Add().f32Store();
    });
    m.export('add', index);
  }
  {
    const { f, index } = m.func('pass', [I32, I32, I32, I32]);
    const [dy, dx, n, acc] = f.params as Local[] as [Local, Local, Local, Local];
    floatLoop(f, n, (off, v) => {
      storeAt(f, dx, off);
      load(f, dy, off, v);
      addOld(f, acc, dx, off, v);
      if (v) f.v128Store(); else f.f32Store();
    });
    m.export('pass', index);
  }
}

/**
 * Per-channel kernels for batch norm over CNHW (channel c = floats [c*S, (c+1)*S)); per-channel inputs and
 * outputs are float arrays of C entries at the given addresses.
 *   bn_sums(x, dy, C, S, mean, out)  without dy: out[c] = sum (x - mean[c])      (mean = 0 gives the sum)
 *                                    with dy:    out[2c] = sum dy, out[2c+1] = sum dy * (x - mean[c])
 *   bn_sqdev(x, C, S, mean, out)     out[c] = sum (x - mean[c])^2
 *   bn_affine(x, y, C, S, a, b)      y = a[c] * x + b[c]
 *   bn_dx(x, dy, dx, C, S, a, cx, b, acc)   dx (+)= a[c] * dy + cx[c] * x + b[c]
 * Sums use two 4-lane accumulators, then add their lanes.
 */
function emitBatchNorm(m: ModuleBuilder): void {
  const channelLoop = (f: FuncBuilder, C: Local, S: Local, body: (c: Local, bytes: Local) => void): void => {
    const c = f.local(I32), bytes = f.local(I32);
    f.get(S).i32Const(4).i32Mul().set(bytes);
    f.i32Const(0);
    forLoop(f, c, C, 1, () => body(c, bytes));
  };
  const at = (f: FuncBuilder, base: Local, c: Local, stride = 4): void => { f.get(base).get(c).i32Const(stride).i32Mul().i32Add(); };
  {
    const { f, index } = m.func('bn_sums', [I32, I32, I32, I32, I32, I32]);
    const [x, dy, C, S, mean, out] = f.params as Local[] as [Local, Local, Local, Local, Local, Local];
    const xc = f.local(I32), dyc = f.local(I32), mv = f.local(V128), ms = f.local(F32);
    const s0 = f.local(V128), s1 = f.local(V128), sx = f.local(F32), sy = f.local(F32), d = f.local(V128), ds = f.local(F32);
    channelLoop(f, C, S, (c, bytes) => {
      f.get(x).get(c).get(bytes).i32Mul().i32Add().set(xc);
      f.get(dy).get(c).get(bytes).i32Mul().i32Add().set(dyc);
      at(f, mean, c); f.f32Load().tee(ms).f32x4Splat().set(mv);
      f.v128Const0().set(s0).v128Const0().set(s1).f32Const(0).set(sx).f32Const(0).set(sy);
      floatLoop(f, S, (off, v) => {
        if (v) {
          load(f, xc, off, true); f.get(mv).f32x4Sub().set(d);
          f.get(dy).if();
          load(f, dyc, off, true); f.get(d).f32x4Mul().get(s1).f32x4Add().set(s1);
          load(f, dyc, off, true); f.get(s0).f32x4Add().set(s0);
          f.else();
          f.get(d).get(s0).f32x4Add().set(s0);
          f.end();
        } else {
          load(f, xc, off, false); f.get(ms).f32Sub().set(ds);
          f.get(dy).if();
          load(f, dyc, off, false); f.get(ds).f32Mul().get(sy).f32Add().set(sy);
          load(f, dyc, off, false); f.get(sx).f32Add().set(sx);
          f.else();
          f.get(ds).get(sx).f32Add().set(sx);
          f.end();
        }
      });
      hsum(f, s0); f.get(sx).f32Add().set(sx);
      hsum(f, s1); f.get(sy).f32Add().set(sy);
      f.get(dy).if();
      at(f, out, c, 8); f.get(sx).f32Store(0);
      at(f, out, c, 8); f.get(sy).f32Store(4);
      f.else();
      at(f, out, c); f.get(sx).f32Store();
      f.end();
    });
    m.export('bn_sums', index);
  }
  {
    const { f, index } = m.func('bn_sqdev', [I32, I32, I32, I32, I32]);
    const [x, C, S, mean, out] = f.params as Local[] as [Local, Local, Local, Local, Local];
    const xc = f.local(I32), mv = f.local(V128), ms = f.local(F32), s0 = f.local(V128), sx = f.local(F32), d = f.local(V128), ds = f.local(F32);
    channelLoop(f, C, S, (c, bytes) => {
      f.get(x).get(c).get(bytes).i32Mul().i32Add().set(xc);
      at(f, mean, c); f.f32Load().tee(ms).f32x4Splat().set(mv);
      f.v128Const0().set(s0).f32Const(0).set(sx);
      floatLoop(f, S, (off, v) => {
        if (v) { load(f, xc, off, true); f.get(mv).f32x4Sub().tee(d).get(d).f32x4Mul().get(s0).f32x4Add().set(s0); }
        else { load(f, xc, off, false); f.get(ms).f32Sub().tee(ds).get(ds).f32Mul().get(sx).f32Add().set(sx); }
      });
      at(f, out, c); hsum(f, s0); f.get(sx).f32Add().f32Store();
    });
    m.export('bn_sqdev', index);
  }
  {
    const { f, index } = m.func('bn_affine', [I32, I32, I32, I32, I32, I32]);
    const [x, y, C, S, a, b] = f.params as Local[] as [Local, Local, Local, Local, Local, Local];
    const xc = f.local(I32), yc = f.local(I32), av = f.local(V128), bv = f.local(V128), as = f.local(F32), bs = f.local(F32);
    channelLoop(f, C, S, (c, bytes) => {
      f.get(x).get(c).get(bytes).i32Mul().i32Add().set(xc);
      f.get(y).get(c).get(bytes).i32Mul().i32Add().set(yc);
      at(f, a, c); f.f32Load().tee(as).f32x4Splat().set(av);
      at(f, b, c); f.f32Load().tee(bs).f32x4Splat().set(bv);
      floatLoop(f, S, (off, v) => {
        storeAt(f, yc, off);
        load(f, xc, off, v);
        if (v) f.get(av).f32x4Mul().get(bv).f32x4Add().v128Store();
        else f.get(as).f32Mul().get(bs).f32Add().f32Store();
      });
    });
    m.export('bn_affine', index);
  }
  {
    const { f, index } = m.func('bn_dx', [I32, I32, I32, I32, I32, I32, I32, I32, I32]);
    const [x, dy, dx, C, S, a, cx, b, acc] = f.params as Local[] as [Local, Local, Local, Local, Local, Local, Local, Local, Local];
    const xc = f.local(I32), dyc = f.local(I32), dxc = f.local(I32);
    const av = f.local(V128), cv = f.local(V128), bv = f.local(V128), as = f.local(F32), cs = f.local(F32), bs = f.local(F32);
    channelLoop(f, C, S, (c, bytes) => {
      f.get(x).get(c).get(bytes).i32Mul().i32Add().set(xc);
      f.get(dy).get(c).get(bytes).i32Mul().i32Add().set(dyc);
      f.get(dx).get(c).get(bytes).i32Mul().i32Add().set(dxc);
      at(f, a, c); f.f32Load().tee(as).f32x4Splat().set(av);
      at(f, cx, c); f.f32Load().tee(cs).f32x4Splat().set(cv);
      at(f, b, c); f.f32Load().tee(bs).f32x4Splat().set(bv);
      floatLoop(f, S, (off, v) => {
        storeAt(f, dxc, off);
        if (v) {
          load(f, dyc, off, true); f.get(av).f32x4Mul();
          load(f, xc, off, true); f.get(cv).f32x4Mul().f32x4Add().get(bv).f32x4Add();
          addOld(f, acc, dxc, off, true);
          f.v128Store();
        } else {
          load(f, dyc, off, false); f.get(as).f32Mul();
          load(f, xc, off, false); f.get(cs).f32Mul().f32Add().get(bs).f32Add();
          addOld(f, acc, dxc, off, false);
          f.f32Store();
        }
      });
    });
    m.export('bn_dx', index);
  }
}

export function buildTrainKernelModule(opts: TrainKernelOptions, maxPages: number): Uint8Array {
  const m = new ModuleBuilder();
  m.importMemory('env', 'memory', 1, maxPages, true);
  m.export('gemm_nn', emitGemmNN(m, opts));
  m.export('gemm_nt', emitGemmNT(m, opts));
  m.export('im2col', emitIm2col(m, false));
  m.export('col2im', emitIm2col(m, true));
  emitElementwise(m);
  emitBatchNorm(m);
  return m.toBytes();
}

// f32-im2col and f32-col2im for training convs over CHWN activations ([C, H, W, N], the batch innermost;
// square kernels, equal strides and pads): the column matrix of a range of output pixels, and its adjoint
// added into the input gradient (kernels/ts/train/conv.ts is the reference).
import { forLoop } from './builders';
import { type FuncBuilder, I32, type Local, type ModuleBuilder } from './emit';

/**
 * im2col (or, with `adjoint`, col2im: dx += ...) over CHWN for the columns p in [p0, p1), which must be whole
 * pixels (multiples of N): col[r * ldcol + p - p0] with r = (c*k + kh)*k + kw and p = (oh*OW + ow)*N + n.
 * A pixel's N values are contiguous in both x and col, so each tap copies runs of N floats, and with stride 1
 * a whole run of output pixels along a row (up to OW*N floats) in one vector copy. Pixels are walked in runs
 * along one output row; in each run the columns [a, b) read inside the image and the rest are padding
 * (zeros for im2col, skipped by col2im).
 */
export function emitF32Im2col(m: ModuleBuilder): number {
  return emitIm2colOrAdjoint(m, false);
}

export function emitF32Col2im(m: ModuleBuilder): number {
  return emitIm2colOrAdjoint(m, true);
}

/** dst[0..n) = src[0..n) (or dst += src when `add`), 4 floats at a time, then one at a time. n in floats. */
function emitCopyFloats(f: FuncBuilder, dst: Local, src: Local, n: Local, add: boolean, tmp: { i: Local; end: Local }): void {
  const { i, end } = tmp;
  // i and end are byte offsets.
  f.get(n).i32Const(-4).i32And().i32Const(4).i32Mul().set(end);
  f.i32Const(0);
  forLoop(f, i, end, 16, () => {
    f.get(dst).get(i).i32Add();
    if (add) f.get(dst).get(i).i32Add().v128Load();
    f.get(src).get(i).i32Add().v128Load();
    if (add) f.f32x4Add();
    f.v128Store();
  });
  f.get(end);
  f.get(n).i32Const(4).i32Mul().set(end);
  forLoop(f, i, end, 4, () => {
    f.get(dst).get(i).i32Add();
    if (add) f.get(dst).get(i).i32Add().f32Load();
    f.get(src).get(i).i32Add().f32Load();
    if (add) f.f32Add();
    f.f32Store();
  });
}

/** dst[0..n) = 0 (n in floats). */
function emitZeroFloats(f: FuncBuilder, dst: Local, n: Local, tmp: { i: Local; end: Local }): void {
  const { i, end } = tmp;
  f.get(n).i32Const(-4).i32And().i32Const(4).i32Mul().set(end);
  f.i32Const(0);
  forLoop(f, i, end, 16, () => { f.get(dst).get(i).i32Add().v128Const0().v128Store(); });
  f.get(end);
  f.get(n).i32Const(4).i32Mul().set(end);
  forLoop(f, i, end, 4, () => { f.get(dst).get(i).i32Add().f32Const(0).f32Store(); });
}

function emitIm2colOrAdjoint(m: ModuleBuilder, adjoint: boolean): number {
  const { f, index } = m.func(adjoint ? 'f32-col2im' : 'f32-im2col', Array<typeof I32>(14).fill(I32));
  const [src, dst, ldcol, p0, p1, Cc, Nn, H, W, Kk, S, P, , OW] = f.params as Local[] as [
    Local, Local, Local, Local, Local, Local, Local, Local, Local, Local, Local, Local, Local, Local];
  const xBase = adjoint ? dst : src;
  const colBase = adjoint ? src : dst;
  const c = f.local(I32), kh = f.local(I32), kw = f.local(I32), oh = f.local(I32), ow = f.local(I32);
  const lo = f.local(I32), hi = f.local(I32), ih = f.local(I32), t = f.local(I32), xp = f.local(I32);
  const nb = f.local(I32), snb = f.local(I32), q0 = f.local(I32), q1 = f.local(I32), q = f.local(I32);
  const rowPtr = f.local(I32), ow0 = f.local(I32), owEnd = f.local(I32), a = f.local(I32), b = f.local(I32);
  const colRow = f.local(I32), cnt = f.local(I32), pa = f.local(I32), pb = f.local(I32);
  const tmp = { i: f.local(I32), end: f.local(I32) };
  f.get(Nn).i32Const(4).i32Mul().set(nb);
  f.get(S).get(nb).i32Mul().set(snb);
  f.get(p0).get(Nn).i32DivU().set(q0);
  f.get(p1).get(Nn).i32DivU().set(q1);
  f.get(colBase).set(colRow);
  /** Zeros the columns of pixels [from, to) of the current run (im2col only). */
  const zeros = (from: Local, to: Local): void => {
    if (adjoint) return;
    f.get(to).get(from).i32Sub().get(Nn).i32Mul().set(cnt);
    f.get(rowPtr).get(from).get(nb).i32Mul().i32Add().set(pa);
    emitZeroFloats(f, pa, cnt, tmp);
  };
  /** Copies (or adds back) pixel runs [a, b): pa = col address, pb = x address. */
  const move = (): void => {
    if (adjoint) emitCopyFloats(f, pb, pa, cnt, true, tmp);
    else emitCopyFloats(f, pa, pb, cnt, false, tmp);
  };
  f.i32Const(0);
  forLoop(f, c, Cc, 1, () => {
    f.i32Const(0);
    forLoop(f, kh, Kk, 1, () => {
      f.i32Const(0);
      forLoop(f, kw, Kk, 1, () => {
        // lo = max(0, ceil((P - kw) / S)), hi = max(0, floor((W - 1 + P - kw) / S) + 1): the columns inside.
        f.get(P).get(kw).i32Sub().tee(t).i32Const(0).i32LeS();
        f.if(I32).i32Const(0).else().get(t).get(S).i32Add().i32Const(1).i32Sub().get(S).i32DivU().end().set(lo);
        f.get(W).i32Const(1).i32Sub().get(P).i32Add().get(kw).i32Sub().tee(t).i32Const(0).i32LtS();
        f.if(I32).i32Const(0).else().get(t).get(S).i32DivU().i32Const(1).i32Add().end().set(hi);
        // Runs of output pixels along output rows, starting at q0.
        f.get(q0).set(q);
        f.get(q0).get(OW).i32DivU().set(oh);
        f.get(q0).get(OW).i32RemU().set(ow0);
        f.block().loop();
        {
          f.get(q).get(q1).i32GeS().brIf(1);
          // owEnd = min(OW, ow0 + q1 - q)
          f.get(ow0).get(q1).i32Add().get(q).i32Sub().tee(owEnd).get(OW).get(owEnd).get(OW).i32LtS().select().set(owEnd);
          // col pointer such that output pixel ow of this row is at rowPtr + ow * nb
          f.get(colRow).get(q).get(q0).i32Sub().get(ow0).i32Sub().get(nb).i32Mul().i32Add().set(rowPtr);
          f.get(oh).get(S).i32Mul().get(P).i32Sub().get(kh).i32Add().set(ih);
          f.get(ih).i32Const(0).i32GeS().get(ih).get(H).i32LtS().i32And();
          f.if();
          {
            // a = clamp(lo, ow0, owEnd), b = clamp(hi, a, owEnd)
            f.get(lo).get(ow0).get(lo).get(ow0).i32GtS().select().set(a);
            f.get(a).get(owEnd).get(a).get(owEnd).i32LtS().select().set(a);
            f.get(hi).get(owEnd).get(hi).get(owEnd).i32LtS().select().set(b);
            f.get(b).get(a).get(b).get(a).i32GtS().select().set(b);
            // x address of output pixel ow: xp + ow * S * nb
            f.get(xBase).get(c).get(H).i32Mul().get(ih).i32Add().get(W).i32Mul().get(kw).i32Add().get(P).i32Sub().get(nb).i32Mul().i32Add().set(xp);
            zeros(ow0, a);
            f.get(S).i32Const(1).i32Eq().if();
            {
              // Stride 1: the pixels [a, b) are contiguous in x as in col.
              f.get(b).get(a).i32Sub().get(Nn).i32Mul().set(cnt);
              f.get(rowPtr).get(a).get(nb).i32Mul().i32Add().set(pa);
              f.get(xp).get(a).get(nb).i32Mul().i32Add().set(pb);
              move();
            }
            f.else();
            {
              f.get(Nn).set(cnt);
              f.get(a);
              forLoop(f, ow, b, 1, () => {
                f.get(rowPtr).get(ow).get(nb).i32Mul().i32Add().set(pa);
                f.get(xp).get(ow).get(snb).i32Mul().i32Add().set(pb);
                move();
              });
            }
            f.end();
            zeros(b, owEnd);
          }
          if (!adjoint) {
            f.else();
            zeros(ow0, owEnd);
          }
          f.end();
          f.get(q).get(owEnd).i32Add().get(ow0).i32Sub().set(q);
          f.i32Const(0).set(ow0);
          f.get(oh).i32Const(1).i32Add().set(oh);
          f.br(0);
        }
        f.end().end();
        f.get(colRow).get(ldcol).i32Const(4).i32Mul().i32Add().set(colRow);
      });
    });
  });
  return index;
}

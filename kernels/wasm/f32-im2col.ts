// f32-im2col and f32-col2im for training convs over CNHW activations (square kernels, equal strides and
// pads): the column matrix of a range of output pixels, and its adjoint added into the input gradient.
import { forLoop } from './builders';
import { I32, type Local, type ModuleBuilder } from './emit';

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
export function emitF32Im2col(m: ModuleBuilder): number {
  return emitIm2colOrAdjoint(m, false);
}

export function emitF32Col2im(m: ModuleBuilder): number {
  return emitIm2colOrAdjoint(m, true);
}

function emitIm2colOrAdjoint(m: ModuleBuilder, adjoint: boolean): number {
  const { f, index } = m.func(adjoint ? 'f32-col2im' : 'f32-im2col', Array<typeof I32>(14).fill(I32));
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

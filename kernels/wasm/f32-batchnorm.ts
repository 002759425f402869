// Training batch norm over channel-major activations (CHWN: channel c is the contiguous run [c*S, (c+1)*S)):
// the sums the statistics need, the normalising affine map and the input gradient, each with an optional
// ReLU fused in (forward: max(., 0); backward: the gradient masked where the ReLU's output was 0). The
// per-channel arithmetic between these passes runs in JS (src/train/backend.ts).
import { addOld, addressAt, floatLoop, forLoop, hsum, loadAt } from './builders';
import { F32, type FuncBuilder, I32, type Local, type ModuleBuilder, V128 } from './emit';

/**
 * Per-channel kernels for batch norm over channel-major activations (channel c = floats [c*S, (c+1)*S));
 * per-channel inputs and outputs are float arrays of C entries at the given addresses. `mask` is 0 or the
 * address of a fused ReLU's output (same layout as x): dy then counts only where mask > 0.
 *   bn_sums(x, dy, C, S, mean, out, mask)  without dy: out[c] = sum (x - mean[c])   (mean = 0 gives the sum)
 *                                          with dy:    out[2c] = sum dy, out[2c+1] = sum dy * (x - mean[c])
 *   bn_stats(x, C, S, shift, out)          out[2c] = sum (x - shift[c]), out[2c+1] = sum (x - shift[c])^2
 *   bn_affine(x, y, C, S, a, b, relu)      y = a[c] * x + b[c], then max(y, 0) with relu
 *   bn_dx(x, dy, dx, C, S, a, cx, b, acc, mask)   dx (+)= a[c] * dy + cx[c] * x + b[c]
 * Sums use two 4-lane accumulators, then add their lanes.
 */
export function emitTrainingBatchNorm(m: ModuleBuilder): void {
  const channelLoop = (f: FuncBuilder, C: Local, S: Local, body: (c: Local, bytes: Local) => void): void => {
    const c = f.local(I32), bytes = f.local(I32);
    f.get(S).i32Const(4).i32Mul().set(bytes);
    f.i32Const(0);
    forLoop(f, c, C, 1, () => body(c, bytes));
  };
  const at = (f: FuncBuilder, base: Local, c: Local, stride = 4): void => { f.get(base).get(c).i32Const(stride).i32Mul().i32Add(); };
  /** Pushes dy at base + off, masked by the ReLU output at mask + off when `masked`. */
  const loadDy = (f: FuncBuilder, dyc: Local, mc: Local, off: Local, v: boolean, masked: boolean): void => {
    loadAt(f, dyc, off, v);
    if (!masked) return;
    if (v) { loadAt(f, mc, off, true); f.v128Const0().f32x4Gt().v128And(); return; }
    f.f32Const(0);
    loadAt(f, mc, off, false);
    f.f32Const(0).f32Gt().select();
  };
  {
    const { f, index } = m.func('bn_sums', [I32, I32, I32, I32, I32, I32, I32]);
    const [x, dy, C, S, mean, out, mask] = f.params as Local[] as [Local, Local, Local, Local, Local, Local, Local];
    const xc = f.local(I32), dyc = f.local(I32), mc = f.local(I32), mv = f.local(V128), ms = f.local(F32);
    const s0 = f.local(V128), s1 = f.local(V128), sx = f.local(F32), sy = f.local(F32), d = f.local(V128), ds = f.local(F32);
    const g = f.local(V128), gs = f.local(F32);
    channelLoop(f, C, S, (c, bytes) => {
      f.get(x).get(c).get(bytes).i32Mul().i32Add().set(xc);
      f.get(dy).get(c).get(bytes).i32Mul().i32Add().set(dyc);
      f.get(mask).get(c).get(bytes).i32Mul().i32Add().set(mc);
      at(f, mean, c); f.f32Load().tee(ms).f32x4Splat().set(mv);
      f.v128Const0().set(s0).v128Const0().set(s1).f32Const(0).set(sx).f32Const(0).set(sy);
      const withDy = (masked: boolean): void => floatLoop(f, S, (off, v) => {
        if (v) {
          loadDy(f, dyc, mc, off, true, masked); f.set(g);
          loadAt(f, xc, off, true); f.get(mv).f32x4Sub().get(g).f32x4Mul().get(s1).f32x4Add().set(s1);
          f.get(g).get(s0).f32x4Add().set(s0);
        } else {
          loadDy(f, dyc, mc, off, false, masked); f.set(gs);
          loadAt(f, xc, off, false); f.get(ms).f32Sub().get(gs).f32Mul().get(sy).f32Add().set(sy);
          f.get(gs).get(sx).f32Add().set(sx);
        }
      });
      f.get(dy).if();
      f.get(mask).if();
      withDy(true);
      f.else();
      withDy(false);
      f.end();
      f.else();
      floatLoop(f, S, (off, v) => {
        if (v) { loadAt(f, xc, off, true); f.get(mv).f32x4Sub().set(d); f.get(d).get(s0).f32x4Add().set(s0); }
        else { loadAt(f, xc, off, false); f.get(ms).f32Sub().set(ds); f.get(ds).get(sx).f32Add().set(sx); }
      });
      f.end();
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
    // One pass for both statistics: sums of d = x - shift[c] and of d^2 (shift near the mean, e.g. one of the
    // channel's values, keeps the cancellation in var = E[d^2] - E[d]^2 small).
    const { f, index } = m.func('bn_stats', [I32, I32, I32, I32, I32]);
    const [x, C, S, shift, out] = f.params as Local[] as [Local, Local, Local, Local, Local];
    const xc = f.local(I32), mv = f.local(V128), ms = f.local(F32), s0 = f.local(V128), s1 = f.local(V128);
    const sx = f.local(F32), sq = f.local(F32), d = f.local(V128), ds = f.local(F32);
    channelLoop(f, C, S, (c, bytes) => {
      f.get(x).get(c).get(bytes).i32Mul().i32Add().set(xc);
      at(f, shift, c); f.f32Load().tee(ms).f32x4Splat().set(mv);
      f.v128Const0().set(s0).v128Const0().set(s1).f32Const(0).set(sx).f32Const(0).set(sq);
      floatLoop(f, S, (off, v) => {
        if (v) {
          loadAt(f, xc, off, true); f.get(mv).f32x4Sub().tee(d).get(s0).f32x4Add().set(s0);
          f.get(d).get(d).f32x4Mul().get(s1).f32x4Add().set(s1);
        } else {
          loadAt(f, xc, off, false); f.get(ms).f32Sub().tee(ds).get(sx).f32Add().set(sx);
          f.get(ds).get(ds).f32Mul().get(sq).f32Add().set(sq);
        }
      });
      at(f, out, c, 8); hsum(f, s0); f.get(sx).f32Add().f32Store(0);
      at(f, out, c, 8); hsum(f, s1); f.get(sq).f32Add().f32Store(4);
    });
    m.export('bn_stats', index);
  }
  {
    const { f, index } = m.func('bn_affine', [I32, I32, I32, I32, I32, I32, I32]);
    const [x, y, C, S, a, b, relu] = f.params as Local[] as [Local, Local, Local, Local, Local, Local, Local];
    const xc = f.local(I32), yc = f.local(I32), av = f.local(V128), bv = f.local(V128), as = f.local(F32), bs = f.local(F32);
    channelLoop(f, C, S, (c, bytes) => {
      f.get(x).get(c).get(bytes).i32Mul().i32Add().set(xc);
      f.get(y).get(c).get(bytes).i32Mul().i32Add().set(yc);
      at(f, a, c); f.f32Load().tee(as).f32x4Splat().set(av);
      at(f, b, c); f.f32Load().tee(bs).f32x4Splat().set(bv);
      const loop = (withRelu: boolean): void => floatLoop(f, S, (off, v) => {
        addressAt(f, yc, off);
        loadAt(f, xc, off, v);
        if (v) { f.get(av).f32x4Mul().get(bv).f32x4Add(); if (withRelu) f.v128Const0().f32x4Pmax(); f.v128Store(); }
        else { f.get(as).f32Mul().get(bs).f32Add(); if (withRelu) f.f32Const(0).f32Max(); f.f32Store(); }
      });
      f.get(relu).if();
      loop(true);
      f.else();
      loop(false);
      f.end();
    });
    m.export('bn_affine', index);
  }
  {
    const { f, index } = m.func('bn_dx', [I32, I32, I32, I32, I32, I32, I32, I32, I32, I32]);
    const [x, dy, dx, C, S, a, cx, b, acc, mask] = f.params as Local[] as [Local, Local, Local, Local, Local, Local, Local, Local, Local, Local];
    const xc = f.local(I32), dyc = f.local(I32), dxc = f.local(I32), mc = f.local(I32);
    const av = f.local(V128), cv = f.local(V128), bv = f.local(V128), as = f.local(F32), cs = f.local(F32), bs = f.local(F32);
    channelLoop(f, C, S, (c, bytes) => {
      f.get(x).get(c).get(bytes).i32Mul().i32Add().set(xc);
      f.get(dy).get(c).get(bytes).i32Mul().i32Add().set(dyc);
      f.get(dx).get(c).get(bytes).i32Mul().i32Add().set(dxc);
      f.get(mask).get(c).get(bytes).i32Mul().i32Add().set(mc);
      at(f, a, c); f.f32Load().tee(as).f32x4Splat().set(av);
      at(f, cx, c); f.f32Load().tee(cs).f32x4Splat().set(cv);
      at(f, b, c); f.f32Load().tee(bs).f32x4Splat().set(bv);
      const loop = (masked: boolean): void => floatLoop(f, S, (off, v) => {
        addressAt(f, dxc, off);
        if (v) {
          loadDy(f, dyc, mc, off, true, masked); f.get(av).f32x4Mul();
          loadAt(f, xc, off, true); f.get(cv).f32x4Mul().f32x4Add().get(bv).f32x4Add();
          addOld(f, acc, dxc, off, true);
          f.v128Store();
        } else {
          loadDy(f, dyc, mc, off, false, masked); f.get(as).f32Mul();
          loadAt(f, xc, off, false); f.get(cs).f32Mul().f32Add().get(bs).f32Add();
          addOld(f, acc, dxc, off, false);
          f.f32Store();
        }
      });
      f.get(mask).if();
      loop(true);
      f.else();
      loop(false);
      f.end();
    });
    m.export('bn_dx', index);
  }
}

// Training batch norm over channel-major activations (CHWN: channel c is the contiguous run [c*S, (c+1)*S)):
// the sums the statistics need, the normalising affine map and the input gradient, each with an optional
// ReLU fused in (forward: max(., 0); backward: the gradient masked where the ReLU's output was 0). The
// per-channel arithmetic between these passes runs in JS (src/train/backend.ts).
import { addOld, addressAt, branchOn, floatLoop, forBlocks, forLoop, hsum, loadAt, maskedLoadAt, storeAt } from './builders';
import { F32, F64, type FuncBuilder, I32, type Local, type ModuleBuilder, V128 } from './emit';

/**
 * Floats of one channel summed in float32 before their sum is added into a float64 total. A channel holds
 * N x H x W values (65536 for 64 images at 32x32): summed in float32 all the way, each lane of a 4-lane
 * accumulator added 16384 of them and the normalised output came out ~5e-6 off (relative RMS): batch norm
 * was the largest float32 error of a training forward pass, and the logits 10x further from float64 than
 * PyTorch's (its CPU batch norm sums in double). Chunks of 256 cost one fold per 64 vectors.
 */
const SUM_CHUNK = 256;

/** Vectors per trip of the batch-norm loops (and accumulators per sum): see floatLoop. */
const UNROLL = 4;

/** One sum of a chunked walk: its float32 partial sums (UNROLL 4-lane accumulators and a scalar tail) and its float64 total. */
interface ChunkedSum {
  readonly lanes: readonly Local[];
  readonly scalar: Local;
  readonly total: Local;
}

/** A chunked sum's locals. */
function chunkedSum(f: FuncBuilder): ChunkedSum {
  return { lanes: Array.from({ length: UNROLL }, () => f.local(V128)), scalar: f.local(F32), total: f.local(F64) };
}

/**
 * Emits a walk over a channel's S floats in chunks of SUM_CHUNK that leaves each of `sums` in its float64
 * total: the totals start at 0; before each chunk `begin(startBytes)` sets the chunk's pointers and the
 * partial sums start at 0; `body` runs per element as floatLoop's (`off` from the chunk's start; vector j of
 * a trip adds into accumulator j) and adds into the partial sums; after each chunk their accumulators, lanes
 * and tail are added into the totals.
 */
function chunkedSums(f: FuncBuilder, S: Local, sums: readonly ChunkedSum[], begin: (startBytes: Local) => void, body: (off: Local, vector: boolean, j: number) => void): void {
  const start = f.local(I32), stop = f.local(I32), n = f.local(I32), startBytes = f.local(I32);
  for (const s of sums) f.f32Const(0).f64PromoteF32().set(s.total);
  f.i32Const(0);
  forBlocks(f, start, S, SUM_CHUNK, stop, () => {
    f.get(stop).get(start).i32Sub().set(n);
    f.get(start).i32Const(4).i32Mul().set(startBytes);
    begin(startBytes);
    for (const s of sums) {
      for (const l of s.lanes) f.v128Const0().set(l);
      f.f32Const(0).set(s.scalar);
    }
    floatLoop(f, n, body, UNROLL);
    for (const s of sums) {
      const [l0, ...rest] = s.lanes as [Local, ...Local[]];
      for (const l of rest) f.get(l0).get(l).f32x4Add().set(l0);
      f.get(s.total);
      hsum(f, l0);
      f.get(s.scalar).f32Add().f64PromoteF32().f64Add().set(s.total);
    }
  });
}

/**
 * Per-channel kernels for batch norm over channel-major activations (channel c = floats [c*S, (c+1)*S));
 * per-channel inputs and outputs are float arrays of C entries at the given addresses. A fused ReLU masks dy
 * (counted only where the ReLU's output was > 0), told by `mask` or `gate` (0 when not used): `mask` is the
 * address of the ReLU's output (same layout as x); `gate` the address of the forward's affine map, C scales
 * then C shifts, for a ReLU right after it (no residual add): the mask is then ga[c] * x + gb[c] > 0,
 * computed as bn_affine computed it (the same bits as reading the output, one stream less).
 *   bn_sums(x, dy, C, S, mean, out, mask, gate)   out[2c] = sum dy, out[2c+1] = sum dy * (x - mean[c])
 *   bn_stats(x, C, S, shift, out)                 out[2c] = sum (x - shift[c]), out[2c+1] = sum (x - shift[c])^2
 *   bn_affine(x, y, C, S, a, b, relu, res)        y = a[c] * x + b[c] (+ res, when res is an address: a residual
 *                                                 add fused in), then max(y, 0) with relu
 *   bn_dx(x, dy, dx, C, S, a, cx, b, acc, mask, gate)   dx (+)= a[c] * dy + cx[c] * x + b[c]
 * Each sum runs in float32 (UNROLL 4-lane accumulators, then their lanes) over chunks of SUM_CHUNK, added up in float64.
 */
export function emitTrainingBatchNorm(m: ModuleBuilder): void {
  const channelLoop = (f: FuncBuilder, C: Local, S: Local, body: (c: Local, bytes: Local) => void): void => {
    const c = f.local(I32), bytes = f.local(I32);
    f.get(S).i32Const(4).i32Mul().set(bytes);
    f.i32Const(0);
    forLoop(f, c, C, 1, () => body(c, bytes));
  };
  const at = (f: FuncBuilder, base: Local, c: Local, stride = 4): void => { f.get(base).get(c).i32Const(stride).i32Mul().i32Add(); };
  /** How a fused ReLU's mask is had: none, read from its output, or recomputed from x (see above). */
  type Masking = 'none' | 'output' | 'gate';
  /** The three variants of a loop, chosen at run time by `mask` and `gate`. */
  const byMasking = (f: FuncBuilder, mask: Local, gate: Local, emit: (m: Masking) => void): void => {
    f.get(mask).if();
    emit('output');
    f.else();
    branchOn(f, gate, (gated) => emit(gated ? 'gate' : 'none'));
    f.end();
  };
  /**
   * Pushes dy at base + off (vector j of a trip), masked as `m` says; with 'gate', x's value at off is in `xv`
   * (vector) or `xs` (scalar) and the gate's scale and shift splatted in ga/gb (gas/gbs).
   */
  const loadDy = (f: FuncBuilder, dyc: Local, mc: Local, off: Local, v: boolean, m: Masking, j: number, g: Gate): void => {
    if (m === 'output') maskedLoadAt(f, dyc, mc, off, v, j);
    else if (m === 'none') loadAt(f, dyc, off, v, j);
    else if (v) {
      // As bn_affine: x * a + b (a multiply, then an add), then > 0 as a lane mask.
      loadAt(f, dyc, off, true, j);
      f.get(g.xv).get(g.ga).f32x4Mul().get(g.gb).f32x4Add().v128Const0().f32x4Gt().v128And();
    } else {
      loadAt(f, dyc, off, false);
      f.f32Const(0);
      f.get(g.xs).get(g.gas).f32Mul().get(g.gbs).f32Add().f32Const(0).f32Gt().select();
    }
  };
  /** The locals of a gate: x's value, and the channel's scale and shift (splatted and scalar). */
  interface Gate { readonly xv: Local; readonly xs: Local; readonly ga: Local; readonly gb: Local; readonly gas: Local; readonly gbs: Local }
  const gateLocals = (f: FuncBuilder): Gate => ({ xv: f.local(V128), xs: f.local(F32), ga: f.local(V128), gb: f.local(V128), gas: f.local(F32), gbs: f.local(F32) });
  /** Splats channel c's gate scale and shift (C floats apart) into the gate's locals, when there is a gate. */
  const loadGate = (f: FuncBuilder, gate: Local, c: Local, C: Local, g: Gate): void => {
    f.get(gate).if();
    at(f, gate, c); f.f32Load().tee(g.gas).f32x4Splat().set(g.ga);
    f.get(gate).get(C).i32Const(4).i32Mul().i32Add().get(c).i32Const(4).i32Mul().i32Add().f32Load().tee(g.gbs).f32x4Splat().set(g.gb);
    f.end();
  };
  {
    const { f, index } = m.func('bn_sums', [I32, I32, I32, I32, I32, I32, I32, I32]);
    const [x, dy, C, S, mean, out, mask, gate] = f.params as Local[] as [Local, Local, Local, Local, Local, Local, Local, Local];
    const gl = gateLocals(f);
    const xc = f.local(I32), dyc = f.local(I32), mc = f.local(I32), xk = f.local(I32), dyk = f.local(I32), mk = f.local(I32);
    const mv = f.local(V128), ms = f.local(F32), g = f.local(V128), gs = f.local(F32);
    const sdy = chunkedSum(f), sdyx = chunkedSum(f);
    channelLoop(f, C, S, (c, bytes) => {
      f.get(x).get(c).get(bytes).i32Mul().i32Add().set(xc);
      f.get(dy).get(c).get(bytes).i32Mul().i32Add().set(dyc);
      f.get(mask).get(c).get(bytes).i32Mul().i32Add().set(mc);
      at(f, mean, c); f.f32Load().tee(ms).f32x4Splat().set(mv);
      loadGate(f, gate, c, C, gl);
      const chunk = (masking: Masking): void => chunkedSums(f, S, [sdy, sdyx], (start) => {
        f.get(xc).get(start).i32Add().set(xk);
        f.get(dyc).get(start).i32Add().set(dyk);
        f.get(mc).get(start).i32Add().set(mk);
      }, (off, v, j) => {
        if (v) {
          const s0 = sdy.lanes[j]!, s1 = sdyx.lanes[j]!;
          loadAt(f, xk, off, true, j); f.set(gl.xv);
          loadDy(f, dyk, mk, off, true, masking, j, gl); f.set(g);
          f.get(gl.xv).get(mv).f32x4Sub().get(g).f32x4Mul().get(s1).f32x4Add().set(s1);
          f.get(g).get(s0).f32x4Add().set(s0);
        } else {
          loadAt(f, xk, off, false); f.set(gl.xs);
          loadDy(f, dyk, mk, off, false, masking, 0, gl); f.set(gs);
          f.get(gl.xs).get(ms).f32Sub().get(gs).f32Mul().get(sdyx.scalar).f32Add().set(sdyx.scalar);
          f.get(gs).get(sdy.scalar).f32Add().set(sdy.scalar);
        }
      });
      byMasking(f, mask, gate, chunk);
      at(f, out, c, 8); f.get(sdy.total).f32DemoteF64().f32Store(0);
      at(f, out, c, 8); f.get(sdyx.total).f32DemoteF64().f32Store(4);
    });
    m.export('bn_sums', index);
  }
  {
    // One pass for both statistics: sums of d = x - shift[c] and of d^2 (shift near the mean, e.g. one of the
    // channel's values, keeps the cancellation in var = E[d^2] - E[d]^2 small).
    const { f, index } = m.func('bn_stats', [I32, I32, I32, I32, I32]);
    const [x, C, S, shift, out] = f.params as Local[] as [Local, Local, Local, Local, Local];
    const xc = f.local(I32), xk = f.local(I32), mv = f.local(V128), ms = f.local(F32), d = f.local(V128), ds = f.local(F32);
    const sx = chunkedSum(f), sq = chunkedSum(f);
    channelLoop(f, C, S, (c, bytes) => {
      f.get(x).get(c).get(bytes).i32Mul().i32Add().set(xc);
      at(f, shift, c); f.f32Load().tee(ms).f32x4Splat().set(mv);
      chunkedSums(f, S, [sx, sq], (start) => {
        f.get(xc).get(start).i32Add().set(xk);
      }, (off, v, j) => {
        if (v) {
          const s0 = sx.lanes[j]!, s1 = sq.lanes[j]!;
          loadAt(f, xk, off, true, j); f.get(mv).f32x4Sub().tee(d).get(s0).f32x4Add().set(s0);
          f.get(d).get(d).f32x4Mul().get(s1).f32x4Add().set(s1);
        } else {
          loadAt(f, xk, off, false); f.get(ms).f32Sub().tee(ds).get(sx.scalar).f32Add().set(sx.scalar);
          f.get(ds).get(ds).f32Mul().get(sq.scalar).f32Add().set(sq.scalar);
        }
      });
      at(f, out, c, 8); f.get(sx.total).f32DemoteF64().f32Store(0);
      at(f, out, c, 8); f.get(sq.total).f32DemoteF64().f32Store(4);
    });
    m.export('bn_stats', index);
  }
  {
    const { f, index } = m.func('bn_affine', [I32, I32, I32, I32, I32, I32, I32, I32]);
    const [x, y, C, S, a, b, relu, res] = f.params as Local[] as [Local, Local, Local, Local, Local, Local, Local, Local];
    const xc = f.local(I32), yc = f.local(I32), rc = f.local(I32), av = f.local(V128), bv = f.local(V128), as = f.local(F32), bs = f.local(F32);
    channelLoop(f, C, S, (c, bytes) => {
      f.get(x).get(c).get(bytes).i32Mul().i32Add().set(xc);
      f.get(y).get(c).get(bytes).i32Mul().i32Add().set(yc);
      f.get(res).get(c).get(bytes).i32Mul().i32Add().set(rc);
      at(f, a, c); f.f32Load().tee(as).f32x4Splat().set(av);
      at(f, b, c); f.f32Load().tee(bs).f32x4Splat().set(bv);
      branchOn(f, res, (withRes) => branchOn(f, relu, (withRelu) => floatLoop(f, S, (off, v, j) => {
        addressAt(f, yc, off);
        loadAt(f, xc, off, v, j);
        if (v) f.get(av).f32x4Mul().get(bv).f32x4Add(); else f.get(as).f32Mul().get(bs).f32Add();
        if (withRes) { loadAt(f, rc, off, v, j); if (v) f.f32x4Add(); else f.f32Add(); }
        if (withRelu) { if (v) f.v128Const0().f32x4Pmax(); else f.f32Const(0).f32Max(); }
        storeAt(f, v, j);
      }, UNROLL)));
    });
    m.export('bn_affine', index);
  }
  {
    const { f, index } = m.func('bn_dx', [I32, I32, I32, I32, I32, I32, I32, I32, I32, I32, I32]);
    const [x, dy, dx, C, S, a, cx, b, acc, mask, gate] = f.params as Local[] as [Local, Local, Local, Local, Local, Local, Local, Local, Local, Local, Local];
    const gl = gateLocals(f);
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
      loadGate(f, gate, c, C, gl);
      byMasking(f, mask, gate, (masking) => branchOn(f, acc, (accumulate) => floatLoop(f, S, (off, v, j) => {
        if (v) {
          loadAt(f, xc, off, true, j); f.set(gl.xv);
          addressAt(f, dxc, off);
          loadDy(f, dyc, mc, off, true, masking, j, gl); f.get(av).f32x4Mul();
          f.get(gl.xv).get(cv).f32x4Mul().f32x4Add().get(bv).f32x4Add();
        } else {
          loadAt(f, xc, off, false); f.set(gl.xs);
          addressAt(f, dxc, off);
          loadDy(f, dyc, mc, off, false, masking, 0, gl); f.get(as).f32Mul();
          f.get(gl.xs).get(cs).f32Mul().f32Add().get(bs).f32Add();
        }
        addOld(f, accumulate, dxc, off, v, j);
        storeAt(f, v, j);
      }, UNROLL)));
    });
    m.export('bn_dx', index);
  }
}

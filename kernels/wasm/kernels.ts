// The generated WebAssembly kernels. One module holds every kernel plus `run`, which walks a program of
// step descriptors in memory and calls the kernel for each step through a function table, with a barrier
// between steps: a whole network is one JS->wasm call per thread.
//
// Every kernel has the signature (desc, tid, nth): it reads its arguments from the descriptor at `desc`
// (DESC_WORDS i32 words) and does its share `tid` of `nth` of the step's work.
// Activations are NHWC with a channel stride `cs` (floats per pixel, a multiple of 4, padded lanes are 0).
import { F32, FuncBuilder, I32, type Local, ModuleBuilder, V128, forLoop } from './emit';

export const DESC_WORDS = 32;
/**
 * Per-descriptor words for the run: how many chunks the step's work is cut into (written by the kernel),
 * the next unclaimed chunk and the number of chunks done (both zeroed before each run).
 */
export const DESC_CHUNKS = 29;
export const DESC_NEXT = 30;
export const DESC_DONE = 31;
export const DESC_BYTES = DESC_WORDS * 4;
/**
 * Run-state words at the bottom of memory (address 0 stays unused so that 0 can mean "none"):
 * STEP is the step every participant works on; STATE is (run tag << 8 | closed flag 0x80 | participants);
 * LEFT counts workers that left the run. The threads.ts control words sit at 32..63.
 */
export const STEP_ADDR = 16;
export const STATE_ADDR = 20;
export const LEFT_ADDR = 24;
export const STATE_CLOSED = 0x80;
export const STATE_COUNT_MASK = 0x7f;
/** First byte the engine may use for its own data. */
export const RESERVED_BYTES = 64;

/** Table indices of the kernels = the `kind` word of a descriptor. */
export const Kind = {
  conv: 0,
  maxPool: 1,
  avgPool: 2,
  globalAvgPool: 3,
  add: 4,
  relu: 5,
  affine: 6,
  shortcutA: 7,
  winograd: 8,
  winograd4: 9,
  remap: 10,
} as const;

/**
 * Conv as (indirect) GEMM: out[p, m] = sum_{tap, c} A(p, tap)[c] * W[tap, c, m] + bias[m] (+ res[p, m]), relu.
 * Weights are packed in panels of 8 output channels: [bias x8][tap0: c0 x8, c1 x8, ...][tap1 ...].
 * With `ind` = 0 the rows are direct (1x1 stride 1, or fc): A(p) = in + p * inRowBytes.
 * Otherwise `ind` holds, per tile of MR output pixels and per tap, MR row pointers (padding points at zeros).
 */
export const ConvDesc = {
  kind: 0, input: 1, output: 2, residual: 3, weights: 4, indirection: 5, pixels: 6, channels: 7, taps: 8,
  inRowBytes: 9, outRowBytes: 10, panels: 11, relu: 12, splitPanels: 13, panelBytes: 14, tileBlock: 15,
} as const;
export const PoolDesc = {
  kind: 0, input: 1, output: 2, n: 3, h: 4, w: 5, oh: 6, ow: 7, cs: 8, kh: 9, kw: 10, sh: 11, sw: 12,
  padTop: 13, padLeft: 14, dh: 15, dw: 16, countIncludePad: 17, padBottom: 18, padRight: 19,
} as const;
export const GapDesc = { kind: 0, input: 1, output: 2, n: 3, hw: 4, cs: 5 } as const;
/** add: out = relu?(a + b); relu: out = max(a, 0). Counts are in 4-float vectors. */
export const EltDesc = { kind: 0, a: 1, b: 2, output: 3, vectors: 4, relu: 5 } as const;
/** affine (inference BatchNorm): out[r, c] = in[r, c] * scale[c] + shift[c]. */
export const AffineDesc = { kind: 0, input: 1, output: 2, rows: 3, cs: 4, scale: 5, shift: 6 } as const;
/**
 * Winograd F(m x m, 3x3), m = 2 or 4 (alpha = m + 2), for 3x3 stride-1 convs. Each thread takes a
 * contiguous range of m x m output tiles and walks it in blocks of `tileBlock` tiles: input transform into
 * its scratch V[alpha^2][tiles][csIn], alpha^2 GEMMs V[xi] x U[xi] -> M[xi][tiles][csOut] with the conv
 * micro-kernel (U packed like conv panels, zero bias), output transform + bias + residual + ReLU into the
 * NHWC output.
 */
export const WinogradDesc = {
  kind: 0, input: 1, output: 2, residual: 3, weights: 4, bias: 5, n: 6, h: 7, w: 8, oh: 9, ow: 10, csIn: 11, csOut: 12,
  padTop: 13, padLeft: 14, relu: 15, scratch: 16, scratchBytes: 17, tileBlock: 18, panels: 19, panelBytes: 20, zero: 21,
  /** 1: every thread transforms all tiles and the threads split the output channels (few tiles, many weights). */
  splitPanels: 22,
} as const;
/**
 * pad / slice as one gather: out[n, c, y, x] = in[n, c*sc + oc, y*sy + oy, x*sx + ox] where inside the
 * input, `value` elsewhere (lanes past the output's channels stay 0). Steps may be negative.
 */
export const RemapDesc = {
  kind: 0, input: 1, output: 2, n: 3, c: 4, h: 5, w: 6, csIn: 7, oc: 8, oh: 9, ow: 10, csOut: 11,
  sc: 12, offC: 13, sy: 14, offY: 15, sx: 16, offX: 17, valueBits: 18,
} as const;
export const ShortcutDesc = { kind: 0, input: 1, output: 2, n: 3, h: 4, w: 5, oh: 6, ow: 7, csIn: 8, csOut: 9, stride: 10 } as const;

export interface KernelOptions {
  /** Use f32x4.relaxed_madd in the GEMM micro-kernel (only if the runtime validates it). */
  readonly relaxedSimd: boolean;
  /** Rows (output pixels) per micro-kernel tile; 8 output channels per tile. */
  readonly mr: number;
  /**
   * Channel steps per iteration of the inner loop (default 1). Unrolling hurts under V8: TurboFan hoists
   * all the unrolled loads to the loop head and spills (measured: 4x8 tile, 40 -> 29 GFLOPS at unroll 2).
   */
  readonly unroll?: number;
}

export const DEFAULT_MR = 4;

/** Spin iterations in the barrier before sleeping with memory.atomic.wait32 (a sleeper blocks nobody). */
const BARRIER_SPIN = 1 << 14;

/** Pushes field `word` of the descriptor. */
function field(f: FuncBuilder, desc: Local, word: number): void {
  f.get(desc).i32Load(word * 4);
}

function loadField(f: FuncBuilder, desc: Local, word: number): Local {
  const l = f.local(I32);
  field(f, desc, word);
  f.set(l);
  return l;
}

/** Work chunks per thread: enough for a late or slowed thread's share to be taken over by the others. */
const CHUNKS_PER_THREAD = 4;
/** Winograd chunks are bigger: each redoes per-block set-up and its GEMMs want many rows. */
const WINOGRAD_CHUNKS_PER_THREAD = 2;

/**
 * Runs `body(start, end)` for the chunks of [0, total) this thread claims: `total` is cut into
 * min(total, 4 * nth) chunks (one with a single thread) and each participant takes the next unclaimed one
 * (atomic add on the descriptor's counter) until none is left, counting each chunk done. Work is thus
 * shared among whichever threads take part, however many joined and however fast each runs; the step is
 * over when all its chunks are done (see the barrier), whoever did them.
 */
function forEachChunk(f: FuncBuilder, desc: Local, total: Local, nth: Local, body: (start: Local, end: Local) => void, perThread = CHUNKS_PER_THREAD): void {
  const nch = f.local(I32), q = f.local(I32), r = f.local(I32), k = f.local(I32);
  const start = f.local(I32), end = f.local(I32);
  f.get(nth).i32Const(1).i32LeS().if(I32).i32Const(1).else();
  f.get(nth).i32Const(perThread).i32Mul().get(total).get(nth).i32Const(perThread).i32Mul().get(total).i32LtS().select();
  f.end().set(nch);
  f.get(desc).get(nch).i32Store(DESC_CHUNKS * 4);
  f.get(nch).if();
  f.get(total).get(nch).i32DivU().set(q);
  f.get(total).get(nch).i32RemU().set(r);
  f.block().loop();
  {
    f.get(desc).i32Const(1).i32AtomicRmwAdd(DESC_NEXT * 4).tee(k).get(nch).i32GeU().brIf(1);
    // chunk k = [q*k + min(k, r), q*(k+1) + min(k+1, r)): no overflow for any total
    f.get(q).get(k).i32Mul().get(k).get(r).get(k).get(r).i32LtU().select().i32Add().set(start);
    f.get(k).i32Const(1).i32Add().set(k);
    f.get(q).get(k).i32Mul().get(k).get(r).get(k).get(r).i32LtU().select().i32Add().set(end);
    body(start, end);
    f.get(desc).i32Const(1).i32AtomicRmwAdd(DESC_DONE * 4).drop();
    f.br(0);
  }
  f.end().end();
  f.end();
}

/**
 * The barrier after step `step` (descriptor `desc`): the step is over when all its chunks are done; then
 * any thread moves STEP on (compare-exchange, so it moves once) and wakes sleepers. Until then, spin on
 * STEP and on the done count, then sleep on STEP if allowed. No thread waits for another to arrive: a
 * slow or late thread holds up only the chunk it is working on.
 */
function emitBarrier(m: ModuleBuilder): number {
  const { f, index } = m.func('barrier', [I32, I32, I32]);
  const [desc, step, canWait] = f.params as [Local, Local, Local];
  const spin = f.local(I32);
  f.i32Const(BARRIER_SPIN).set(spin);
  f.loop();
  {
    f.i32Const(STEP_ADDR).i32AtomicLoad().get(step).i32Ne().if().return().end();
    f.get(desc).i32AtomicLoad(DESC_DONE * 4).get(desc).i32Load(DESC_CHUNKS * 4).i32GeU().if();
    {
      f.i32Const(STEP_ADDR).get(step).get(step).i32Const(1).i32Add().i32AtomicCmpxchg().drop();
      f.i32Const(STEP_ADDR).i32Const(-1).atomicNotify().drop();
      f.return();
    }
    f.end();
    f.get(spin).i32Const(1).i32Sub().tee(spin).i32Const(0).i32GtS().brIf(0);
    f.get(canWait).if();
    // Sleep until STEP moves (whoever finishes the last chunk notifies); recheck after a millisecond anyway.
    f.i32Const(STEP_ADDR).get(step).i64Const(1000000).atomicWait32().drop();
    f.end();
    f.br(0);
  }
  f.end();
  return index;
}

/**
 * The conv / fc micro-kernel driver over tiles [t0, t1) (of MR pixels) and panels [p0, p1) (of 8 output
 * channels): bias-initialised accumulators, residual + ReLU on the way out.
 */
function emitConvRange(m: ModuleBuilder, opts: KernelOptions): number {
  const MR = opts.mr;
  const { f, index } = m.func('convRange', [I32, I32, I32, I32, I32]);
  const [d, t0, t1, p0, p1] = f.params as [Local, Local, Local, Local, Local];
  const inp = loadField(f, d, ConvDesc.input);
  const out = loadField(f, d, ConvDesc.output);
  const res = loadField(f, d, ConvDesc.residual);
  const wts = loadField(f, d, ConvDesc.weights);
  const ind = loadField(f, d, ConvDesc.indirection);
  const P = loadField(f, d, ConvDesc.pixels);
  const C = loadField(f, d, ConvDesc.channels);
  const taps = loadField(f, d, ConvDesc.taps);
  const rs = loadField(f, d, ConvDesc.inRowBytes);
  const ocs = loadField(f, d, ConvDesc.outRowBytes);
  const relu = loadField(f, d, ConvDesc.relu);
  const pstride = loadField(f, d, ConvDesc.panelBytes);
  const TB = loadField(f, d, ConvDesc.tileBlock);

  const tb = f.local(I32), te = f.local(I32), p = f.local(I32), t = f.local(I32);
  const wp = f.local(I32), w = f.local(I32), ipt = f.local(I32), k = f.local(I32), n = f.local(I32);
  const o = f.local(I32), rp = f.local(I32), valid = f.local(I32);
  const a: Local[] = [];
  for (let r = 0; r < MR; r++) a.push(f.local(I32));
  const acc: [Local, Local][] = [];
  for (let r = 0; r < MR; r++) acc.push([f.local(V128), f.local(V128)]);
  const w0 = f.local(V128), w1 = f.local(V128), s = f.local(V128), zero = f.local(V128);
  f.v128Const0().set(zero);

  const madd = (accL: Local, wv: Local): void => {
    if (opts.relaxedSimd) {
      f.get(s).get(wv).get(accL).f32x4RelaxedMadd().set(accL);
    } else {
      f.get(s).get(wv).f32x4Mul().get(accL).f32x4Add().set(accL);
    }
  };
  // One channel step: two weight vectors, then per row a splat of the row's channel times both.
  const channelStep = (u: number): void => {
    f.get(w).v128Load(u * 32).set(w0);
    f.get(w).v128Load(u * 32 + 16).set(w1);
    for (let r = 0; r < MR; r++) {
      f.get(a[r]!).v128Load32Splat(u * 4).set(s);
      madd(acc[r]![0], w0);
      madd(acc[r]![1], w1);
    }
  };
  const advance = (channels: number): void => {
    f.get(w).i32Const(channels * 32).i32Add().set(w);
    for (let r = 0; r < MR; r++) f.get(a[r]!).i32Const(channels * 4).i32Add().set(a[r]!);
  };
  // The reduction over C channels for the current row pointers: unrolled by 4, then the remainder.
  const U = opts.unroll ?? 1;
  const channelLoop = (): void => {
    if (U > 1) {
      f.get(C).i32Const(U).i32DivU().tee(n).if();
      f.loop();
      for (let u = 0; u < U; u++) channelStep(u);
      advance(U);
      f.get(n).i32Const(1).i32Sub().tee(n).brIf(0);
      f.end();
      f.end();
      f.get(C).i32Const(U).i32RemU().set(n);
    } else {
      f.get(C).set(n);
    }
    f.get(n).if();
    f.loop();
    channelStep(0);
    advance(1);
    f.get(n).i32Const(1).i32Sub().tee(n).brIf(0);
    f.end();
    f.end();
  };

  const tile = (): void => {
    f.get(wp).v128Load(0).set(w0);
    f.get(wp).v128Load(16).set(w1);
    for (let r = 0; r < MR; r++) {
      f.get(w0).set(acc[r]![0]);
      f.get(w1).set(acc[r]![1]);
    }
    f.get(wp).i32Const(32).i32Add().set(w);
    f.get(ind).if();
    {
      f.get(ind).get(t).get(taps).i32Mul().i32Const(MR * 4).i32Mul().i32Add().set(ipt);
      f.get(taps).set(k);
      f.loop();
      for (let r = 0; r < MR; r++) f.get(ipt).i32Load(r * 4).set(a[r]!);
      f.get(ipt).i32Const(MR * 4).i32Add().set(ipt);
      channelLoop();
      f.get(k).i32Const(1).i32Sub().tee(k).brIf(0);
      f.end();
    }
    f.else();
    {
      // Direct rows; rows past the end repeat the last pixel (computed, not stored).
      for (let r = 0; r < MR; r++) {
        f.get(t).i32Const(MR).i32Mul().i32Const(r).i32Add();
        f.get(P).i32Const(1).i32Sub();
        f.get(t).i32Const(MR).i32Mul().i32Const(r).i32Add().get(P).i32Const(1).i32Sub().i32LtS();
        f.select().get(rs).i32Mul().get(inp).i32Add().set(a[r]!);
      }
      channelLoop();
    }
    f.end();
    // Output step: + residual, ReLU, store the valid rows.
    f.get(P).get(t).i32Const(MR).i32Mul().i32Sub().set(valid);
    f.get(t).i32Const(MR).i32Mul().get(ocs).i32Mul().get(p).i32Const(32).i32Mul().i32Add().tee(o);
    f.get(out).i32Add().set(o);
    f.get(res).if();
    f.get(o).get(out).i32Sub().get(res).i32Add().set(rp);
    f.end();
    for (let r = 0; r < MR; r++) {
      if (r > 0) f.get(valid).i32Const(r).i32GtS().if();
      f.get(res).if();
      f.get(acc[r]![0]).get(rp).v128Load(0).f32x4Add().set(acc[r]![0]);
      f.get(acc[r]![1]).get(rp).v128Load(16).f32x4Add().set(acc[r]![1]);
      f.get(rp).get(ocs).i32Add().set(rp);
      f.end();
      f.get(relu).if();
      f.get(acc[r]![0]).get(zero).f32x4Pmax().set(acc[r]![0]);
      f.get(acc[r]![1]).get(zero).f32x4Pmax().set(acc[r]![1]);
      f.end();
      f.get(o).get(acc[r]![0]).v128Store(0);
      f.get(o).get(acc[r]![1]).v128Store(16);
      f.get(o).get(ocs).i32Add().set(o);
      if (r > 0) f.end();
    }
  };

  // for tb in [t0, t1) step TB: for p in [p0, p1): for t in [tb, min(tb + TB, t1)): tile
  f.get(t0).set(tb);
  f.block().loop();
  {
    f.get(tb).get(t1).i32GeS().brIf(1);
    f.get(tb).get(TB).i32Add().tee(te).get(t1).get(te).get(t1).i32LtS().select().set(te);
    f.get(p0);
    forLoop(f, p, p1, 1, () => {
      f.get(wts).get(p).get(pstride).i32Mul().i32Add().set(wp);
      f.get(tb);
      forLoop(f, t, te, 1, tile);
    });
    f.get(tb).get(TB).i32Add().set(tb);
    f.br(0);
  }
  f.end().end();
  return index;
}

/** The conv / fc kernel: chunks of tiles (or of panels when the descriptor says so) through convRange. */
function emitConv(m: ModuleBuilder, convRange: number, mr: number): number {
  const { f, index } = m.func('conv', [I32, I32, I32]);
  const [d, , nth] = f.params as [Local, Local, Local];
  const P = loadField(f, d, ConvDesc.pixels), npan = loadField(f, d, ConvDesc.panels);
  const splitPanels = loadField(f, d, ConvDesc.splitPanels);
  const ntiles = f.local(I32), total = f.local(I32);
  f.get(P).i32Const(mr - 1).i32Add().i32Const(mr).i32DivU().set(ntiles);
  f.get(npan).get(ntiles).get(splitPanels).select().set(total);
  forEachChunk(f, d, total, nth, (start, end) => {
    f.get(d);
    f.get(splitPanels).if(I32).i32Const(0).else().get(start).end();
    f.get(splitPanels).if(I32).get(ntiles).else().get(end).end();
    f.get(splitPanels).if(I32).get(start).else().i32Const(0).end();
    f.get(splitPanels).if(I32).get(end).else().get(npan).end();
    f.call(convRange);
  });
  return index;
}

/** Max / average pooling over NHWC, one output pixel at a time, channels 4 at a time. */
function emitPool(m: ModuleBuilder, isAvg: boolean): number {
  const { f, index } = m.func(isAvg ? 'avgPool' : 'maxPool', [I32, I32, I32]);
  const [d, tid, nth] = f.params as [Local, Local, Local];
  const F = PoolDesc;
  const inp = loadField(f, d, F.input), out = loadField(f, d, F.output);
  const N = loadField(f, d, F.n), H = loadField(f, d, F.h), W = loadField(f, d, F.w);
  const OH = loadField(f, d, F.oh), OW = loadField(f, d, F.ow), cs = loadField(f, d, F.cs);
  const KH = loadField(f, d, F.kh), KW = loadField(f, d, F.kw), SH = loadField(f, d, F.sh), SW = loadField(f, d, F.sw);
  const PT = loadField(f, d, F.padTop), PL = loadField(f, d, F.padLeft), DH = loadField(f, d, F.dh), DW = loadField(f, d, F.dw);
  const cip = loadField(f, d, F.countIncludePad), PB = loadField(f, d, F.padBottom), PR = loadField(f, d, F.padRight);
  const total = f.local(I32), q = f.local(I32), nn = f.local(I32), oy = f.local(I32), ox = f.local(I32);
  const o = f.local(I32), c = f.local(I32), rowBytes = f.local(I32), ky = f.local(I32), kx = f.local(I32);
  const iy = f.local(I32), ix = f.local(I32), ip = f.local(I32), cnt = f.local(I32), ch = f.local(I32), cw = f.local(I32);
  const init = f.local(V128), scale = f.local(V128);
  f.get(N).get(OH).i32Mul().get(OW).i32Mul().set(total);
  f.get(cs).i32Const(4).i32Mul().set(rowBytes);
  if (isAvg) f.v128Const0().set(init);
  else f.f32Const(-Infinity).f32x4Splat().set(init);
  forEachChunk(f, d, total, nth, (start, end) => {
    f.get(start);
    forLoop(f, q, end, 1, () => {
      f.get(q).get(OH).get(OW).i32Mul().i32DivU().set(nn);
      f.get(q).get(OH).get(OW).i32Mul().i32RemU().get(OW).i32DivU().set(oy);
      f.get(q).get(OW).i32RemU().set(ox);
      f.get(out).get(q).get(rowBytes).i32Mul().i32Add().set(o);
      f.i32Const(0);
      forLoop(f, c, rowBytes, 16, () => {
        f.get(o).get(c).i32Add().get(init).v128Store();
      });
      f.i32Const(0).set(cnt);
      f.i32Const(0);
      forLoop(f, ky, KH, 1, () => {
        f.get(oy).get(SH).i32Mul().get(PT).i32Sub().get(ky).get(DH).i32Mul().i32Add().tee(iy);
        f.i32Const(0).i32GeS().get(iy).get(H).i32LtS().i32And().if();
        f.i32Const(0);
        forLoop(f, kx, KW, 1, () => {
          f.get(ox).get(SW).i32Mul().get(PL).i32Sub().get(kx).get(DW).i32Mul().i32Add().tee(ix);
          f.i32Const(0).i32GeS().get(ix).get(W).i32LtS().i32And().if();
          f.get(nn).get(H).i32Mul().get(iy).i32Add().get(W).i32Mul().get(ix).i32Add().get(rowBytes).i32Mul().get(inp).i32Add().set(ip);
          f.i32Const(0);
          forLoop(f, c, rowBytes, 16, () => {
            f.get(o).get(c).i32Add();
            f.get(o).get(c).i32Add().v128Load();
            f.get(ip).get(c).i32Add().v128Load();
            if (isAvg) f.f32x4Add();
            else f.f32x4Pmax();
            f.v128Store();
          });
          f.get(cnt).i32Const(1).i32Add().set(cnt);
          f.end();
        });
        f.end();
      });
      if (isAvg) {
        // Divisor: taps inside the image, or with count_include_pad taps inside the padded image.
        f.get(cip).if();
        {
          f.i32Const(0).set(ch).i32Const(0).set(cw);
          f.i32Const(0);
          forLoop(f, ky, KH, 1, () => {
            f.get(oy).get(SH).i32Mul().get(PT).i32Sub().get(ky).get(DH).i32Mul().i32Add().tee(iy);
            f.i32Const(0).get(PT).i32Sub().i32GeS().get(iy).get(H).get(PB).i32Add().i32LtS().i32And();
            f.get(ch).i32Add().set(ch);
          });
          f.i32Const(0);
          forLoop(f, kx, KW, 1, () => {
            f.get(ox).get(SW).i32Mul().get(PL).i32Sub().get(kx).get(DW).i32Mul().i32Add().tee(ix);
            f.i32Const(0).get(PL).i32Sub().i32GeS().get(ix).get(W).get(PR).i32Add().i32LtS().i32And();
            f.get(cw).i32Add().set(cw);
          });
          f.get(ch).get(cw).i32Mul().set(cnt);
        }
        f.end();
        f.f32Const(1).get(cnt).f32ConvertI32U().f32Div().f32x4Splat().set(scale);
        f.i32Const(0);
        forLoop(f, c, rowBytes, 16, () => {
          f.get(o).get(c).i32Add();
          f.get(o).get(c).i32Add().v128Load().get(scale).f32x4Mul();
          f.v128Store();
        });
      }
    });
  });
  return index;
}

function emitGlobalAvgPool(m: ModuleBuilder): number {
  const { f, index } = m.func('globalAvgPool', [I32, I32, I32]);
  const [d, tid, nth] = f.params as [Local, Local, Local];
  const inp = loadField(f, d, GapDesc.input), out = loadField(f, d, GapDesc.output);
  const N = loadField(f, d, GapDesc.n), HW = loadField(f, d, GapDesc.hw), cs = loadField(f, d, GapDesc.cs);
  const vecs = f.local(I32), total = f.local(I32), u = f.local(I32), nn = f.local(I32), cv = f.local(I32);
  const ip = f.local(I32), i = f.local(I32), rowBytes = f.local(I32);
  const sum = f.local(V128), scale = f.local(V128);
  f.get(cs).i32Const(2).i32ShrU().set(vecs);
  f.get(N).get(vecs).i32Mul().set(total);
  f.get(cs).i32Const(4).i32Mul().set(rowBytes);
  f.f32Const(1).get(HW).f32ConvertI32U().f32Div().f32x4Splat().set(scale);
  forEachChunk(f, d, total, nth, (start, end) => {
    f.get(start);
    forLoop(f, u, end, 1, () => {
      f.get(u).get(vecs).i32DivU().set(nn);
      f.get(u).get(vecs).i32RemU().set(cv);
      f.get(inp).get(nn).get(HW).i32Mul().get(rowBytes).i32Mul().i32Add().get(cv).i32Const(16).i32Mul().i32Add().set(ip);
      f.v128Const0().set(sum);
      f.i32Const(0);
      forLoop(f, i, HW, 1, () => {
        f.get(sum).get(ip).v128Load().f32x4Add().set(sum);
        f.get(ip).get(rowBytes).i32Add().set(ip);
      });
      f.get(out).get(u).i32Const(16).i32Mul().i32Add().get(sum).get(scale).f32x4Mul().v128Store();
    });
  });
  return index;
}

/** add (two inputs, relu flag) and relu (b unused) over whole buffers, 4 floats at a time. */
function emitElementwise(m: ModuleBuilder, isAdd: boolean): number {
  const { f, index } = m.func(isAdd ? 'add' : 'relu', [I32, I32, I32]);
  const [d, tid, nth] = f.params as [Local, Local, Local];
  const A = loadField(f, d, EltDesc.a), B = loadField(f, d, EltDesc.b), out = loadField(f, d, EltDesc.output);
  const vecs = loadField(f, d, EltDesc.vectors), relu = loadField(f, d, EltDesc.relu);
  const i = f.local(I32), off = f.local(I32), v = f.local(V128), zero = f.local(V128);
  f.v128Const0().set(zero);
  forEachChunk(f, d, vecs, nth, (start, end) => {
    f.get(start);
    forLoop(f, i, end, 1, () => {
      f.get(i).i32Const(16).i32Mul().set(off);
      f.get(A).get(off).i32Add().v128Load();
      if (isAdd) f.get(B).get(off).i32Add().v128Load().f32x4Add();
      f.set(v);
      if (isAdd) f.get(relu).if();
      f.get(v).get(zero).f32x4Pmax().set(v);
      if (isAdd) f.end();
      f.get(out).get(off).i32Add().get(v).v128Store();
    });
  });
  return index;
}

function emitAffine(m: ModuleBuilder): number {
  const { f, index } = m.func('affine', [I32, I32, I32]);
  const [d, tid, nth] = f.params as [Local, Local, Local];
  const inp = loadField(f, d, AffineDesc.input), out = loadField(f, d, AffineDesc.output);
  const rows = loadField(f, d, AffineDesc.rows), cs = loadField(f, d, AffineDesc.cs);
  const sc = loadField(f, d, AffineDesc.scale), sh = loadField(f, d, AffineDesc.shift);
  const r = f.local(I32), c = f.local(I32), rowBytes = f.local(I32), base = f.local(I32);
  f.get(cs).i32Const(4).i32Mul().set(rowBytes);
  forEachChunk(f, d, rows, nth, (start, end) => {
    f.get(start);
    forLoop(f, r, end, 1, () => {
      f.get(r).get(rowBytes).i32Mul().set(base);
      f.i32Const(0);
      forLoop(f, c, rowBytes, 16, () => {
        f.get(out).get(base).i32Add().get(c).i32Add();
        f.get(inp).get(base).i32Add().get(c).i32Add().v128Load();
        f.get(sc).get(c).i32Add().v128Load().f32x4Mul();
        f.get(sh).get(c).i32Add().v128Load().f32x4Add();
        f.v128Store();
      });
    });
  });
  return index;
}

/** The paper's option-A shortcut: subsample by `stride`, copy the input channels, zero the rest. */
function emitShortcutA(m: ModuleBuilder): number {
  const { f, index } = m.func('shortcutA', [I32, I32, I32]);
  const [d, tid, nth] = f.params as [Local, Local, Local];
  const F = ShortcutDesc;
  const inp = loadField(f, d, F.input), out = loadField(f, d, F.output);
  const N = loadField(f, d, F.n), H = loadField(f, d, F.h), W = loadField(f, d, F.w);
  const OH = loadField(f, d, F.oh), OW = loadField(f, d, F.ow);
  const csIn = loadField(f, d, F.csIn), csOut = loadField(f, d, F.csOut), S = loadField(f, d, F.stride);
  const total = f.local(I32), q = f.local(I32), nn = f.local(I32), oy = f.local(I32), ox = f.local(I32);
  const ip = f.local(I32), o = f.local(I32), c = f.local(I32), inBytes = f.local(I32), outBytes = f.local(I32);
  const zero = f.local(V128);
  f.v128Const0().set(zero);
  f.get(N).get(OH).i32Mul().get(OW).i32Mul().set(total);
  f.get(csIn).i32Const(4).i32Mul().set(inBytes);
  f.get(csOut).i32Const(4).i32Mul().set(outBytes);
  forEachChunk(f, d, total, nth, (start, end) => {
    f.get(start);
    forLoop(f, q, end, 1, () => {
      f.get(q).get(OH).get(OW).i32Mul().i32DivU().set(nn);
      f.get(q).get(OH).get(OW).i32Mul().i32RemU().get(OW).i32DivU().set(oy);
      f.get(q).get(OW).i32RemU().set(ox);
      f.get(nn).get(H).i32Mul().get(oy).get(S).i32Mul().i32Add().get(W).i32Mul().get(ox).get(S).i32Mul().i32Add();
      f.get(inBytes).i32Mul().get(inp).i32Add().set(ip);
      f.get(out).get(q).get(outBytes).i32Mul().i32Add().set(o);
      f.i32Const(0);
      forLoop(f, c, outBytes, 16, () => {
        f.get(o).get(c).i32Add();
        f.get(c).get(inBytes).i32LtS().if(V128);
        f.get(ip).get(c).i32Add().v128Load();
        f.else();
        f.get(zero);
        f.end();
        f.v128Store();
      });
    });
  });
  return index;
}

/** Winograd F(m x m, 3 x 3) transforms (Lavin & Gray): input B^T, weights G, output A^T; alpha = m + 2. */
export interface WinogradTransform {
  readonly m: number;
  readonly bt: readonly (readonly number[])[];
  readonly g: readonly (readonly number[])[];
  readonly at: readonly (readonly number[])[];
}

export const WINOGRAD_F2: WinogradTransform = {
  m: 2,
  bt: [[1, 0, -1, 0], [0, 1, 1, 0], [0, -1, 1, 0], [0, 1, 0, -1]],
  g: [[1, 0, 0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0, 0, 1]],
  at: [[1, 1, 1, 0], [0, 1, -1, -1]],
};

export const WINOGRAD_F4: WinogradTransform = {
  m: 4,
  bt: [[4, 0, -5, 0, 1, 0], [0, -4, -4, 1, 1, 0], [0, 4, -4, -1, 1, 0], [0, -2, -1, 2, 1, 0], [0, 2, -1, -2, 1, 0], [0, 4, 0, -5, 0, 1]],
  g: [[1 / 4, 0, 0], [-1 / 6, -1 / 6, -1 / 6], [-1 / 6, 1 / 6, -1 / 6], [1 / 24, 1 / 12, 1 / 6], [1 / 24, -1 / 12, 1 / 6], [0, 0, 1]],
  at: [[1, 1, 1, 1, 1, 0], [0, 1, -1, 2, -2, 0], [0, 1, 1, 4, 4, 0], [0, 1, -1, 8, -8, 1]],
};

/** Byte size of one thread's Winograd scratch: a conv descriptor, V and M for `tiles` tiles. */
export function winogradScratchBytes(tr: WinogradTransform, tiles: number, csIn: number, csOut: number): number {
  const a = tr.m + 2;
  return DESC_BYTES + a * a * tiles * (csIn + csOut) * 4;
}

/**
 * Emits sum_k coef[k] * x[k] (v128 locals) onto the stack: +-1 as add/sub, other coefficients through a
 * splatted constant kept in a local (created once per function by `constant`).
 */
function emitCombination(f: FuncBuilder, coefs: readonly number[], xs: readonly Local[], constant: (c: number) => Local): void {
  const terms = coefs.map((c, k) => ({ c, x: xs[k]! })).filter((t) => t.c !== 0);
  if (terms.length === 0) {
    f.v128Const0();
    return;
  }
  // Start from a positive term when there is one, so no negation is needed.
  const firstIndex = Math.max(0, terms.findIndex((t) => t.c > 0));
  const first = terms[firstIndex]!;
  const rest = terms.filter((_, k) => k !== firstIndex);
  if (first.c > 0) {
    f.get(first.x);
    if (first.c !== 1) f.get(constant(first.c)).f32x4Mul();
  } else {
    f.v128Const0().get(first.x);
    if (first.c !== -1) f.get(constant(-first.c)).f32x4Mul();
    f.f32x4Sub();
  }
  for (const t of rest) {
    f.get(t.x);
    if (Math.abs(t.c) !== 1) f.get(constant(Math.abs(t.c))).f32x4Mul();
    if (t.c > 0) f.f32x4Add();
    else f.f32x4Sub();
  }
}

function emitWinograd(m: ModuleBuilder, convRange: number, mr: number, tr: WinogradTransform): number {
  const TM = tr.m;
  const A = TM + 2;
  const AA = A * A;
  const { f, index } = m.func(`winograd${TM}`, [I32, I32, I32]);
  const [d, tid, nth] = f.params as [Local, Local, Local];
  const F = WinogradDesc;
  const inp = loadField(f, d, F.input), out = loadField(f, d, F.output), res = loadField(f, d, F.residual);
  const U = loadField(f, d, F.weights), bias = loadField(f, d, F.bias);
  const N = loadField(f, d, F.n), H = loadField(f, d, F.h), W = loadField(f, d, F.w);
  const OH = loadField(f, d, F.oh), OW = loadField(f, d, F.ow);
  const csIn = loadField(f, d, F.csIn), csOut = loadField(f, d, F.csOut);
  const PT = loadField(f, d, F.padTop), PL = loadField(f, d, F.padLeft), relu = loadField(f, d, F.relu);
  const scratch = loadField(f, d, F.scratch), scratchBytes = loadField(f, d, F.scratchBytes), TB = loadField(f, d, F.tileBlock);
  const panels = loadField(f, d, F.panels), panelBytes = loadField(f, d, F.panelBytes), zeroAddr = loadField(f, d, F.zero);
  const splitPanels = loadField(f, d, F.splitPanels);

  const constants = new Map<number, Local>();
  const constant = (c: number): Local => {
    let l = constants.get(c);
    if (!l) {
      l = f.local(V128);
      constants.set(c, l);
    }
    return l;
  };
  // Materialise the constants at the top (they are only read below).
  const usedCoefs = new Set<number>();
  for (const row of [...tr.bt, ...tr.at]) for (const c of row) if (c !== 0 && Math.abs(c) !== 1) usedCoefs.add(Math.abs(c));
  for (const c of usedCoefs) f.f32Const(c).f32x4Splat().set(constant(c));

  const TY = f.local(I32), TX = f.local(I32), total = f.local(I32);
  const inRow = f.local(I32), outRow = f.local(I32);
  const cd = f.local(I32), V = f.local(I32), Mb = f.local(I32), vStride = f.local(I32), mStride = f.local(I32);
  const b0 = f.local(I32), bEnd = f.local(I32), cnt = f.local(I32), j = f.local(I32), t = f.local(I32);
  const nn = f.local(I32), rr = f.local(I32), ty = f.local(I32), tx = f.local(I32), iy = f.local(I32), ix = f.local(I32);
  const c = f.local(I32), xi = f.local(I32), base = f.local(I32);
  const rowsLeft = f.local(I32), colsLeft = f.local(I32), o00 = f.local(I32), r00 = f.local(I32);
  const p: Local[] = [];
  for (let k = 0; k < AA; k++) p.push(f.local(I32));
  const dv: Local[] = [];
  for (let k = 0; k < AA; k++) dv.push(f.local(V128));
  const tv: Local[] = [];
  for (let k = 0; k < AA; k++) tv.push(f.local(V128));
  const bv = f.local(V128), yv = f.local(V128);

  f.get(OH).i32Const(TM - 1).i32Add().i32Const(TM).i32DivU().set(TY);
  f.get(OW).i32Const(TM - 1).i32Add().i32Const(TM).i32DivU().set(TX);
  f.get(N).get(TY).i32Mul().get(TX).i32Mul().set(total);
  f.get(csIn).i32Const(4).i32Mul().set(inRow);
  f.get(csOut).i32Const(4).i32Mul().set(outRow);
  // This thread's scratch: [conv descriptor][V: AA x TB x csIn][M: AA x TB x csOut].
  f.get(scratch).get(tid).get(scratchBytes).i32Mul().i32Add().set(cd);
  f.get(cd).i32Const(DESC_BYTES).i32Add().set(V);
  f.get(TB).get(inRow).i32Mul().set(vStride);
  f.get(TB).get(outRow).i32Mul().set(mStride);
  f.get(V).get(vStride).i32Const(AA).i32Mul().i32Add().set(Mb);
  // The constant part of the per-xi GEMM descriptor (direct rows, no residual, no ReLU).
  const setField = (word: number, push: () => void): void => {
    f.get(cd);
    push();
    f.i32Store(word * 4);
  };
  setField(ConvDesc.kind, () => f.i32Const(Kind.conv));
  setField(ConvDesc.residual, () => f.i32Const(0));
  setField(ConvDesc.indirection, () => f.i32Const(0));
  setField(ConvDesc.channels, () => f.get(csIn));
  setField(ConvDesc.taps, () => f.i32Const(1));
  setField(ConvDesc.inRowBytes, () => f.get(inRow));
  setField(ConvDesc.outRowBytes, () => f.get(outRow));
  setField(ConvDesc.panels, () => f.get(panels));
  setField(ConvDesc.relu, () => f.i32Const(0));
  setField(ConvDesc.panelBytes, () => f.get(panelBytes));
  setField(ConvDesc.tileBlock, () => f.i32Const(1 << 20));

  const tileCoords = (): void => {
    f.get(t).get(TY).get(TX).i32Mul().i32DivU().set(nn);
    f.get(t).get(TY).get(TX).i32Mul().i32RemU().set(rr);
    f.get(rr).get(TX).i32DivU().set(ty);
    f.get(rr).get(TX).i32RemU().set(tx);
  };

  // Chunks of tiles, or (splitPanels) of output panels: then every chunk transforms all tiles and the
  // GEMMs and the output transform cover only the chunk's panels [pLo, pHi) = bytes [cLo, cHi) of a row.
  // Tile chunks are cut in units of `mr` tiles, so that the GEMM rows of a chunk fill whole micro-tiles.
  const chunkTotal = f.local(I32);
  f.get(panels).get(total).i32Const(mr - 1).i32Add().i32Const(mr).i32DivU().get(splitPanels).select().set(chunkTotal);
  const range = { start: f.local(I32), end: f.local(I32) };
  const pLo = f.local(I32), pHi = f.local(I32), cLo = f.local(I32), cHi = f.local(I32), rowTiles = f.local(I32);
  forEachChunk(f, d, chunkTotal, nth, (start, end) => {
    f.get(splitPanels).if();
    f.i32Const(0).set(range.start).get(total).set(range.end);
    f.get(start).set(pLo).get(end).set(pHi);
    f.else();
    f.get(start).i32Const(mr).i32Mul().set(range.start);
    f.get(end).i32Const(mr).i32Mul().get(total).get(end).i32Const(mr).i32Mul().get(total).i32LtS().select().set(range.end);
    f.i32Const(0).set(pLo).get(panels).set(pHi);
    f.end();
    f.get(pLo).i32Const(32).i32Mul().set(cLo).get(pHi).i32Const(32).i32Mul().set(cHi);
    f.get(range.start).set(b0);
    f.block().loop();
    {
      f.get(b0).get(range.end).i32GeS().brIf(1);
      f.get(range.end).get(b0).i32Sub().tee(cnt).get(TB).get(cnt).get(TB).i32LtS().select().set(cnt);
      f.get(b0).get(cnt).i32Add().set(bEnd);

      // 1. Input transform: V[xi][j] = (B^T d B)[xi] for the A x A input patch d of tile b0 + j.
      f.i32Const(0);
      forLoop(f, j, cnt, 1, () => {
        f.get(b0).get(j).i32Add().set(t);
        tileCoords();
        for (let a = 0; a < A; a++) {
          f.get(ty).i32Const(TM).i32Mul().get(PT).i32Sub().i32Const(a).i32Add().set(iy);
          for (let b = 0; b < A; b++) {
            f.get(tx).i32Const(TM).i32Mul().get(PL).i32Sub().i32Const(b).i32Add().set(ix);
            f.get(nn).get(H).i32Mul().get(iy).i32Add().get(W).i32Mul().get(ix).i32Add().get(inRow).i32Mul().get(inp).i32Add();
            f.get(zeroAddr);
            f.get(iy).i32Const(0).i32GeS().get(iy).get(H).i32LtS().i32And();
            f.get(ix).i32Const(0).i32GeS().i32And().get(ix).get(W).i32LtS().i32And();
            f.select().set(p[a * A + b]!);
          }
        }
        f.get(j).get(inRow).i32Mul().set(base);
        f.i32Const(0);
        forLoop(f, c, inRow, 16, () => {
          for (let k = 0; k < AA; k++) f.get(p[k]!).get(c).i32Add().v128Load().set(dv[k]!);
          // t = B^T d, column by column
          for (let b = 0; b < A; b++) {
            const col = Array.from({ length: A }, (_, a) => dv[a * A + b]!);
            for (let k = 0; k < A; k++) {
              emitCombination(f, tr.bt[k]!, col, constant);
              f.set(tv[k * A + b]!);
            }
          }
          // V = t B, row by row, stored at V + xi * vStride + base + c
          for (let k = 0; k < A; k++) {
            const row = Array.from({ length: A }, (_, b) => tv[k * A + b]!);
            for (let l = 0; l < A; l++) {
              f.get(V).get(base).i32Add().get(c).i32Add().get(vStride).i32Const(k * A + l).i32Mul().i32Add();
              emitCombination(f, tr.bt[l]!, row, constant);
              f.v128Store(0);
            }
          }
        });
      });

      // 2. AA GEMMs: M[xi] (cnt x csOut) = V[xi] (cnt x csIn) x U[xi] (csIn x csOut).
      setField(ConvDesc.pixels, () => f.get(cnt));
      f.get(cnt).i32Const(mr - 1).i32Add().i32Const(mr).i32DivU().set(rowTiles);
      f.i32Const(0).set(xi);
      f.loop();
      {
        setField(ConvDesc.input, () => f.get(V).get(xi).get(vStride).i32Mul().i32Add());
        setField(ConvDesc.output, () => f.get(Mb).get(xi).get(mStride).i32Mul().i32Add());
        setField(ConvDesc.weights, () => f.get(U).get(xi).get(panels).get(panelBytes).i32Mul().i32Mul().i32Add());
        f.get(cd).i32Const(0).get(rowTiles).get(pLo).get(pHi).call(convRange);
        f.get(xi).i32Const(1).i32Add().tee(xi).i32Const(AA).i32LtS().brIf(0);
      }
      f.end();

      // 3. Output transform: Y = A^T M A + bias (+ residual), ReLU, into the valid pixels of the tile.
      f.i32Const(0);
      forLoop(f, j, cnt, 1, () => {
        f.get(b0).get(j).i32Add().set(t);
        tileCoords();
        f.get(OH).get(ty).i32Const(TM).i32Mul().i32Sub().set(rowsLeft);
        f.get(OW).get(tx).i32Const(TM).i32Mul().i32Sub().set(colsLeft);
        f.get(nn).get(OH).i32Mul().get(ty).i32Const(TM).i32Mul().i32Add().get(OW).i32Mul().get(tx).i32Const(TM).i32Mul().i32Add().get(outRow).i32Mul().set(r00);
        f.get(out).get(r00).i32Add().set(o00);
        f.get(res).get(r00).i32Add().set(r00);
        f.get(Mb).get(j).get(outRow).i32Mul().i32Add().set(base);
        f.get(cLo);
        forLoop(f, c, cHi, 16, () => {
          for (let k = 0; k < AA; k++) f.get(base).get(c).i32Add().get(mStride).i32Const(k).i32Mul().i32Add().v128Load().set(dv[k]!);
          // s = A^T M, column by column (TM x A)
          for (let b = 0; b < A; b++) {
            const col = Array.from({ length: A }, (_, a) => dv[a * A + b]!);
            for (let i = 0; i < TM; i++) {
              emitCombination(f, tr.at[i]!, col, constant);
              f.set(tv[i * A + b]!);
            }
          }
          f.get(bias).get(c).i32Add().v128Load().set(bv);
          // Pixel (i, jj) of the tile sits at +i*OW rows and +jj pixels.
          const pixelOffset = (i: number, jj: number): void => {
            f.get(c);
            if (i) f.get(OW).get(outRow).i32Mul().i32Const(i).i32Mul().i32Add();
            if (jj) f.get(outRow).i32Const(jj).i32Mul().i32Add();
          };
          for (let i = 0; i < TM; i++) {
            if (i > 0) f.get(rowsLeft).i32Const(i).i32GtS().if();
            const row = Array.from({ length: A }, (_, b) => tv[i * A + b]!);
            for (let jj = 0; jj < TM; jj++) {
              if (jj > 0) f.get(colsLeft).i32Const(jj).i32GtS().if();
              emitCombination(f, tr.at[jj]!, row, constant);
              f.get(bv).f32x4Add().set(yv);
              f.get(res).if();
              f.get(yv).get(r00); pixelOffset(i, jj); f.i32Add().v128Load().f32x4Add().set(yv);
              f.end();
              f.get(relu).if();
              f.get(yv).v128Const0().f32x4Pmax().set(yv);
              f.end();
              f.get(o00); pixelOffset(i, jj); f.i32Add().get(yv).v128Store();
              if (jj > 0) f.end();
            }
            if (i > 0) f.end();
          }
        });
      });
      f.get(bEnd).set(b0);
      f.br(0);
    }
    f.end().end();
  }, WINOGRAD_CHUNKS_PER_THREAD);
  return index;
}

function emitRemap(m: ModuleBuilder): number {
  const { f, index } = m.func('remap', [I32, I32, I32]);
  const [d, tid, nth] = f.params as [Local, Local, Local];
  const F = RemapDesc;
  const inp = loadField(f, d, F.input), out = loadField(f, d, F.output);
  const N = loadField(f, d, F.n), C = loadField(f, d, F.c), H = loadField(f, d, F.h), W = loadField(f, d, F.w);
  const csIn = loadField(f, d, F.csIn), OC = loadField(f, d, F.oc), OH = loadField(f, d, F.oh), OW = loadField(f, d, F.ow);
  const csOut = loadField(f, d, F.csOut), SC = loadField(f, d, F.sc), OFC = loadField(f, d, F.offC);
  const SY = loadField(f, d, F.sy), OFY = loadField(f, d, F.offY), SX = loadField(f, d, F.sx), OFX = loadField(f, d, F.offX);
  const value = f.local(F32);
  f.get(d).f32Load(F.valueBits * 4).set(value);
  const total = f.local(I32), q = f.local(I32), nn = f.local(I32), y = f.local(I32), x = f.local(I32);
  const iy = f.local(I32), ix = f.local(I32), ic = f.local(I32), c = f.local(I32), inside = f.local(I32);
  const row = f.local(I32), o = f.local(I32);
  f.get(N).get(OH).i32Mul().get(OW).i32Mul().set(total);
  forEachChunk(f, d, total, nth, (start, end) => {
    f.get(start);
    forLoop(f, q, end, 1, () => {
      f.get(q).get(OH).get(OW).i32Mul().i32DivU().set(nn);
      f.get(q).get(OH).get(OW).i32Mul().i32RemU().get(OW).i32DivU().set(y);
      f.get(q).get(OW).i32RemU().set(x);
      f.get(y).get(SY).i32Mul().get(OFY).i32Add().set(iy);
      f.get(x).get(SX).i32Mul().get(OFX).i32Add().set(ix);
      f.get(iy).i32Const(0).i32GeS().get(iy).get(H).i32LtS().i32And();
      f.get(ix).i32Const(0).i32GeS().i32And().get(ix).get(W).i32LtS().i32And().set(inside);
      f.get(nn).get(H).i32Mul().get(iy).i32Add().get(W).i32Mul().get(ix).i32Add().get(csIn).i32Mul().i32Const(4).i32Mul().get(inp).i32Add().set(row);
      f.get(q).get(csOut).i32Mul().i32Const(4).i32Mul().get(out).i32Add().set(o);
      f.i32Const(0);
      forLoop(f, c, csOut, 1, () => {
        f.get(o).get(c).i32Const(4).i32Mul().i32Add();
        f.get(c).get(OC).i32LtS().if(F32);
        {
          f.get(c).get(SC).i32Mul().get(OFC).i32Add().set(ic);
          f.get(inside).get(ic).i32Const(0).i32GeS().i32And().get(ic).get(C).i32LtS().i32And().if(F32);
          f.get(row).get(ic).i32Const(4).i32Mul().i32Add().f32Load();
          f.else();
          f.get(value);
          f.end();
        }
        f.else();
        f.f32Const(0);
        f.end();
        f.f32Store();
      });
    });
  });
  return index;
}

/**
 * The whole module. Exports `run(prog, nsteps, tid, nth, flags)`: flags bit 0 = this thread may sleep in
 * the barrier (false on a browser main thread), bit 1 = thread 0 calls the imported `mark(step)` after
 * each step's barrier (per-layer timing), bit 2 = call the imported `wake()` on entry. `nth` is the most threads that may take part (it sizes the work
 * chunks); the caller sets STEP, STATE and the descriptors' counters before the first thread enters.
 */
export function buildKernelModule(opts: KernelOptions, maxPages: number, sharedMemory: boolean): Uint8Array {
  const m = new ModuleBuilder();
  m.importMemory('env', 'memory', 1, maxPages, sharedMemory);
  const mark = m.importFunc('env', 'mark', [I32], []);
  const wake = m.importFunc('env', 'wake', [], []);
  const barrier = emitBarrier(m);
  const kernels: number[] = [];
  const convRange = emitConvRange(m, opts);
  kernels[Kind.conv] = emitConv(m, convRange, opts.mr);
  kernels[Kind.winograd] = emitWinograd(m, convRange, opts.mr, WINOGRAD_F2);
  kernels[Kind.winograd4] = emitWinograd(m, convRange, opts.mr, WINOGRAD_F4);
  kernels[Kind.maxPool] = emitPool(m, false);
  kernels[Kind.avgPool] = emitPool(m, true);
  kernels[Kind.globalAvgPool] = emitGlobalAvgPool(m);
  kernels[Kind.add] = emitElementwise(m, true);
  kernels[Kind.relu] = emitElementwise(m, false);
  kernels[Kind.affine] = emitAffine(m);
  kernels[Kind.shortcutA] = emitShortcutA(m);
  kernels[Kind.remap] = emitRemap(m);
  m.setTable(kernels);
  const kernelType = m.typeIndex([I32, I32, I32], []);

  const { f, index: run } = m.func('run', [I32, I32, I32, I32, I32]);
  const [prog, nsteps, tid, nth, flags] = f.params as [Local, Local, Local, Local, Local];
  const i = f.local(I32), desc = f.local(I32);
  // Start at the step the participants are on (a worker may join mid-run). bit 2: the caller's workers are
  // woken only now, once this thread holds its place at the first step (its per-step marks are complete).
  f.i32Const(STEP_ADDR).i32AtomicLoad();
  f.get(flags).i32Const(4).i32And().if().call(wake).end();
  forLoop(f, i, nsteps, 1, () => {
    f.get(prog).get(i).i32Const(DESC_BYTES).i32Mul().i32Add().set(desc);
    f.get(desc).get(tid).get(nth).get(desc).i32Load().callIndirect(kernelType);
    f.get(desc).get(i).get(flags).i32Const(1).i32And().call(barrier);
    f.get(flags).i32Const(1).i32ShrU().get(tid).i32Eqz().i32And().if();
    f.get(i).call(mark);
    f.end();
  });
  m.export('run', run);
  return m.toBytes();
}

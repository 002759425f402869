// f32-igemm-4x8: the inference conv / fc kernel, an indirect GEMM over NHWC rows (XNNPACK's recipe). Weights
// are packed once in panels of 8 output channels, bias first; each tile of MR output pixels (4 by default)
// x 8 channels keeps its sums in 2 * MR v128 accumulators (the tile of f32-gemm-4x8.ts), reading its input
// rows directly (1x1 stride 1, fc) or through an indirection table (one row pointer per pixel and tap,
// padding pointing at a zero row). The output step adds the residual and applies ReLU.
import { forBlocks, forLoop, loadField } from './builders';
import { IgemmDesc } from './descriptors';
import { I32, type Local, type ModuleBuilder, V128 } from './emit';
import { emitTileStep, tileLocals } from './f32-gemm-4x8';
import { forEachChunk } from './parallel';

/** Options of the inference module's GEMM micro-kernel. */
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

/**
 * The micro-kernel driver over tiles [t0, t1) (of MR pixels) and panels [p0, p1) (of 8 output channels):
 * bias-initialised accumulators, residual + ReLU on the way out. A function of its own (desc, t0, t1, p0, p1)
 * because the Winograd kernels call it for their GEMMs.
 */
export function emitF32IgemmRange(m: ModuleBuilder, opts: KernelOptions): number {
  const MR = opts.mr;
  const { f, index } = m.func('f32-igemm-range', [I32, I32, I32, I32, I32]);
  const [d, t0, t1, p0, p1] = f.params as [Local, Local, Local, Local, Local];
  const inp = loadField(f, d, IgemmDesc.input);
  const out = loadField(f, d, IgemmDesc.output);
  const res = loadField(f, d, IgemmDesc.residual);
  const wts = loadField(f, d, IgemmDesc.weights);
  const ind = loadField(f, d, IgemmDesc.indirection);
  const P = loadField(f, d, IgemmDesc.pixels);
  const C = loadField(f, d, IgemmDesc.channels);
  const taps = loadField(f, d, IgemmDesc.taps);
  const rs = loadField(f, d, IgemmDesc.inRowBytes);
  const ocs = loadField(f, d, IgemmDesc.outRowBytes);
  const relu = loadField(f, d, IgemmDesc.relu);
  const pstride = loadField(f, d, IgemmDesc.panelBytes);
  const TB = loadField(f, d, IgemmDesc.tileBlock);

  const tb = f.local(I32), te = f.local(I32), p = f.local(I32), t = f.local(I32);
  const wp = f.local(I32), w = f.local(I32), ipt = f.local(I32), k = f.local(I32), n = f.local(I32);
  const o = f.local(I32), rp = f.local(I32), valid = f.local(I32);
  const tl = tileLocals(f, MR);
  const { rows: a, acc, b0: w0, b1: w1 } = tl;
  const zero = f.local(V128);
  f.v128Const0().set(zero);

  // One channel step: two weight vectors (8 output channels), then per row a splat of the row's channel times both.
  const channelStep = (u: number): void => emitTileStep(f, tl, opts.relaxedSimd, MR, w, u * 32, u * 4);
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
  f.get(t0);
  forBlocks(f, tb, t1, TB, te, () => {
    f.get(p0);
    forLoop(f, p, p1, 1, () => {
      f.get(wts).get(p).get(pstride).i32Mul().i32Add().set(wp);
      f.get(tb);
      forLoop(f, t, te, 1, tile);
    });
  });
  return index;
}

/** The conv / fc kernel: chunks of tiles (or of panels when the descriptor says so) through the range function. */
export function emitF32Igemm(m: ModuleBuilder, range: number, mr: number): number {
  const { f, index } = m.func('f32-igemm-4x8', [I32, I32, I32]);
  const [d, , nth] = f.params as [Local, Local, Local];
  const P = loadField(f, d, IgemmDesc.pixels), npan = loadField(f, d, IgemmDesc.panels);
  const splitPanels = loadField(f, d, IgemmDesc.splitPanels);
  const ntiles = f.local(I32), total = f.local(I32);
  f.get(P).i32Const(mr - 1).i32Add().i32Const(mr).i32DivU().set(ntiles);
  f.get(npan).get(ntiles).get(splitPanels).select().set(total);
  forEachChunk(f, d, total, nth, (start, end) => {
    f.get(d);
    f.get(splitPanels).if(I32).i32Const(0).else().get(start).end();
    f.get(splitPanels).if(I32).get(ntiles).else().get(end).end();
    f.get(splitPanels).if(I32).get(start).else().i32Const(0).end();
    f.get(splitPanels).if(I32).get(end).else().get(npan).end();
    f.call(range);
  });
  return index;
}

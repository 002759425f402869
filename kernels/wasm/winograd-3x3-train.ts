// Winograd F(2x2,3x3), F(4x4,3x3) and F(7x7,3x3) for training: 3x3 stride-1 pad-1 convs over CHWN activations
// ([C, H, W, N], the batch innermost), vectorised over the images (4 at a time, then one at a time for a
// batch that 4 does not divide). The same transforms as the inference kernels (winograd-3x3.ts: B^T, G,
// A^T), here for the three passes of a training step:
//   forward          y  = A^T [ U . (B^T x B) ] A          U[xi][c][m] = (G w[m][c] G^T)[xi]  (K-major)
//   backward data    dx = the same with U'[xi][c][m] = (G rot180(w[m][c]) G^T)[xi] on dy (pad 1 = K-1-pad)
//   backward weights dW[m][c] = G^T [ sum over tiles (A dy A^T)[m] . (B^T x B)[c] ] G   (the adjoint of forward)
// Each pass works on blocks of `tb` tiles (tiles x N columns): the transforms write V (and M or DY) in a
// scratch as alpha^2 matrices of [channels][tb * N], and the alpha^2 products in between are the training
// GEMMs of f32-gemm-4x8.ts (gemm_tn on the K-major transformed weights for convs; for the weight gradient
// gemm_nn on DY and on V turned K-major by x32-transpose.ts).
// Tiles past the image read zeros (a zero area of N floats) and write to a sink (N floats), so the inner
// loops have no branches.
import { forLoop } from './builders';
import { F32, type FuncBuilder, I32, type Local, type ModuleBuilder, V128 } from './emit';
import type { WinogradTransform } from './winograd-3x3';

/**
 * Winograd F(m x m, 3 x 3) transforms from m + 1 finite interpolation points and infinity (Toom-Cook, as
 * Lavin & Gray derive theirs): A^T[i][j] = p_j^i, G[j][k] = p_j^k / f_j with f_j = prod_{l != j} (p_j - p_l),
 * B^T row j = the coefficients of prod_{l != j} (x - p_l), and the row of infinity those of prod_l (x - p_l).
 * Rows are signed so that f_j > 0. Points 0, +-1, +-2 give WINOGRAD_F4X4_3X3 exactly.
 */
export function winogradFromPoints(points: readonly number[]): WinogradTransform {
  const n = points.length, A = n + 1, m = n - 1;
  /** Coefficients (constant term first) of prod over the points but `skip` of (x - p). */
  const poly = (skip: number): number[] => {
    let c = [1];
    points.forEach((p, l) => {
      if (l === skip) return;
      const next = new Array<number>(c.length + 1).fill(0);
      c.forEach((v, t) => { next[t + 1]! += v; next[t]! -= p * v; });
      c = next;
    });
    return c;
  };
  const bt: number[][] = [], g: number[][] = [];
  points.forEach((p, j) => {
    let f = 1;
    points.forEach((q, l) => { if (l !== j) f *= p - q; });
    const s = Math.sign(f);
    bt.push([...poly(j).map((v) => s * v), 0]);
    g.push([0, 1, 2].map((k) => p ** k / Math.abs(f)));
  });
  bt.push(poly(-1));
  g.push([0, 0, 1]);
  const at = Array.from({ length: m }, (_, i) => [...points.map((p) => p ** i), i === m - 1 ? 1 : 0]);
  const clean = (rows: number[][]): number[][] => rows.map((r) => r.map((v) => (Object.is(v, -0) ? 0 : v)));
  if (bt.some((r) => r.length !== A)) throw new Error('winogradFromPoints: bad B^T');
  return { m, bt: clean(bt), g: clean(g), at: clean(at) };
}

/**
 * The training engine's F(4x4,3x3): points 0, 1, -1, 1/2, -2 (and infinity) instead of Lavin & Gray's 0, +-1,
 * +-2. Better conditioned (Barabasz et al., "Error analysis and improving the accuracy of Winograd convolution
 * for deep neural networks", 2020): measured per conv layer in float32 against float64 (C = M = 16..64,
 * 4x4 to 28x28), about 1.5x lower RMS error and 2x lower largest error (kernels/wasm/README.md, Accuracy).
 */
export const WINOGRAD_F4X4_3X3_TRAIN: WinogradTransform = winogradFromPoints([0, 1, -1, 0.5, -2]);

/**
 * F(7x7,3x3) for the layers F(4x4) covers badly (14x14 and 7x7: 16 and 4 tiles of 36 products where 4 and 1
 * of 81 cover them exactly, 0.56 of the products). 30x the float32 error of F(4x4) (about 2e-5 relative RMS
 * per layer at C = 32 and 64; the points chosen of three sets by that error), still far below the noise of
 * a minibatch gradient. Points 0, 1, -1, 1/2, -1/2, 2, -2, -1/4.
 */
export const WINOGRAD_F7X7_3X3_TRAIN: WinogradTransform = winogradFromPoints([0, 1, -1, 0.5, -0.5, 2, -2, -0.25]);

/** Most tiles in one block (the caller caps its block size at this). */
const MAX_BLOCK_TILES = 256;
/** The largest alpha^2 of the tiles generated (F(7x7): 9 x 9). */
const MAX_AA = 81;
/** Where the block's table of window offsets starts in the scratch: after one tile's intermediate transform (up to MAX_AA vectors). */
const TABLE_AT = 2048;
/**
 * Bytes at the start of the scratch: one tile's intermediate transform (alpha^2 vectors), then the block's
 * window offsets (alpha^2 per tile), computed once per block instead of once per tile and channel.
 */
const TMP_BYTES = TABLE_AT + MAX_BLOCK_TILES * MAX_AA * 4;

/** Floats of one block's transformed input and output by default (1 MB; 256 KB and 4 MB measured slower or no faster). */
const WINOGRAD_BLOCK_FLOATS = 1 << 18;

/** The arguments wino_conv/wino_wgrad take for their blocks, and the scratch they need. */
export interface WinogradBlockLayout {
  /** Tiles per block. */
  readonly tb: number;
  /** Floats per row of V, M and DY (>= tb * n). */
  readonly ldv: number;
  /** Bytes from one alpha^2 plane of V (C rows) to the next, and of M or DY (M rows). */
  readonly vXi: number;
  readonly mXi: number;
  readonly scratchBytes: number;
}

/**
 * The block layout of an F(m x m, 3 x 3) pass with C input and M output channels on n images: as many tiles
 * per block as keep V and M (or DY) near `blockFloats`; rows of ldv floats and alpha^2 planes per matrix,
 * padded so that no two rows or planes read together start a multiple of 4 KB apart (they would share the
 * L1 cache's sets and evict each other). The scratch holds TMP_BYTES, V's and M's planes, then one plane of
 * V turned K-major (tb * n x C floats) for the weight gradient's GEMMs.
 */
export function winogradBlockLayout(m: number, C: number, M: number, n: number, blockFloats = WINOGRAD_BLOCK_FLOATS): WinogradBlockLayout {
  const aa = (m + 2) * (m + 2);
  const tb = Math.max(1, Math.min(MAX_BLOCK_TILES, Math.floor(blockFloats / (aa * (C + M) * n))));
  let ldv = tb * n + 16;
  while ((ldv * 4) % 4096 < 256 || (ldv * 4) % 4096 > 4096 - 256) ldv += 16;
  const plane = (rows: number): number => Math.ceil((rows * ldv * 4) / 4096) * 4096 + 5 * 64;
  const vXi = plane(C), mXi = plane(M);
  return { tb, ldv, vXi, mXi, scratchBytes: TMP_BYTES + aa * (vXi + mXi) + 4 * tb * n * C };
}

/**
 * Whether the two halves of a transform pass their intermediate (alpha^2 vectors for F(4x4)) through the
 * scratch's first TMP_BYTES rather than locals: V8 cannot keep 36 + 6 vectors in 16 registers and spills
 * worse than these stores and loads (measured on F(4x4): about 10-20% faster; F(2x2) keeps its 16 in locals,
 * which is faster there).
 */
const viaTmp = (tr: WinogradTransform): boolean => tr.m > 2;

/** One lane width of the generated transforms: 4 images (v128) or one (f32). */
interface Lanes {
  readonly vec: boolean;
  readonly type: typeof V128 | typeof F32;
  /** A local holding the splatted (or scalar) constant c, created at the top of the function. */
  readonly constant: (c: number) => Local;
  /** Terms with a coefficient other than +-1 as one f32x4.relaxed_madd (vector lanes, where the runtime has it). */
  readonly fma: boolean;
}

function load(f: FuncBuilder, l: Lanes): void {
  if (l.vec) f.v128Load(); else f.f32Load();
}
function store(f: FuncBuilder, l: Lanes): void {
  if (l.vec) f.v128Store(); else f.f32Store();
}
function add(f: FuncBuilder, l: Lanes): void {
  if (l.vec) f.f32x4Add(); else f.f32Add();
}
function sub(f: FuncBuilder, l: Lanes): void {
  if (l.vec) f.f32x4Sub(); else f.f32Sub();
}
function mul(f: FuncBuilder, l: Lanes): void {
  if (l.vec) f.f32x4Mul(); else f.f32Mul();
}
function zero(f: FuncBuilder, l: Lanes): void {
  if (l.vec) f.v128Const0(); else f.f32Const(0);
}

/**
 * Pushes sum_k coefs[k] * xs[k]: +-1 as add/sub, other coefficients multiplied by a constant local. The
 * same rules as winograd-3x3.ts's emitCombination, for either lane width. With `l.fma` the terms with other
 * coefficients are multiply-adds onto the sum of the rest (one f32x4.relaxed_madd each, nested: the
 * operands of the outer ones are pushed first).
 */
function emitLaneCombination(f: FuncBuilder, l: Lanes, coefs: readonly number[], xs: readonly Local[]): void {
  const terms = coefs.map((c, k) => ({ c, x: xs[k]! })).filter((t) => t.c !== 0);
  if (terms.length === 0) {
    zero(f, l);
    return;
  }
  if (l.fma) {
    // Unit terms first (the innermost sum), then one multiply-add per other term.
    const unit = terms.filter((t) => Math.abs(t.c) === 1);
    const other = terms.filter((t) => Math.abs(t.c) !== 1);
    if (unit.length === 0) unit.push(other.shift()!);
    const nest = (k: number): void => {
      if (k < 0) {
        emitPlain(f, l, unit);
        return;
      }
      const t = other[k]!;
      f.get(t.x).get(l.constant(t.c));
      nest(k - 1);
      f.f32x4RelaxedMadd();
    };
    nest(other.length - 1);
    return;
  }
  emitPlain(f, l, terms);
}

/** sum of c * x over terms (c != 0): +-1 as add/sub, others through a multiply by a constant local. */
function emitPlain(f: FuncBuilder, l: Lanes, terms: readonly { c: number; x: Local }[]): void {
  const firstIndex = Math.max(0, terms.findIndex((t) => t.c > 0));
  const first = terms[firstIndex]!;
  const rest = terms.filter((_, k) => k !== firstIndex);
  if (first.c > 0) {
    f.get(first.x);
    if (first.c !== 1) { f.get(l.constant(first.c)); mul(f, l); }
  } else {
    zero(f, l);
    f.get(first.x);
    if (first.c !== -1) { f.get(l.constant(-first.c)); mul(f, l); }
    sub(f, l);
  }
  for (const t of rest) {
    f.get(t.x);
    if (Math.abs(t.c) !== 1) { f.get(l.constant(Math.abs(t.c))); mul(f, l); }
    if (t.c > 0) add(f, l); else sub(f, l);
  }
}

/**
 * Constant locals for both lane widths, materialised at the top of the function for the coefficients used
 * (their absolute values, and with `fma` the signed values for the vector lanes' multiply-adds).
 */
function laneSets(f: FuncBuilder, coefs: Iterable<number>, fma = false): [Lanes, Lanes] {
  const vc = new Map<number, Local>();
  const sc = new Map<number, Local>();
  for (const c of coefs) {
    const a = Math.abs(c);
    if (a === 0 || a === 1) continue;
    if (!vc.has(a)) {
      const v = f.local(V128), s = f.local(F32);
      f.f32Const(a).tee(s).f32x4Splat().set(v);
      vc.set(a, v);
      sc.set(a, s);
    }
    if (fma && c < 0 && !vc.has(c)) {
      const v = f.local(V128);
      f.f32Const(c).f32x4Splat().set(v);
      vc.set(c, v);
    }
  }
  const get = (m: Map<number, Local>) => (c: number): Local => {
    const l = m.get(c);
    if (!l) throw new Error(`winograd: constant ${c} was not materialised`);
    return l;
  };
  return [{ vec: true, type: V128, constant: get(vc), fma }, { vec: false, type: F32, constant: get(sc), fma: false }];
}

/** Runs body(lanes, byteOffset) over the N floats of a pixel: 4 at a time, then one at a time. */
function laneLoop(f: FuncBuilder, lanes: [Lanes, Lanes], nvBytes: Local, nBytes: Local, o: Local, body: (l: Lanes) => void): void {
  f.i32Const(0);
  forLoop(f, o, nvBytes, 16, () => body(lanes[0]));
  f.get(nvBytes);
  forLoop(f, o, nBytes, 4, () => body(lanes[1]));
}

/** Locals both kernels share: geometry and the scratch layout. */
interface Geometry {
  readonly C: Local; readonly M: Local; readonly N: Local; readonly H: Local; readonly W: Local; readonly TB: Local;
  readonly TX: Local; readonly T: Local; readonly nb: Local; readonly nvb: Local; readonly hwnb: Local;
  readonly ldv: Local; readonly ldvb: Local; readonly vXi: Local; readonly mXi: Local;
}

function geometry(f: FuncBuilder, tr: WinogradTransform, C: Local, M: Local, N: Local, H: Local, W: Local, TB: Local, ldv: Local, vXi: Local, mXi: Local): Geometry {
  const TM = tr.m;
  const g = {
    C, M, N, H, W, TB, TX: f.local(I32), T: f.local(I32), nb: f.local(I32), nvb: f.local(I32), hwnb: f.local(I32),
    ldv, ldvb: f.local(I32), vXi, mXi,
  };
  f.get(W).i32Const(TM - 1).i32Add().i32Const(TM).i32DivU().set(g.TX);
  f.get(H).i32Const(TM - 1).i32Add().i32Const(TM).i32DivU().get(g.TX).i32Mul().set(g.T);
  f.get(N).i32Const(4).i32Mul().set(g.nb);
  f.get(N).i32Const(-4).i32And().i32Const(4).i32Mul().set(g.nvb);
  f.get(H).get(W).i32Mul().get(g.nb).i32Mul().set(g.hwnb);
  f.get(g.ldv).i32Const(4).i32Mul().set(g.ldvb);
  return g;
}

/**
 * Per tile of the block: byte offsets of a `rows` x `cols` window of pixels starting at (ty*TM + dy0,
 * tx*TM + dx0) inside the H x W plane, or -1 where the pixel is outside.
 */
function windowOffsets(f: FuncBuilder, g: Geometry, TM: number, t: Local, rows: number, cols: number, d0: number, offs: readonly Local[]): void {
  const ty = f.local(I32), tx = f.local(I32), iy = f.local(I32), ix = f.local(I32);
  f.get(t).get(g.TX).i32DivU().set(ty);
  f.get(t).get(g.TX).i32RemU().set(tx);
  for (let a = 0; a < rows; a++) {
    f.get(ty).i32Const(TM).i32Mul().i32Const(a + d0).i32Add().set(iy);
    for (let b = 0; b < cols; b++) {
      f.get(tx).i32Const(TM).i32Mul().i32Const(b + d0).i32Add().set(ix);
      f.get(iy).get(g.W).i32Mul().get(ix).i32Add().get(g.nb).i32Mul();
      f.i32Const(-1);
      f.get(iy).i32Const(0).i32GeS().get(iy).get(g.H).i32LtS().i32And();
      f.get(ix).i32Const(0).i32GeS().i32And().get(ix).get(g.W).i32LtS().i32And();
      f.select().set(offs[a * cols + b]!);
    }
  }
}

/** Fills the block's offset table: windowOffsets of tiles b0 .. b0 + cnt - 1, rows * cols entries each. */
function emitOffsetTable(f: FuncBuilder, g: Geometry, TM: number, b0: Local, cnt: Local, rows: number, cols: number, d0: number, offs: readonly Local[], table: Local): void {
  const j = f.local(I32), t = f.local(I32), e = f.local(I32);
  f.i32Const(0);
  forLoop(f, j, cnt, 1, () => {
    f.get(b0).get(j).i32Add().set(t);
    windowOffsets(f, g, TM, t, rows, cols, d0, offs);
    f.get(table).get(j).i32Const(rows * cols * 4).i32Mul().i32Add().set(e);
    offs.forEach((o, k) => { f.get(e).get(o).i32Store(k * 4); });
  });
}

/** Loads tile j's window offsets from the table. */
function loadOffsets(f: FuncBuilder, table: Local, j: Local, offs: readonly Local[]): void {
  const e = f.local(I32);
  f.get(table).get(j).i32Const(offs.length * 4).i32Mul().i32Add().set(e);
  offs.forEach((o, k) => { f.get(e).i32Load(k * 4).set(o); });
}

/** p[k] = offs[k] >= 0 ? base + offs[k] : fallback. */
function windowAddresses(f: FuncBuilder, base: Local, fallback: Local, offs: readonly Local[], p: readonly Local[]): void {
  offs.forEach((off, k) => {
    f.get(base).get(off).i32Add().get(fallback).get(off).i32Const(0).i32GeS().select().set(p[k]!);
  });
}

/**
 * The input transform of one block: V[xi][c][j*N + n] = (B^T d B)[xi] for the alpha x alpha input window d of
 * tile b0 + j, image n, channel c (pad 1: the window starts one pixel up and left of the tile).
 */
function emitInputTransform(f: FuncBuilder, tr: WinogradTransform, lanes: [Lanes, Lanes], g: Geometry, x: Local, zeroArea: Local, V: Local, b0: Local, cnt: Local, tmp: Local): void {
  const TM = tr.m, A = TM + 2, AA = A * A;
  const j = f.local(I32), c = f.local(I32), xc = f.local(I32), dst = f.local(I32), o = f.local(I32), st = f.local(I32);
  const offs = Array.from({ length: AA }, () => f.local(I32));
  const p = Array.from({ length: AA }, () => f.local(I32));
  const dv = { v: Array.from({ length: A }, () => f.local(V128)), s: Array.from({ length: A }, () => f.local(F32)) };
  const tv = { v: Array.from({ length: AA }, () => f.local(V128)), s: Array.from({ length: AA }, () => f.local(F32)) };
  // Channel by channel, then tile by tile: neighbouring tiles' windows overlap, and each channel's rows
  // stream through the cache once per block (tile-major order read every channel's window from L3).
  const table = f.local(I32);
  f.get(tmp).i32Const(TABLE_AT).i32Add().set(table);
  emitOffsetTable(f, g, TM, b0, cnt, A, A, -1, offs, table);
  f.i32Const(0);
  forLoop(f, c, g.C, 1, () => {
    f.get(x).get(c).get(g.hwnb).i32Mul().i32Add().set(xc);
    f.i32Const(0);
    forLoop(f, j, cnt, 1, () => {
      loadOffsets(f, table, j, offs);
      windowAddresses(f, xc, zeroArea, offs, p);
      f.get(V).get(c).get(g.ldvb).i32Mul().i32Add().get(j).get(g.nb).i32Mul().i32Add().set(dst);
      laneLoop(f, lanes, g.nvb, g.nb, o, (l) => {
        const d = l.vec ? dv.v : dv.s;
        const tt = l.vec ? tv.v : tv.s;
        // t = B^T d, column by column (A loads per column); with viaTmp(tr) through a small buffer in L1
        for (let b = 0; b < A; b++) {
          for (let a = 0; a < A; a++) { f.get(p[a * A + b]!).get(o).i32Add(); load(f, l); f.set(d[a]!); }
          for (let k = 0; k < A; k++) {
            if (viaTmp(tr)) { f.get(tmp); emitLaneCombination(f, l, tr.bt[k]!, d); if (l.vec) f.v128Store((k * A + b) * 16); else f.f32Store((k * A + b) * 16); }
            else { emitLaneCombination(f, l, tr.bt[k]!, d); f.set(tt[k * A + b]!); }
          }
        }
        // V = t B, row by row, stored at dst + o + xi * vXi
        f.get(dst).get(o).i32Add().set(st);
        for (let k = 0; k < A; k++) {
          if (viaTmp(tr)) for (let b = 0; b < A; b++) { f.get(tmp); if (l.vec) f.v128Load((k * A + b) * 16); else f.f32Load((k * A + b) * 16); f.set(d[b]!); }
          const row = viaTmp(tr) ? d : Array.from({ length: A }, (_, b) => tt[k * A + b]!);
          for (let lq = 0; lq < A; lq++) {
            f.get(st);
            emitLaneCombination(f, l, tr.bt[lq]!, row);
            store(f, l);
            if (k * A + lq < AA - 1) f.get(st).get(g.vXi).i32Add().set(st);
          }
        }
      });
    });
  });
}

/**
 * Export `wino_conv_f{m}(x, y, U, scratch, zero, sink, C, M, N, H, W, tb, ldv, vXi, mXi, acc)`: y (+)= conv3x3(x)
 * with pad 1 and stride 1, CHWN, y of the same H x W; U = [alpha^2][C][M] transformed weights (K-major); zero and sink
 * N floats each. The scratch holds V ([alpha^2][C][ldv], planes vXi bytes apart) then M ([alpha^2][M][ldv],
 * mXi apart), ldv >= tb * N: the caller pads rows and planes so that they do not start at multiples of 4 KB
 * from each other (which would thrash the L1 cache's sets). gemmTN is gemm_tn's function index.
 */
export function emitWinogradConvTrain(m: ModuleBuilder, gemmTN: number, tr: WinogradTransform, relaxed = false): number {
  const TM = tr.m, A = TM + 2, AA = A * A;
  const { f, index } = m.func(`wino_conv_f${TM}`, Array<typeof I32>(16).fill(I32));
  const [x, y, U, scratch, zeroArea, sink, C, M, N, H, W, TB, ldv, vXi, mXi, acc] = f.params as Local[] as Local[];
  const lanes = laneSets(f, [...tr.bt.flat(), ...tr.at.flat()], relaxed);
  const g = geometry(f, tr, C!, M!, N!, H!, W!, TB!, ldv!, vXi!, mXi!);
  const tmp = scratch!, V = f.local(I32), Mb = f.local(I32), b0 = f.local(I32), cnt = f.local(I32), xi = f.local(I32);
  f.get(tmp).i32Const(TMP_BYTES).i32Add().set(V);
  const table = f.local(I32);
  f.get(tmp).i32Const(TABLE_AT).i32Add().set(table);
  f.get(V).get(g.vXi).i32Const(AA).i32Mul().i32Add().set(Mb);
  const j = f.local(I32), mm = f.local(I32), yc = f.local(I32), src = f.local(I32), o = f.local(I32), sp = f.local(I32);
  const offs = Array.from({ length: TM * TM }, () => f.local(I32));
  const q = Array.from({ length: TM * TM }, () => f.local(I32));
  const mv = { v: Array.from({ length: A }, () => f.local(V128)), s: Array.from({ length: A }, () => f.local(F32)) };
  const sv = { v: Array.from({ length: TM * A }, () => f.local(V128)), s: Array.from({ length: TM * A }, () => f.local(F32)) };

  f.i32Const(0).set(b0);
  f.block().loop();
  {
    f.get(b0).get(g.T).i32GeS().brIf(1);
    f.get(g.T).get(b0).i32Sub().tee(cnt).get(TB!).get(cnt).get(TB!).i32LtS().select().set(cnt);
    emitInputTransform(f, tr, lanes, g, x!, zeroArea!, V, b0, cnt, tmp);
    // alpha^2 GEMMs: M[xi] (M x cnt*N) = U[xi] (M x C, stored K-major: C x M) V[xi] (C x cnt*N)
    f.i32Const(0).set(xi);
    f.loop();
    {
      f.get(M!).get(cnt).get(N!).i32Mul().get(C!);
      f.get(U!).get(xi).get(M!).i32Mul().get(C!).i32Mul().i32Const(4).i32Mul().i32Add().get(M!);
      f.get(V).get(xi).get(g.vXi).i32Mul().i32Add().get(g.ldv);
      f.get(Mb).get(xi).get(g.mXi).i32Mul().i32Add().get(g.ldv);
      f.i32Const(0).call(gemmTN);
      f.get(xi).i32Const(1).i32Add().tee(xi).i32Const(AA).i32LtS().brIf(0);
    }
    f.end();
    // Output transform: y (+)= A^T M A into the tile's valid pixels (others go to the sink).
    // Channel by channel, then tile by tile (as the input transform: each channel's rows stream once).
    emitOffsetTable(f, g, TM, b0, cnt, TM, TM, 0, offs, table);
    f.i32Const(0);
    forLoop(f, mm, M!, 1, () => {
      f.get(y!).get(mm).get(g.hwnb).i32Mul().i32Add().set(yc);
      f.i32Const(0);
      forLoop(f, j, cnt, 1, () => {
        loadOffsets(f, table, j, offs);
        windowAddresses(f, yc, sink!, offs, q);
        f.get(Mb).get(mm).get(g.ldvb).i32Mul().i32Add().get(j).get(g.nb).i32Mul().i32Add().set(src);
        const body = (accumulate: boolean) => (l: Lanes): void => {
          const d = l.vec ? mv.v : mv.s;
          const s = l.vec ? sv.v : sv.s;
          // s = A^T M, column by column (A loads per column)
          for (let b = 0; b < A; b++) {
            f.get(src).get(o).i32Add().i32Const(0).i32Add().set(sp);
            for (let a = 0; a < A; a++) {
              f.get(sp);
              if (a * A + b > 0) f.get(g.mXi).i32Const(a * A + b).i32Mul().i32Add();
              load(f, l);
              f.set(d[a]!);
            }
            for (let i = 0; i < TM; i++) {
              if (viaTmp(tr)) { f.get(tmp); emitLaneCombination(f, l, tr.at[i]!, d); if (l.vec) f.v128Store((i * A + b) * 16); else f.f32Store((i * A + b) * 16); }
              else { emitLaneCombination(f, l, tr.at[i]!, d); f.set(s[i * A + b]!); }
            }
          }
          for (let i = 0; i < TM; i++) {
            if (viaTmp(tr)) for (let b = 0; b < A; b++) { f.get(tmp); if (l.vec) f.v128Load((i * A + b) * 16); else f.f32Load((i * A + b) * 16); f.set(d[b]!); }
            const row = viaTmp(tr) ? d : Array.from({ length: A }, (_, b) => s[i * A + b]!);
            for (let jj = 0; jj < TM; jj++) {
              f.get(q[i * TM + jj]!).get(o).i32Add();
              emitLaneCombination(f, l, tr.at[jj]!, row);
              if (accumulate) { f.get(q[i * TM + jj]!).get(o).i32Add(); load(f, l); add(f, l); }
              store(f, l);
            }
          }
        };
        f.get(acc!).if();
        laneLoop(f, lanes, g.nvb, g.nb, o, body(true));
        f.else();
        laneLoop(f, lanes, g.nvb, g.nb, o, body(false));
        f.end();
      });
    });
    f.get(b0).get(TB!).i32Add().set(b0);
    f.br(0);
  }
  f.end().end();
  return index;
}

/**
 * Export `wino_wgrad_f{m}(x, dy, S, scratch, zero, C, M, N, H, W, tb, ldv, vXi, mXi)`: S[xi][m][c] = sum over
 * tiles and images of (A dy A^T)[xi] (B^T x B)[xi], the Winograd-domain weight gradient (dW = G^T S G, see
 * `wino_wgrad_out`). dy and x as for wino_conv; the scratch as there, with DY in place of M, then room for
 * one plane of V turned K-major (tb * N x C floats). gemmNN and transpose are gemm_nn's and transpose's
 * function indices.
 */
export function emitWinogradWgradTrain(m: ModuleBuilder, gemmNN: number, transpose: number, tr: WinogradTransform, relaxed = false): number {
  const TM = tr.m, A = TM + 2, AA = A * A;
  const { f, index } = m.func(`wino_wgrad_f${TM}`, Array<typeof I32>(14).fill(I32));
  const [x, dy, S, scratch, zeroArea, C, M, N, H, W, TB, ldv, vXi, mXi] = f.params as Local[] as Local[];
  const lanes = laneSets(f, [...tr.bt.flat(), ...tr.at.flat()], relaxed);
  const g = geometry(f, tr, C!, M!, N!, H!, W!, TB!, ldv!, vXi!, mXi!);
  const tmp = scratch!, V = f.local(I32), D = f.local(I32), b0 = f.local(I32), cnt = f.local(I32), xi = f.local(I32);
  const K = f.local(I32), Vt = f.local(I32);
  f.get(tmp).i32Const(TMP_BYTES).i32Add().set(V);
  const table = f.local(I32);
  f.get(tmp).i32Const(TABLE_AT).i32Add().set(table);
  f.get(V).get(g.vXi).i32Const(AA).i32Mul().i32Add().set(D);
  f.get(D).get(g.mXi).i32Const(AA).i32Mul().i32Add().set(Vt);
  const j = f.local(I32), mm = f.local(I32), dyc = f.local(I32), dst = f.local(I32), o = f.local(I32), st = f.local(I32);
  const offs = Array.from({ length: TM * TM }, () => f.local(I32));
  const q = Array.from({ length: TM * TM }, () => f.local(I32));
  const dv = { v: Array.from({ length: TM }, () => f.local(V128)), s: Array.from({ length: TM }, () => f.local(F32)) };
  const tv = { v: Array.from({ length: A * TM }, () => f.local(V128)), s: Array.from({ length: A * TM }, () => f.local(F32)) };
  // A = at^T: row a of A holds at[i][a] for i < TM.
  const Acol = (a: number): number[] => tr.at.map((row) => row[a]!);

  f.i32Const(0).set(b0);
  f.block().loop();
  {
    f.get(b0).get(g.T).i32GeS().brIf(1);
    f.get(g.T).get(b0).i32Sub().tee(cnt).get(TB!).get(cnt).get(TB!).i32LtS().select().set(cnt);
    emitInputTransform(f, tr, lanes, g, x!, zeroArea!, V, b0, cnt, tmp);
    // dy transform: D[xi][m][j*N + n] = (A dy A^T)[xi] for the TM x TM output tile (zeros past the image).
    emitOffsetTable(f, g, TM, b0, cnt, TM, TM, 0, offs, table);
    f.i32Const(0);
    forLoop(f, mm, M!, 1, () => {
      f.get(dy!).get(mm).get(g.hwnb).i32Mul().i32Add().set(dyc);
      f.i32Const(0);
      forLoop(f, j, cnt, 1, () => {
        loadOffsets(f, table, j, offs);
        windowAddresses(f, dyc, zeroArea!, offs, q);
        f.get(D).get(mm).get(g.ldvb).i32Mul().i32Add().get(j).get(g.nb).i32Mul().i32Add().set(dst);
        laneLoop(f, lanes, g.nvb, g.nb, o, (l) => {
          const d = l.vec ? dv.v : dv.s;
          const tt = l.vec ? tv.v : tv.s;
          // t[a][jj] = sum_i A[a][i] dy[i][jj], column jj by column
          for (let jj = 0; jj < TM; jj++) {
            for (let i = 0; i < TM; i++) { f.get(q[i * TM + jj]!).get(o).i32Add(); load(f, l); f.set(d[i]!); }
            for (let a = 0; a < A; a++) {
              if (viaTmp(tr)) { f.get(tmp); emitLaneCombination(f, l, Acol(a), d); if (l.vec) f.v128Store((a * TM + jj) * 16); else f.f32Store((a * TM + jj) * 16); }
              else { emitLaneCombination(f, l, Acol(a), d); f.set(tt[a * TM + jj]!); }
            }
          }
          // D[a][b] = sum_jj t[a][jj] A[b][jj]
          f.get(dst).get(o).i32Add().set(st);
          for (let a = 0; a < A; a++) {
            if (viaTmp(tr)) for (let jj = 0; jj < TM; jj++) { f.get(tmp); if (l.vec) f.v128Load((a * TM + jj) * 16); else f.f32Load((a * TM + jj) * 16); f.set(d[jj]!); }
            const row = viaTmp(tr) ? d.slice(0, TM) : Array.from({ length: TM }, (_, jj) => tt[a * TM + jj]!);
            for (let b = 0; b < A; b++) {
              f.get(st);
              emitLaneCombination(f, l, Acol(b), row);
              store(f, l);
              if (a * A + b < AA - 1) f.get(st).get(g.mXi).i32Add().set(st);
            }
          }
        });
      });
    });
    // alpha^2 GEMMs: S[xi] (M x C) (+)= D[xi] (M x K) V[xi]^T, K = cnt*N. V[xi] is first turned K-major (Vt:
    // K x C, in the scratch after D), so that the product is gemm_nn's 4x8 register tile over S with K
    // innermost; as dot products of D's and V's rows (gemm_nt) it took 20-27% longer at C = 32 and 64 (each
    // of S's values a horizontal sum and a scalar read-modify-write per block, and K only 64 there; the
    // same at C = 16).
    f.get(cnt).get(N!).i32Mul().set(K);
    f.i32Const(0).set(xi);
    f.loop();
    {
      f.get(V).get(xi).get(g.vXi).i32Mul().i32Add().get(g.ldv).get(Vt).get(C!).get(C!).get(K).call(transpose);
      f.get(M!).get(C!).get(K);
      f.get(D).get(xi).get(g.mXi).i32Mul().i32Add().get(g.ldv);
      f.get(Vt).get(C!);
      f.get(S!).get(xi).get(M!).i32Mul().get(C!).i32Mul().i32Const(4).i32Mul().i32Add().get(C!);
      f.get(b0).i32Const(0).i32GtS().call(gemmNN);
      f.get(xi).i32Const(1).i32Add().tee(xi).i32Const(AA).i32LtS().brIf(0);
    }
    f.end();
    f.get(b0).get(TB!).i32Add().set(b0);
    f.br(0);
  }
  f.end().end();
  return index;
}

/**
 * Export `wino_weights_f{m}(w, U, M, C, flip)`: the weights of M x C 3x3 filters (ONNX [M][C][3][3]) into the
 * Winograd domain, stored K-major (input channel first, for gemm_tn): U[xi][c][m] = (G w[m][c] G^T)[xi]; with
 * flip (for the backward-data pass) the filters turned 180 degrees and the channels swapped, the conv's
 * output channel c and input channel m: U[xi][m][c] = (G rot180(w[m][c]) G^T)[xi].
 */
export function emitWinogradWeights(m: ModuleBuilder, tr: WinogradTransform): number {
  const TM = tr.m, A = TM + 2, AA = A * A;
  const { f, index } = m.func(`wino_weights_f${TM}`, [I32, I32, I32, I32, I32]);
  const [w, U, M, C, flip] = f.params as Local[] as Local[];
  // Four filters at a time along the index that is contiguous in U (m forward, c flipped), each lane the
  // scalar code's exact arithmetic (mul and add, no FMA); the filters past a multiple of 4 one at a time.
  const [vl, sl] = laneSets(f, tr.g.flat());
  const o = f.local(I32), v = f.local(I32), vEnd = f.local(I32), wp = f.local(I32), up = f.local(I32), plane = f.local(I32), ls = f.local(I32);
  const lanePtr = [wp, f.local(I32), f.local(I32), f.local(I32)];
  const gv = { v: Array.from({ length: 9 }, () => f.local(V128)), s: Array.from({ length: 9 }, () => f.local(F32)) };
  const tv = { v: Array.from({ length: A * 3 }, () => f.local(V128)), s: Array.from({ length: A * 3 }, () => f.local(F32)) };
  f.get(M!).get(C!).i32Mul().i32Const(4).i32Mul().set(plane);
  const body = (flipped: boolean): void => {
    // Outer index o and vector index v: (c, m) forward, (m, c) flipped.
    const [outerN, vecN] = flipped ? [M!, C!] : [C!, M!];
    // Bytes from filter (m, c) to the next along v in w: C filters (forward) or one.
    if (flipped) f.i32Const(36).set(ls);
    else f.get(C!).i32Const(36).i32Mul().set(ls);
    f.get(vecN).i32Const(-4).i32And().set(vEnd);
    const filter = (l: Lanes): void => {
      // wp = &w[m][c][0], up = &U[0][.][.] for (o, v)
      if (flipped) f.get(o).get(C!).i32Mul().get(v).i32Add();
      else f.get(v).get(C!).i32Mul().get(o).i32Add();
      f.i32Const(36).i32Mul().get(w!).i32Add().set(wp);
      f.get(o).get(vecN).i32Mul().get(v).i32Add().i32Const(4).i32Mul().get(U!).i32Add().set(up);
      const g = l.vec ? gv.v : gv.s;
      const t = l.vec ? tv.v : tv.s;
      if (l.vec) for (let i = 1; i < 4; i++) f.get(lanePtr[i - 1]!).get(ls).i32Add().set(lanePtr[i]!);
      for (let k = 0; k < 9; k++) {
        const at = (flipped ? 8 - k : k) * 4;
        f.get(wp).f32Load(at);
        if (l.vec) {
          f.f32x4Splat();
          for (let i = 1; i < 4; i++) f.get(lanePtr[i]!).f32Load(at).f32x4ReplaceLane(i);
        }
        f.set(g[k]!);
      }
      // t = G g (A x 3), then U = t G^T
      for (let a = 0; a < A; a++) for (let kw = 0; kw < 3; kw++) {
        emitLaneCombination(f, l, tr.g[a]!, [g[kw]!, g[3 + kw]!, g[6 + kw]!]);
        f.set(t[a * 3 + kw]!);
      }
      for (let a = 0; a < A; a++) for (let b = 0; b < A; b++) {
        f.get(up);
        emitLaneCombination(f, l, tr.g[b]!, [t[a * 3]!, t[a * 3 + 1]!, t[a * 3 + 2]!]);
        store(f, l);
        if (a * A + b < AA - 1) f.get(up).get(plane).i32Add().set(up);
      }
    };
    f.i32Const(0);
    forLoop(f, o, outerN, 1, () => {
      f.i32Const(0);
      forLoop(f, v, vEnd, 4, () => filter(vl));
      f.get(vEnd);
      forLoop(f, v, vecN, 1, () => filter(sl));
    });
  };
  f.get(flip!).if();
  body(true);
  f.else();
  body(false);
  f.end();
  return index;
}

/**
 * Export `wino_wgrad_out_f{m}(S, dW, M, C)`: dW[m][c] = G^T S[.][m][c] G, the 3x3 weight gradient from the
 * Winograd-domain sums of wino_wgrad (dW is ONNX [M][C][3][3], overwritten).
 */
export function emitWinogradWgradOut(m: ModuleBuilder, tr: WinogradTransform): number {
  const TM = tr.m, A = TM + 2;
  const { f, index } = m.func(`wino_wgrad_out_f${TM}`, [I32, I32, I32, I32]);
  const [S, dW, M, C] = f.params as Local[] as Local[];
  // Four (m, c) at a time (contiguous in S's planes), each lane the scalar code's exact arithmetic; the
  // last M * C mod 4 one at a time.
  const [vl, sl] = laneSets(f, tr.g.flat());
  const k = f.local(I32), total = f.local(I32), vEnd = f.local(I32), sp = f.local(I32), plane = f.local(I32), wp = f.local(I32);
  const sv = { v: Array.from({ length: A * A }, () => f.local(V128)), s: Array.from({ length: A * A }, () => f.local(F32)) };
  const tv = { v: Array.from({ length: 3 * A }, () => f.local(V128)), s: Array.from({ length: 3 * A }, () => f.local(F32)) };
  const out = f.local(V128);
  const Gcol = (kh: number): number[] => tr.g.map((row) => row[kh]!);
  f.get(M!).get(C!).i32Mul().set(total);
  f.get(total).i32Const(4).i32Mul().set(plane);
  f.get(total).i32Const(-4).i32And().set(vEnd);
  const transform = (l: Lanes): void => {
    const s = l.vec ? sv.v : sv.s;
    const t = l.vec ? tv.v : tv.s;
    f.get(S!).get(k).i32Const(4).i32Mul().i32Add().set(sp);
    for (let xi = 0; xi < A * A; xi++) {
      f.get(sp);
      load(f, l);
      f.set(s[xi]!);
      if (xi < A * A - 1) f.get(sp).get(plane).i32Add().set(sp);
    }
    // t = G^T S (3 x A), then dW = t G (3 x 3)
    for (let kh = 0; kh < 3; kh++) for (let b = 0; b < A; b++) {
      emitLaneCombination(f, l, Gcol(kh), Array.from({ length: A }, (_, a) => s[a * A + b]!));
      f.set(t[kh * A + b]!);
    }
    f.get(dW!).get(k).i32Const(36).i32Mul().i32Add().set(wp);
    for (let kh = 0; kh < 3; kh++) for (let kw = 0; kw < 3; kw++) {
      const at = (kh * 3 + kw) * 4;
      if (l.vec) {
        // Lane i is filter k + i's tap: 36 bytes on.
        emitLaneCombination(f, l, Gcol(kw), Array.from({ length: A }, (_, b) => t[kh * A + b]!));
        f.set(out);
        for (let i = 0; i < 4; i++) f.get(wp).get(out).v128Store32Lane(i, at + i * 36);
      } else {
        f.get(wp);
        emitLaneCombination(f, l, Gcol(kw), Array.from({ length: A }, (_, b) => t[kh * A + b]!));
        f.f32Store(at);
      }
    }
  };
  f.i32Const(0);
  forLoop(f, k, vEnd, 4, () => transform(vl));
  f.get(vEnd);
  forLoop(f, k, total, 1, () => transform(sl));
  return index;
}

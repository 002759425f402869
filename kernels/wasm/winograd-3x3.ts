// winograd-f2x2-3x3 and winograd-f4x4-3x3: 3x3 stride-1 convs by Winograd's minimal filtering (Lavin & Gray),
// one generator for both tile sizes. The transforms are generated from the B^T / G / A^T matrices
// (coefficients +-1 as add/sub, others as a multiply by a splatted constant); the alpha^2 GEMMs in between
// run on the igemm micro-kernel (f32-igemm-4x8.ts) through a descriptor the kernel writes in its scratch.
import { forBlocks, forLoop, loadField } from './builders';
import { DESC_BYTES, IgemmDesc, Kind, WinogradDesc } from './descriptors';
import { type FuncBuilder, I32, type Local, type ModuleBuilder, V128 } from './emit';
import { forEachChunk } from './parallel';

/** Winograd chunks are bigger: each redoes per-block set-up and its GEMMs want many rows. */
const WINOGRAD_CHUNKS_PER_THREAD = 2;

/** Winograd F(m x m, 3 x 3) transforms (Lavin & Gray): input B^T, weights G, output A^T; alpha = m + 2. */
export interface WinogradTransform {
  readonly m: number;
  readonly bt: readonly (readonly number[])[];
  readonly g: readonly (readonly number[])[];
  readonly at: readonly (readonly number[])[];
}

/** F(2x2,3x3): 2.25x fewer multiplications than direct. */
export const WINOGRAD_F2X2_3X3: WinogradTransform = {
  m: 2,
  bt: [[1, 0, -1, 0], [0, 1, 1, 0], [0, -1, 1, 0], [0, 1, 0, -1]],
  g: [[1, 0, 0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0, 0, 1]],
  at: [[1, 1, 1, 0], [0, 1, -1, -1]],
};

/** F(4x4,3x3): 4x fewer multiplications; weights 4x larger and ~4e-6 relative error per layer in float32. */
export const WINOGRAD_F4X4_3X3: WinogradTransform = {
  m: 4,
  bt: [[4, 0, -5, 0, 1, 0], [0, -4, -4, 1, 1, 0], [0, 4, -4, -1, 1, 0], [0, -2, -1, 2, 1, 0], [0, 2, -1, -2, 1, 0], [0, 4, 0, -5, 0, 1]],
  g: [[1 / 4, 0, 0], [-1 / 6, -1 / 6, -1 / 6], [-1 / 6, 1 / 6, -1 / 6], [1 / 24, 1 / 12, 1 / 6], [1 / 24, -1 / 12, 1 / 6], [0, 0, 1]],
  at: [[1, 1, 1, 1, 1, 0], [0, 1, -1, 2, -2, 0], [0, 1, 1, 4, 4, 0], [0, 1, -1, 8, -8, 1]],
};

/**
 * Byte size of one thread's Winograd scratch: an igemm descriptor, V and M for `tiles` tiles, and with
 * filters transformed on the fly U for `groupPanels` panels of 8 output channels (see filtersOnTheFly).
 */
export function winogradScratchBytes(tr: WinogradTransform, tiles: number, csIn: number, csOut: number, groupPanels: number): number {
  const a = tr.m + 2;
  return DESC_BYTES + a * a * (tiles * (csIn + csOut) + groupPanels * (8 + csIn * 8)) * 4;
}

/**
 * Emits sum_k coef[k] * x[k] (v128 locals) onto the stack, terms of equal |coef| summed first and multiplied
 * once (G's rows are 1/2 (x0 + x1 + x2) and the like), through a splatted constant kept in a local (created
 * once per function by `constant`); groups with a positive term come first, so a negation is rarely needed.
 */
function emitCombination(f: FuncBuilder, coefs: readonly number[], xs: readonly Local[], constant: (c: number) => Local): void {
  const groups = new Map<number, { pos: Local[]; neg: Local[] }>();
  coefs.forEach((c, k) => {
    if (c === 0) return;
    const g = groups.get(Math.abs(c)) ?? { pos: [], neg: [] };
    groups.set(Math.abs(c), g);
    (c > 0 ? g.pos : g.neg).push(xs[k]!);
  });
  if (groups.size === 0) {
    f.v128Const0();
    return;
  }
  const ordered = [...groups].sort(([, a], [, b]) => Number(b.pos.length > 0) - Number(a.pos.length > 0));
  ordered.forEach(([scale, { pos, neg }], i) => {
    // |group| = scale * (sum pos - sum neg), or scale * sum neg to be subtracted when it has no positive term.
    const lead = pos.length > 0 ? pos : neg;
    f.get(lead[0]!);
    for (const x of lead.slice(1)) f.get(x).f32x4Add();
    if (pos.length > 0) for (const x of neg) f.get(x).f32x4Sub();
    if (scale !== 1) f.get(constant(scale)).f32x4Mul();
    const negative = pos.length === 0;
    if (i === 0) {
      if (negative) f.f32x4Neg();
    } else if (negative) {
      f.f32x4Sub();
    } else {
      f.f32x4Add();
    }
  });
}

/**
 * G = D G': each row of G over its first non-zero coefficient d_r, which leaves G' in small integers
 * (F2: rows 1, 1 1 1, 1 -1 1, 1; F4: also 1 2 4, 1 -2 4). U = G g G^T = D (G' g G'^T) D, so a kernel that
 * transforms the filters per run makes U' = G' g G'^T (adds, a few small multiples) and applies D to the
 * GEMMs' results instead, in the output transform: Y = (A^T D) M' (D A).
 */
function factorG(tr: WinogradTransform): { readonly gInt: number[][]; readonly atScaled: number[][] } {
  const d = tr.g.map((row) => row.find((c) => c !== 0)!);
  const gInt = tr.g.map((row, r) => row.map((c) => Math.round(c / d[r]!)));
  tr.g.forEach((row, r) => row.forEach((c, k) => {
    if (Math.abs(gInt[r]![k]! * d[r]! - c) > 1e-12) throw new Error(`winograd: G row ${r} is not a multiple of integers`);
  }));
  return { gInt, atScaled: tr.at.map((row) => row.map((c, r) => c * d[r]!)) };
}

/**
 * Emits the rows of `rows` (3 coefficients each) applied to x0, x1, x2, each stored by `store(r)` (which
 * pushes an address first, or sets a local). Two rows that differ only in the sign of the middle term
 * (1 1 1 and 1 -1 1; 1 2 4 and 1 -2 4) share their outer sum: e = c0 x0 + c2 x2, o = c1 x1, then e + o and e - o.
 */
function emitRowsOf3(
  f: FuncBuilder, rows: readonly (readonly number[])[], xs: readonly [Local, Local, Local], even: Local, odd: Local,
  constant: (c: number) => Local, store: (r: number, value: () => void) => void,
): void {
  const done = new Set<number>();
  rows.forEach((row, r) => {
    if (done.has(r)) return;
    const twin = rows.findIndex((o, k) => k > r && o[0] === row[0] && o[2] === row[2] && o[1] === -row[1]! && row[1] !== 0);
    if (twin < 0 || (row[0] === 0 && row[2] === 0)) {
      store(r, () => emitCombination(f, row, xs, constant));
      return;
    }
    done.add(twin);
    emitCombination(f, [row[0]!, 0, row[2]!], xs, constant);
    f.set(even);
    emitCombination(f, [0, row[1]!, 0], xs, constant);
    f.set(odd);
    store(r, () => f.get(even).get(odd).f32x4Add());
    store(twin, () => f.get(even).get(odd).f32x4Sub());
  });
}

/**
 * The winograd-f{m}x{m}-3x3 kernel for transform `tr`; `igemmRange` is the function index of the igemm
 * micro-kernel driver (emitF32IgemmRange) it runs its alpha^2 GEMMs on. With `filtersOnTheFly` its weights
 * are the 3x3 filters (WinogradDesc.filtersOnTheFly) and U is made per run, factored (factorG).
 */
export function emitWinograd3x3(m: ModuleBuilder, igemmRange: number, mr: number, tr: WinogradTransform, filtersOnTheFly: boolean): number {
  const TM = tr.m;
  const A = TM + 2;
  const AA = A * A;
  const { gInt, atScaled } = factorG(tr);
  const at = filtersOnTheFly ? atScaled : tr.at;
  const { f, index } = m.func(`winograd-f${TM}x${TM}-3x3${filtersOnTheFly ? '-filters' : ''}`, [I32, I32, I32]);
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
  const splitPanels = loadField(f, d, F.splitPanels), groupPanels = loadField(f, d, F.filtersOnTheFly);

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
  for (const row of [...tr.bt, ...at, ...(filtersOnTheFly ? gInt : [])]) for (const c of row) if (c !== 0 && Math.abs(c) !== 1) usedCoefs.add(Math.abs(c));
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
  const Us = f.local(I32), uStride = f.local(I32), pp = f.local(I32), q = f.local(I32), ppEnd = f.local(I32);
  const src = f.local(I32), dst = f.local(I32), chEnd = f.local(I32);
  const gv: Local[] = [];
  for (let k = 0; k < 9; k++) gv.push(f.local(V128));
  const ggv: Local[] = [];
  for (let k = 0; k < A * 3; k++) ggv.push(f.local(V128));
  const even = f.local(V128), odd = f.local(V128);

  f.get(OH).i32Const(TM - 1).i32Add().i32Const(TM).i32DivU().set(TY);
  f.get(OW).i32Const(TM - 1).i32Add().i32Const(TM).i32DivU().set(TX);
  f.get(N).get(TY).i32Mul().get(TX).i32Mul().set(total);
  f.get(csIn).i32Const(4).i32Mul().set(inRow);
  f.get(csOut).i32Const(4).i32Mul().set(outRow);
  // This thread's scratch: [conv descriptor][V: AA x TB x csIn][M: AA x TB x csOut][U': AA x groupPanels panels].
  f.get(scratch).get(tid).get(scratchBytes).i32Mul().i32Add().set(cd);
  f.get(cd).i32Const(DESC_BYTES).i32Add().set(V);
  f.get(TB).get(inRow).i32Mul().set(vStride);
  f.get(TB).get(outRow).i32Mul().set(mStride);
  f.get(V).get(vStride).i32Const(AA).i32Mul().i32Add().set(Mb);
  if (filtersOnTheFly) {
    // U' of `groupPanels` panels after M ([xi][panel], uStride apart), their bias slots zero.
    f.get(Mb).get(mStride).i32Const(AA).i32Mul().i32Add().set(Us);
    f.get(groupPanels).get(panelBytes).i32Mul().set(uStride);
    f.get(uStride).i32Const(AA).i32Mul().set(ppEnd);
    f.i32Const(0);
    forLoop(f, q, ppEnd, 0, () => {
      for (const half of [0, 16]) f.get(Us).get(q).i32Add().v128Const0().v128Store(half);
      f.get(q).get(panelBytes).i32Add().set(q);
    });
  }
  // The constant part of the per-xi GEMM descriptor (direct rows, no residual, no ReLU).
  const setField = (word: number, push: () => void): void => {
    f.get(cd);
    push();
    f.i32Store(word * 4);
  };
  setField(IgemmDesc.kind, () => f.i32Const(Kind.igemm));
  setField(IgemmDesc.residual, () => f.i32Const(0));
  setField(IgemmDesc.indirection, () => f.i32Const(0));
  setField(IgemmDesc.channels, () => f.get(csIn));
  setField(IgemmDesc.taps, () => f.i32Const(1));
  setField(IgemmDesc.inRowBytes, () => f.get(inRow));
  setField(IgemmDesc.outRowBytes, () => f.get(outRow));
  setField(IgemmDesc.panels, () => f.get(panels));
  setField(IgemmDesc.relu, () => f.i32Const(0));
  setField(IgemmDesc.panelBytes, () => f.get(panelBytes));
  setField(IgemmDesc.tileBlock, () => f.i32Const(1 << 20));

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
      setField(IgemmDesc.pixels, () => f.get(cnt));
      f.get(cnt).i32Const(mr - 1).i32Add().i32Const(mr).i32DivU().set(rowTiles);
      // The GEMMs of panels [first, end); uBase pushes where U[xi]'s panel 0 is (or would be).
      const gemms = (first: Local, end: Local, uBase: () => void): void => {
        f.i32Const(0).set(xi);
        f.loop();
        setField(IgemmDesc.input, () => f.get(V).get(xi).get(vStride).i32Mul().i32Add());
        setField(IgemmDesc.output, () => f.get(Mb).get(xi).get(mStride).i32Mul().i32Add());
        setField(IgemmDesc.weights, uBase);
        f.get(cd).i32Const(0).get(rowTiles).get(first).get(end).call(igemmRange);
        f.get(xi).i32Const(1).i32Add().tee(xi).i32Const(AA).i32LtS().brIf(0);
        f.end();
      };
      if (filtersOnTheFly) {
        // groupPanels panels at a time: U' = G' g G'^T of their filters (8 per panel, two halves of 4 lanes)
        // into Us, then their GEMMs.
        f.get(pLo);
        forBlocks(f, pp, pHi, groupPanels, ppEnd, () => {
          f.get(pp);
          forLoop(f, q, ppEnd, 1, () => {
            f.get(U).get(q).get(inRow).i32Const(72).i32Mul().i32Mul().i32Add().set(src);
            f.get(Us).get(q).get(pp).i32Sub().get(panelBytes).i32Mul().i32Add().i32Const(32).i32Add().set(dst);
            f.get(dst).get(inRow).i32Const(8).i32Mul().i32Add().set(chEnd);
            f.block().loop();
            {
              f.get(dst).get(chEnd).i32GeS().brIf(1);
              for (const half of [0, 16]) {
                for (let k = 0; k < 9; k++) f.get(src).v128Load(k * 32 + half).set(gv[k]!);
                // G' g, column by column, then (G' g) G'^T row by row, stored as U'[xi = r * A + k].
                for (let col = 0; col < 3; col++) {
                  emitRowsOf3(f, gInt, [gv[col]!, gv[3 + col]!, gv[6 + col]!], even, odd, constant, (r, value) => {
                    value();
                    f.set(ggv[r * 3 + col]!);
                  });
                }
                for (let r = 0; r < A; r++) {
                  emitRowsOf3(f, gInt, [ggv[r * 3]!, ggv[r * 3 + 1]!, ggv[r * 3 + 2]!], even, odd, constant, (k, value) => {
                    f.get(dst);
                    if (r * A + k > 0) f.get(uStride).i32Const(r * A + k).i32Mul().i32Add();
                    value();
                    f.v128Store(half);
                  });
                }
              }
              f.get(src).i32Const(9 * 32).i32Add().set(src);
              f.get(dst).i32Const(32).i32Add().set(dst);
              f.br(0);
            }
            f.end().end();
          });
          // U[xi]'s panel pp is at Us + xi * uStride (panel 0's address, below it, is never read).
          gemms(pp, ppEnd, () => f.get(Us).get(xi).get(uStride).i32Mul().i32Add().get(pp).get(panelBytes).i32Mul().i32Sub());
        });
      } else {
        gemms(pLo, pHi, () => f.get(U).get(xi).get(panels).get(panelBytes).i32Mul().i32Mul().i32Add());
      }

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
              emitCombination(f, at[i]!, col, constant);
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
              emitCombination(f, at[jj]!, row, constant);
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

// winograd-f2x2-3x3 and winograd-f4x4-3x3: 3x3 stride-1 convs by Winograd's minimal filtering (Lavin & Gray),
// one generator for both tile sizes. The transforms are generated from the B^T / G / A^T matrices
// (coefficients +-1 as add/sub, others as a multiply by a splatted constant); the alpha^2 GEMMs in between
// run on the igemm micro-kernel (f32-igemm-4x8.ts) through a descriptor the kernel writes in its scratch.
import { forLoop, loadField } from './builders';
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

/** Byte size of one thread's Winograd scratch: an igemm descriptor, V and M for `tiles` tiles. */
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

/**
 * The winograd-f{m}x{m}-3x3 kernel for transform `tr`; `igemmRange` is the function index of the igemm
 * micro-kernel driver (emitF32IgemmRange) it runs its alpha^2 GEMMs on.
 */
export function emitWinograd3x3(m: ModuleBuilder, igemmRange: number, mr: number, tr: WinogradTransform): number {
  const TM = tr.m;
  const A = TM + 2;
  const AA = A * A;
  const { f, index } = m.func(`winograd-f${TM}x${TM}-3x3`, [I32, I32, I32]);
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
      f.i32Const(0).set(xi);
      f.loop();
      {
        setField(IgemmDesc.input, () => f.get(V).get(xi).get(vStride).i32Mul().i32Add());
        setField(IgemmDesc.output, () => f.get(Mb).get(xi).get(mStride).i32Mul().i32Add());
        setField(IgemmDesc.weights, () => f.get(U).get(xi).get(panels).get(panelBytes).i32Mul().i32Mul().i32Add());
        f.get(cd).i32Const(0).get(rowTiles).get(pLo).get(pHi).call(igemmRange);
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

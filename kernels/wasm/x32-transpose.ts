// x32-transpose: dst[c][r] = src[r][c] for a rows x cols matrix of 32-bit values, in 4x4 blocks (four v128
// loads, eight shuffles, four stores), the edges one value at a time. The Winograd weight gradient turns its
// transformed input V K-major with it, so that its GEMM runs on gemm_nn's register tile.
import { forLoop } from './builders';
import { F32, I32, type Local, type ModuleBuilder, V128 } from './emit';

/** Export `transpose(src, lds, dst, ldd, rows, cols)`: addresses in bytes, leading dimensions in values. */
export function emitX32Transpose(m: ModuleBuilder): number {
  const { f, index } = m.func('transpose', [I32, I32, I32, I32, I32, I32]);
  const [src, lds, dst, ldd, rows, cols] = f.params as Local[] as [Local, Local, Local, Local, Local, Local];
  const lds4 = f.local(I32), ldd4 = f.local(I32), R4 = f.local(I32), C4 = f.local(I32);
  const r = f.local(I32), c = f.local(I32), sp = f.local(I32), dp = f.local(I32);
  const v = Array.from({ length: 4 }, () => f.local(V128));
  const t = Array.from({ length: 4 }, () => f.local(V128));
  const s = f.local(F32);
  f.get(lds).i32Const(4).i32Mul().set(lds4);
  f.get(ldd).i32Const(4).i32Mul().set(ldd4);
  f.get(rows).i32Const(-4).i32And().set(R4);
  f.get(cols).i32Const(-4).i32And().set(C4);
  /** The values of rows [r0, r1) and columns [c0, c1) one at a time (r0 on the stack). */
  const scalar = (r1: Local, c0: Local, c1: Local): void => {
    forLoop(f, r, r1, 1, () => {
      f.get(c0);
      forLoop(f, c, c1, 1, () => {
        f.get(src).get(r).get(lds).i32Mul().get(c).i32Add().i32Const(4).i32Mul().i32Add().f32Load().set(s);
        f.get(dst).get(c).get(ldd).i32Mul().get(r).i32Add().i32Const(4).i32Mul().i32Add().get(s).f32Store();
      });
    });
  };
  f.i32Const(0);
  forLoop(f, r, R4, 4, () => {
    f.get(src).get(r).get(lds4).i32Mul().i32Add().set(sp);
    f.get(dst).get(r).i32Const(4).i32Mul().i32Add().set(dp);
    f.i32Const(0);
    forLoop(f, c, C4, 4, () => {
      for (let k = 0; k < 4; k++) {
        f.get(sp);
        if (k > 0) f.get(lds4).i32Const(k).i32Mul().i32Add();
        f.v128Load().set(v[k]!);
      }
      // (r0 r1 interleaved, low and high halves), (r2 r3 the same), then their 64-bit halves paired.
      f.get(v[0]!).get(v[1]!).i32x4Shuffle([0, 4, 1, 5]).set(t[0]!);
      f.get(v[0]!).get(v[1]!).i32x4Shuffle([2, 6, 3, 7]).set(t[1]!);
      f.get(v[2]!).get(v[3]!).i32x4Shuffle([0, 4, 1, 5]).set(t[2]!);
      f.get(v[2]!).get(v[3]!).i32x4Shuffle([2, 6, 3, 7]).set(t[3]!);
      const out: [Local, Local, [number, number, number, number]][] = [
        [t[0]!, t[2]!, [0, 1, 4, 5]], [t[0]!, t[2]!, [2, 3, 6, 7]], [t[1]!, t[3]!, [0, 1, 4, 5]], [t[1]!, t[3]!, [2, 3, 6, 7]],
      ];
      out.forEach(([a, b, lanes], k) => {
        f.get(dp);
        if (k > 0) f.get(ldd4).i32Const(k).i32Mul().i32Add();
        f.get(a).get(b).i32x4Shuffle(lanes).v128Store();
      });
      f.get(sp).i32Const(16).i32Add().set(sp);
      f.get(dp).get(ldd4).i32Const(4).i32Mul().i32Add().set(dp);
    });
  });
  // The columns past C4 of the first R4 rows, then the rows past R4.
  f.i32Const(0);
  scalar(R4, C4, cols);
  f.get(R4);
  const zero = f.local(I32);
  f.i32Const(0).set(zero);
  scalar(rows, zero, cols);
  return index;
}

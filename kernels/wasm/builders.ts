// Code-generation helpers over FuncBuilder that several kernel families share: counted loops, the
// vector-then-scalar float loop, a horizontal sum, loads and stores at base + offset, descriptor fields.
import { type FuncBuilder, I32, type Local } from './emit';

/** Emits `for (i = <stack top>; i < end; i += step) body()`. */
export function forLoop(f: FuncBuilder, i: Local, end: Local, step: number, body: () => void): void {
  f.set(i);
  f.block().loop();
  f.get(i).get(end).i32GeS().brIf(1);
  body();
  f.get(i).i32Const(step).i32Add().set(i);
  f.br(0).end().end();
}

/**
 * Emits `for (start = <stack top>; start < end; start = blockEnd) { blockEnd = min(start + step, end); body() }`:
 * a range walked in blocks of `step` (a local or a constant), the last one cut at `end`.
 */
export function forBlocks(f: FuncBuilder, start: Local, end: Local, step: Local | number, blockEnd: Local, body: () => void): void {
  f.set(start);
  f.block().loop();
  f.get(start).get(end).i32GeS().brIf(1);
  f.get(start);
  if (typeof step === 'number') f.i32Const(step); else f.get(step);
  f.i32Add().tee(blockEnd).get(end).get(blockEnd).get(end).i32LtS().select().set(blockEnd);
  body();
  f.get(blockEnd).set(start);
  f.br(0).end().end();
}

/**
 * `for (i = 0; i < n; i++)` over floats: `unroll` vectors (4 floats each) per trip while they fill one, then
 * one vector at a time while 4 floats remain, then one float at a time. The body gets the byte offset `off`
 * of the trip's first float, whether it is a vector step, and the step's place `j` in its trip (0 outside
 * the unrolled trips): its vector starts 16 j bytes after `off` (see loadAt's and storeAt's `j`). Several
 * vectors a trip take the loop's own counting off most of them and give sums independent accumulators (one
 * accumulator's add latency, not memory, bounded the batch-norm sums).
 */
export function floatLoop(f: FuncBuilder, n: Local, body: (off: Local, vector: boolean, j: number) => void, unroll = 1): void {
  const i = f.local(I32), nv = f.local(I32), off = f.local(I32);
  f.i32Const(0);
  if (unroll > 1) {
    const nu = f.local(I32);
    f.get(n).i32Const(-4 * unroll).i32And().set(nu);
    forLoop(f, i, nu, 4 * unroll, () => {
      f.get(i).i32Const(4).i32Mul().set(off);
      for (let j = 0; j < unroll; j++) body(off, true, j);
    });
    f.get(i);
  }
  f.get(n).i32Const(-4).i32And().set(nv);
  forLoop(f, i, nv, 4, () => { f.get(i).i32Const(4).i32Mul().set(off); body(off, true, 0); });
  f.get(nv);
  forLoop(f, i, n, 1, () => { f.get(i).i32Const(4).i32Mul().set(off); body(off, false, 0); });
}

/** Horizontal sum of a v128 local, left on the stack as f32. */
export function hsum(f: FuncBuilder, v: Local): void {
  f.get(v).f32x4ExtractLane(0).get(v).f32x4ExtractLane(1).f32Add();
  f.get(v).f32x4ExtractLane(2).get(v).f32x4ExtractLane(3).f32Add().f32Add();
}

/** Pushes a float (or 4-lane vector) at address base + off (+ 16 j bytes: vector j of a floatLoop trip). */
export function loadAt(f: FuncBuilder, base: Local, off: Local, vector: boolean, j = 0): void {
  f.get(base).get(off).i32Add();
  if (vector) f.v128Load(16 * j); else f.f32Load();
}

/**
 * Pushes the value at base + off (+ 16 j bytes) where the ReLU output at mask + off is > 0, else 0: a
 * gradient through a ReLU fused into the op that wrote `mask`.
 */
export function maskedLoadAt(f: FuncBuilder, base: Local, mask: Local, off: Local, vector: boolean, j = 0): void {
  if (vector) {
    loadAt(f, base, off, true, j);
    loadAt(f, mask, off, true, j);
    f.v128Const0().f32x4Gt().v128And();
    return;
  }
  loadAt(f, base, off, false);
  f.f32Const(0);
  loadAt(f, mask, off, false);
  f.f32Const(0).f32Gt().select();
}

/** Pushes the address base + off (for a store whose value comes next: storeAt with the same j). */
export function addressAt(f: FuncBuilder, base: Local, off: Local): void {
  f.get(base).get(off).i32Add();
}

/** Stores the stack top at the address addressAt pushed (+ 16 j bytes for vector j of a floatLoop trip). */
export function storeAt(f: FuncBuilder, vector: boolean, j = 0): void {
  if (vector) f.v128Store(16 * j); else f.f32Store();
}

/** Adds the old value at base + off (+ 16 j bytes) to the stack top when `acc`, known when the code is generated. */
export function addOld(f: FuncBuilder, acc: boolean, base: Local, off: Local, vector: boolean, j = 0): void {
  if (!acc) return;
  loadAt(f, base, off, vector, j);
  if (vector) f.f32x4Add(); else f.f32Add();
}

/** Emits `if (flag) on(true) else on(false)`: one loop per case, so no inner loop tests a run-time flag. */
export function branchOn(f: FuncBuilder, flag: Local, on: (value: boolean) => void): void {
  f.get(flag).if();
  on(true);
  f.else();
  on(false);
  f.end();
}

/** Pushes i32 word `word` of the descriptor at `desc`. */
function field(f: FuncBuilder, desc: Local, word: number): void {
  f.get(desc).i32Load(word * 4);
}

/** A new local holding i32 word `word` of the descriptor at `desc`. */
export function loadField(f: FuncBuilder, desc: Local, word: number): Local {
  const l = f.local(I32);
  field(f, desc, word);
  f.set(l);
  return l;
}

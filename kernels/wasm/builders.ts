// Code-generation helpers over FuncBuilder that several kernel families share: counted loops, the
// vector-then-scalar float loop, a horizontal sum, loads and stores at base + offset, descriptor fields.
import { F32, type FuncBuilder, I32, type Local, V128 } from './emit';

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
 * `for (i = 0; i < n; i++)` over floats, 4 at a time while 4 remain, then one at a time. The body gets the
 * byte offset of element i and whether it is the vector or the scalar step.
 */
export function floatLoop(f: FuncBuilder, n: Local, body: (off: Local, vector: boolean) => void): void {
  const i = f.local(I32), nv = f.local(I32), off = f.local(I32);
  f.get(n).i32Const(-4).i32And().set(nv);
  f.i32Const(0);
  forLoop(f, i, nv, 4, () => { f.get(i).i32Const(4).i32Mul().set(off); body(off, true); });
  f.get(nv);
  forLoop(f, i, n, 1, () => { f.get(i).i32Const(4).i32Mul().set(off); body(off, false); });
}

/** Horizontal sum of a v128 local, left on the stack as f32. */
export function hsum(f: FuncBuilder, v: Local): void {
  f.get(v).f32x4ExtractLane(0).get(v).f32x4ExtractLane(1).f32Add();
  f.get(v).f32x4ExtractLane(2).get(v).f32x4ExtractLane(3).f32Add().f32Add();
}

/** Pushes a float (or 4-lane vector) at address base + off. */
export function loadAt(f: FuncBuilder, base: Local, off: Local, vector: boolean): void {
  f.get(base).get(off).i32Add();
  if (vector) f.v128Load(); else f.f32Load();
}

/** Pushes the address base + off (for a store whose value comes next). */
export function addressAt(f: FuncBuilder, base: Local, off: Local): void {
  f.get(base).get(off).i32Add();
}

/** Adds the old value at base + off to the stack top when `acc` is set (a block cannot see the outer stack, so both arms push). */
export function addOld(f: FuncBuilder, acc: Local, base: Local, off: Local, vector: boolean): void {
  f.get(acc).if(vector ? V128 : F32);
  loadAt(f, base, off, vector);
  f.else();
  if (vector) f.v128Const0(); else f.f32Const(0);
  f.end();
  if (vector) f.f32x4Add(); else f.f32Add();
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

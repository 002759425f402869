// How the inference module's kernels share a step among threads: the step's work is cut into chunks that
// whichever threads take part claim one by one, and a barrier ends the step when all chunks are done.
// Run-state words are in memory.ts, the descriptor's counter words in descriptors.ts.
import { DESC_CHUNKS, DESC_DONE, DESC_NEXT } from './descriptors';
import { I32, type FuncBuilder, type Local, type ModuleBuilder } from './emit';
import { STEP_ADDR } from './memory';

/** Spin iterations in the barrier before sleeping with memory.atomic.wait32 (a sleeper blocks nobody). */
const BARRIER_SPIN = 1 << 14;

/** Work chunks per thread: enough for a late or slowed thread's share to be taken over by the others. */
const CHUNKS_PER_THREAD = 4;

/**
 * Runs `body(start, end)` for the chunks of [0, total) this thread claims: `total` is cut into
 * min(total, 4 * nth) chunks (one with a single thread) and each participant takes the next unclaimed one
 * (atomic add on the descriptor's counter) until none is left, counting each chunk done. Work is thus
 * shared among whichever threads take part, however many joined and however fast each runs; the step is
 * over when all its chunks are done (see the barrier), whoever did them.
 */
export function forEachChunk(f: FuncBuilder, desc: Local, total: Local, nth: Local, body: (start: Local, end: Local) => void, perThread = CHUNKS_PER_THREAD): void {
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
export function emitBarrier(m: ModuleBuilder): number {
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

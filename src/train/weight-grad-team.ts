// The threads of a data-parallel training step share their Winograd weight gradients. Each thread runs its
// own shard's forward and backward; a conv's weight gradient is not on that path (nothing later in the step
// reads it), so when another thread has finished its shard and is idle, the thread hands the weight gradient
// to it as a task instead of computing it, and goes on down its backward pass. The idle thread runs the task
// on the owner's wasm memory (its own instance of the training module there, in a scratch area the owner
// set aside for it) with the same kernel on the same inputs, so the gradient has the same bits whoever
// computes it: the step stays reproducible, and a thread slowed down by the machine no longer holds up the
// step by the whole of its lag.
//
// This file is the shared board: per thread a state, a queue of tasks (published, claimed and completed
// counts, then the tasks' integers) and the scratch areas it set aside for each helper, in one
// SharedArrayBuffer that every thread of the engine maps. It knows nothing of wasm: the backend runs tasks.

/** A thread's state in a step: running its shard, finished and helping, or not in this step. */
export const BUSY = 0;
export const HELPING = 1;
export const OUT = 2;

/** Tasks a thread can publish per step (one per Winograd conv of its net; more run in place). */
const MAX_TASKS = 512;
/** A thread's state and task counts on the board (its header), before its areas and tasks. */
const STATE = 0, PUBLISHED = 1, CLAIMED = 2, COMPLETED = 3, HEADER_INTS = 4;
/** Board-wide: the wake-up sequence. */
const GLOBAL_INTS = 4;

/** A weight-gradient task: wino_wgrad + wino_wgrad_out on the owner's memory (byte addresses). */
export interface WgradTask {
  readonly tile: number;
  readonly x: number;
  readonly dy: number;
  readonly dW: number;
  readonly C: number;
  readonly M: number;
  readonly n: number;
  readonly H: number;
  readonly W: number;
  readonly tb: number;
  readonly ldv: number;
  readonly vXi: number;
  readonly mXi: number;
  readonly scratchBytes: number;
}

/** Where a helper works in an owner's memory (byte addresses) and how large each part is. */
export interface HelperArea {
  readonly scratch: number;
  readonly scratchBytes: number;
  readonly sums: number;
  readonly sumsFloats: number;
  readonly zero: number;
  readonly zeroFloats: number;
}

/** A task's integers on the board, in this order (the kernel's arguments). */
const TASK_FIELDS: readonly (keyof WgradTask)[] = ['tile', 'x', 'dy', 'dW', 'C', 'M', 'n', 'H', 'W', 'tb', 'ldv', 'vXi', 'mXi', 'scratchBytes'];
const TASK_INTS = TASK_FIELDS.length;
/** A helper area's integers on the board, in this order. */
const AREA_FIELDS: readonly (keyof HelperArea)[] = ['scratch', 'scratchBytes', 'sums', 'sumsFloats', 'zero', 'zeroFloats'];
const AREA_INTS = AREA_FIELDS.length;

export class WgradBoard {
  readonly buffer: SharedArrayBuffer;
  private readonly i32: Int32Array;
  private readonly perThread: number;

  /** A new board for `threads` threads, or the view of an existing one's buffer. */
  constructor(readonly threads: number, buffer?: SharedArrayBuffer) {
    if (!(threads >= 1)) throw new Error(`weight-gradient board: ${threads} threads`);
    this.perThread = HEADER_INTS + threads * AREA_INTS + MAX_TASKS * TASK_INTS;
    const bytes = 4 * (GLOBAL_INTS + threads * this.perThread);
    this.buffer = buffer ?? new SharedArrayBuffer(bytes);
    if (this.buffer.byteLength !== bytes) throw new Error(`weight-gradient board: ${this.buffer.byteLength} bytes for ${threads} threads, expected ${bytes}`);
    this.i32 = new Int32Array(this.buffer);
  }

  // Per thread: [state, published, claimed, completed, areas (threads x AREA_INTS), tasks].
  private base(t: number): number { return GLOBAL_INTS + t * this.perThread; }

  /** Where `owner`'s task i starts. */
  private taskAt(owner: number, i: number): number { return this.base(owner) + HEADER_INTS + this.threads * AREA_INTS + i * TASK_INTS; }

  /**
   * Before a step (no thread running): the threads that take part (the first `taking`, or those marked) are
   * busy, the others out; the queues empty. Areas stay.
   */
  reset(taking: number | readonly boolean[]): void {
    for (let t = 0; t < this.threads; t++) {
      const b = this.base(t);
      Atomics.store(this.i32, b + STATE, (typeof taking === 'number' ? t < taking : taking[t]) ? BUSY : OUT);
      for (const j of [PUBLISHED, CLAIMED, COMPLETED]) Atomics.store(this.i32, b + j, 0);
    }
  }

  state(t: number): number { return Atomics.load(this.i32, this.base(t) + STATE); }

  setState(t: number, s: number): void {
    Atomics.store(this.i32, this.base(t) + STATE, s);
    this.wake();
  }

  /** Whether a thread other than `self` is idle, helping. */
  someoneHelping(self: number): boolean {
    for (let t = 0; t < this.threads; t++) if (t !== self && this.state(t) === HELPING) return true;
    return false;
  }

  /** The area `owner` set aside in its memory for `helper`. */
  area(owner: number, helper: number): HelperArea {
    const a = this.base(owner) + HEADER_INTS + helper * AREA_INTS;
    return Object.fromEntries(AREA_FIELDS.map((k, j) => [k, Atomics.load(this.i32, a + j)])) as unknown as HelperArea;
  }

  setArea(owner: number, helper: number, area: HelperArea): void {
    const a = this.base(owner) + HEADER_INTS + helper * AREA_INTS;
    AREA_FIELDS.forEach((k, j) => Atomics.store(this.i32, a + j, area[k]));
  }

  /** Adds a task to `owner`'s queue; false when the queue is full (the owner then runs it itself). */
  publish(owner: number, task: WgradTask): boolean {
    const b = this.base(owner);
    const i = Atomics.load(this.i32, b + PUBLISHED);
    if (i >= MAX_TASKS) return false;
    const at = this.taskAt(owner, i);
    TASK_FIELDS.forEach((k, j) => { this.i32[at + j] = task[k]; });
    Atomics.store(this.i32, b + PUBLISHED, i + 1);
    this.wake();
    return true;
  }

  /** Claims the next unclaimed task of `owner`'s queue: the task, or null when none is left. */
  claim(owner: number): WgradTask | null {
    const b = this.base(owner);
    for (;;) {
      const c = Atomics.load(this.i32, b + CLAIMED);
      if (c >= Atomics.load(this.i32, b + PUBLISHED)) return null;
      if (Atomics.compareExchange(this.i32, b + CLAIMED, c, c + 1) !== c) continue;
      const at = this.taskAt(owner, c);
      return Object.fromEntries(TASK_FIELDS.map((k, j) => [k, this.i32[at + j]!])) as unknown as WgradTask;
    }
  }

  /** Marks one of `owner`'s claimed tasks done (its gradient written). */
  complete(owner: number): void {
    const at = this.base(owner) + COMPLETED;
    Atomics.add(this.i32, at, 1);
    Atomics.notify(this.i32, at);
  }

  /** Blocks until every task `owner` published is done. */
  waitCompleted(owner: number): void {
    const b = this.base(owner);
    for (;;) {
      const done = Atomics.load(this.i32, b + COMPLETED);
      if (done >= Atomics.load(this.i32, b + PUBLISHED)) return;
      Atomics.wait(this.i32, b + COMPLETED, done, 50);
    }
  }

  /**
   * Whether `self` may stop helping: no other thread is still running its shard and no task is left
   * unclaimed (a thread publishes only while it runs).
   */
  allSettled(self: number): boolean {
    for (let t = 0; t < this.threads; t++) {
      if (t === self) continue;
      const b = this.base(t);
      if (Atomics.load(this.i32, b + STATE) === BUSY || Atomics.load(this.i32, b + CLAIMED) < Atomics.load(this.i32, b + PUBLISHED)) return false;
    }
    return true;
  }

  /** The board's change count: read it before looking for work, then sleep(seq) if there was none. */
  seq(): number { return Atomics.load(this.i32, 0); }

  /** Sleeps until something changed on the board (a task, a state) since `seq`, or `ms`; false if nothing did. */
  sleep(seq: number, ms = 5): boolean {
    return Atomics.wait(this.i32, 0, seq, ms) !== 'timed-out';
  }

  private wake(): void {
    Atomics.add(this.i32, 0, 1);
    Atomics.notify(this.i32, 0);
  }
}

// How one training net's kernel calls are shared among threads: each call the backend makes is cut into
// chunks (channel ranges, tile ranges, element ranges), and this thread and its helpers, each with its own
// instance of the training module on the same shared memory, claim the chunks one by one until none is left.
// Whoever is faster takes more, so a thread slowed for a while (this machine's cores swing by 1.4x) no
// longer holds the step up. The chunks depend on the call only, never on the thread count or timing, so a
// step gives the same bits on one thread or several. Environment-free: kernel-team-node.ts starts the helpers.

/** The training module's exports a chunk may call (a row names its kernel by index in this list). */
export const TEAM_KERNELS = [
  'gemm_nn', 'gemm_nt', 'im2col', 'col2im', 'relu', 'add', 'pass', 'bn_stats', 'bn_affine', 'bn_sums', 'bn_dx',
  'wino_conv_f2', 'wino_conv_f4', 'wino_wgrad_f2', 'wino_wgrad_f4',
] as const;
export type TeamKernel = (typeof TEAM_KERNELS)[number];

/** [start, end) of piece i of [0, total) in k pieces whose inner boundaries are multiples of `align`. */
function piece(total: number, k: number, i: number, align: number): [number, number] {
  const at = (j: number): number => (j >= k ? total : Math.min(total, Math.floor((total * j) / k / align) * align));
  return [at(i), at(i + 1)];
}

/** The k pieces of [0, total) (piece), empty ones dropped. */
export function pieces(total: number, k: number, align = 1): [number, number][] {
  return Array.from({ length: k }, (_, i) => piece(total, k, i, align)).filter(([a, b]) => b > a);
}

/** One kernel call; `perThread` adds tid * stride to one argument (a scratch each thread has of its own). */
export interface KernelCall {
  readonly kernel: TeamKernel;
  readonly args: readonly number[];
  readonly perThread?: { readonly arg: number; readonly stride: number };
}

/** A chunk: calls run in order by one thread. */
export type Chunk = readonly KernelCall[];

// The control block (Int32 words of a SharedArrayBuffer).
const SEQ = 0; // bumped when a job is published (idle helpers wait on it)
const CLAIM = 1; // (job tag << 16) | next chunk: claimed by compare-exchange
const DONE = 2; // chunks finished
const NCHUNKS = 3;
const FAILED = 4; // a helper's kernel threw
const STOP = 5;
const JOINED = 6; // helpers that have started
const HELPED = 7; // chunks helpers have run
const STARTS = 8; // chunk j's rows are [starts[j], starts[j + 1])
const MAX_CHUNKS = 256;
const ROWS_AT = STARTS + MAX_CHUNKS + 1;
const MAX_ARGS = 20;
const ROW = 4 + MAX_ARGS; // kernel, argument count, per-thread argument (-1: none), its stride, arguments
const MAX_ROWS = 2048;
const CLOSED = 0xffff; // a claim index no job reaches: set while a job is being written

/** A control block for one team. */
export function teamControl(): SharedArrayBuffer {
  return new SharedArrayBuffer((ROWS_AT + MAX_ROWS * ROW) * 4);
}

type Kernel = (...args: number[]) => void;

/** A thread's side of the protocol: its module instance's kernels and its thread index (0 = the caller). */
class Claimer {
  private readonly fns: Kernel[];
  private readonly args: number[] = [];

  constructor(exports: Record<string, unknown>, protected readonly ctrl: Int32Array, private readonly tid: number) {
    this.fns = TEAM_KERNELS.map((name) => {
      const fn = exports[name];
      if (typeof fn !== 'function') throw new Error(`kernel team: the training module has no ${name}`);
      return fn as Kernel;
    });
  }

  /**
   * Claims and runs chunks of the current job until none is left; returns what a chunk of its threw. After
   * a failure (on any thread) the job's remaining chunks are claimed and counted without running, so that
   * the job ends.
   */
  protected claimAndRun(): unknown {
    const c = this.ctrl;
    let error: unknown = null;
    for (;;) {
      const v = Atomics.load(c, CLAIM);
      const j = v & 0xffff;
      // A claim succeeds only while the job it was read from is open (its tag and index unchanged), so the
      // rows read after it are that job's.
      if (j >= Atomics.load(c, NCHUNKS) || Atomics.compareExchange(c, CLAIM, v, v + 1) !== v) {
        if ((Atomics.load(c, CLAIM) & 0xffff) >= Atomics.load(c, NCHUNKS)) return error;
        continue;
      }
      if (!Atomics.load(c, FAILED)) {
        try {
          this.runChunk(j);
          if (this.tid > 0) Atomics.add(c, HELPED, 1);
        } catch (e) {
          error = e;
          Atomics.store(c, FAILED, 1);
        }
      }
      Atomics.add(c, DONE, 1);
    }
  }

  private runChunk(j: number): void {
    const c = this.ctrl;
    const end = c[STARTS + j + 1]!;
    for (let r = c[STARTS + j]!; r < end; r++) {
      const at = ROWS_AT + r * ROW;
      const n = c[at + 1]!;
      const args = this.args;
      args.length = n;
      for (let i = 0; i < n; i++) args[i] = c[at + 4 + i]!;
      const pt = c[at + 2]!;
      if (pt >= 0) args[pt]! += this.tid * c[at + 3]!;
      this.fns[c[at]!]!(...args);
    }
  }
}

/** The calling thread's side: publishes each job, takes part in it and returns when every chunk is done. */
export class KernelTeam extends Claimer {
  private seq = 0;

  /** `helpers` threads run helperLoop on the same control block (they may join late: the caller does all until then). */
  constructor(exports: Record<string, unknown>, control: SharedArrayBuffer, readonly helpers: number) {
    super(exports, new Int32Array(control), 0);
    Atomics.store(this.ctrl, CLAIM, CLOSED);
  }

  get threads(): number {
    return 1 + this.helpers;
  }

  /** Chunks the helpers have run so far. */
  get helped(): number {
    return Atomics.load(this.ctrl, HELPED);
  }

  /** Helpers that have started (before that, jobs run on this thread alone, with the same results). */
  get joined(): number {
    return Atomics.load(this.ctrl, JOINED);
  }

  /** Runs every chunk, on this thread and whichever helpers are free, and returns when all are done. */
  run(chunks: readonly Chunk[]): void {
    const c = this.ctrl;
    if (chunks.length > MAX_CHUNKS) throw new Error(`kernel team: ${chunks.length} chunks (at most ${MAX_CHUNKS})`);
    this.seq = (this.seq + 1) & 0x7fff;
    Atomics.store(c, CLAIM, (this.seq << 16) | CLOSED);
    let row = 0;
    chunks.forEach((chunk, j) => {
      c[STARTS + j] = row;
      for (const call of chunk) {
        if (row >= MAX_ROWS) throw new Error(`kernel team: more than ${MAX_ROWS} calls in one job`);
        if (call.args.length > MAX_ARGS) throw new Error(`kernel team: ${call.kernel} takes at most ${MAX_ARGS} arguments here`);
        const at = ROWS_AT + row * ROW;
        c[at] = TEAM_KERNELS.indexOf(call.kernel);
        c[at + 1] = call.args.length;
        c[at + 2] = call.perThread ? call.perThread.arg : -1;
        c[at + 3] = call.perThread ? call.perThread.stride : 0;
        call.args.forEach((a, i) => { c[at + 4 + i] = a; });
        row++;
      }
    });
    c[STARTS + chunks.length] = row;
    Atomics.store(c, DONE, 0);
    Atomics.store(c, FAILED, 0);
    Atomics.store(c, NCHUNKS, chunks.length);
    Atomics.store(c, CLAIM, this.seq << 16);
    if (this.helpers > 0 && chunks.length > 1) {
      Atomics.add(c, SEQ, 1);
      Atomics.notify(c, SEQ);
    }
    const error = this.claimAndRun();
    // Chunks a helper is still running: each is a fraction of a millisecond, so spin.
    while (Atomics.load(c, DONE) < chunks.length) { /* spin */ }
    if (error) throw error;
    if (Atomics.load(c, FAILED)) throw new Error('training: a kernel failed in a helper thread');
  }

  /** Tells the helpers to return from helperLoop. */
  stop(): void {
    Atomics.store(this.ctrl, STOP, 1);
    Atomics.add(this.ctrl, SEQ, 1);
    Atomics.notify(this.ctrl, SEQ);
  }
}

/** How long an idle helper spins before it sleeps (the gaps between one step's jobs are shorter). */
const SPIN_MS = 0.5;

/** A helper thread's life: run the chunks it can claim, wait for the next job, until the team stops. */
export function helperLoop(exports: Record<string, unknown>, control: SharedArrayBuffer, tid: number): void {
  new (class extends Claimer {
    loop(): void {
      const c = this.ctrl;
      Atomics.add(c, JOINED, 1);
      for (;;) {
        const seen = Atomics.load(c, SEQ);
        if (Atomics.load(c, STOP)) return;
        this.claimAndRun(); // a failure is the caller's to report (FAILED)
        const t0 = performance.now();
        let spins = 0;
        while (Atomics.load(c, SEQ) === seen) {
          if ((++spins & 1023) === 0 && performance.now() - t0 > SPIN_MS) {
            Atomics.wait(c, SEQ, seen);
            break;
          }
        }
      }
    }
  })(exports, new Int32Array(control), tid).loop();
}

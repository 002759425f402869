// Worker threads for the wasm engine, in Node (worker_threads) and in browsers (Web Workers) alike.
// Each worker instantiates the same kernel module on the same shared memory, then sleeps on a control
// word; a run bumps the word and each worker joins the run if it is still going when the worker wakes up
// (the calling thread never waits for a worker to wake); the barrier inside the module keeps the steps in
// order and the work of each step is shared in chunks. This file uses no Node or DOM types so both
// tsconfigs accept it.

import { DESC_BYTES } from '../../../kernels/wasm/descriptors';
import {
  ALIGN, CTL_EXIT, CTL_GO, CTL_NSTEPS, CTL_NTH, CTL_PROG, CTL_RUN, LEFT_ADDR, STATE_ADDR, STATE_CLOSED, roundUp,
} from '../../../kernels/wasm/memory';

/**
 * Per-step end times of a profiled run, in the shared memory right after the step program (every thread
 * finds it from the program's address and length): an i32 "profiling" word, then one int64 per step, the
 * time in nanoseconds (performance.timeOrigin + now(), one clock for all threads) at which the first thread
 * got past that step's barrier, written once (compare-exchange from 0).
 */
export function marksAddr(prog: number, nsteps: number): number {
  return roundUp(prog + nsteps * DESC_BYTES, ALIGN);
}

export function marksBytes(nsteps: number): number {
  return roundUp(8 + 8 * nsteps, ALIGN);
}

/** Now, on the clock every thread of this process shares, in nanoseconds. */
export function sharedClockNs(): bigint {
  return BigInt(Math.round((performance.timeOrigin + performance.now()) * 1e6));
}

/** Records the end of step `step` if no thread has yet (the mark import of every thread of a profiled run). */
export function markStep(i32: Int32Array, i64: BigInt64Array, at: number, step: number): void {
  if (Atomics.load(i32, at / 4) === 0) return;
  const slot = at / 8 + 1 + step;
  if (Atomics.load(i64, slot) === 0n) Atomics.compareExchange(i64, slot, 0n, sharedClockNs());
}
import type { WasmMemory, WasmModule } from '../../../kernels/wasm/wasm-api';

/** The minimal worker surface we need from either runtime. */
export interface WorkerHandle {
  postMessage(message: unknown): void;
  onMessage(cb: (message: unknown) => void): void;
  onError(cb: (err: unknown) => void): void;
  terminate(): void;
}

/** Creates a worker running `source` (a classic script, not a module). */
export type WorkerFactory = (source: string) => Promise<WorkerHandle>;

interface NodeWorker {
  postMessage(m: unknown): void;
  on(ev: 'message' | 'error', cb: (m: unknown) => void): void;
  terminate(): Promise<number>;
  unref(): void;
}
type NodeWorkerCtor = new (src: string, opts: { eval: boolean }) => NodeWorker;

interface BrowserWorker {
  postMessage(m: unknown): void;
  onmessage: ((e: { data: unknown }) => void) | null;
  onerror: ((e: unknown) => void) | null;
  terminate(): void;
}
interface BrowserGlobals {
  Worker?: new (url: string) => BrowserWorker;
  Blob?: new (parts: string[], opts: { type: string }) => unknown;
  URL?: { createObjectURL(b: unknown): string };
  navigator?: { hardwareConcurrency?: number };
  document?: unknown;
  process?: { versions?: { node?: string } };
}
const g = globalThis as unknown as BrowserGlobals;

const isNode = (): boolean => typeof g.process?.versions?.node === 'string';
/** A browser window's main thread may not block (Atomics.wait throws there): its barrier only spins. */
export const mainThreadMayBlock = (): boolean => isNode() || g.document === undefined;

// A non-literal specifier keeps bundlers from trying to resolve Node built-ins in web builds.
const nodeModule = async <T>(name: string): Promise<T> => (await import(name)) as T;

export async function hardwareThreads(): Promise<number> {
  if (isNode()) {
    const os = await nodeModule<{ availableParallelism?: () => number; cpus: () => unknown[] }>('node:os');
    return os.availableParallelism?.() ?? os.cpus().length;
  }
  return g.navigator?.hardwareConcurrency ?? 1;
}

const defaultWorkerFactory: WorkerFactory = async (source) => {
  if (isNode()) {
    const { Worker } = await nodeModule<{ Worker: NodeWorkerCtor }>('node:worker_threads');
    const w = new Worker(source, { eval: true });
    w.unref();
    return {
      postMessage: (m) => w.postMessage(m),
      onMessage: (cb) => w.on('message', cb),
      onError: (cb) => w.on('error', cb),
      terminate: () => void w.terminate(),
    };
  }
  if (!g.Blob || !g.URL) throw new Error('wasm engine: this runtime has no Blob URLs, cannot start workers');
  return browserWorker(g.URL.createObjectURL(new g.Blob([source], { type: 'text/javascript' })));
};

function browserWorker(url: string): WorkerHandle {
  if (!g.Worker) throw new Error('wasm engine: this runtime has no Worker, cannot use threads');
  const w = new g.Worker(url);
  return {
    postMessage: (m) => w.postMessage(m),
    onMessage: (cb) => { w.onmessage = (e) => cb(e.data); },
    onError: (cb) => { w.onerror = cb; },
    terminate: () => w.terminate(),
  };
}

/**
 * Browser workers from a served copy of WORKER_SOURCE (the build writes it to dist/web/): pages whose CSP
 * allows workers only from same-origin script URLs (`worker-src 'self'`) cannot start Blob workers.
 */
export function urlWorkerFactory(url: string): WorkerFactory {
  return async () => browserWorker(url);
}

/** The worker's script: plain JS, the same text for Node's eval workers and for browser Blob workers. */
export const WORKER_SOURCE = `
'use strict';
const nodeWT = typeof require === 'function' ? require('node:worker_threads') : null;
const post = (m) => (nodeWT ? nodeWT.parentPort.postMessage(m) : self.postMessage(m));
const onMessage = (fn) => (nodeWT ? nodeWT.parentPort.once('message', fn) : (self.onmessage = (e) => fn(e.data)));
onMessage((msg) => {
  let instance;
  try {
    // The end of a step, once, by whichever thread sees it first (see marksAddr in threads.ts). Views are
    // remade when the memory has grown (a grown shared memory has a new, longer buffer).
    let i32 = new Int32Array(msg.memory.buffer);
    let i64 = new BigInt64Array(msg.memory.buffer);
    const mark = (step) => {
      if (i32.buffer.byteLength !== msg.memory.buffer.byteLength) {
        i32 = new Int32Array(msg.memory.buffer);
        i64 = new BigInt64Array(msg.memory.buffer);
      }
      const at = Math.ceil((Atomics.load(i32, ${CTL_PROG}) + Atomics.load(i32, ${CTL_NSTEPS}) * ${DESC_BYTES}) / ${ALIGN}) * ${ALIGN};
      if (Atomics.load(i32, at / 4) === 0) return;
      const slot = at / 8 + 1 + step;
      if (Atomics.load(i64, slot) === 0n) Atomics.compareExchange(i64, slot, 0n, BigInt(Math.round((performance.timeOrigin + performance.now()) * 1e6)));
    };
    instance = new WebAssembly.Instance(msg.module, { env: { memory: msg.memory, mark, wake: () => {} } });
  } catch (err) {
    post({ error: String(err) });
    return;
  }
  const ctl = new Int32Array(msg.memory.buffer, 0, 16);
  const run = instance.exports.run;
  // Read the generation before saying ready: a run may start as soon as the main thread hears it.
  let seen = Atomics.load(ctl, ${CTL_GO});
  post({ ready: true });
  for (;;) {
    Atomics.wait(ctl, ${CTL_GO}, seen);
    const go = Atomics.load(ctl, ${CTL_GO});
    if (go === seen) continue;
    seen = go;
    if (Atomics.load(ctl, ${CTL_EXIT}) !== 0) break;
    const nth = Atomics.load(ctl, ${CTL_NTH});
    if (msg.tid >= nth) continue;
    // Join the current run if it is still open: one more participant from the next barrier on.
    const tag = Atomics.load(ctl, ${CTL_RUN});
    let joined = false;
    for (;;) {
      const v = Atomics.load(ctl, ${STATE_ADDR / 4});
      if (((v >>> 8) !== tag) || (v & ${STATE_CLOSED}) !== 0) break;
      if (Atomics.compareExchange(ctl, ${STATE_ADDR / 4}, v, v + 1) === v) { joined = true; break; }
    }
    if (!joined) continue;
    try {
      // flags: may sleep in the barrier, and mark steps (a no-op unless the run is profiled).
      run(Atomics.load(ctl, ${CTL_PROG}), Atomics.load(ctl, ${CTL_NSTEPS}), msg.tid, nth, 3);
    } catch (err) {
      post({ error: String(err) });
      break;
    } finally {
      Atomics.add(ctl, ${LEFT_ADDR / 4}, 1);
    }
  }
  if (nodeWT) nodeWT.parentPort.close();
  else self.close();
});
`;

/** Workers 1..threads-1 (thread 0 is the caller), each with its own instance on `memory`. */
export class WorkerPool {
  private constructor(private readonly workers: WorkerHandle[], private readonly ctl: Int32Array) {}

  static async start(threads: number, module: WasmModule, memory: WasmMemory, factory: WorkerFactory = defaultWorkerFactory): Promise<WorkerPool> {
    const { pool, ready } = await WorkerPool.spawn(threads, module, memory, factory);
    await ready;
    return pool;
  }

  /**
   * Creates the workers and hands them the module and memory; `ready` resolves when all of them are (so
   * the caller can do other work meanwhile: they start on other cores) and rejects, after disposing the
   * pool, if one fails.
   */
  static async spawn(threads: number, module: WasmModule, memory: WasmMemory, factory: WorkerFactory = defaultWorkerFactory): Promise<{ pool: WorkerPool; ready: Promise<void> }> {
    const ctl = new Int32Array(memory.buffer, 0, 16);
    const workers: WorkerHandle[] = [];
    const ready: Promise<void>[] = [];
    for (let tid = 1; tid < threads; tid++) {
      const w = await factory(WORKER_SOURCE);
      workers.push(w);
      ready.push(new Promise<void>((resolve, reject) => {
        w.onMessage((m) => {
          const msg = m as { ready?: boolean; error?: string };
          if (msg.ready) resolve();
          else if (msg.error) reject(new Error(`wasm engine worker ${tid}: ${msg.error}`));
        });
        w.onError((err) => reject(err instanceof Error ? err : new Error(`wasm engine worker ${tid}: ${String(err)}`)));
      }));
      w.postMessage({ module, memory, tid });
    }
    const pool = new WorkerPool(workers, ctl);
    const all = Promise.all(ready).then(
      () => {},
      (err: unknown) => {
        pool.dispose();
        throw err;
      },
    );
    return { pool, ready: all };
  }

  get size(): number {
    return this.workers.length + 1;
  }

  /** Wakes the workers: each joins run `tag` if it is still open when it gets there. */
  start(prog: number, nsteps: number, nth: number, tag: number): void {
    Atomics.store(this.ctl, CTL_PROG, prog);
    Atomics.store(this.ctl, CTL_NSTEPS, nsteps);
    Atomics.store(this.ctl, CTL_NTH, nth);
    Atomics.store(this.ctl, CTL_RUN, tag);
    Atomics.add(this.ctl, CTL_GO, 1);
    Atomics.notify(this.ctl, CTL_GO);
  }

  dispose(): void {
    Atomics.store(this.ctl, CTL_EXIT, 1);
    Atomics.add(this.ctl, CTL_GO, 1);
    Atomics.notify(this.ctl, CTL_GO);
    for (const w of this.workers) w.terminate();
    this.workers.length = 0;
  }
}

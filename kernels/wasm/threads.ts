// Worker threads for the wasm engine, in Node (worker_threads) and in browsers (Web Workers) alike.
// Each worker instantiates the same kernel module on the same shared memory, then sleeps on a control
// word; a run bumps the word, every thread calls `run` with its thread id, and the barrier inside the
// module keeps the steps in lock-step. This file uses no Node or DOM types so both tsconfigs accept it.

import type { WasmMemory, WasmModule } from './wasm-api';

/** Control words (i32 indices into memory) read by the workers. */
export const CTL_GO = 8;
export const CTL_EXIT = 9;
export const CTL_PROG = 10;
export const CTL_NSTEPS = 11;
export const CTL_NTH = 12;
/** Extra `run` flags for the workers (bit 2: initial barrier). */
export const CTL_FLAGS = 13;

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

export const isNode = (): boolean => typeof g.process?.versions?.node === 'string';
/** A browser window's main thread may not block (Atomics.wait throws there): its barrier only spins. */
export const mainThreadMayBlock = (): boolean => isNode() || g.document === undefined;

// A non-literal specifier keeps bundlers from trying to resolve Node built-ins in web builds.
const nodeModule = async <T>(name: string): Promise<T> => (await import(/* @vite-ignore */ name)) as T;

export async function hardwareThreads(): Promise<number> {
  if (isNode()) {
    const os = await nodeModule<{ availableParallelism?: () => number; cpus: () => unknown[] }>('node:os');
    return os.availableParallelism?.() ?? os.cpus().length;
  }
  return g.navigator?.hardwareConcurrency ?? 1;
}

export const defaultWorkerFactory: WorkerFactory = async (source) => {
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
  if (!g.Worker || !g.Blob || !g.URL) throw new Error('wasm engine: this runtime has no Worker, cannot use threads');
  const url = g.URL.createObjectURL(new g.Blob([source], { type: 'text/javascript' }));
  const w = new g.Worker(url);
  return {
    postMessage: (m) => w.postMessage(m),
    onMessage: (cb) => { w.onmessage = (e) => cb(e.data); },
    onError: (cb) => { w.onerror = cb; },
    terminate: () => w.terminate(),
  };
};

/** The worker's script: plain JS, the same text for Node's eval workers and for browser Blob workers. */
export const WORKER_SOURCE = `
'use strict';
const nodeWT = typeof require === 'function' ? require('node:worker_threads') : null;
const post = (m) => (nodeWT ? nodeWT.parentPort.postMessage(m) : self.postMessage(m));
const onMessage = (fn) => (nodeWT ? nodeWT.parentPort.once('message', fn) : (self.onmessage = (e) => fn(e.data)));
onMessage((msg) => {
  let instance;
  try {
    instance = new WebAssembly.Instance(msg.module, { env: { memory: msg.memory, mark: () => {} } });
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
    try {
      run(Atomics.load(ctl, ${CTL_PROG}), Atomics.load(ctl, ${CTL_NSTEPS}), msg.tid, nth, 1 | Atomics.load(ctl, ${CTL_FLAGS}));
    } catch (err) {
      post({ error: String(err) });
      break;
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
    try {
      await Promise.all(ready);
    } catch (err) {
      pool.dispose();
      throw err;
    }
    return pool;
  }

  get size(): number {
    return this.workers.length + 1;
  }

  /**
   * Wakes the workers to run the program; the caller then runs thread 0 itself. With `meetFirst` the
   * program starts with a barrier, so the caller may still write the input while the workers wake up.
   */
  start(prog: number, nsteps: number, nth: number, meetFirst: boolean): void {
    Atomics.store(this.ctl, CTL_PROG, prog);
    Atomics.store(this.ctl, CTL_NSTEPS, nsteps);
    Atomics.store(this.ctl, CTL_NTH, nth);
    Atomics.store(this.ctl, CTL_FLAGS, meetFirst ? 4 : 0);
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

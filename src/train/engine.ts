// Who computes gradients in the CLI: the net in this thread, or data-parallel across Node worker threads. With T threads a
// batch is split into T shards; this thread runs shard 0 while T-1 workers run the others (or, for an engine
// kept off this thread, T workers run them all), each on its own copy of the net (parameters are sent with
// every step, gradients come back and are averaged). Batch norm uses each shard's statistics, as multi-GPU
// training does; running statistics are averaged. A thread that finishes its shard first computes Winograd
// weight gradients the others hand it (weight-grad-team.ts), with the same bits as theirs.
import { isMainThread, parentPort, type Worker, workerData } from 'node:worker_threads';
import type { WasmMemory } from '../../kernels/wasm/wasm-api';
import { parseOnnx } from '../onnx/read';
import { type TrainBackend, type WasmTrainBackend, wasmBackend } from './backend';
import { type GradientEngine, type Reply, type Request, runLocal } from './local-engine';
import './relaxed-simd-node';
import { spawnModuleWorker } from './spawn';
import { TrainNet } from './net';
import { OUT, WgradBoard } from './weight-grad-team';

const WORKER_KIND = 'resnet-lab/train-worker';

interface WorkerInit {
  readonly kind: typeof WORKER_KIND;
  readonly onnx: Uint8Array;
  readonly maxBatch: number;
}

/** Setting up the weight-gradient team: a worker's memory, then the board and everyone's memories. */
type TeamRequest =
  | { type: 'memory' }
  | { type: 'team'; board: SharedArrayBuffer; threads: number; self: number; memories: (WasmMemory | null)[] };
type TeamReply = { type: 'memory'; memory: WasmMemory } | { type: 'team' };

const isWasmBackend = (b: TrainBackend): b is WasmTrainBackend => b.name === 'wasm' && 'joinTeam' in b;

// A worker thread: this same module, started with workerData of our kind.
if (!isMainThread && (workerData as Partial<WorkerInit> | null)?.kind === WORKER_KIND && parentPort) {
  const init = workerData as WorkerInit;
  const port = parentPort;
  const backend = wasmBackend();
  const net = new TrainNet(parseOnnx(init.onnx), { backend, maxBatch: init.maxBatch });
  port.on('message', (req: Request | TeamRequest) => {
    let reply: Reply | TeamReply;
    try {
      if (req.type === 'memory') reply = { type: 'memory', memory: backend.memory };
      else if (req.type === 'team') {
        backend.joinTeam(new WgradBoard(req.threads, req.board), req.self, req.memories);
        reply = { type: 'team' };
      } else reply = runLocal(net, req);
    } catch (e) {
      reply = { type: 'error', message: (e as Error).message };
    }
    const transfer = reply.type === 'step' ? [reply.grads.buffer, reply.states.buffer] : reply.type === 'predict' ? [reply.logits.buffer] : [];
    port.postMessage(reply, transfer as ArrayBuffer[]);
  });
  port.postMessage({ type: 'ready' });
}

class ThreadWorker {
  private pending: { resolve: (r: Reply | TeamReply) => void; reject: (e: Error) => void } | null = null;

  private constructor(private readonly worker: Worker) {
    worker.on('message', (m: Reply | TeamReply) => {
      const p = this.pending;
      this.pending = null;
      if (!p) return;
      if (m.type === 'error') p.reject(new Error(`training worker: ${m.message}`));
      else p.resolve(m);
    });
    worker.on('error', (e: Error) => {
      this.pending?.reject(e);
      this.pending = null;
    });
  }

  static start(onnx: Uint8Array, maxBatch: number): Promise<ThreadWorker> {
    const init: WorkerInit = { kind: WORKER_KIND, onnx, maxBatch };
    const worker = spawnModuleWorker(import.meta.url, init);
    return new Promise((resolve, reject) => {
      const onError = (e: Error): void => reject(new Error(`training worker failed to start: ${e.message}`));
      worker.once('error', onError);
      worker.once('message', (m: { type: string }) => {
        worker.off('error', onError);
        if (m.type === 'ready') resolve(new ThreadWorker(worker));
        else reject(new Error(`training worker: unexpected first message ${m.type}`));
      });
    });
  }

  request(req: Request): Promise<Reply>;
  request(req: TeamRequest): Promise<TeamReply>;
  request(req: Request | TeamRequest): Promise<Reply | TeamReply> {
    if (this.pending) throw new Error('training worker: a request is already running');
    return new Promise((resolve, reject) => {
      this.pending = { resolve, reject };
      this.worker.postMessage(req);
    });
  }

  async close(): Promise<void> {
    await this.worker.terminate();
  }
}

/**
 * out = sum of weights[i] * parts[i], added in shard order and rounded to float32 after each term, as adding
 * the terms into a float32 vector one by one does; two shards (the common case) in one pass over memory.
 */
function weightedSum(parts: readonly Float32Array[], weights: readonly number[], out: Float32Array): Float32Array {
  if (parts.length === 2) {
    const [p0, p1] = parts as [Float32Array, Float32Array];
    const [w0, w1] = weights as [number, number];
    for (let j = 0; j < out.length; j++) out[j] = Math.fround(w0 * p0[j]!) + w1 * p1[j]!;
    return out;
  }
  parts.forEach((p, i) => {
    const w = weights[i]!;
    for (let j = 0; j < out.length; j++) out[j]! += w * p[j]!;
  });
  return out;
}

/** [start, end) of shard i of n samples in k shards. */
function shard(n: number, k: number, i: number): [number, number] {
  return [Math.floor((n * i) / k), Math.floor((n * (i + 1)) / k)];
}

/**
 * An engine on `threads` threads for the model in `onnx` (the graph the net was built from). `net` is this
 * thread's copy, sized for shards of up to ceil(maxBatch / threads) samples. With `inThisThread` false every
 * shard runs in a worker, so this thread is free (for another net) while a step runs. With `shareWeightGrads`
 * (the default) a thread done with its shard computes the others' Winograd weight gradients, and the engine
 * can join shareWeightGradsAcross; without, every thread computes its own (the same bits, slower).
 */
export async function createEngine(net: TrainNet, onnx: Uint8Array, threads: number, inThisThread = true, shareWeightGrads = true): Promise<GradientEngine> {
  const pool = await Promise.all(Array.from({ length: inThisThread ? threads - 1 : threads }, () => ThreadWorker.start(onnx, net.maxBatch)));
  // Shard i runs on runners[i]: this thread's net first when it takes part.
  const runners: ((req: Request) => Reply | Promise<Reply>)[] = [
    ...(inThisThread ? [(req: Request) => runLocal(net, req)] : []),
    // A posted view would carry its whole buffer (the batch): a worker gets copies of its shard only.
    ...pool.map((w) => (req: Request) => w.request(req.type === 'step'
      ? { ...req, images: req.images.slice(), labels: req.labels.slice() } : { ...req, images: req.images.slice() })),
  ];
  const memories = shareWeightGrads ? await threadMemories(net, pool, inThisThread) : null;
  /** Puts this engine's threads on `b` at `offset`, `offset` + 1, ... with every thread's memory in `all`. */
  const joinBoard = async (b: WgradBoard, offset: number, all: readonly (WasmMemory | null)[]): Promise<void> => {
    if (inThisThread) (net.backend as WasmTrainBackend).joinTeam(b, offset, all);
    const first = offset + (inThisThread ? 1 : 0);
    await Promise.all(pool.map((w, i) => w.request({ type: 'team', board: b.buffer, threads: b.threads, self: first + i, memories: [...all] })));
  };
  // The board this engine resets before each of its steps: its own, or none once it joined one shared
  // with other engines (shareWeightGradsAcross), which whoever steps them resets.
  let board: WgradBoard | null = null;
  if (shareWeightGrads && memories && threads >= 2) {
    board = new WgradBoard(threads);
    await joinBoard(board, 0, memories);
  }
  const per = net.inputSize;
  const paramCount = net.paramCount;
  const stateCount = net.stateCount;
  const K = net.classes;
  const split = (n: number): number => Math.min(threads, n);
  /**
   * Every shard's request, last shard first so that the workers' are posted before this thread runs its own
   * (shard 0); the replies in shard order.
   */
  const runShards = (n: number, request: (a: number, b: number) => Request): Promise<Reply[]> => {
    const k = split(n);
    const pending: (Reply | Promise<Reply>)[] = new Array(k);
    for (let i = k - 1; i >= 0; i--) pending[i] = runners[i]!(request(...shard(n, k, i)));
    return Promise.all(pending);
  };
  let shared: { board: WgradBoard; offset: number } | null = null;
  const engine: GradientEngine = {
    threads, paramCount, stateCount,
    async step(theta, states, images, labels, n) {
      const k = split(n);
      board?.reset(k);
      // On a shared board: the threads without a shard this step are out (the others wait for busy threads).
      for (let t = k; shared && t < threads; t++) shared.board.setState(shared.offset + t, OUT);
      const all = await runShards(n, (a, b) => ({ type: 'step', theta, states, images: images.subarray(a * per, b * per), labels: labels.subarray(a, b), n: b - a }));
      const steps = all.map((r) => {
        if (r.type !== 'step') throw new Error(`training worker: expected a step reply, got ${r.type}`);
        return r;
      });
      const weights = steps.map((_, i) => {
        const [a, b] = shard(n, k, i);
        return (b - a) / n;
      });
      return {
        loss: steps.reduce((s, r, i) => s + weights[i]! * r.loss, 0),
        correct: steps.reduce((s, r) => s + r.correct, 0),
        grads: weightedSum(steps.map((r) => r.grads), weights, new Float32Array(paramCount)),
        states: weightedSum(steps.map((r) => r.states), weights, new Float32Array(stateCount)),
        shardMs: steps.map((r) => r.ms),
      };
    },
    async predict(theta, states, images, n) {
      const k = split(n);
      const all = await runShards(n, (a, b) => ({ type: 'predict', theta, states, images: images.subarray(a * per, b * per), n: b - a }));
      const logits = new Float32Array(n * K);
      all.forEach((r, i) => {
        if (r.type !== 'predict') throw new Error(`training worker: expected a predict reply, got ${r.type}`);
        logits.set(r.logits, shard(n, k, i)[0] * K);
      });
      return logits;
    },
    async close() {
      if ((board || shared) && inThisThread) (net.backend as WasmTrainBackend).leaveTeam();
      await Promise.all(pool.map((w) => w.close()));
    },
  };
  if (memories && shareWeightGrads) {
    crews.set(engine, {
      memories,
      async join(b, offset, all) {
        board = null;
        shared = { board: b, offset };
        await joinBoard(b, offset, all);
      },
    });
  }
  return engine;
}

/** An engine's threads as a board sees them: their memories in shard order, and joining them to a board. */
interface Crew {
  readonly memories: readonly WasmMemory[];
  join(board: WgradBoard, offset: number, all: readonly (WasmMemory | null)[]): Promise<void>;
}

const crews = new WeakMap<GradientEngine, Crew>();

/**
 * Puts the threads of engines that step side by side (a race's nets, each on its own threads) on one
 * weight-gradient board, so that a thread done with its net's step helps with another net's weight
 * gradients. Returns what to call before each round of steps with which engines step in it (their
 * threads are then busy, the others out), or null when an engine cannot share (not the wasm backend).
 * Each round must post the steps of engines that run in workers before an engine on this thread runs its
 * own: this thread may wait for theirs.
 */
export async function shareWeightGradsAcross(engines: readonly GradientEngine[]): Promise<((stepping: readonly boolean[]) => void) | null> {
  const members = engines.map((e) => crews.get(e));
  if (!members.every((c): c is Crew => c !== undefined)) return null;
  const all = members.flatMap((c) => c.memories);
  const board = new WgradBoard(all.length);
  // Thread t of the board is engine owner[t]'s.
  const owner = members.flatMap((c, e) => c.memories.map(() => e));
  let offset = 0;
  for (const c of members) {
    await c.join(board, offset, all);
    offset += c.memories.length;
  }
  return (stepping) => board.reset(owner.map((e) => stepping[e] ?? false));
}

/** The wasm memories of an engine's threads in shard order, or null when this thread's backend is not wasm. */
async function threadMemories(net: TrainNet, pool: readonly ThreadWorker[], inThisThread: boolean): Promise<WasmMemory[] | null> {
  const own = inThisThread ? net.backend : null;
  if (own && !isWasmBackend(own)) return null;
  const theirs = await Promise.all(pool.map(async (w) => {
    const r = await w.request({ type: 'memory' });
    if (r.type !== 'memory') throw new Error(`training worker: expected its memory, got ${r.type}`);
    return r.memory;
  }));
  return [...(own && isWasmBackend(own) ? [own.memory] : []), ...theirs];
}

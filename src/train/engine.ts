// Who runs a net's steps in the CLI: this thread, or a worker thread (so that this one is free for another
// net while a step runs: the race side by side). Either way one net takes the whole batch (batch norm sees
// all of it, as PyTorch's does) and its backend shares every kernel call among `threads` threads
// (kernel-team.ts), with the same results whatever their number.
import { isMainThread, parentPort, type Worker, workerData } from 'node:worker_threads';
import { parseOnnx } from '../onnx/read';
import { wasmBackend } from './backend';
import { startTeamHelpers } from './kernel-team-node';
import { type GradientEngine, localEngine, type Reply, type Request, runLocal } from './local-engine';
import './relaxed-simd-node';
import { spawnModuleWorker } from './spawn';
import { TrainNet } from './net';

const WORKER_KIND = 'resnet-lab/train-worker';

interface WorkerInit {
  readonly kind: typeof WORKER_KIND;
  readonly onnx: Uint8Array;
  readonly maxBatch: number;
  readonly threads: number;
}

/** The wasm backend on `threads` threads (helpers started as worker threads). */
export function nodeBackend(threads: number): ReturnType<typeof wasmBackend> {
  return wasmBackend({ threads, startHelpers: startTeamHelpers });
}

// A worker thread: this same module, started with workerData of our kind.
if (!isMainThread && (workerData as Partial<WorkerInit> | null)?.kind === WORKER_KIND && parentPort) {
  const init = workerData as WorkerInit;
  const port = parentPort;
  const backend = nodeBackend(init.threads);
  const net = new TrainNet(parseOnnx(init.onnx), { backend, maxBatch: init.maxBatch });
  port.on('message', (req: Request) => {
    let reply: Reply;
    try {
      reply = runLocal(net, req);
    } catch (e) {
      reply = { type: 'error', message: (e as Error).message };
    }
    const transfer = reply.type === 'step' ? [reply.grads.buffer, reply.states.buffer] : reply.type === 'predict' ? [reply.logits.buffer] : [];
    port.postMessage(reply, transfer as ArrayBuffer[]);
  });
  void backend.ready().then(() => port.postMessage({ type: 'ready' }), (e: Error) => port.postMessage({ type: 'error', message: e.message }));
}

class ThreadWorker {
  private pending: { resolve: (r: Reply) => void; reject: (e: Error) => void } | null = null;

  private constructor(private readonly worker: Worker) {
    worker.on('message', (m: Reply) => {
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

  static start(init: Omit<WorkerInit, 'kind'>): Promise<ThreadWorker> {
    const worker = spawnModuleWorker(import.meta.url, { kind: WORKER_KIND, ...init } satisfies WorkerInit);
    return new Promise((resolve, reject) => {
      const onError = (e: Error): void => reject(new Error(`training worker failed to start: ${e.message}`));
      worker.once('error', onError);
      worker.once('message', (m: { type: string; message?: string }) => {
        worker.off('error', onError);
        if (m.type === 'ready') resolve(new ThreadWorker(worker));
        else reject(new Error(`training worker: ${m.message ?? `unexpected first message ${m.type}`}`));
      });
    });
  }

  request(req: Request): Promise<Reply> {
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
 * The engine of `net` (built from the graph in `onnx` on nodeBackend(threads)). With `inThisThread` false the
 * steps run on a copy of the net in a worker thread instead, on `threads` threads of its own; this thread's
 * net then only supplies the initial parameters, and can be built on one thread.
 */
export async function createEngine(net: TrainNet, onnx: Uint8Array, threads: number, inThisThread = true): Promise<GradientEngine> {
  if (inThisThread) {
    if (net.threads !== threads) throw new Error(`training: the net runs on ${net.threads} thread(s), the engine was asked for ${threads}`);
    await net.ready();
    return localEngine(net);
  }
  const worker = await ThreadWorker.start({ onnx, maxBatch: net.maxBatch, threads });
  const expect = <T extends Reply['type']>(r: Reply, type: T): Extract<Reply, { type: T }> => {
    if (r.type !== type) throw new Error(`training worker: expected a ${type} reply, got ${r.type}`);
    return r as Extract<Reply, { type: T }>;
  };
  return {
    threads, paramCount: net.paramCount, stateCount: net.stateCount,
    async step(theta, states, images, labels, n) {
      // A posted view would carry its whole buffer: the worker gets copies of the batch only.
      const r = expect(await worker.request({ type: 'step', theta, states, images: images.slice(0, n * net.inputSize), labels: labels.slice(0, n), n }), 'step');
      return { loss: r.loss, correct: r.correct, grads: r.grads, states: r.states, ms: r.ms };
    },
    async predict(theta, states, images, n) {
      return expect(await worker.request({ type: 'predict', theta, states, images: images.slice(0, n * net.inputSize), n }), 'predict').logits;
    },
    async close() {
      await worker.close();
    },
  };
}

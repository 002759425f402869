// ONNX Runtime Web (wasm backend) in its own Node worker thread. ORT fixes its thread count when its wasm
// first loads, once per JS context, so comparing several thread counts in one benchmark run needs one
// context per count. Timing happens inside the worker, around session.run only.
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import type { Tensor } from '../../kernels/core/tensor';

const WORKER_SOURCE = `
'use strict';
const { parentPort, workerData } = require('node:worker_threads');
const ort = require(workerData.ortPath);
ort.env.wasm.numThreads = workerData.threads;
let session;
parentPort.on('message', async (msg) => {
  try {
    if (msg.type === 'load') {
      session = await ort.InferenceSession.create(msg.bytes, { executionProviders: ['wasm'], graphOptimizationLevel: 'all' });
      parentPort.postMessage({ type: 'loaded' });
    } else if (msg.type === 'run') {
      const feeds = { [session.inputNames[0]]: new ort.Tensor('float32', msg.data, msg.shape) };
      const t0 = performance.now();
      const out = await session.run(feeds);
      const ms = performance.now() - t0;
      const y = out[session.outputNames[0]];
      const data = Float32Array.from(y.data);
      const shape = [...y.dims];
      y.dispose();
      parentPort.postMessage({ type: 'ran', ms, data, shape }, [data.buffer]);
    } else if (msg.type === 'release') {
      if (session) await session.release();
      parentPort.postMessage({ type: 'released' });
    }
  } catch (err) {
    parentPort.postMessage({ type: 'error', message: String(err && err.stack || err) });
  }
});
`;

interface Reply {
  type: string;
  ms?: number;
  data?: Float32Array;
  shape?: number[];
  message?: string;
}

/** One ORT-web wasm session with a fixed thread count, in a worker thread. */
export class OrtWorkerSession {
  private constructor(private readonly worker: Worker, readonly threads: number) {}

  static async create(onnxBytes: Uint8Array, threads: number): Promise<OrtWorkerSession> {
    const ortPath = createRequire(import.meta.url).resolve('onnxruntime-web');
    const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { ortPath, threads } });
    const s = new OrtWorkerSession(worker, threads);
    await s.call({ type: 'load', bytes: onnxBytes }, 'loaded');
    return s;
  }

  private call(msg: object, expect: string, transfer: ArrayBuffer[] = []): Promise<Reply> {
    return new Promise((resolve, reject) => {
      const onMessage = (r: Reply): void => {
        cleanup();
        if (r.type === expect) resolve(r);
        else reject(new Error(`ort-wasm worker (${this.threads} threads): ${r.message ?? r.type}`));
      };
      const onError = (err: Error): void => {
        cleanup();
        reject(err);
      };
      const cleanup = (): void => {
        this.worker.off('message', onMessage);
        this.worker.off('error', onError);
      };
      this.worker.on('message', onMessage);
      this.worker.on('error', onError);
      this.worker.postMessage(msg, transfer);
    });
  }

  /** Runs once; `ms` is session.run's own time inside the worker. */
  async run(x: Tensor): Promise<{ output: Tensor; ms: number }> {
    const data = Float32Array.from(x.data);
    const r = await this.call({ type: 'run', data, shape: [...x.shape] }, 'ran', [data.buffer]);
    return { output: { shape: r.shape!, data: r.data! }, ms: r.ms! };
  }

  async dispose(): Promise<void> {
    try {
      await this.call({ type: 'release' }, 'released');
    } finally {
      await this.worker.terminate();
    }
  }
}

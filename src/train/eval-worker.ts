// evaluateModel in a worker thread, so that slow evaluations (the readable `ts` engine) of several models
// can use every core.
import { parentPort, workerData } from 'node:worker_threads';
import { type EvalEngine, evaluateModel, type EvalReport } from './evaluate';
import { spawnModuleWorker } from './spawn';

const KIND = 'resnet-lab/eval-worker';

interface Job {
  readonly kind: typeof KIND;
  readonly bytes: Uint8Array;
  readonly dataDir: string;
  readonly engine: EvalEngine;
}

if (parentPort && (workerData as Partial<Job> | null)?.kind === KIND) {
  const job = workerData as Job;
  const port = parentPort;
  evaluateModel(job.bytes, job.dataDir, job.engine).then(
    (report) => port.postMessage({ report }),
    (e: Error) => port.postMessage({ error: e.message }),
  );
}

export function evaluateInWorker(bytes: Uint8Array, dataDir: string, engine: EvalEngine): Promise<EvalReport> {
  const job: Job = { kind: KIND, bytes, dataDir, engine };
  const worker = spawnModuleWorker(import.meta.url, job);
  return new Promise((resolve, reject) => {
    worker.once('message', (m: { report?: EvalReport; error?: string }) => {
      void worker.terminate();
      if (m.report) resolve(m.report);
      else reject(new Error(`evaluation worker: ${m.error ?? 'no result'}`));
    });
    worker.once('error', (e: Error) => reject(new Error(`evaluation worker: ${e.message}`)));
  });
}

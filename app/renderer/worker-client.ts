// The UI's handle on the inference worker: typed requests with progress callbacks. Long work is cancelled
// by terminating the worker (a synchronous conv loop cannot be interrupted any other way); the next
// request starts a fresh one, and the caller reloads whatever models it needs.
import type { EngineRun, LayerStdsReply, LoadResult, ProbeResult, RunReply, SlotId, TensorData, WorkerError, WorkerMessage, WorkerRequest } from './worker-protocol';
import type { ModelSource } from '../shared/catalogue';

export class CancelledError extends Error {
  override readonly name = 'CancelledError';
  constructor() {
    super('cancelled');
  }
}

class WorkerRequestError extends Error {
  override readonly name = 'WorkerRequestError';
  constructor(readonly kind: WorkerError['kind'] | 'crashed', message: string) {
    super(message);
  }
}

type Progress = (text: string, fraction?: number) => void;

interface Pending {
  resolve(v: unknown): void;
  reject(e: Error): void;
  onProgress?: Progress;
}

type RequestBody = WorkerRequest extends infer R ? (R extends { id: number } ? Omit<R, 'id'> : never) : never;

export class InferenceClient {
  private worker: Worker | undefined;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();

  get busy(): boolean {
    return this.pending.size > 0;
  }

  private ensureWorker(): Worker {
    if (this.worker) return this.worker;
    const w = new Worker(new URL('./inference-worker.js', import.meta.url), { type: 'module', name: 'inference' });
    w.onmessage = (e: MessageEvent<WorkerMessage>) => {
      const m = e.data;
      const p = this.pending.get(m.id);
      if (!p) return;
      if (m.type === 'progress') {
        p.onProgress?.(m.text, m.fraction);
        return;
      }
      this.pending.delete(m.id);
      if (m.type === 'result') p.resolve(m.value);
      else p.reject(new WorkerRequestError(m.error.kind, m.error.message));
    };
    w.onerror = (e) => {
      e.preventDefault();
      this.fail(new WorkerRequestError('crashed', `the inference worker stopped: ${e.message || 'unknown error'}`));
    };
    this.worker = w;
    return w;
  }

  private request<T>(body: RequestBody, onProgress?: Progress): Promise<T> {
    const id = this.nextId++;
    const worker = this.ensureWorker();
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject, onProgress });
      worker.postMessage({ ...body, id } as WorkerRequest);
    });
  }

  private fail(err: Error): void {
    const w = this.worker;
    this.worker = undefined;
    w?.terminate();
    const all = [...this.pending.values()];
    this.pending.clear();
    for (const p of all) p.reject(err);
  }

  /** Stops everything in flight; all loaded sessions are lost. */
  cancel(): void {
    this.fail(new CancelledError());
  }

  probe(): Promise<ProbeResult> {
    return this.request({ type: 'probe' });
  }

  load(slot: SlotId, source: ModelSource, engine: string, onProgress?: Progress): Promise<LoadResult> {
    return this.request({ type: 'load', slot, source, engine }, onProgress);
  }

  run(slot: SlotId, input: TensorData, maxRuns = 5, budgetMs = 250): Promise<RunReply> {
    return this.request({ type: 'run', slot, input, maxRuns, budgetMs });
  }

  compareEngines(slot: SlotId, input: TensorData, engines: readonly string[], onProgress?: Progress): Promise<EngineRun[]> {
    return this.request({ type: 'compare-engines', slot, input, engines }, onProgress);
  }

  layerStds(slot: SlotId, input: TensorData, onProgress?: Progress): Promise<LayerStdsReply> {
    return this.request({ type: 'layer-stds', slot, input }, onProgress);
  }
}

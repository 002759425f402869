// The inference worker: builds or fetches ONNX models, creates sessions on the chosen engine (ours or
// ONNX Runtime; WebGPU lives here too), warms each up once, runs images and computes Figure 7's layer
// responses. Requests are handled one at a time; the UI cancels long work by terminating this worker.
import { ModelError } from '../../src/engine/compile';
import { ENGINES, loadModel, type Session } from '../../src/engine/session';
import { OnnxError } from '../../src/onnx/error';
import { serializeOnnx } from '../../src/onnx/write';
import { buildModel } from '../../src/zoo/build';
import { DATASETS } from '../../src/datasets';
import { sourceKey, sourceName, zooSourceSpec, type ModelSource } from '../shared/catalogue';
import { layerResponseStds } from '../../src/analysis/layer-responses';
import { median, shouldRunAgain } from '../shared/results';
import type {
  EngineStatus, LayerStdsReply, LoadResult, ProbeResult, RunReply, SlotId, TensorData, WorkerError, WorkerMessage, WorkerRequest,
} from './worker-protocol';

interface Slot {
  readonly session: Session;
  readonly key: string;
  readonly name: string;
}

const slots = new Map<SlotId, Slot>();
/** ONNX bytes by source, so switching engines does not rebuild or refetch (a few models at most). */
const bytesCache = new Map<string, Uint8Array>();
const MAX_CACHED = 4;

const post = (m: WorkerMessage): void => self.postMessage(m);
const progress = (id: number, text: string, fraction?: number): void => post({ type: 'progress', id, text, fraction });

class WorkerFailure extends Error {
  constructor(readonly kind: WorkerError['kind'], message: string) {
    super(message);
  }
}

interface GpuLike {
  requestAdapter(): Promise<{ info?: { vendor?: string; architecture?: string; description?: string } } | null>;
}

let gpuProbe: Promise<{ ok: boolean; reason?: string; adapter?: string }> | undefined;

function probeGpu(): Promise<{ ok: boolean; reason?: string; adapter?: string }> {
  gpuProbe ??= (async () => {
    const gpu = (navigator as unknown as { gpu?: GpuLike }).gpu;
    if (!gpu) return { ok: false, reason: 'this browser has no WebGPU' };
    try {
      const adapter = await gpu.requestAdapter();
      if (!adapter) return { ok: false, reason: 'no WebGPU adapter on this system' };
      const i = adapter.info;
      const name = [i?.vendor, i?.architecture, i?.description].filter(Boolean).join(' ') || 'adapter';
      return { ok: true, adapter: name };
    } catch (e) {
      return { ok: false, reason: `WebGPU failed: ${e instanceof Error ? e.message : String(e)}` };
    }
  })();
  return gpuProbe;
}

async function probe(): Promise<ProbeResult> {
  const gpu = await probeGpu();
  const engines: EngineStatus[] = ENGINES.map((name) => {
    const needsGpu = name.endsWith('webgpu');
    return needsGpu && !gpu.ok ? { name, available: false, reason: gpu.reason } : { name, available: true };
  });
  return {
    engines,
    crossOriginIsolated: self.crossOriginIsolated,
    hardwareConcurrency: navigator.hardwareConcurrency,
    ...(gpu.adapter && { gpuAdapter: gpu.adapter }),
  };
}

async function bytesOf(id: number, source: ModelSource): Promise<Uint8Array> {
  const key = sourceKey(source);
  const cached = bytesCache.get(key);
  if (cached) return cached;
  let bytes: Uint8Array;
  if (source.kind === 'zoo') {
    progress(id, `Building ${source.name} (seeded random weights)…`, 0.1);
    const d = DATASETS[source.variant];
    const graph = buildModel(zooSourceSpec(source), { name: source.name, meta: { labels: [...d.labels], mean: [...d.mean], std: [...d.std] } });
    bytes = serializeOnnx(graph);
  } else if (source.kind === 'shipped') {
    progress(id, `Fetching ${source.file}…`, 0.1);
    const res = await fetch(new URL(`models/${encodeURIComponent(source.file)}`, self.location.href));
    if (!res.ok) throw new WorkerFailure('bad-model', `${source.file}: cannot fetch the shipped model (HTTP ${res.status})`);
    bytes = new Uint8Array(await res.arrayBuffer());
  } else {
    bytes = source.bytes;
  }
  bytesCache.set(key, bytes);
  while (bytesCache.size > MAX_CACHED) bytesCache.delete(bytesCache.keys().next().value!);
  return bytes;
}

async function load(id: number, slot: SlotId, source: ModelSource, engine: string): Promise<LoadResult> {
  const engines = await probe();
  const status = engines.engines.find((e) => e.name === engine);
  if (!status) throw new WorkerFailure('engine-unavailable', `unknown engine '${engine}' (known: ${ENGINES.join(', ')})`);
  if (!status.available) throw new WorkerFailure('engine-unavailable', `${engine}: ${status.reason}`);
  const name = sourceName(source);
  const t0 = performance.now();
  const bytes = await bytesOf(id, source);
  progress(id, `Compiling ${name}${engine.startsWith('ort') ? ' and starting ONNX Runtime' : ''}…`, 0.4);
  let session: Session;
  try {
    session = await loadModel(bytes, {
      engine: engine as Session['engine'],
      wasmPaths: new URL('./ort/', self.location.href).href,
      wasmThreadWorkerUrl: new URL('./wasm-thread-worker.js', self.location.href).href,
    });
  } catch (e) {
    bytesCache.delete(sourceKey(source));
    if (e instanceof OnnxError || e instanceof ModelError) throw new WorkerFailure('bad-model', `${name}: ${e.message}`);
    throw e;
  }
  const loadMs = performance.now() - t0;
  progress(id, `Warming up ${name}…`, 0.8);
  const [c, h, w] = session.info.inputShape;
  const t1 = performance.now();
  try {
    await session.run({ shape: [1, c!, h!, w!], data: new Float32Array(c! * h! * w!) });
  } catch (e) {
    await session.dispose();
    throw new WorkerFailure('bad-model', `${name}: the model failed its first run on ${engine}: ${e instanceof Error ? e.message : String(e)}`);
  }
  const warmupMs = performance.now() - t1;
  const old = slots.get(slot);
  slots.set(slot, { session, key: sourceKey(source), name });
  // The old session may share nothing with the new one; release ORT's memory now rather than at GC.
  if (old && old.session !== session) await old.session.dispose();
  return { info: session.info, engine, loadMs, warmupMs };
}

function slotOf(slot: SlotId): Slot {
  const s = slots.get(slot);
  if (!s) throw new WorkerFailure('not-loaded', `no model is loaded in slot ${slot}`);
  return s;
}

async function run(slot: SlotId, input: TensorData, maxRuns: number, budgetMs: number): Promise<RunReply> {
  const s = slotOf(slot);
  const times: number[] = [];
  let probs: Float32Array | undefined;
  let steps: RunReply['steps'] = [];
  while (shouldRunAgain(times, maxRuns, budgetMs)) {
    const r = await s.session.run(input);
    times.push(r.ms);
    probs ??= r.probs.data.slice(0, r.probs.data.length / r.probs.shape[0]!);
    steps = r.timings.map((t) => ({ name: t.name, kind: t.kind, ms: t.ms }));
  }
  return { probs: probs!, ms: median(times), runs: times.length, steps };
}

function layerStds(slot: SlotId, input: TensorData): LayerStdsReply {
  return { layers: layerResponseStds(slotOf(slot).session.plan, input) };
}

async function handle(req: WorkerRequest): Promise<unknown> {
  switch (req.type) {
    case 'probe': return probe();
    case 'load': return load(req.id, req.slot, req.source, req.engine);
    case 'run': return run(req.slot, req.input, req.maxRuns, req.budgetMs);
    case 'layer-stds': return layerStds(req.slot, req.input);
  }
}

function toWorkerError(e: unknown): WorkerError {
  if (e instanceof WorkerFailure) return { kind: e.kind, message: e.message };
  if (e instanceof OnnxError || e instanceof ModelError) return { kind: 'bad-model', message: e.message };
  return { kind: 'internal', message: e instanceof Error ? e.message : String(e) };
}

let queue: Promise<void> = Promise.resolve();

self.onmessage = (e: MessageEvent<WorkerRequest>): void => {
  const req = e.data;
  queue = queue.then(async () => {
    try {
      post({ type: 'result', id: req.id, value: await handle(req) });
    } catch (err) {
      post({ type: 'error', id: req.id, error: toWorkerError(err) });
    }
  });
};

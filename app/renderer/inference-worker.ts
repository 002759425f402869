// The inference worker: builds or fetches ONNX models, creates sessions on the chosen engine (ours or
// ONNX Runtime; WebGPU lives here too), warms each up once, runs images and computes Figure 7's layer
// responses. Requests are handled one at a time; the UI cancels long work by terminating this worker.
import { type CamHead, classActivationMap, findCamHead } from '../../src/analysis/cam';
import { ModelError } from '../../src/engine/compile';
import { ENGINES, loadModel, type Session } from '../../src/engine/session';
import { readStateDict } from '../../src/import/checkpoint';
import { ImportError, importStateDict, isCheckpoint } from '../../src/import/index';
import { OnnxError } from '../../src/onnx/error';
import { serializeOnnx } from '../../src/onnx/write';
import { buildModel } from '../../src/zoo/build';
import { DATASETS } from '../../src/datasets';
import { sourceKey, sourceName, zooSourceSpec, type ModelSource } from '../shared/catalogue';
import { layerResponseStds } from '../../src/analysis/layer-responses';
import { median, medianRunIndex, shouldRunAgain } from '../shared/results';
import type {
  CamReply, EngineRun, EngineStatus, ImportSummary, LayerStdsReply, LoadResult, ProbeResult, RunReply, SlotId, TensorData, WorkerError, WorkerMessage,
  WorkerRequest,
} from './worker-protocol';
import { engineLabel } from './worker-protocol';

interface Slot {
  readonly session: Session;
  /** The model's ONNX bytes (sessions on other engines are made from them). */
  readonly bytes: Uint8Array;
  readonly key: string;
  readonly name: string;
  /** The GAP + FC head, when the net has one: its features are the session's last output. */
  readonly cam: { readonly head: CamHead; readonly output: number } | null;
}

/** Class activation maps are returned for this many top classes (the bars the UI shows). */
const CAM_CLASSES = 5;

const slots = new Map<SlotId, Slot>();
/** ONNX bytes by source (and what importing a checkpoint found), so switching engines does not rebuild or refetch. */
const bytesCache = new Map<string, { bytes: Uint8Array; imported?: ImportSummary }>();
const MAX_CACHED = 4;

const post = (m: WorkerMessage): void => self.postMessage(m);
const progress = (id: number, text: string, fraction?: number): void => post({ type: 'progress', id, text, fraction });

class WorkerFailure extends Error {
  constructor(readonly kind: WorkerError['kind'], message: string) {
    super(message);
  }
}

interface GpuLike {
  requestAdapter(): Promise<{ info?: { vendor?: string; architecture?: string; description?: string; isFallbackAdapter?: boolean }; isFallbackAdapter?: boolean } | null>;
}

interface GpuProbe {
  readonly ok: boolean;
  readonly reason?: string;
  readonly adapter?: string;
  /** A software adapter (SwiftShader, or one the browser calls a fallback): WebGPU emulated on the CPU. */
  readonly software?: boolean;
}

let gpuProbe: Promise<GpuProbe> | undefined;

function probeGpu(): Promise<GpuProbe> {
  gpuProbe ??= (async () => {
    const gpu = (navigator as unknown as { gpu?: GpuLike }).gpu;
    if (!gpu) return { ok: false, reason: 'this browser has no WebGPU' };
    try {
      const adapter = await gpu.requestAdapter();
      if (!adapter) return { ok: false, reason: 'no WebGPU adapter on this system' };
      const i = adapter.info;
      const name = [i?.vendor, i?.architecture, i?.description].filter(Boolean).join(' ') || 'adapter';
      const software = /swiftshader|llvmpipe|software|microsoft basic render/i.test(name) || i?.isFallbackAdapter === true || adapter.isFallbackAdapter === true;
      return { ok: true, adapter: name, software };
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
    return needsGpu && !gpu.ok ? { name, available: false, reason: gpu.reason }
      : { name, available: true, ...(needsGpu && gpu.software && { software: true }) };
  });
  return {
    engines,
    crossOriginIsolated: self.crossOriginIsolated,
    hardwareConcurrency: navigator.hardwareConcurrency,
    ...(gpu.adapter && { gpuAdapter: gpu.adapter }),
  };
}

/** A PyTorch checkpoint (told by its bytes) converted to ONNX, with progress; ImportError for what cannot be read. */
function importFile(id: number, name: string, file: Uint8Array): { bytes: Uint8Array; imported: ImportSummary } {
  progress(id, `Reading ${name} (PyTorch checkpoint)…`, 0.05);
  const sd = readStateDict(file);
  progress(id, `Building the network from ${sd.tensors.size} tensors…`, 0.2);
  const m = importStateDict(sd, { source: name });
  progress(id, `Converting ${m.archName} to ONNX…`, 0.3);
  const bytes = serializeOnnx(m.graph);
  return {
    bytes,
    imported: {
      format: m.format, archName: m.archName, labels: m.labels, tensors: m.tensorsUsed, dtypes: m.dtypes, entry: m.entry, dataParallel: m.dataParallel,
    },
  };
}

async function bytesOf(id: number, source: ModelSource): Promise<{ bytes: Uint8Array; imported?: ImportSummary }> {
  const key = sourceKey(source);
  const cached = bytesCache.get(key);
  if (cached) return cached;
  let bytes: Uint8Array;
  let imported: ImportSummary | undefined;
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
  } else if (isCheckpoint(source.bytes)) {
    try {
      ({ bytes, imported } = importFile(id, source.name, source.bytes));
    } catch (e) {
      if (e instanceof ImportError) throw new WorkerFailure('bad-model', `${source.name}: ${e.message}`);
      throw e;
    }
  } else {
    bytes = source.bytes;
  }
  const entry = { bytes, ...(imported && { imported }) };
  bytesCache.set(key, entry);
  while (bytesCache.size > MAX_CACHED) bytesCache.delete(bytesCache.keys().next().value!);
  return entry;
}

async function load(id: number, slot: SlotId, source: ModelSource, engine: string): Promise<LoadResult> {
  const engines = await probe();
  const status = engines.engines.find((e) => e.name === engine);
  if (!status) throw new WorkerFailure('engine-unavailable', `unknown engine '${engine}' (known: ${ENGINES.join(', ')})`);
  if (!status.available) throw new WorkerFailure('engine-unavailable', `${engine}: ${status.reason}`);
  const name = sourceName(source);
  const t0 = performance.now();
  const { bytes, imported } = await bytesOf(id, source);
  progress(id, `Compiling ${name}${engine.startsWith('ort') ? ' and starting ONNX Runtime' : ''}…`, 0.4);
  let session: Session;
  let head: CamHead | null = null;
  try {
    session = await loadModel(bytes, {
      engine: engine as Session['engine'],
      // The last block's output beside the logits, for class activation maps (nets ending in GAP + FC).
      extraOutputs: (graph) => {
        head = findCamHead(graph);
        return head ? [head.features] : [];
      },
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
  const camHead = head as CamHead | null;
  const cam = camHead ? { head: camHead, output: session.info.outputs.findIndex((o) => o.name === camHead.features) } : null;
  slots.set(slot, { session, bytes, key: sourceKey(source), name, cam: cam && cam.output > 0 ? cam : null });
  // The old session may share nothing with the new one; release ORT's memory now rather than at GC.
  if (old && old.session !== session) await old.session.dispose();
  return { info: session.info, engine, loadMs, warmupMs, cam: cam !== null && cam.output > 0, ...(imported && { imported }) };
}

/** Indices of the k largest values, largest first. */
function topIndices(xs: Float32Array, k: number): number[] {
  return [...xs.keys()].sort((a, b) => xs[b]! - xs[a]! || a - b).slice(0, k);
}

function camsOf(cam: NonNullable<Slot['cam']>, features: { shape: readonly number[]; data: Float32Array }, probs: Float32Array): CamReply {
  const [, , height, width] = features.shape as [number, number, number, number];
  const maps = topIndices(probs, CAM_CLASSES).map((cls) => ({ cls, map: classActivationMap(features, cam.head, cls) }));
  return { height, width, maps };
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
  let cam: CamReply | undefined;
  const stepRuns: (readonly { name: string; kind: string; ms: number }[])[] = [];
  while (shouldRunAgain(times, maxRuns, budgetMs)) {
    const r = await s.session.run(input);
    times.push(r.ms);
    if (!probs) {
      probs = r.probs.data.slice(0, r.probs.data.length / r.probs.shape[0]!);
      if (s.cam) cam = camsOf(s.cam, r.outputs[s.cam.output]!, probs);
    }
    stepRuns.push(r.timings);
  }
  // The median run, step by step: per-step medians taken across runs would not add up to any run when a
  // busy machine preempts a different step in each.
  const mid = medianRunIndex(times);
  return { probs: probs!, ms: median(times), runs: times.length, steps: stepRuns[mid] ?? [], stepsRunMs: times[mid] ?? 0, ...(cam && { cam }) };
}

/**
 * The slot's net on each engine in turn, each in a session of its own (loaded, warmed up, timed as `run`
 * times, closed), for the engine table; an engine that cannot run it says why.
 */
async function compareEngines(id: number, slot: SlotId, input: TensorData, engines: readonly string[]): Promise<EngineRun[]> {
  const s = slotOf(slot);
  const status = (await probe()).engines;
  const out: EngineRun[] = [];
  for (const [i, engine] of engines.entries()) {
    const st = status.find((e) => e.name === engine);
    if (!st?.available) {
      out.push({ engine, error: st?.reason ?? 'unknown engine' });
      continue;
    }
    progress(id, `${s.name} on ${engineLabel(engine)}${st.software ? ' (software WebGPU, slow)' : ''}…`, i / engines.length);
    let session: Session | undefined;
    try {
      session = await loadModel(s.bytes, {
        engine: engine as Session['engine'],
        wasmPaths: new URL('./ort/', self.location.href).href,
        wasmThreadWorkerUrl: new URL('./wasm-thread-worker.js', self.location.href).href,
      });
      await session.run(input);
      const times: number[] = [];
      let probs: Float32Array | undefined;
      while (shouldRunAgain(times, 5, 500)) {
        const r = await session.run(input);
        times.push(r.ms);
        probs ??= r.probs.data.slice(0, r.probs.data.length / r.probs.shape[0]!);
      }
      out.push({ engine, ms: median(times), runs: times.length, probs: probs! });
    } catch (e) {
      out.push({ engine, error: e instanceof Error ? e.message : String(e) });
    } finally {
      await session?.dispose();
    }
  }
  return out;
}

function layerStds(id: number, slot: SlotId, input: TensorData): LayerStdsReply {
  let last = 0;
  const layers = layerResponseStds(slotOf(slot).session.plan, input, (done, total) => {
    // A progress message at most every 100 ms (an ImageNet-size net: some 60-170 steps over seconds).
    const now = performance.now();
    if (now - last < 100 && done < total) return;
    last = now;
    progress(id, `step ${done} of ${total}`, done / total);
  });
  return { layers };
}

async function handle(req: WorkerRequest): Promise<unknown> {
  switch (req.type) {
    case 'probe': return probe();
    case 'load': return load(req.id, req.slot, req.source, req.engine);
    case 'run': return run(req.slot, req.input, req.maxRuns, req.budgetMs);
    case 'layer-stds': return layerStds(req.id, req.slot, req.input);
    case 'compare-engines': return compareEngines(req.id, req.slot, req.input, req.engines);
  }
}

function toWorkerError(e: unknown): WorkerError {
  if (e instanceof WorkerFailure) return { kind: e.kind, message: e.message };
  if (e instanceof OnnxError || e instanceof ModelError || e instanceof ImportError) return { kind: 'bad-model', message: e.message };
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

// The one way to run a model: load ONNX bytes on an engine, run batches, get outputs, probabilities and
// per-layer timings. Our engines and ONNX Runtime share this interface, so callers (CLI, app worker,
// benchmarks, parity tests) never care which one runs.
import { registerAll } from './register';
import type { Graph } from '../graph/ir';
import { type ModelMeta, fallbackLabels, parseMeta } from '../model-meta';
import { parseOnnx } from '../onnx/read';
import { type ByteSource, readAll } from '../onnx/source';
import { serializeOnnx } from '../onnx/write';
import { createOrtRunner } from '../ort/ort-session';
import { createWasmExecutor } from './wasm/executor';
import { enableRelaxedSimdInNode } from '../../kernels/wasm/node-relaxed';
import { urlWorkerFactory } from './wasm/threads';
import { type Tensor, sizeOf } from '../../kernels/core/tensor';
import { softmaxRows } from './classify';
import { compileGraph } from './compile';
import { type LayerStat, type Plan, withWeightsInMemory } from './plan';
import { runPlan, type StepTiming } from './run-ts';

/** Ours ('ts': readable TypeScript reference; 'wasm': SIMD, multi-threaded), then ONNX Runtime Web's. */
export const ENGINES = ['wasm', 'ts', 'ort-wasm', 'ort-webgpu'] as const;
export type EngineName = (typeof ENGINES)[number];

export interface SessionOptions {
  readonly engine: EngineName;
  readonly threads?: number;
  /** [C,H,W] for models whose file leaves the spatial size open. */
  readonly inputShape?: readonly number[];
  /**
   * Values to return after the graph's own outputs (e.g. the features a class activation map reads), or a
   * function choosing them from the parsed graph (so the caller need not parse the file a second time).
   */
  readonly extraOutputs?: readonly string[] | ((graph: Graph) => readonly string[]);
  /** ORT only: where its wasm files are served from. */
  readonly wasmPaths?: string;
  /** 'wasm' in browsers: URL of the served thread-worker script (else Blob workers, which a strict CSP refuses). */
  readonly wasmThreadWorkerUrl?: string;
}

export interface ModelInfo {
  readonly name: string;
  readonly meta: ModelMeta | null;
  /** [C,H,W] */
  readonly inputShape: readonly number[];
  readonly classes: number;
  /** The graph's declared outputs with their per-sample shapes; the first is the classifier's. */
  readonly outputs: readonly { readonly name: string; readonly shape: readonly number[] }[];
  readonly labels: readonly string[];
  readonly trained: boolean;
  readonly params: number;
  readonly macs: number;
  readonly layers: readonly LayerStat[];
}

export interface RunOptions {
  /** Keep every layer's output (computed on the reference 'ts' path whatever the engine). */
  readonly captureActivations?: boolean;
}

export interface RunResult {
  /** The model's first output as computed ([N,K] logits, or probabilities if the model ends in Softmax). */
  readonly output: Tensor;
  /** Every output the graph declares, in its order (`output` is the first). */
  readonly outputs: readonly Tensor[];
  /** Softmax of the first output, as [N, its size per sample]. */
  readonly probs: Tensor;
  readonly ms: number;
  /** Per-step timings (our engines; empty for ORT, which runs the graph as one call). */
  readonly timings: readonly StepTiming[];
  readonly activations?: ReadonlyMap<string, Tensor>;
}

export interface Session {
  readonly engine: EngineName;
  readonly info: ModelInfo;
  readonly plan: Plan;
  run(x: Tensor, opts?: RunOptions): Promise<RunResult>;
  dispose(): Promise<void>;
}

export function modelInfo(graph: Graph, plan: Plan): ModelInfo {
  const meta = parseMeta(graph.metadata);
  const inputShape = plan.values[plan.input]!.shape;
  const classes = sizeOf(plan.values[plan.outputs[0]!]!.shape);
  const labels = meta?.labels.length ? meta.labels : fallbackLabels(classes);
  return {
    name: meta?.name ?? graph.name,
    meta,
    inputShape,
    classes,
    outputs: graph.outputs.map((o, i) => ({ name: o.name, shape: plan.values[plan.outputs[i]!]!.shape })),
    labels: labels.length === classes ? labels : [],
    trained: meta ? meta.trained : true,
    params: plan.stats.reduce((s, l) => s + l.params, 0),
    macs: plan.stats.reduce((s, l) => s + l.macs, 0),
    layers: plan.stats,
  };
}

/**
 * Input size for files that leave it symbolic: our metadata's, else the ImageNet size 224x224 (what
 * exporters of ImageNet classifiers with dynamic axes expect).
 */
function defaultInputShape(graph: Graph): readonly number[] | undefined {
  const meta = parseMeta(graph.metadata);
  if (meta) return meta.input;
  const input = graph.inputs.find((i) => !graph.initializers.has(i.name));
  const dims = input?.shape.slice(1) ?? [];
  if (dims.length !== 3 || dims.every((d) => typeof d === 'number')) return undefined;
  return [typeof dims[0] === 'number' ? dims[0] : 3, 224, 224];
}

/** The model's bytes, or a source that reads them by range (a file on disk: see src/onnx/source.ts). */
export type ModelInput = Uint8Array | ByteSource;

export function compileModel(
  bytes: ModelInput, inputShape?: readonly number[], extraOutputs: SessionOptions['extraOutputs'] = [],
): { graph: Graph; plan: Plan; info: ModelInfo; extra: readonly string[] } {
  const parsed = parseOnnx(bytes);
  const extra = typeof extraOutputs === 'function' ? extraOutputs(parsed) : extraOutputs;
  const graph = extra.length === 0 ? parsed : withOutputs(parsed, extra);
  const plan = compileGraph(graph, { inputShape: inputShape ?? defaultInputShape(graph) });
  return { graph, plan, info: modelInfo(graph, plan), extra };
}

/** The graph with more of its values declared as outputs (their shapes are filled in once compiled). */
function withOutputs(graph: Graph, names: readonly string[]): Graph {
  const extra = names.filter((n) => !graph.outputs.some((o) => o.name === n)).map((name) => ({ name, dtype: 'float32' as const, shape: [] }));
  return { ...graph, outputs: [...graph.outputs, ...extra] };
}

/** ONNX bytes declaring the compiled graph's outputs with their shapes, for ONNX Runtime (which returns only declared outputs). */
function bytesWithOutputs(graph: Graph, plan: Plan): Uint8Array {
  const outputs = graph.outputs.map((o, i) => ({ ...o, shape: ['N', ...plan.values[plan.outputs[i]!]!.shape] }));
  return serializeOnnx({ ...graph, outputs });
}

/** What differs between engines: how a batch runs and what is freed at the end. */
interface EngineRunner {
  run(x: Tensor): Promise<{ outputs: readonly Tensor[]; timings: readonly StepTiming[] }>;
  dispose(): Promise<void>;
}

/**
 * Compiles the model and starts the engine. From a ByteSource our engines read each layer's weights from it
 * as they pack that layer (the source must stay readable while the session may recompile: layer outputs);
 * ONNX Runtime gets the whole file.
 */
export async function loadModel(bytes: ModelInput, opts: SessionOptions): Promise<Session> {
  const compiled = compileModel(bytes, opts.inputShape, opts.extraOutputs);
  const { info, extra } = compiled;
  const outputIsProbabilities = compiled.plan.outputIsProbabilities;
  // Engines other than 'ts' keep their own copy of the weights (packed in wasm memory, or in ORT), so the
  // plan's is dropped after they start and recompiled only if asked for (layer responses, activations).
  // The compiled plan's weights are computed from the file's bytes when read (plan.ts: computedWeight); the
  // 'ts' engine, which reads them at every run, holds them computed once.
  let plan: Plan | undefined = opts.engine === 'ts' ? withWeightsInMemory(compiled.plan) : compiled.plan;
  const planOf = (): Plan => (plan ??= withWeightsInMemory(compileModel(bytes, opts.inputShape, extra).plan));
  const ort = opts.engine.startsWith('ort-');
  const engineBytes = !ort ? new Uint8Array(0) : extra.length > 0 ? bytesWithOutputs(compiled.graph, compiled.plan) : bytes instanceof Uint8Array ? bytes : readAll(bytes);
  let runner: EngineRunner | undefined = await startEngine(opts, plan, engineBytes);
  if (opts.engine !== 'ts') plan = undefined;

  const finish = (outputs: readonly Tensor[], t0: number, timings: readonly StepTiming[], activations?: ReadonlyMap<string, Tensor>): RunResult => {
    const output = outputs[0]!;
    return {
      output,
      outputs,
      probs: outputIsProbabilities ? output : softmaxRows(output),
      ms: performance.now() - t0,
      timings,
      activations,
    };
  };
  return {
    engine: opts.engine,
    info,
    get plan() {
      return planOf();
    },
    async run(x, ro) {
      const want = info.inputShape;
      if (x.shape.length !== want.length + 1 || x.shape.slice(1).some((d, i) => d !== want[i])) {
        throw new Error(`input has shape [${x.shape.join(',')}], the model expects [N,${want.join(',')}]`);
      }
      if (!runner) throw new Error('session was disposed');
      const t0 = performance.now();
      if (ro?.captureActivations) {
        // Activations come from the reference path: the fast engines run the whole network in one call.
        registerAll();
        const r = runPlan(planOf(), x, 'ts', true);
        return finish(r.outputs, t0, r.timings, r.activations);
      }
      const r = await runner.run(x);
      return finish(r.outputs, t0, r.timings);
    },
    async dispose() {
      await runner?.dispose();
      runner = undefined;
    },
  };
}

async function startEngine(opts: SessionOptions, plan: Plan, bytes: Uint8Array): Promise<EngineRunner> {
  switch (opts.engine) {
    case 'ts':
      registerAll();
      return { run: async (x) => runPlan(plan, x, 'ts'), dispose: async () => {} };
    case 'wasm': {
      await enableRelaxedSimdInNode();
      const ex = await createWasmExecutor(plan, {
        threads: opts.threads,
        ...(opts.wasmThreadWorkerUrl !== undefined && { workerFactory: urlWorkerFactory(opts.wasmThreadWorkerUrl) }),
      });
      return {
        async run(x) {
          const r = await ex.run(x, { profile: true });
          return { outputs: r.outputs, timings: r.layerMs ?? [] };
        },
        dispose: async () => ex.dispose(),
      };
    }
    case 'ort-wasm':
    case 'ort-webgpu': {
      const backend = opts.engine === 'ort-webgpu' ? 'webgpu' : 'wasm';
      const ort = await createOrtRunner(bytes, { backend, threads: opts.threads, wasmPaths: opts.wasmPaths });
      // ONNX Runtime runs the graph as one call: no per-step timings.
      return { run: async (x) => ({ outputs: await ort.run(x), timings: [] }), dispose: () => ort.release() };
    }
  }
}

// ONNX Runtime Web as the second engine, on the same ONNX bytes. The wasm backend runs in Node and browsers;
// WebGPU comes from the 'onnxruntime-web/webgpu' entry and exists only where an adapter does.
import type * as Ort from 'onnxruntime-web';
import type { Tensor } from '../../kernels/core/tensor';

export type OrtBackend = 'wasm' | 'webgpu';

export interface OrtOptions {
  readonly backend: OrtBackend;
  /** wasm threads; ORT fixes this when its wasm first loads, so the first session's value holds per process. */
  readonly threads?: number;
  /** Where ORT's .wasm/.mjs files are served from (packaged apps). */
  readonly wasmPaths?: string;
}

let loaded: { module: typeof Ort; backend: OrtBackend } | undefined;
const configured = new WeakSet<object>();

async function loadOrt(opts: OrtOptions): Promise<typeof Ort> {
  if (loaded && (loaded.backend === opts.backend || opts.backend === 'wasm')) return loaded.module;
  const module = (opts.backend === 'webgpu'
    ? await import('onnxruntime-web/webgpu')
    : await import('onnxruntime-web')) as typeof Ort;
  // Each entry ('onnxruntime-web', '.../webgpu') is its own bundle with its own env: configure every one
  // the first time it is imported, or the second would look for its wasm next to the script.
  if (!configured.has(module)) {
    if (opts.threads !== undefined) module.env.wasm.numThreads = opts.threads;
    if (opts.wasmPaths !== undefined) module.env.wasm.wasmPaths = opts.wasmPaths;
    configured.add(module);
  }
  loaded = { module, backend: opts.backend };
  return module;
}

export interface OrtRunner {
  /** The model's outputs, in the graph's order. */
  run(x: Tensor): Promise<Tensor[]>;
  release(): Promise<void>;
}

export async function createOrtRunner(bytes: Uint8Array, opts: OrtOptions): Promise<OrtRunner> {
  const ort = await loadOrt(opts);
  const session = await ort.InferenceSession.create(bytes, {
    executionProviders: [opts.backend],
    graphOptimizationLevel: 'all',
  });
  const inputName = session.inputNames[0]!;
  return {
    async run(x: Tensor): Promise<Tensor[]> {
      const feeds = { [inputName]: new ort.Tensor('float32', x.data, [...x.shape]) };
      const result = await session.run(feeds);
      const outputs: Tensor[] = [];
      for (const name of session.outputNames) {
        const y = result[name]!;
        // Copy before dispose: the data may be a view that dispose releases.
        outputs.push({ shape: [...y.dims], data: Float32Array.from((await y.getData()) as ArrayLike<number>) });
        y.dispose();
      }
      return outputs;
    },
    release: () => session.release(),
  };
}

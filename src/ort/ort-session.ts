// ONNX Runtime Web as the second engine, on the same ONNX bytes. The wasm backend runs in Node and browsers;
// WebGPU comes from the 'onnxruntime-web/webgpu' entry and exists only where an adapter does.
import type * as Ort from 'onnxruntime-web';
import { OnnxError } from '../onnx/error';
import type { Tensor } from '../../kernels/core/tensor';

/**
 * ONNX Runtime refused a model (at session creation) or failed to run it. A kind of OnnxError, so every
 * caller that shows model errors as one line shows this one too. The message is ORT's reason alone: its
 * "Can't create a session. ERROR_CODE: N, ERROR_MESSAGE:" wrapper, C++ source paths and function
 * signatures are removed (see cleanOrtMessage); the raw text stays in `cause`.
 */
export class OrtModelError extends OnnxError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    Object.defineProperty(this, 'name', { value: 'OrtModelError' });
  }
}

/**
 * ORT's error text as one line a user can read: the "Can't create a session" / "failed to call OrtRun()"
 * wrappers and "ERROR_CODE: N, ERROR_MESSAGE:" tags go, and so does every C++ source location with the
 * function name ORT prints after it ("/path/onnxruntime/core/graph/model.cc:203 onnxruntime::Model::Model(
 * ModelProto &&, ...)" or "tensorprotoutils.cc:1472 ValidateEmbeddedTensorProtoDataSizeAndShape"); the
 * first non-empty line is kept, whitespace collapsed.
 */
export function cleanOrtMessage(raw: string): string {
  let s = raw.replace(/^(Error:\s*)+/, '');
  s = s.replace(/Can't create a session\.?\s*/g, '').replace(/failed to call OrtRun\(\)\.?\s*/g, '');
  s = s.replace(/\[?ERROR_?CODE:?\s*\d+\]?,?\s*/gi, '').replace(/ERROR_MESSAGE:\s*/gi, '');
  s = s.split('\n').map((l) => l.trim()).find((l) => l !== '') ?? '';
  const location = /(?:[^\s'"]*\/)?[\w.-]+\.(?:cc|cpp|cxx|c|h|hpp):\d+\s*/;
  for (let m = location.exec(s); m; m = location.exec(s)) {
    s = s.slice(0, m.index) + stripFunctionName(s.slice(m.index + m[0].length));
  }
  s = s.replace(/\s+/g, ' ').trim();
  return s === '' ? 'no reason given' : s;
}

/**
 * Drops the C++ function ORT names after a source location: a pretty signature ("[ret] ns::f(args)
 * [const]", parentheses balanced) or a bare identifier ("ValidateInputShape").
 */
function stripFunctionName(s: string): string {
  const open = s.indexOf('(');
  if (open > 0 && /^[\w:<>,*&~ ]+$/.test(s.slice(0, open)) && s.slice(0, open).includes('::')) {
    let depth = 0;
    for (let i = open; i < s.length; i++) {
      if (s[i] === '(') depth++;
      else if (s[i] === ')' && --depth === 0) return s.slice(i + 1).replace(/^\s*const\b/, '').trimStart();
    }
    return s;
  }
  const bare = /^[A-Za-z_][\w:~]*\s+/.exec(s);
  return bare && /[A-Z:]/.test(bare[0].slice(1)) ? s.slice(bare[0].length) : s;
}

function ortError(prefix: string, e: unknown): OrtModelError {
  const raw = e instanceof Error ? e.message : String(e);
  return new OrtModelError(`${prefix}: ${cleanOrtMessage(raw)}`, { cause: e });
}

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
  /** The first input's shape as ORT reads it from the file (symbolic dims as their names). */
  readonly inputShape: readonly (number | string)[];
  /** The model's outputs, in the graph's order. */
  run(x: Tensor): Promise<Tensor[]>;
  release(): Promise<void>;
}

export async function createOrtRunner(bytes: Uint8Array, opts: OrtOptions): Promise<OrtRunner> {
  const ort = await loadOrt(opts);
  let session: Ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(bytes, {
      executionProviders: [opts.backend],
      graphOptimizationLevel: 'all',
      // ORT's own log lines (warnings, and errors it also returns) would reach stderr beside our one line.
      logSeverityLevel: 4,
    });
  } catch (e) {
    throw ortError('ONNX Runtime refused the model', e);
  }
  const inputName = session.inputNames[0];
  if (inputName === undefined) {
    await session.release();
    throw new OrtModelError('ONNX Runtime refused the model: it has no inputs');
  }
  const meta = session.inputMetadata[0];
  const inputShape = meta?.isTensor ? [...meta.shape] : [];
  return {
    inputShape,
    async run(x: Tensor): Promise<Tensor[]> {
      const feeds = { [inputName]: new ort.Tensor('float32', x.data, [...x.shape]) };
      let result: Ort.InferenceSession.ReturnType;
      try {
        result = await session.run(feeds, { logSeverityLevel: 4 });
      } catch (e) {
        throw ortError('ONNX Runtime could not run the model', e);
      }
      const outputs: Tensor[] = [];
      // One tensor can stand for two output names (a graph listing one value twice): read all, then dispose.
      const seen = new Set<Ort.Tensor>();
      for (const name of session.outputNames) {
        const y = result[name]!;
        // Copy before dispose: the data may be a view that dispose releases.
        const data = await y.getData();
        outputs.push({
          shape: [...y.dims],
          data: y.type === 'float32' ? Float32Array.from(data as Float32Array) : Float32Array.from(data as ArrayLike<number | bigint>, Number),
        });
        seen.add(y);
      }
      for (const y of seen) y.dispose();
      return outputs;
    },
    release: () => session.release(),
  };
}

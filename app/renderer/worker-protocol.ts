// Messages between the UI thread and the inference worker. Every request has an id; the worker answers
// with progress messages and then exactly one result or error for that id.
import type { ModelInfo } from '../../src/engine/session';
import type { LayerResponse } from '../../src/analysis/layer-responses';
import type { ModelSource } from '../shared/catalogue';

export type SlotId = 'a' | 'b';

export interface TensorData {
  readonly shape: readonly number[];
  readonly data: Float32Array;
}

export interface EngineStatus {
  readonly name: string;
  readonly available: boolean;
  /** Why it is unavailable (shown next to the option). */
  readonly reason?: string;
}

export interface ProbeResult {
  readonly engines: readonly EngineStatus[];
  readonly crossOriginIsolated: boolean;
  readonly hardwareConcurrency: number;
  readonly gpuAdapter?: string;
}

export interface LoadResult {
  readonly info: ModelInfo;
  readonly engine: string;
  readonly loadMs: number;
  readonly warmupMs: number;
}

export interface RunReply {
  /** Probabilities of the one input row. */
  readonly probs: Float32Array;
  /** Median of the timed runs (after the warm-up done at load). */
  readonly ms: number;
  readonly runs: number;
  /** Per-step times of the last run (our engines; empty for ONNX Runtime, which runs the graph as one call). */
  readonly steps: readonly { readonly name: string; readonly kind: string; readonly ms: number }[];
}

export interface LayerStdsReply {
  readonly layers: readonly LayerResponse[];
}

export type WorkerRequest =
  | { readonly type: 'probe'; readonly id: number }
  | { readonly type: 'load'; readonly id: number; readonly slot: SlotId; readonly source: ModelSource; readonly engine: string }
  | { readonly type: 'run'; readonly id: number; readonly slot: SlotId; readonly input: TensorData; readonly maxRuns: number; readonly budgetMs: number }
  | { readonly type: 'layer-stds'; readonly id: number; readonly slot: SlotId; readonly input: TensorData };

export type WorkerErrorKind = 'bad-model' | 'engine-unavailable' | 'not-loaded' | 'internal';

export interface WorkerError {
  readonly kind: WorkerErrorKind;
  readonly message: string;
}

export type WorkerMessage =
  | { readonly type: 'progress'; readonly id: number; readonly text: string; readonly fraction?: number }
  | { readonly type: 'result'; readonly id: number; readonly value: unknown }
  | { readonly type: 'error'; readonly id: number; readonly error: WorkerError };

const ENGINE_LABELS: Readonly<Record<string, string>> = {
  ts: 'Ours · TypeScript',
  wasm: 'Ours · WebAssembly',
  webgpu: 'Ours · WebGPU',
  'ort-wasm': 'ONNX Runtime · wasm',
  'ort-webgpu': 'ONNX Runtime · WebGPU',
};

export function engineLabel(name: string): string {
  return ENGINE_LABELS[name] ?? name;
}

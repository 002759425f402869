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
  /** A WebGPU engine on a software adapter (SwiftShader: the GPU emulated on the CPU, slow). */
  readonly software?: boolean;
}

export interface ProbeResult {
  readonly engines: readonly EngineStatus[];
  readonly crossOriginIsolated: boolean;
  readonly hardwareConcurrency: number;
  readonly gpuAdapter?: string;
}

/** What importing a PyTorch checkpoint found (the checkpoint is converted to ONNX in the worker). */
export interface ImportSummary {
  /** 'torch.save zip', 'torch.save legacy' or 'safetensors'. */
  readonly format: string;
  /** torchvision's name ('resnet50') or a description of the layout. */
  readonly archName: string;
  /** Where the class names come from: ImageNet's (1000 classes), given, or numbered. */
  readonly labels: 'imagenet' | 'given' | 'numbered';
  readonly tensors: number;
  readonly dtypes: readonly string[];
  /** The entry of a training checkpoint the weights were under ('state_dict'), or ''. */
  readonly entry: string;
  readonly dataParallel: boolean;
}

export interface LoadResult {
  readonly info: ModelInfo;
  readonly engine: string;
  readonly loadMs: number;
  readonly warmupMs: number;
  /** Set when the file was a PyTorch checkpoint. */
  readonly imported?: ImportSummary;
  /** Whether the net ends in global average pooling and one FC layer, so runs return class activation maps. */
  readonly cam: boolean;
}

/** Class activation maps (Zhou et al. 2016) of one image, for the classes asked for: each an [height, width] map. */
export interface CamReply {
  readonly height: number;
  readonly width: number;
  readonly maps: readonly { readonly cls: number; readonly map: Float32Array }[];
}

export interface RunReply {
  /** Probabilities of the one input row. */
  readonly probs: Float32Array;
  /** Median of the timed runs (after the warm-up done at load). */
  readonly ms: number;
  readonly runs: number;
  /**
   * The median run step by step (the run whose total is the median; of two middle runs the faster), so that
   * its steps add up to its total: our engines; empty for ONNX Runtime, which runs the graph as one call.
   */
  readonly steps: readonly { readonly name: string; readonly kind: string; readonly ms: number }[];
  /** That run's total. */
  readonly stepsRunMs: number;
  /** Maps of the top classes, when the net has a GAP + FC head. */
  readonly cam?: CamReply;
}

/** One engine's run of one net on one image (a session of its own, loaded, warmed up, timed, closed). */
export interface EngineRun {
  readonly engine: string;
  /** Median of the timed runs. */
  readonly ms?: number;
  readonly runs?: number;
  readonly probs?: Float32Array;
  /** Why it did not run. */
  readonly error?: string;
}

export interface LayerStdsReply {
  readonly layers: readonly LayerResponse[];
}

export type WorkerRequest =
  | { readonly type: 'probe'; readonly id: number }
  | { readonly type: 'load'; readonly id: number; readonly slot: SlotId; readonly source: ModelSource; readonly engine: string }
  | { readonly type: 'run'; readonly id: number; readonly slot: SlotId; readonly input: TensorData; readonly maxRuns: number; readonly budgetMs: number }
  | { readonly type: 'layer-stds'; readonly id: number; readonly slot: SlotId; readonly input: TensorData }
  | { readonly type: 'compare-engines'; readonly id: number; readonly slot: SlotId; readonly input: TensorData; readonly engines: readonly string[] };

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

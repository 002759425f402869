// The UI's state: what is loaded in each slot, the images and their results. Plain data; app.ts changes
// it and views.ts draws it.
import type { ClassScore } from '../../src/engine/classify';
import type { ModelInfo } from '../../src/engine/session';
import type { PreprocessSpec } from '../../src/preprocess/normalize';
import { type ModelSource, type PairChoice, sourceKey, sourceName } from '../shared/catalogue';
import type { ErrorKind } from '../shared/ipc';
import type { LayerResponse } from '../../src/analysis/layer-responses';
import type { HostImage } from './host';
import type { CamReply, EngineRun, EngineStatus, ImportSummary, SlotId, TensorData } from './worker-protocol';

export const SLOTS: readonly SlotId[] = ['a', 'b'];

export interface SlotState {
  source: ModelSource;
  /** 'plain' / 'residual' for the pair's nets, 'custom' for a user's file. */
  role: 'plain' | 'residual' | 'custom';
  status: 'loading' | 'ready' | 'unloaded' | 'error';
  info?: ModelInfo;
  labels: readonly string[];
  engine?: string;
  loadMs?: number;
  warmupMs?: number;
  message?: string;
  /** Set when the slot's file was a PyTorch checkpoint (converted to ONNX in the worker). */
  imported?: ImportSummary;
  /** Whether the net has a GAP + FC head, so its runs return class activation maps. */
  cam?: boolean;
}

export interface SlotResult {
  readonly top: readonly ClassScore[];
  readonly ms: number;
  readonly runs: number;
  readonly engine: string;
  /** The median run step by step (our engines), and that run's total. */
  readonly steps: readonly { readonly name: string; readonly kind: string; readonly ms: number }[];
  readonly stepsRunMs: number;
  /** Class activation maps of the top classes (nets with a GAP + FC head). */
  readonly cam?: CamReply;
}

export interface ImageItem {
  readonly id: number;
  readonly image: HostImage;
  status: 'pending' | 'working' | 'done' | 'error' | 'cancelled';
  error?: { kind: ErrorKind | string; message: string };
  width?: number;
  height?: number;
  format?: string;
  thumbUrl?: string;
  /** Model inputs by preprocessing spec (JSON of the spec). */
  readonly tensors: Map<string, TensorData>;
  results: Partial<Record<SlotId, SlotResult>>;
  /** Figure 7 data per slot, keyed by the slot's model source. */
  stds: Partial<Record<SlotId, { key: string; layers: readonly LayerResponse[] }>>;
}

export interface Busy {
  readonly text: string;
  readonly fraction?: number;
}

export interface AppErrorItem {
  readonly id: number;
  readonly title: string;
  /** One plain sentence. */
  readonly message: string;
  /** The technical message behind it, shown on request. */
  readonly detail?: string;
  /** The file (or thing) it is about, named by its dismiss button. */
  readonly subject?: string;
  /** How many times it happened (the same problem is listed once). */
  readonly count: number;
}

export interface EngineCheck {
  readonly from: string;
  readonly to: string;
  readonly compared: number;
  readonly same: number;
  readonly differences: readonly string[];
}

/** Every engine on one image with both nets (made on request: an engine may take seconds). */
export interface EngineTable {
  readonly imageId: number;
  readonly imageName: string;
  /** The two slots' sources when it was made: a table for another pair is not shown. */
  readonly pair: string;
  readonly runs: Partial<Record<SlotId, readonly EngineRun[]>>;
}

export interface AppState {
  pairs: PairChoice[];
  pairKey: string;
  engines: EngineStatus[];
  engine: string;
  slots: Record<SlotId, SlotState>;
  images: ImageItem[];
  selectedId: number | null;
  errors: AppErrorItem[];
  /** Something just done that can be undone (Clear), shown with an Undo button. */
  undo: { readonly text: string } | null;
  busy: Busy | null;
  notice: string | null;
  engineCheck: EngineCheck | null;
  engineTable: EngineTable | null;
  sortStds: boolean;
  /** Whether Figure 7 is on screen (its slow computations wait for that). */
  fig7Visible: boolean;
  /** The class whose activation map each slot shows for the selected image (its top-1 when unset). */
  camClass: Partial<Record<SlotId, number>>;
  /** Whether the per-layer time lists are open (kept across re-renders). */
  showSteps: boolean;
  env: { crossOriginIsolated: boolean; cores: number; gpu?: string; decoder: string };
}

/** The key an image's model inputs are kept under: one per preprocessing (two nets of one dataset share it). */
export function specKey(spec: PreprocessSpec): string {
  return JSON.stringify(spec);
}

/** A user's file is called by its file name (its graph name is often 'main_graph' or 'torch-jit-export'). */
export function slotTitle(slot: SlotState): string {
  if (slot.source.kind === 'file') return slot.source.name;
  return slot.info?.name ?? sourceName(slot.source);
}

/**
 * A small RGB view of every image given to a net trained on dark-background gray pictures: what the input
 * check (src/analysis/domain.ts) reads the original's colours from.
 */
export const PROBE_SPEC: PreprocessSpec = { channels: 3, height: 32, width: 32, mean: [0, 0, 0], std: [1, 1, 1] };

/** The two slots' sources as one key (a table or figure made for another pair is stale). */
export function pairKeyOf(state: AppState): string {
  return SLOTS.map((s) => sourceKey(state.slots[s].source)).join('|');
}

/** The label of Figure 7's task (the figure shows its progress while it runs). */
export const STDS_TASK = 'Computing layer responses';

/** Nets whose layer responses take seconds (ImageNet-size inputs): computed only when Figure 7 is in view. */
export function isSlowForStds(info: { readonly inputShape: readonly number[] } | undefined): boolean {
  return (info?.inputShape[1] ?? 0) >= 160;
}

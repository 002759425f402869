// What a model file says about itself: stored as JSON under one ONNX metadata_props key, so the file alone
// carries its labels, input size, normalisation and training record. Shipped models also have it as a
// sidecar models/<id>.json.
import { OnnxError } from './onnx/error';
import type { ModelSpec } from './zoo/spec';
import { specIO } from './zoo/spec';
import cifar10 from '../models/labels/cifar10.json';
import imagenet from '../models/labels/imagenet.json';

/** Class names for a classifier with no names of its own: ImageNet-1k's for 1000-way outputs. */
export function fallbackLabels(classes: number): readonly string[] {
  return classes === 1000 ? imagenet : [];
}

export const META_KEY = 'resnet-lab';

export interface TrainingRecord {
  readonly dataset: string;
  readonly epochs: number;
  readonly recipe: string;
  readonly testAccuracy: number;
  readonly trainError?: number;
}

export interface ModelMeta {
  readonly name: string;
  /** [C,H,W] the model expects. */
  readonly input: readonly [number, number, number];
  readonly mean: readonly number[];
  readonly std: readonly number[];
  /** Class names; empty when unknown (then classes are shown by index). */
  readonly labels: readonly string[];
  /** False for the zoo's seeded random weights: outputs made with them are meaningless. */
  readonly trained: boolean;
  readonly spec?: ModelSpec;
  readonly training?: TrainingRecord;
  /**
   * The background the training images had: 'dark' for objects over black (Fashion-MNIST), 'light' for
   * the opposite. Preprocessing inverts light-bordered inputs for 'dark' models. Absent: inferred from
   * training.dataset (src/preprocess/for-model.ts), else no inversion.
   */
  readonly background?: 'dark' | 'light';
}

const IMAGENET_MEAN = [0.485, 0.456, 0.406];
const IMAGENET_STD = [0.229, 0.224, 0.225];
const CIFAR_MEAN = [0.4914, 0.4822, 0.4465];
const CIFAR_STD = [0.247, 0.2435, 0.2616];

export function defaultMeta(name: string, spec: ModelSpec): ModelMeta {
  const { channels, size, classes } = specIO(spec);
  const imagenet = spec.family === 'imagenet';
  const [mean, std] = imagenet ? [IMAGENET_MEAN, IMAGENET_STD] : [CIFAR_MEAN, CIFAR_STD];
  const pick = (v: number[]): number[] => (channels === 3 ? v : Array.from({ length: channels }, () => 0.5));
  return {
    name,
    input: [channels, size, size],
    mean: pick(mean),
    std: pick(std),
    labels: imagenet ? fallbackLabels(classes) : classes === 10 && channels === 3 ? cifar10 : [],
    trained: false,
    spec,
  };
}

function isNumberArray(v: unknown, len?: number): v is number[] {
  return Array.isArray(v) && v.every((x) => typeof x === 'number' && Number.isFinite(x)) && (len === undefined || v.length === len);
}

/**
 * The metadata of a model file, or null when it has none of ours (e.g. a user's torchvision export).
 * Malformed metadata is a malformed model file: an OnnxError saying which entry is wrong.
 */
export function parseMeta(metadata: Readonly<Record<string, string>>): ModelMeta | null {
  if (!Object.hasOwn(metadata, META_KEY)) return null;
  const raw = metadata[META_KEY]!;
  let m: unknown;
  try {
    m = JSON.parse(raw);
  } catch {
    throw new OnnxError(`model metadata '${META_KEY}' is not valid JSON`);
  }
  if (typeof m !== 'object' || m === null || Array.isArray(m)) throw new OnnxError(`model metadata '${META_KEY}' must be a JSON object`);
  const o = m as Record<string, unknown>;
  const input = o['input'];
  if (!isNumberArray(input, 3) || !input.every((d) => Number.isInteger(d) && d >= 1 && d <= 1 << 16)) {
    throw new OnnxError(`model metadata: 'input' must be [C,H,W] (positive integers), got ${JSON.stringify(input)}`);
  }
  const c = input[0]!;
  const std = o['std'];
  if (!isNumberArray(o['mean'], c) || !isNumberArray(std, c) || !std.every((v) => v > 0)) {
    throw new OnnxError(`model metadata: 'mean' and 'std' must be lists of ${c} finite numbers, std above 0`);
  }
  if (!Array.isArray(o['labels']) || !o['labels'].every((l) => typeof l === 'string')) {
    throw new OnnxError(`model metadata: 'labels' must be an array of strings`);
  }
  if (o['name'] !== undefined && typeof o['name'] !== 'string') throw new OnnxError(`model metadata: 'name' must be a string`);
  if (o['trained'] !== undefined && typeof o['trained'] !== 'boolean') throw new OnnxError(`model metadata: 'trained' must be true or false`);
  const background = o['background'];
  if (background !== undefined && background !== 'dark' && background !== 'light') {
    throw new OnnxError(`model metadata: 'background' must be 'dark' or 'light', got ${JSON.stringify(background)}`);
  }
  return o as unknown as ModelMeta;
}

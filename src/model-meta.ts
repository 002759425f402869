// What a model file says about itself: stored as JSON under one ONNX metadata_props key, so the file alone
// carries its labels, input size, normalisation and training record. Shipped models also have it as a
// sidecar models/<id>.json.
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
  /**
   * The shorter side an image is resized to before the centre crop to input's HxW (torchvision's ImageNet
   * evaluation: 256 for 224). Absent: 256/224 of H for inputs of 160 pixels and more, no resize below.
   */
  readonly resize?: number;
  /** Where weights not trained here came from, e.g. 'resnet50.pth (torch.save zip, resnet50)'. */
  readonly source?: string;
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

/** The metadata of a model file, or null when it has none of ours (e.g. a user's torchvision export). */
export function parseMeta(metadata: Readonly<Record<string, string>>): ModelMeta | null {
  const raw = metadata[META_KEY];
  if (raw === undefined) return null;
  let m: Record<string, unknown>;
  try {
    m = JSON.parse(raw) as Record<string, unknown>;
  } catch {
    throw new Error(`model metadata '${META_KEY}' is not valid JSON`);
  }
  const input = m['input'];
  if (!isNumberArray(input, 3)) throw new Error(`model metadata: 'input' must be [C,H,W]`);
  const c = input[0]!;
  if (!isNumberArray(m['mean'], c) || !isNumberArray(m['std'], c)) {
    throw new Error(`model metadata: 'mean' and 'std' must have ${c} numbers`);
  }
  if (!Array.isArray(m['labels']) || !m['labels'].every((l) => typeof l === 'string')) {
    throw new Error(`model metadata: 'labels' must be an array of strings`);
  }
  const background = m['background'];
  if (background !== undefined && background !== 'dark' && background !== 'light') {
    throw new Error(`model metadata: 'background' must be 'dark' or 'light', got ${JSON.stringify(background)}`);
  }
  const resize = m['resize'];
  if (resize !== undefined && !(Number.isInteger(resize) && (resize as number) >= Math.max(input[1]!, input[2]!) && (resize as number) <= 8 * input[1]!)) {
    throw new Error(`model metadata: 'resize' must be an integer from the input's larger side to 8x its height, got ${JSON.stringify(resize)}`);
  }
  return m as unknown as ModelMeta;
}

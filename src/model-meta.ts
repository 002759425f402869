// What a model file says about itself: stored as JSON under one ONNX metadata_props key, so the file alone
// carries its labels, input size, normalisation and training record. Shipped models also have it as a
// sidecar models/<id>.json.
import { CIFAR10, fallbackLabels, IMAGENET } from './datasets';
import { OnnxError } from './onnx/error';
import type { ModelSpec } from './zoo/spec';
import { specIO } from './zoo/spec';

// session.ts (the engine) takes the fallback from here.
export { fallbackLabels };

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

export function defaultMeta(name: string, spec: ModelSpec): ModelMeta {
  const { channels, size, classes } = specIO(spec);
  const imagenet = spec.family === 'imagenet';
  const dataset = imagenet ? IMAGENET : CIFAR10;
  const pick = (v: readonly number[]): number[] => (channels === 3 ? [...v] : Array.from({ length: channels }, () => 0.5));
  return {
    name,
    input: [channels, size, size],
    mean: pick(dataset.mean),
    std: pick(dataset.std),
    labels: imagenet ? fallbackLabels(classes) : classes === CIFAR10.classes && channels === 3 ? CIFAR10.labels : [],
    trained: false,
    spec,
  };
}

function isNumberArray(v: unknown, len?: number): v is number[] {
  return Array.isArray(v) && v.every((x) => typeof x === 'number' && Number.isFinite(x)) && (len === undefined || v.length === len);
}

/**
/**
 * Checks the fields of ModelMeta that code relies on (input, mean/std per channel, labels, name, trained,
 * background, resize) and returns the object as a ModelMeta; `fail` throws with the problem. Shared by the
 * ONNX metadata below and the sidecar files (src/sidecar.ts).
 */
export function checkMetaFields(m: Record<string, unknown>, fail: (problem: string) => never): ModelMeta {
  const input = m['input'];
  if (!isNumberArray(input, 3) || !input.every((d) => Number.isInteger(d) && d >= 1 && d <= 1 << 16)) {
    fail(`'input' must be [C,H,W] (positive integers), got ${JSON.stringify(input)}`);
  }
  const c = input[0]!;
  const std = m['std'];
  if (!isNumberArray(m['mean'], c) || !isNumberArray(std, c) || !std.every((v) => v > 0)) {
    fail(`'mean' and 'std' must be lists of ${c} finite numbers, std above 0`);
  }
  if (!Array.isArray(m['labels']) || !m['labels'].every((l) => typeof l === 'string')) fail(`'labels' must be an array of strings`);
  if (m['name'] !== undefined && typeof m['name'] !== 'string') fail(`'name' must be a string`);
  if (m['trained'] !== undefined && typeof m['trained'] !== 'boolean') fail(`'trained' must be true or false`);
  const background = m['background'];
  if (background !== undefined && background !== 'dark' && background !== 'light') {
    fail(`'background' must be 'dark' or 'light', got ${JSON.stringify(background)}`);
  }
  const resize = m['resize'];
  if (resize !== undefined && !(Number.isInteger(resize) && (resize as number) >= Math.max(input[1]!, input[2]!) && (resize as number) <= 8 * input[1]!)) {
    fail(`'resize' must be an integer from the input's larger side to 8x its height, got ${JSON.stringify(resize)}`);
  }
  return m as unknown as ModelMeta;
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
  return checkMetaFields(o, (problem) => {
    throw new OnnxError(`model metadata: ${problem}`);
  });
}

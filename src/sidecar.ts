// The schema of a trained model's records, and the one parser for them:
//   models/<id>.json      the sidecar: the model's metadata (as in the ONNX file) plus the file's size and
//                         sha256, the training recipe, the per-epoch history and, once shipped, the evaluation
//                         its model card states. `resnet train --out DIR` writes DIR/<id>.json.
//   <id>.log.json         the training log (models/curves/<id>.json when shipped): recipe and history,
//                         rewritten after every epoch, so curves can be drawn while a run goes on.
// Pure (no Node or DOM imports): the CLI, the training tools and the app all read them with this.
import { UserError } from './errors';
import { checkMetaFields, type ModelMeta } from './model-meta';
import type { ClassReport } from './train/metrics';
import type { ShortcutOption } from './zoo/spec';

/** Everything that decides a training run's result; a resumed run must have the same. */
export interface Recipe {
  readonly model: string;
  readonly shortcut: ShortcutOption;
  readonly dataset: string;
  readonly epochs: number;
  readonly batch: number;
  readonly lr: number;
  readonly lrSteps: string;
  readonly warmupSteps: number;
  readonly momentum: number;
  readonly weightDecay: number;
  /** jitter: brightness/contrast factors in [1 - jitter, 1 + jitter]; absent: none. */
  readonly augment: { readonly pad: number; readonly flip: boolean; readonly jitter?: number };
  readonly init: string;
  /**
   * Whether the batch norm ending each residual branch started at gamma 0 (init says so in words); absent in
   * sidecars written before it was a choice, whose init text tells.
   */
  readonly zeroGamma?: boolean;
  readonly seed: number;
  readonly trainImages: number;
  readonly testImages: number;
  /** Pixel mean and std of the training images (scaled to [0,1]): the model's normalisation (one per channel for folders). */
  readonly mean: number | readonly number[];
  readonly std: number | readonly number[];
  /** Learning-rate schedule: 'steps' (the paper's, also when absent) or 'cosine' (to 0, after a linear warm-up of warmupSteps). */
  readonly schedule?: 'steps' | 'cosine';
  /** [C,H,W] of the training images, and the class count (folders; Fashion-MNIST's are fixed). */
  readonly input?: readonly [number, number, number];
  readonly classes?: number;
}

/** Transfer mode: a frozen backbone's pooled features and a new fully-connected layer fitted on them. */
export interface TransferRecipe {
  readonly kind: 'transfer';
  readonly model: string;
  /** The backbone's file name and model name. */
  readonly backbone: string;
  readonly dataset: string;
  /** Width of the pooled features. */
  readonly features: number;
  /** Softmax regression: full-batch gradient steps, learning rate, momentum, L2 weight decay (on standardised features). */
  readonly steps: number;
  readonly lr: number;
  readonly momentum: number;
  readonly weightDecay: number;
  readonly seed: number;
  readonly trainImages: number;
  readonly testImages: number;
}



export interface EpochRecord {
  readonly epoch: number;
  /** Learning rate at the end of the epoch. */
  readonly lr: number;
  /** Running averages over the epoch's (augmented) training batches, in training mode. */
  readonly trainLoss: number;
  readonly trainError: number;
  readonly testLoss: number;
  readonly testError: number;
  /** Wall time of the epoch's training steps, and training images per second. */
  readonly seconds: number;
  readonly imagesPerSecond: number;
  readonly threads: number;
}

/** What a shipped model's card states, measured when it was copied into models/ (src/train/model-card.ts). */
export interface CardEvaluation {
  /** The full Fashion-MNIST test set (10000 images), ONNX Runtime. */
  readonly testSet: { readonly images: number; readonly accuracy: number; readonly engine: string };
  /** The committed slice (first 1000 test images), both engines. */
  readonly slice: { readonly images: number; readonly ts: number; readonly 'ort-wasm': number };
}

export interface Sidecar extends ModelMeta {
  /** The ONNX file's name, its size in bytes and sha256. */
  readonly file: string;
  readonly bytes: number;
  readonly sha256: string;
  readonly recipe: Recipe;
  readonly history: readonly EpochRecord[];
  /** Shipped models only. */
  readonly evaluation?: CardEvaluation;
  /** Models trained on a folder: the validation images' accuracy, per-class precision and recall, confusion, worst mistakes. */
  readonly validation?: ClassReport;
}

/** The sidecar of a model made in transfer mode (`resnet train --from`): no epochs, the fitted head's recipe. */
export interface TransferSidecar extends ModelMeta {
  readonly file: string;
  readonly bytes: number;
  readonly sha256: string;
  readonly transfer: TransferRecipe;
  readonly validation: ClassReport;
}

export interface TrainingLog {
  readonly recipe: Recipe;
  readonly recipeText: string;
  readonly history: readonly EpochRecord[];
}

class SidecarError extends UserError {
  override name = 'SidecarError';
}

/** 'numbers': a number or an array of numbers. */
type Kind = 'string' | 'number' | 'boolean' | 'object' | 'array' | 'numbers';

// Optional fields of Recipe, checked when present.
const RECIPE_OPTIONAL: Readonly<Record<'schedule' | 'input' | 'classes' | 'zeroGamma', Kind>> = {
  schedule: 'string', input: 'numbers', classes: 'number', zeroGamma: 'boolean',
};

const RECIPE_FIELDS: Readonly<Record<Exclude<keyof Recipe, keyof typeof RECIPE_OPTIONAL>, Kind>> = {
  model: 'string', shortcut: 'string', dataset: 'string', epochs: 'number', batch: 'number', lr: 'number', lrSteps: 'string',
  warmupSteps: 'number', momentum: 'number', weightDecay: 'number', augment: 'object', init: 'string', seed: 'number',
  trainImages: 'number', testImages: 'number', mean: 'numbers', std: 'numbers',
};

const TRANSFER_FIELDS: Readonly<Record<keyof TransferRecipe, Kind>> = {
  kind: 'string', model: 'string', backbone: 'string', dataset: 'string', features: 'number', steps: 'number', lr: 'number',
  momentum: 'number', weightDecay: 'number', seed: 'number', trainImages: 'number', testImages: 'number',
};

const EPOCH_FIELDS: Readonly<Record<keyof EpochRecord, Kind>> = {
  epoch: 'number', lr: 'number', trainLoss: 'number', trainError: 'number', testLoss: 'number', testError: 'number',
  seconds: 'number', imagesPerSecond: 'number', threads: 'number',
};

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

const isNumber = (v: unknown): boolean => typeof v === 'number' && Number.isFinite(v);

function hasKind(v: unknown, kind: Kind): boolean {
  if (kind === 'numbers') return isNumber(v) || (Array.isArray(v) && v.length > 0 && v.every(isNumber));
  if (kind === 'array') return Array.isArray(v);
  return kind === 'object' ? isRecord(v) : kind === 'number' ? typeof v === 'number' && Number.isFinite(v) : typeof v === kind;
}

function checkFields(v: unknown, fields: Readonly<Record<string, Kind>>, what: string, fail: (problem: string) => never): void {
  if (!isRecord(v)) fail(`${what} must be an object`);
  for (const [key, kind] of Object.entries(fields)) {
    const want = kind === 'numbers' ? 'number or an array of numbers' : kind;
    if (!hasKind(v[key], kind)) fail(`${what}.${key} must be a${kind === 'object' || kind === 'array' ? 'n' : ''} ${want}, got ${JSON.stringify(v[key])}`);
  }
}

function checkRecipe(v: unknown, fail: (problem: string) => never): Recipe {
  checkFields(v, RECIPE_FIELDS, 'recipe', fail);
  checkFields((v as Record<string, unknown>)['augment'], { pad: 'number', flip: 'boolean' }, 'recipe.augment', fail);
  const present = Object.fromEntries(Object.entries(RECIPE_OPTIONAL).filter(([k]) => (v as Record<string, unknown>)[k] !== undefined));
  checkFields(v, present, 'recipe', fail);
  return v as unknown as Recipe;
}

function checkHistory(v: unknown, fail: (problem: string) => never): EpochRecord[] {
  if (!Array.isArray(v)) fail(`'history' must be an array of epoch records`);
  v.forEach((row, i) => checkFields(row, EPOCH_FIELDS, `history[${i}]`, fail));
  return v as EpochRecord[];
}

const failer = (where: string) => (problem: string): never => {
  throw new SidecarError(`${where}: ${problem}`);
};

/** A sidecar (models/<id>.json), checked; `where` names it in errors. */
export function parseSidecar(v: unknown, where = 'sidecar'): Sidecar {
  const fail: (problem: string) => never = failer(where);
  if (!isRecord(v)) fail('not a JSON object');
  checkMetaFields(v, fail);
  checkFields(v, { name: 'string', trained: 'boolean', file: 'string', bytes: 'number', sha256: 'string' }, where, fail);
  checkRecipe(v['recipe'], fail);
  checkHistory(v['history'], fail);
  if (v['validation'] !== undefined) checkValidation(v['validation'], fail);
  if (v['evaluation'] !== undefined) {
    checkFields(v['evaluation'], { testSet: 'object', slice: 'object' }, 'evaluation', fail);
    const ev = v['evaluation'] as Record<string, unknown>;
    checkFields(ev['testSet'], { images: 'number', accuracy: 'number', engine: 'string' }, 'evaluation.testSet', fail);
    checkFields(ev['slice'], { images: 'number', ts: 'number', 'ort-wasm': 'number' }, 'evaluation.slice', fail);
  }
  return v as unknown as Sidecar;
}

function checkValidation(v: unknown, fail: (problem: string) => never): void {
  checkFields(v, { images: 'number', accuracy: 'number', labels: 'array', perClass: 'array', confusion: 'array', mistakes: 'array' }, 'validation', fail);
}

/** Either kind of sidecar a trained model has: from scratch (`recipe`) or transfer mode (`transfer`), checked. */
export function parseAnySidecar(v: unknown, where = 'sidecar'): Sidecar | TransferSidecar {
  const fail: (problem: string) => never = failer(where);
  if (!isRecord(v) || v['transfer'] === undefined) return parseSidecar(v, where);
  checkMetaFields(v, fail);
  checkFields(v, { name: 'string', trained: 'boolean', file: 'string', bytes: 'number', sha256: 'string' }, where, fail);
  checkFields(v['transfer'], TRANSFER_FIELDS, 'transfer', fail);
  checkValidation(v['validation'], fail);
  return v as unknown as TransferSidecar;
}

/** A training log (<id>.log.json), checked; `where` names it in errors. */
export function parseTrainingLog(v: unknown, where = 'training log'): TrainingLog {
  const fail: (problem: string) => never = failer(where);
  if (!isRecord(v)) fail('not a JSON object');
  checkRecipe(v['recipe'], fail);
  if (typeof v['recipeText'] !== 'string') fail(`'recipeText' must be a string`);
  checkHistory(v['history'], fail);
  return v as unknown as TrainingLog;
}

// What the user can pick: shipped trained models (listed in models/manifest.json at build time) and every
// zoo pair (a residual net and its plain twin), each at the input size of its dataset. Pure data.
import fashionMnist from '../../models/labels/fashion-mnist.json';
import cifar10 from '../../models/labels/cifar10.json';
import imagenet from '../../models/labels/imagenet.json';
import { isZooName, specDepth, zooNames, zooSpec, type ModelSpec } from '../../src/zoo/spec';

/** Input size, classes and normalisation a zoo model is built for. */
export interface Variant {
  readonly id: 'fashion-mnist' | 'cifar10' | 'imagenet';
  readonly title: string;
  readonly inputChannels: number;
  readonly inputSize: number;
  readonly classes: number;
  readonly mean: readonly number[];
  readonly std: readonly number[];
  readonly labels: readonly string[];
}

export const VARIANTS: Readonly<Record<Variant['id'], Variant>> = {
  'fashion-mnist': {
    id: 'fashion-mnist', title: 'Fashion-MNIST size', inputChannels: 1, inputSize: 28, classes: 10,
    mean: [0.286], std: [0.353], labels: fashionMnist,
  },
  cifar10: {
    id: 'cifar10', title: 'CIFAR-10 size', inputChannels: 3, inputSize: 32, classes: 10,
    mean: [0.4914, 0.4822, 0.4465], std: [0.247, 0.2435, 0.2616], labels: cifar10,
  },
  imagenet: {
    id: 'imagenet', title: 'ImageNet size', inputChannels: 3, inputSize: 224, classes: 1000,
    mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225], labels: imagenet,
  },
};

export const IMAGENET_LABELS: readonly string[] = imagenet;

/** Where a model's bytes come from; the inference worker turns this into an ONNX file. */
export type ModelSource =
  | { readonly kind: 'zoo'; readonly name: string; readonly base: string; readonly residual: boolean; readonly variant: Variant['id'] }
  | { readonly kind: 'shipped'; readonly id: string; readonly file: string }
  | { readonly kind: 'file'; readonly name: string; readonly bytes: Uint8Array };

export function sourceKey(s: ModelSource): string {
  switch (s.kind) {
    case 'zoo': return `zoo:${s.base}:${s.residual ? 'res' : 'plain'}:${s.variant}`;
    case 'shipped': return `shipped:${s.id}`;
    case 'file': return `file:${s.name}:${s.bytes.byteLength}`;
  }
}

export function sourceName(s: ModelSource): string {
  return s.kind === 'shipped' ? s.id : s.name;
}

/** The zoo spec a zoo source builds. */
export function zooSourceSpec(s: Extract<ModelSource, { kind: 'zoo' }>): ModelSpec {
  const v = VARIANTS[s.variant];
  return { ...zooSpec(s.base), residual: s.residual, inputChannels: v.inputChannels, inputSize: v.inputSize, classes: v.classes };
}

export interface ManifestModel {
  readonly id: string;
  readonly file: string;
  readonly bytes: number;
  /** models/<id>.json when it exists (labels, input, training record, curves). */
  readonly sidecar: unknown;
}

export interface Manifest {
  readonly models: readonly ManifestModel[];
}

export function parseManifest(v: unknown): Manifest {
  const models = (v as { models?: unknown } | null)?.models;
  if (!Array.isArray(models)) return { models: [] };
  const ok = models.filter((m): m is ManifestModel => typeof m === 'object' && m !== null
    && typeof (m as ManifestModel).id === 'string' && typeof (m as ManifestModel).file === 'string'
    && /^[\w.-]+\.onnx$/.test((m as ManifestModel).file));
  return { models: ok };
}

export interface PairChoice {
  readonly key: string;
  readonly group: string;
  readonly label: string;
  readonly plain: ModelSource;
  readonly residual: ModelSource;
  readonly trained: boolean;
}

function sidecarDataset(m: ManifestModel): string | undefined {
  const s = m.sidecar as { training?: { dataset?: unknown }; dataset?: unknown } | null;
  const d = s?.training?.dataset ?? s?.dataset;
  return typeof d === 'string' ? d : undefined;
}

/** plainN/resnetN pairs among the shipped files (both must exist). */
function shippedPairs(manifest: Manifest): PairChoice[] {
  const byId = new Map(manifest.models.map((m) => [m.id, m]));
  const out: PairChoice[] = [];
  for (const m of manifest.models) {
    const match = /^resnet(\d+)$/.exec(m.id);
    const plain = match ? byId.get(`plain${match[1]}`) : undefined;
    if (!match || !plain) continue;
    const dataset = sidecarDataset(m) ?? 'trained';
    out.push({
      key: `shipped:${match[1]}`,
      group: 'Shipped, trained',
      label: `plain${match[1]} / resnet${match[1]} · ${dataset}`,
      plain: { kind: 'shipped', id: plain.id, file: plain.file },
      residual: { kind: 'shipped', id: m.id, file: m.file },
      trained: true,
    });
  }
  return out.sort((a, b) => depthOf(a) - depthOf(b));
}

function depthOf(p: PairChoice): number {
  return Number(/\d+/.exec(p.key)?.[0] ?? 0);
}

/** Every residual zoo net with its plain twin (the zoo's plainN when it has one, else residual=false). */
function zooPairs(): PairChoice[] {
  const out: PairChoice[] = [];
  for (const name of zooNames()) {
    const spec = zooSpec(name);
    if (!spec.residual) continue;
    const depth = specDepth(spec);
    const plainName = `plain${depth}`;
    const plainBase = isZooName(plainName) ? plainName : name;
    const variants: Variant['id'][] = spec.family === 'cifar' ? ['fashion-mnist', 'cifar10'] : ['imagenet'];
    for (const variant of variants) {
      const v = VARIANTS[variant];
      const size = `${v.inputChannels}×${v.inputSize}×${v.inputSize}`;
      out.push({
        key: `zoo:${name}:${variant}`,
        group: `Zoo, untrained · ${v.title}`,
        label: `${plainName} / ${name} · ${size}`,
        plain: { kind: 'zoo', name: plainName, base: plainBase, residual: false, variant },
        residual: { kind: 'zoo', name, base: name, residual: true, variant },
        trained: false,
      });
    }
  }
  const groupOrder = ['fashion-mnist', 'cifar10', 'imagenet'];
  return out.sort((a, b) => groupOrder.indexOf(a.key.split(':')[2]!) - groupOrder.indexOf(b.key.split(':')[2]!));
}

export function pairChoices(manifest: Manifest): PairChoice[] {
  return [...shippedPairs(manifest), ...zooPairs()];
}

/** The shipped 20-layer pair when it exists (else the shallowest shipped pair), else the zoo's at 1x28x28. */
export function defaultPair(choices: readonly PairChoice[]): PairChoice {
  const shipped = choices.filter((c) => c.trained);
  const pick = shipped.find((c) => c.key === 'shipped:20') ?? shipped[0] ?? choices.find((c) => c.key === 'zoo:resnet20:fashion-mnist') ?? choices[0];
  if (!pick) throw new Error('no model pairs available');
  return pick;
}

/** Class names for a model: its own, else ImageNet's for 1000-way outputs, else none (shown by index). */
export function labelsFor(info: { readonly labels: readonly string[]; readonly classes: number }): readonly string[] {
  if (info.labels.length === info.classes) return info.labels;
  if (info.classes === 1000) return IMAGENET_LABELS;
  return [];
}

// ---------------------------------------------------------------------------------------------
// Training curves (the paper's Figure 6) from a shipped model's sidecar.

export interface TrainingCurves {
  readonly epochs: readonly number[];
  /** Fractions in [0,1]. */
  readonly trainError: readonly number[];
  readonly testError: readonly number[];
}

function numbers(v: unknown): number[] | undefined {
  return Array.isArray(v) && v.every((x) => typeof x === 'number' && Number.isFinite(x)) ? (v as number[]) : undefined;
}

/**
 * Accepts `curves` (or `training.curves`) as {epoch|epochs, trainError|train_error, testError|test_error}
 * arrays, or `history` (or `training.history`) as [{epoch, trainError, testError}]. Percentages (>1) are
 * scaled to fractions.
 */
export function parseCurves(sidecar: unknown): TrainingCurves | null {
  if (typeof sidecar !== 'object' || sidecar === null) return null;
  const s = sidecar as Record<string, unknown>;
  const training = (typeof s['training'] === 'object' && s['training'] !== null ? s['training'] : {}) as Record<string, unknown>;
  const asFraction = (xs: number[]): number[] => (xs.some((x) => x > 1) ? xs.map((x) => x / 100) : xs);
  const curves = (s['curves'] ?? training['curves']) as Record<string, unknown> | undefined;
  if (curves && typeof curves === 'object') {
    const train = numbers(curves['trainError'] ?? curves['train_error']);
    const test = numbers(curves['testError'] ?? curves['test_error']);
    if (train && test && train.length > 0 && train.length === test.length) {
      const epochs = numbers(curves['epoch'] ?? curves['epochs']) ?? train.map((_, i) => i + 1);
      if (epochs.length === train.length) return { epochs, trainError: asFraction(train), testError: asFraction(test) };
    }
  }
  const history = s['history'] ?? training['history'];
  if (Array.isArray(history) && history.length > 0) {
    const rows = history as Record<string, unknown>[];
    const train = numbers(rows.map((r) => r?.['trainError'] ?? r?.['train_error']));
    const test = numbers(rows.map((r) => r?.['testError'] ?? r?.['test_error']));
    const epochs = numbers(rows.map((r, i) => r?.['epoch'] ?? i + 1));
    if (train && test && epochs) return { epochs, trainError: asFraction(train), testError: asFraction(test) };
  }
  return null;
}

/** A shipped net with its training curves, placed in the paper's Figure 6: plain or residual, by depth. */
export interface TrainedRun {
  readonly id: string;
  readonly family: 'plain' | 'residual';
  readonly depth: number;
  readonly curves: TrainingCurves;
}

/** The shipped plainN and resnetN models that carry training curves, shallowest first. */
export function trainedRuns(manifest: Manifest): TrainedRun[] {
  const out: TrainedRun[] = [];
  for (const m of manifest.models) {
    const match = /^(plain|resnet)(\d+)$/.exec(m.id);
    const curves = match ? parseCurves(m.sidecar) : null;
    if (!match || !curves) continue;
    out.push({ id: m.id, family: match[1] === 'plain' ? 'plain' : 'residual', depth: Number(match[2]), curves });
  }
  return out.sort((a, b) => a.depth - b.depth || a.id.localeCompare(b.id));
}

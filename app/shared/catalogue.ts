// What the user can pick: shipped trained models (listed in models/manifest.json at build time) and every
// zoo pair (a residual net and its plain twin), each at the input size of its dataset. Pure data.
import { DATASETS, type Dataset, fallbackLabels } from '../../src/datasets';
import { type CurveRun, curveRun } from '../../src/figures/figure6';
import { parseSidecar, type Sidecar } from '../../src/sidecar';
import { isZooName, specDepth, zooNames, zooSpec, type ModelSpec } from '../../src/zoo/spec';

/** Where a model's bytes come from; the inference worker turns this into an ONNX file. */
export type ModelSource =
  | { readonly kind: 'zoo'; readonly name: string; readonly base: string; readonly residual: boolean; readonly variant: Dataset['id'] }
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
  const d = DATASETS[s.variant];
  return { ...zooSpec(s.base), residual: s.residual, inputChannels: d.channels, inputSize: d.size, classes: d.classes };
}

export interface ManifestModel {
  readonly id: string;
  readonly file: string;
  readonly bytes: number;
  /** models/<id>.json when it exists and is a valid sidecar (labels, input, training record, history). */
  readonly sidecar: Sidecar | null;
}

export interface Manifest {
  readonly models: readonly ManifestModel[];
}

/** models/manifest.json (written by scripts/build.mjs): entries with unsafe file names are dropped, sidecars checked. */
export function parseManifest(v: unknown): Manifest {
  const models = (v as { models?: unknown } | null)?.models;
  if (!Array.isArray(models)) return { models: [] };
  const ok = models.filter((m): m is { id: string; file: string; bytes: number; sidecar?: unknown } => typeof m === 'object' && m !== null
    && typeof (m as ManifestModel).id === 'string' && typeof (m as ManifestModel).file === 'string'
    && /^[\w.-]+\.onnx$/.test((m as ManifestModel).file));
  return { models: ok.map((m) => ({ id: m.id, file: m.file, bytes: m.bytes, sidecar: sidecarOrNull(m.sidecar, m.id) })) };
}

/** A sidecar that does not parse is left out: the model still loads, without its training record. */
function sidecarOrNull(v: unknown, id: string): Sidecar | null {
  if (v === null || v === undefined) return null;
  try {
    return parseSidecar(v, `models/${id}.json`);
  } catch {
    return null;
  }
}

export interface PairChoice {
  readonly key: string;
  readonly group: string;
  readonly label: string;
  readonly plain: ModelSource;
  readonly residual: ModelSource;
  readonly trained: boolean;
}

/** plainN/resnetN pairs among the shipped files (both must exist). */
function shippedPairs(manifest: Manifest): PairChoice[] {
  const byId = new Map(manifest.models.map((m) => [m.id, m]));
  const out: PairChoice[] = [];
  for (const m of manifest.models) {
    const match = /^resnet(\d+)$/.exec(m.id);
    const plain = match ? byId.get(`plain${match[1]}`) : undefined;
    if (!match || !plain) continue;
    const dataset = m.sidecar?.training?.dataset ?? 'trained';
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
    const variants: Dataset['id'][] = spec.family === 'cifar' ? ['fashion-mnist', 'cifar10'] : ['imagenet'];
    for (const variant of variants) {
      const d = DATASETS[variant];
      const size = `${d.channels}×${d.size}×${d.size}`;
      out.push({
        key: `zoo:${name}:${variant}`,
        group: `Zoo, untrained · ${d.name} size`,
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
  return info.labels.length === info.classes ? info.labels : fallbackLabels(info.classes);
}

/** The shipped plainN and resnetN models with a training history: the runs of the paper's Figure 6. */
export function trainedRuns(manifest: Manifest): CurveRun[] {
  return manifest.models.flatMap((m) => {
    const run = m.sidecar ? curveRun(m.id, m.sidecar.history) : null;
    return run ? [run] : [];
  });
}

/** The dataset a model's input shape is the size of: Fashion-MNIST 1x28x28, CIFAR-10 3x32x32, ImageNet 3x224x224. */
function variantOf(inputShape: readonly number[]): Dataset['id'] | undefined {
  const key = inputShape.join('x');
  return (Object.keys(DATASETS) as Dataset['id'][]).find((id) => {
    const d = DATASETS[id];
    return `${d.channels}x${d.size}x${d.size}` === key;
  });
}

/** What the twin search needs of a loaded model (a ModelInfo has it). */
export interface TwinQuery {
  readonly inputShape: readonly number[];
  readonly layers: readonly { readonly name: string; readonly kind: string; readonly detail: string }[];
}

/**
 * A loaded net's zoo twin: the zoo net of the same depth and input size with the shortcuts added (for a
 * plain net) or removed (for a residual one), untrained. Depth counts as the paper does: convs on the main
 * path (projection shortcuts are not) plus FC layers. Null when the zoo has no such net or the input is
 * no dataset's size.
 */
export function zooTwin(info: TwinQuery): { source: Extract<ModelSource, { kind: 'zoo' }>; residual: boolean } | null {
  const variant = variantOf(info.inputShape);
  if (!variant) return null;
  const projection = /downsample|shortcut/i;
  const convs = info.layers.filter((l) => l.kind === 'conv' && !projection.test(l.name)).length;
  const fcs = info.layers.filter((l) => l.kind === 'fc').length;
  const residual = info.layers.some((l) => l.detail.includes('+residual') || l.kind === 'add' || l.kind === 'shortcutA');
  const depth = convs + fcs;
  const family = variant === 'imagenet' ? 'imagenet' : 'cifar';
  const inFamily = (n: string): boolean => isZooName(n) && zooSpec(n).family === family && specDepth(zooSpec(n)) === depth;
  if (residual) {
    // A plain twin: the zoo's plainN, else the residual net's spec without shortcuts.
    const plain = `plain${depth}`;
    const base = inFamily(plain) ? plain : inFamily(`resnet${depth}`) ? `resnet${depth}` : undefined;
    return base ? { source: { kind: 'zoo', name: plain, base, residual: false, variant }, residual: false } : null;
  }
  const res = `resnet${depth}`;
  return inFamily(res) ? { source: { kind: 'zoo', name: res, base: res, residual: true, variant }, residual: true } : null;
}

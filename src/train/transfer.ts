// Transfer mode (`resnet train --from BACKBONE --data DIR`), as Create ML and Lobe do it: a trained net
// that ends in global average pooling + one fully-connected layer is frozen and run once per image on our
// wasm engine (with the backbone's own preprocessing); a new fully-connected layer is fitted on the pooled
// features by softmax regression (full-batch gradient descent with momentum and L2 weight decay, on
// standardised features: seconds); backbone and new head are exported as ONE ONNX model with the folder's
// labels and the backbone's preprocessing, so `resnet classify` and the app use it like any other.
import { basename, join, resolve } from 'node:path';
import { mkdirSync } from 'node:fs';
import { findCamHead } from '../analysis/cam';
import { loadModel } from '../engine/session';
import { UserError } from '../errors';
import { type Graph, type GraphNode, f32, int } from '../graph/ir';
import { META_KEY, type ModelMeta } from '../model-meta';
import { parseOnnx } from '../onnx/read';
import { serializeOnnx } from '../onnx/write';
import { preprocessSpecFor } from '../preprocess/for-model';
import type { TransferRecipe, TransferSidecar } from '../sidecar';
import { writeUserFile } from '../write-file';
import { scanImageFolder } from './folder';
import { runOnFolderImages } from './folder-batches';
import { assembleFolder, describeFolderCounts, type FolderFile, skipSummary } from './folder-layout';
import { type ClassReport, ReportBuilder, reportLines } from './metrics';
import { sha256 } from './trainer';

export const TRANSFER_DEFAULTS = { steps: 300, weightDecay: 1e-3, momentum: 0.9 } as const;

class TransferError extends UserError {
  override name = 'TransferError';
}

export interface TransferOptions {
  readonly backbone: Uint8Array;
  /** As the user named it (file or zoo name), for the record. */
  readonly backboneName: string;
  readonly dataDir: string;
  readonly outDir: string;
  /** The new model's name (and file name); default <backbone>-<folder>. */
  readonly name?: string;
  readonly valFraction: number;
  readonly seed: number;
  readonly threads: number;
  readonly steps: number;
  readonly weightDecay: number;
  readonly log: (line: string) => void;
}

export interface TransferResult {
  readonly onnxPath: string;
  readonly sidecarPath: string;
  readonly validation: ClassReport;
  readonly trainAccuracy: number;
  readonly seconds: { readonly features: number; readonly fit: number };
}

/** A fitted linear classifier: logits = W x + b, W [K, F] row-major. */
export interface LinearHead {
  readonly weight: Float32Array;
  readonly bias: Float32Array;
  readonly classes: number;
  readonly features: number;
}

/** Logits of one feature vector. */
export function headLogits(head: LinearHead, x: ArrayLike<number>, out = new Float64Array(head.classes)): Float64Array {
  const F = head.features;
  for (let k = 0; k < head.classes; k++) {
    let s = head.bias[k]!;
    for (let f = 0; f < F; f++) s += head.weight[k * F + f]! * x[f]!;
    out[k] = s;
  }
  return out;
}

/**
 * Softmax regression on features X [n, F] (row-major) with labels in 0..K-1: minimises the mean
 * cross-entropy + weightDecay/2 |W|^2 by full-batch gradient descent with momentum, on features standardised
 * to mean 0 and variance 1 (folded back into W and b, so the head takes raw features). The step size is
 * 1/L with L the gradient's Lipschitz bound (half the largest eigenvalue of X'X/n, by power iteration, plus
 * the decay).
 */
export function fitSoftmaxRegression(X: Float32Array, labels: ArrayLike<number>, n: number, F: number, K: number, opts: { steps: number; weightDecay: number; momentum?: number }): LinearHead {
  const mu = new Float64Array(F);
  const sd = new Float64Array(F);
  for (let i = 0; i < n; i++) for (let f = 0; f < F; f++) mu[f]! += X[i * F + f]! / n;
  for (let i = 0; i < n; i++) for (let f = 0; f < F; f++) sd[f]! += (X[i * F + f]! - mu[f]!) ** 2 / n;
  for (let f = 0; f < F; f++) sd[f] = sd[f]! > 1e-12 ? Math.sqrt(sd[f]!) : 1;
  const Z = new Float64Array(n * F);
  for (let i = 0; i < n; i++) for (let f = 0; f < F; f++) Z[i * F + f] = (X[i * F + f]! - mu[f]!) / sd[f]!;
  // Largest eigenvalue of Z'Z/n (with the bias as a constant feature), by power iteration.
  let v = new Float64Array(F + 1).fill(1 / Math.sqrt(F + 1));
  let lambda = 1;
  for (let it = 0; it < 30; it++) {
    const w = new Float64Array(F + 1);
    for (let i = 0; i < n; i++) {
      let dot = v[F]!;
      for (let f = 0; f < F; f++) dot += Z[i * F + f]! * v[f]!;
      for (let f = 0; f < F; f++) w[f]! += (Z[i * F + f]! * dot) / n;
      w[F]! += dot / n;
    }
    lambda = Math.hypot(...w);
    if (!(lambda > 0)) break;
    v = w.map((x) => x / lambda);
  }
  const lr = 1 / (0.5 * lambda + opts.weightDecay);
  const momentum = opts.momentum ?? TRANSFER_DEFAULTS.momentum;
  const W = new Float64Array(K * F);
  const b = new Float64Array(K);
  const vW = new Float64Array(K * F);
  const vb = new Float64Array(K);
  const p = new Float64Array(K);
  for (let step = 0; step < opts.steps; step++) {
    const gW = new Float64Array(K * F);
    const gb = new Float64Array(K);
    for (let i = 0; i < n; i++) {
      let max = -Infinity;
      for (let k = 0; k < K; k++) {
        let s = b[k]!;
        for (let f = 0; f < F; f++) s += W[k * F + f]! * Z[i * F + f]!;
        p[k] = s;
        if (s > max) max = s;
      }
      let z = 0;
      for (let k = 0; k < K; k++) z += (p[k] = Math.exp(p[k]! - max));
      for (let k = 0; k < K; k++) {
        const g = (p[k]! / z - (k === labels[i] ? 1 : 0)) / n;
        if (g === 0) continue;
        gb[k]! += g;
        for (let f = 0; f < F; f++) gW[k * F + f]! += g * Z[i * F + f]!;
      }
    }
    for (let j = 0; j < K * F; j++) {
      vW[j] = momentum * vW[j]! + gW[j]! + opts.weightDecay * W[j]!;
      W[j]! -= lr * vW[j]!;
    }
    for (let k = 0; k < K; k++) {
      vb[k] = momentum * vb[k]! + gb[k]!;
      b[k]! -= lr * vb[k]!;
    }
  }
  // Fold the standardisation in: W' = W / sd, b' = b - W' mu.
  const weight = new Float32Array(K * F);
  const bias = new Float32Array(K);
  for (let k = 0; k < K; k++) {
    let shift = b[k]!;
    for (let f = 0; f < F; f++) {
      const wf = W[k * F + f]! / sd[f]!;
      weight[k * F + f] = wf;
      shift -= wf * mu[f]!;
    }
    bias[k] = shift;
  }
  return { weight, bias, classes: K, features: F };
}

function unique(graph: Graph, base: string): string {
  const taken = new Set([...graph.nodes.flatMap((n) => [...n.inputs, ...n.outputs, n.name]), ...graph.initializers.keys(), ...graph.inputs.map((i) => i.name)]);
  let name = base;
  for (let i = 1; taken.has(name); i++) name = `${base}_${i}`;
  return name;
}

/**
 * The backbone up to its global average pooling, then Flatten and a Gemm with the new head's weights:
 * everything that depended on the pooled value (the old FC, a Softmax, ...) is dropped, and so are the
 * initializers nothing uses any more.
 */
export function withNewHead(graph: Graph, head: LinearHead, metadata: Readonly<Record<string, string>>): Graph {
  const pools = graph.nodes.filter((n) => n.op === 'GlobalAveragePool');
  if (pools.length !== 1) throw new TransferError(`the backbone has ${pools.length} global average poolings, transfer mode needs exactly one`);
  const pooled = pools[0]!.outputs[0]!;
  const dropped = new Set<string>([pooled]);
  const nodes: GraphNode[] = [];
  for (const n of graph.nodes) {
    if (n.inputs.some((i) => dropped.has(i))) for (const o of n.outputs) dropped.add(o);
    else nodes.push(n);
  }
  const flat = unique(graph, 'transfer_flatten');
  const w = unique(graph, 'transfer_fc.weight');
  const b = unique(graph, 'transfer_fc.bias');
  const logits = unique(graph, 'logits');
  nodes.push(
    { op: 'Flatten', name: 'transfer_flatten', inputs: [pooled], outputs: [flat], attrs: { axis: int(1) } },
    { op: 'Gemm', name: 'transfer_fc', inputs: [flat, w, b], outputs: [logits], attrs: { transB: int(1) } },
  );
  const used = new Set(nodes.flatMap((n) => n.inputs));
  const initializers = new Map([...graph.initializers].filter(([name]) => used.has(name)));
  initializers.set(w, f32([head.classes, head.features], head.weight));
  initializers.set(b, f32([head.classes], head.bias));
  const batch = graph.inputs.find((i) => !graph.initializers.has(i.name))?.shape[0] ?? 'N';
  return { ...graph, nodes, initializers, outputs: [{ name: logits, dtype: 'float32', shape: [batch, head.classes] }], metadata };
}

/** Mean over the spatial positions of features [n, C, h, w]: [n, C]. */
function pool(data: Float32Array, n: number, C: number, hw: number): Float32Array {
  const out = new Float32Array(n * C);
  for (let i = 0; i < n * C; i++) {
    let s = 0;
    for (let p = 0; p < hw; p++) s += data[i * hw + p]!;
    out[i] = s / hw;
  }
  return out;
}

const safeName = (s: string): string => s.replace(/\.(onnx|pth?|pt|tar|safetensors)$/i, '').replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^[-.]+/, '') || 'model';

/** Fits a new head on a frozen backbone's features of the folder's images and exports backbone + head as one model. */
export async function trainTransfer(opts: TransferOptions): Promise<TransferResult> {
  const { log } = opts;
  const graph = parseOnnx(opts.backbone);
  const camHead = findCamHead(graph);
  if (!camHead) throw new TransferError(`${opts.backboneName}: transfer mode needs a backbone that ends in global average pooling and one fully-connected layer`);
  const t0 = performance.now();
  const scan = scanImageFolder(opts.dataDir);
  const files: FolderFile[] = [...scan.train, ...scan.val];
  if (files.length === 0) throw new TransferError(`${opts.dataDir}: no class folders with files (expected DIR/<class>/<image>)`);
  const session = await loadModel(opts.backbone, { engine: 'wasm', threads: opts.threads, extraOutputs: [camHead.features] });
  const info = session.info;
  const spec = preprocessSpecFor(info);
  const F = camHead.channels;
  log(`backbone ${info.name} (${basename(opts.backboneName)}): input ${info.inputShape.join('x')}, ${F} pooled features; ` +
    `preprocessing: ${spec.resizeShorter ? `resize ${spec.resizeShorter}, ` : ''}centre crop ${spec.width}, mean [${spec.mean.map((m) => m.toFixed(3)).join(', ')}]${spec.background === 'dark' ? ', light backgrounds inverted' : ''}`);
  const skips = [...scan.skips];
  const features: (Float32Array | null)[] = new Array<Float32Array | null>(files.length).fill(null);
  let lastLog = performance.now();
  try {
    await runOnFolderImages(session, files, spec, skips, 32, (r, fileIndex) => {
      const fm = r.outputs[r.outputs.length - 1]!;
      const hw = fm.shape.slice(2).reduce((a, b) => a * b, 1);
      const pooled = pool(fm.data, fileIndex.length, F, hw);
      fileIndex.forEach((fi, j) => {
        features[fi] = pooled.slice(j * F, (j + 1) * F);
      });
      if (performance.now() - lastLog > 15000) {
        lastLog = performance.now();
        log(`features: ${fileIndex.at(-1)! + 1}/${files.length} images`);
      }
    });
  } finally {
    await session.dispose();
  }
  const featureSeconds = (performance.now() - t0) / 1000;
  const a = assembleFolder(scan, features, skips, opts.valFraction, opts.seed);
  const K = a.classes.length;
  for (const line of describeFolderCounts(basename(resolve(opts.dataDir)), a.classes, a.train.labels, a.split)) log(line);
  log(`features of ${a.train.items.length + a.val.items.length} images in ${featureSeconds.toFixed(1)} s`);
  for (const line of skipSummary(a.skips)) log(line);
  const n = a.train.items.length;
  const X = new Float32Array(n * F);
  a.train.items.forEach((x, i) => X.set(x, i * F));
  const t1 = performance.now();
  const head = fitSoftmaxRegression(X, a.train.labels, n, F, K, { steps: opts.steps, weightDecay: opts.weightDecay });
  const fitSeconds = (performance.now() - t1) / 1000;
  let trainHits = 0;
  a.train.items.forEach((x, i) => {
    const l = headLogits(head, x);
    let arg = 0;
    for (let k = 1; k < K; k++) if (l[k]! > l[arg]!) arg = k;
    if (arg === a.train.labels[i]) trainHits++;
  });
  const builder = new ReportBuilder(a.classes);
  a.val.items.forEach((x, i) => builder.add(a.val.labels[i]!, headLogits(head, x), a.val.paths[i]!));
  const validation = builder.report();
  const trainAccuracy = trainHits / Math.max(1, n);
  log(`fitted a ${K}-class head on ${F} features (${opts.steps} full-batch steps, weight decay ${opts.weightDecay}) in ${fitSeconds.toFixed(1)} s: ` +
    `train accuracy ${(100 * trainAccuracy).toFixed(2)}%, validation accuracy ${validation.images > 0 ? `${(100 * validation.accuracy).toFixed(2)}% (${validation.correct}/${validation.images})` : 'none (no validation images)'}`);
  if (validation.images > 0) for (const line of reportLines(validation)) log(`  ${line}`);

  const dataset = basename(resolve(opts.dataDir));
  const name = safeName(opts.name ?? `${info.name}-${dataset}`);
  const recipe: TransferRecipe = {
    kind: 'transfer', model: name, backbone: `${basename(opts.backboneName)} (${info.name})`, dataset, features: F, steps: opts.steps,
    lr: 0, momentum: TRANSFER_DEFAULTS.momentum, weightDecay: opts.weightDecay, seed: opts.seed, trainImages: n, testImages: validation.images,
  };
  const meta: ModelMeta = {
    name, input: info.inputShape as [number, number, number], mean: spec.mean, std: spec.std, labels: a.classes, trained: true,
    ...(info.meta?.spec && { spec: { ...info.meta.spec, classes: K } }),
    training: {
      dataset, epochs: 0, testAccuracy: validation.accuracy,
      recipe: `transfer: ${recipe.backbone} frozen, its ${F} pooled features; a new fully-connected layer fitted by softmax regression (${opts.steps} full-batch gradient steps with momentum ${recipe.momentum}, L2 weight decay ${opts.weightDecay} on standardised features) on ${n} images`,
    },
    ...(spec.resizeShorter !== undefined && { resize: spec.resizeShorter }),
    ...(spec.background === 'dark' && { background: 'dark' as const }),
    source: `transfer from ${basename(opts.backboneName)}`,
  };
  const bytes = serializeOnnx(withNewHead(graph, head, { [META_KEY]: JSON.stringify(meta) }));
  mkdirSync(opts.outDir, { recursive: true });
  const onnxPath = join(opts.outDir, `${name}.onnx`);
  writeUserFile(onnxPath, bytes);
  const sidecar: TransferSidecar = { ...meta, file: `${name}.onnx`, bytes: bytes.length, sha256: sha256(bytes), transfer: recipe, validation };
  const sidecarPath = join(opts.outDir, `${name}.json`);
  writeUserFile(sidecarPath, `${JSON.stringify(sidecar, null, 2)}\n`);
  log(`exported ${onnxPath} (backbone + new head, ${(bytes.length / 1e6).toFixed(1)} MB) and ${sidecarPath}`);
  return { onnxPath, sidecarPath, validation, trainAccuracy, seconds: { features: featureSeconds, fit: fitSeconds } };
}

// A model's accuracy, per-class precision and recall and confusion matrix, on any engine: on the
// Fashion-MNIST test set (IDX files) or on any labelled folder (the ImageFolder layout, its val/ or test/
// images when it has them). What `resnet eval` prints, what model cards state and what the shipped-model
// tests check.
import { existsSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import { FASHION_MNIST } from '../datasets';
import { loadModel } from '../engine/session';
import { preprocessSpecFor } from '../preprocess/for-model';
import { tensor } from '../../kernels/core/tensor';
import { loadSplit } from './data';
import { DatasetError, fillBatch, pixelStats } from './image-set';
import { isIdxFolder, scanImageFolder } from './folder';
import { runOnFolderImages } from './folder-batches';
import { type Skip, skipSummary } from './folder-layout';
import { type ClassReport, ReportBuilder } from './metrics';

/** A model's class report on a test set (metrics.ts), with where it came from. */
export interface EvalReport extends ClassReport {
  readonly model: string;
  readonly engine: string;
  /** 'Fashion-MNIST test set', or the folder's name and split. */
  readonly dataset: string;
  /** Files of a folder that were not evaluated, one summary line per kind. */
  readonly skipped: readonly string[];
  readonly seconds: number;
}

export const EVAL_ENGINES = ['wasm', 'ts', 'ort-wasm'] as const;
export type EvalEngine = (typeof EVAL_ENGINES)[number];

interface EvalOptions {
  readonly limit?: number;
  readonly threads?: number;
}

/** Evaluates on what `dataDir` holds: Fashion-MNIST's IDX files or a labelled folder (told apart by content). */
export function evaluateOn(bytes: Uint8Array, dataDir: string, engine: EvalEngine, opts: EvalOptions = {}): Promise<EvalReport> {
  return !existsSync(dataDir) || isIdxFolder(dataDir) ? evaluateModel(bytes, dataDir, engine, opts) : evaluateFolder(bytes, dataDir, engine, opts);
}

/** Accuracy and confusion matrix of an ONNX model on the Fashion-MNIST test set (or its first `limit` images). */
export async function evaluateModel(bytes: Uint8Array, dataDir: string, engine: EvalEngine, opts: EvalOptions = {}): Promise<EvalReport> {
  const K = FASHION_MNIST.classes;
  const test = loadSplit(dataDir, 't10k', K, opts.limit);
  const session = await loadModel(bytes, { engine, threads: opts.threads ?? 1 });
  try {
    const info = session.info;
    const want = [FASHION_MNIST.channels, test.rows, test.cols];
    if (info.inputShape.join(',') !== want.join(',')) {
      throw new DatasetError(`model ${info.name} expects input [${info.inputShape.join(',')}], ${FASHION_MNIST.name} images are [${want.join(',')}]`);
    }
    if (info.classes !== K) throw new DatasetError(`model ${info.name} has ${info.classes} classes, ${FASHION_MNIST.name} has ${K}`);
    // The model's own normalisation; a foreign model without our metadata gets the test set's statistics.
    const { mean, std } = info.meta ? { mean: info.meta.mean[0]!, std: info.meta.std[0]! } : pixelStats(test);
    const labels = info.labels.length === K ? info.labels : Array.from({ length: K }, (_, i) => String(i));
    const builder = new ReportBuilder(labels);
    const per = test.rows * test.cols;
    const batch = 100;
    const images = new Float32Array(batch * per);
    const t0 = performance.now();
    for (let start = 0; start < test.count; start += batch) {
      const n = Math.min(batch, test.count - start);
      fillBatch(test, Int32Array.from({ length: n }, (_, i) => start + i), mean, std, images);
      const r = await session.run(tensor([n, 1, test.rows, test.cols], images.slice(0, n * per)));
      for (let i = 0; i < n; i++) builder.add(test.labels[start + i]!, r.output.data.subarray(i * K, (i + 1) * K), `#${start + i}`);
    }
    const rep = builder.report();
    return {
      model: info.name, engine, dataset: `${FASHION_MNIST.name} test`, images: rep.images, correct: rep.correct, accuracy: rep.accuracy,
      labels, perClass: rep.perClass, confusion: rep.confusion, mistakes: rep.mistakes, skipped: [], seconds: (performance.now() - t0) / 1000,
    };
  } finally {
    await session.dispose();
  }
}

/**
 * Which model output each folder class is: the model's label of the same name (exactly, else ignoring
 * case), or, for a model without labels and as many classes as the folder, the folder's sorted order.
 */
function classMapping(folderClasses: readonly string[], modelLabels: readonly string[], modelClasses: number, model: string): number[] {
  if (modelLabels.length === 0) {
    if (folderClasses.length !== modelClasses) {
      throw new DatasetError(`model ${model} has no class names and ${modelClasses} classes; the folder has ${folderClasses.length} (${folderClasses.slice(0, 5).join(', ')}): cannot tell which is which`);
    }
    return folderClasses.map((_, i) => i);
  }
  return folderClasses.map((c) => {
    let k = modelLabels.indexOf(c);
    if (k < 0) k = modelLabels.findIndex((l) => l.toLowerCase() === c.toLowerCase());
    if (k < 0) throw new DatasetError(`class folder '${c}' is not one of model ${model}'s classes (${modelLabels.slice(0, 10).join(', ')}${modelLabels.length > 10 ? ', ...' : ''})`);
    return k;
  });
}

/**
 * Accuracy, per-class precision/recall, confusion and worst mistakes of a model on a labelled folder: its
 * val/ (or test/) images when it has train/ beside them, else every image of its class folders. Images go
 * through the model's own preprocessing; files that are not usable images are skipped and counted.
 * When the model knows classes the folder lacks, its predictions of those count as '(other)'.
 */
async function evaluateFolder(bytes: Uint8Array, dataDir: string, engine: EvalEngine, opts: EvalOptions = {}): Promise<EvalReport> {
  const scan = scanImageFolder(dataDir);
  let files = scan.valDir !== undefined ? scan.val : scan.train;
  if (opts.limit !== undefined) files = files.slice(0, opts.limit);
  if (files.length === 0) throw new DatasetError(`${dataDir}: no images to evaluate (expected DIR/<class>/<image>, or DIR/val/<class>/<image>)`);
  const session = await loadModel(bytes, { engine, threads: opts.threads ?? 1 });
  try {
    const info = session.info;
    const spec = preprocessSpecFor(info);
    const K = info.classes;
    // The folder's classes that have files to evaluate (an empty class folder is no class).
    const present = [...new Set(files.map((f) => f.label))].sort((a, b) => a - b);
    const position = new Map(present.map((c, i) => [c, i]));
    const names = present.map((c) => scan.classes[c]!);
    const map = classMapping(names, info.labels, K, info.name);
    const everyClass = new Set(map).size === K;
    const modelLabel = (k: number): string => info.labels[k] ?? String(k);
    // Report over the model's classes when the folder has them all, else over the folder's plus '(other)'.
    const labels = everyClass ? Array.from({ length: K }, (_, k) => modelLabel(k)) : [...names.map((_, i) => modelLabel(map[i]!)), '(other)'];
    const builder = new ReportBuilder(labels);
    const skips: Skip[] = [...scan.skips];
    const t0 = performance.now();
    const inFolder = new Set(map);
    await runOnFolderImages(session, files, spec, skips, 64, (r, fileIndex) => {
      fileIndex.forEach((fi, j) => {
        const scores = r.output.data.subarray(j * K, (j + 1) * K);
        const f = files[fi]!;
        const c = position.get(f.label)!;
        if (everyClass) {
          builder.add(map[c]!, scores, f.rel);
          return;
        }
        let other = -Infinity;
        for (let k = 0; k < K; k++) if (!inFolder.has(k)) other = Math.max(other, scores[k]!);
        builder.add(c, [...map.map((k) => scores[k]!), other], f.rel);
      });
    });
    const rep = builder.report();
    if (rep.images === 0) throw new DatasetError(`${dataDir}: none of the ${files.length} files is a usable image (${skipSummary(skips).join('; ')})`);
    const split = scan.valDir !== undefined ? `${scan.valDir}/` : 'all images';
    return {
      model: info.name, engine, dataset: `${basename(resolve(dataDir))} (${split})`, images: rep.images, correct: rep.correct, accuracy: rep.accuracy,
      labels, perClass: rep.perClass, confusion: rep.confusion, mistakes: rep.mistakes, skipped: skipSummary(skips), seconds: (performance.now() - t0) / 1000,
    };
  } finally {
    await session.dispose();
  }
}

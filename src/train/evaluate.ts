// A model's accuracy and confusion matrix on the Fashion-MNIST test set, on any engine: what `resnet eval`
// prints, what model cards state and what the shipped-model tests check.
import { FASHION_MNIST } from '../datasets';
import { loadModel } from '../engine/session';
import { tensor } from '../../kernels/core/tensor';
import { DatasetError, fillBatch, loadSplit, pixelStats } from './data';

export interface EvalReport {
  readonly model: string;
  readonly engine: string;
  readonly images: number;
  readonly correct: number;
  /** Fraction of the images classified correctly. */
  readonly accuracy: number;
  readonly labels: readonly string[];
  /** confusion[true class][predicted class] */
  readonly confusion: number[][];
  readonly seconds: number;
}

export const EVAL_ENGINES = ['wasm', 'ts', 'ort-wasm'] as const;
export type EvalEngine = (typeof EVAL_ENGINES)[number];

/** Accuracy and confusion matrix of an ONNX model on the Fashion-MNIST test set (or its first `limit` images). */
export async function evaluateModel(bytes: Uint8Array, dataDir: string, engine: EvalEngine, opts: { limit?: number; threads?: number } = {}): Promise<EvalReport> {
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
    const confusion = Array.from({ length: K }, () => new Array<number>(K).fill(0));
    const per = test.rows * test.cols;
    const batch = 100;
    const images = new Float32Array(batch * per);
    let correct = 0;
    const t0 = performance.now();
    for (let start = 0; start < test.count; start += batch) {
      const n = Math.min(batch, test.count - start);
      fillBatch(test, Int32Array.from({ length: n }, (_, i) => start + i), mean, std, images);
      const r = await session.run(tensor([n, 1, test.rows, test.cols], images.slice(0, n * per)));
      for (let i = 0; i < n; i++) {
        let arg = 0;
        for (let k = 1; k < K; k++) if (r.output.data[i * K + k]! > r.output.data[i * K + arg]!) arg = k;
        const label = test.labels[start + i]!;
        confusion[label]![arg]!++;
        if (arg === label) correct++;
      }
    }
    return {
      model: info.name, engine, images: test.count, correct, accuracy: correct / test.count,
      labels: info.labels.length === K ? info.labels : Array.from({ length: K }, (_, i) => String(i)), confusion,
      seconds: (performance.now() - t0) / 1000,
    };
  } finally {
    await session.dispose();
  }
}

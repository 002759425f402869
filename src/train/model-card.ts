// Ships a trained Fashion-MNIST model: copies it from a `resnet train --out` directory into models/ with its
// sidecar and logs, measures it on the committed 1000-image test slice on both engines (and on the full
// test set with ONNX Runtime), and writes its model card.
//   node --import tsx src/train/model-card.ts NAME... [--from train-runs] [--data DIR]
import { copyFileSync, existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { packageRoot } from '../models-dir';
import { type CardEvaluation, parseSidecar, type Sidecar } from '../sidecar';
import { evaluateModel, type EvalReport } from './evaluate';
import { MAX_MODEL_BYTES } from '../onnx/read';
import { MAX_JSON_BYTES, readRegularFile, readRegularTextFile } from '../read-file';
import { writeUserFile } from '../write-file';
import { DEFAULT_DATA_DIR } from './data';
import { recipeText } from './net-trainer';

/** Where the committed test slice is, relative to the package root. */
export const SLICE_DIR = 'src/testdata/fashion-mnist';

const pct = (x: number): string => `${(100 * x).toFixed(2)}%`;

/** The regular expression the shipped-model test reads the slice accuracy back with. */
export const SLICE_ACCURACY_RE = /Accuracy on the committed 1000-image test slice[^*]*\*\*([\d.]+)%\*\*/;

export function cardMarkdown(s: Sidecar, ev: CardEvaluation): string {
  const r = s.recipe;
  const last = s.history[s.history.length - 1]!;
  const depth = /(\d+)$/.exec(s.name)?.[1] ?? '?';
  const residual = s.spec?.residual ?? true;
  const kind = residual ? `ResNet-${depth} (option A shortcuts: identity, zero-padded channels where the shape changes)` : `plain-${depth} (the same net without shortcuts)`;
  const rows = s.history.map((h) => `| ${h.epoch} | ${h.lr} | ${h.trainLoss.toFixed(4)} | ${pct(h.trainError)} | ${h.testLoss.toFixed(4)} | ${pct(h.testError)} | ${h.imagesPerSecond.toFixed(0)} |`);
  return `# ${s.name}: ${kind}, trained on Fashion-MNIST

Trained by our own training engine (\`resnet train\`, WebAssembly SIMD kernels, ${last.threads} threads) from
He-initialised weights (see the recipe); shipped as \`models/${s.file}\` with the sidecar \`models/${s.name}.json\`.

| | |
|---|---|
| Input | 1 x 28 x 28 grayscale, pixel / 255 normalised with mean ${r.mean} and std ${r.std} |
| Classes | ${s.labels.join(', ')} |
| Test accuracy (all 10000 Fashion-MNIST test images, ${ev.testSet.engine}) | **${pct(ev.testSet.accuracy)}** |
| Accuracy on the committed 1000-image test slice (src/testdata/fashion-mnist, ts and ort-wasm) | **${pct(ev.slice.ts)}** (ts), ${pct(ev.slice['ort-wasm'])} (ort-wasm) |
| Final training error (running, augmented) | ${pct(last.trainError)} |
| Training throughput | ${last.imagesPerSecond.toFixed(0)} images/s (${last.threads} threads, 2-core Xeon VM, shared) |
| File | ${s.bytes} bytes, sha256 \`${s.sha256}\` |

## Recipe

${recipeText(s.recipe)}.

Batch-norm statistics come from each thread's half of the batch (as in multi-GPU training); the same recipe
trained all four shipped nets (plain20, resnet20, plain56, resnet56). Logs: \`models/curves/${s.name}.csv\` and
\`.json\`; the curves of all four are drawn in \`models/curves/fashion-mnist-fig6.svg\`.

## Per epoch

| epoch | lr (end) | train loss | train error | test loss | test error | images/s |
|---|---|---|---|---|---|---|
${rows.join('\n')}

## Use

    resnet classify shirt.png --model ${s.name}
    resnet eval --model models/${s.file} --data /usr/share/datasets/fashion-mnist/

Fashion-MNIST images are centred product photos, light on a black background. Our preprocessing inverts
pictures with a light border (a garment on white) to match; cluttered or off-centre pictures still classify poorly.
`;
}

export async function shipModel(name: string, from: string, dataDir: string, root = packageRoot()): Promise<{ card: string; evaluation: CardEvaluation }> {
  const src = join(from, name);
  const onnx = join(src, `${name}.onnx`);
  if (!existsSync(onnx)) throw new Error(`${onnx} does not exist: train ${name} first`);
  const models = join(root, 'models');
  mkdirSync(join(models, 'cards'), { recursive: true });
  mkdirSync(join(models, 'curves'), { recursive: true });
  copyFileSync(onnx, join(models, `${name}.onnx`));
  copyFileSync(join(src, `${name}.log.csv`), join(models, 'curves', `${name}.csv`));
  copyFileSync(join(src, `${name}.log.json`), join(models, 'curves', `${name}.json`));
  const sidecar = parseSidecar(JSON.parse(readRegularTextFile(join(src, `${name}.json`), { maxBytes: MAX_JSON_BYTES })), join(src, `${name}.json`));
  const bytes = readRegularFile(onnx, { maxBytes: MAX_MODEL_BYTES });
  const slice = join(root, SLICE_DIR);
  const report = async (dir: string, engine: 'ts' | 'ort-wasm'): Promise<EvalReport> => evaluateModel(bytes, dir, engine, { threads: 1 });
  const [ts, ort, full] = [await report(slice, 'ts'), await report(slice, 'ort-wasm'), await report(dataDir, 'ort-wasm')];
  const evaluation: CardEvaluation = {
    testSet: { images: full.images, accuracy: full.accuracy, engine: 'ort-wasm' },
    slice: { images: ts.images, ts: ts.accuracy, 'ort-wasm': ort.accuracy },
  };
  const shipped: Sidecar = { ...sidecar, evaluation };
  writeUserFile(join(models, `${name}.json`), `${JSON.stringify(shipped, null, 2)}\n`);
  const card = cardMarkdown(shipped, evaluation);
  writeUserFile(join(models, 'cards', `${name}.md`), card);
  return { card, evaluation };
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split('/').pop()!)) {
  const { values, positionals } = parseArgs({ options: { from: { type: 'string' }, data: { type: 'string' } }, allowPositionals: true });
  for (const name of positionals) {
    const { evaluation: e } = await shipModel(name, values.from ?? 'train-runs', values.data ?? DEFAULT_DATA_DIR);
    process.stdout.write(`${name}: test ${pct(e.testSet.accuracy)}, slice ts ${pct(e.slice.ts)}, ort-wasm ${pct(e.slice['ort-wasm'])}\n`);
  }
}

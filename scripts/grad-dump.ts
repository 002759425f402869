// One training step's gradients from each of our backends, written for scripts/torch-grad-check.py to compare
// with PyTorch in float32 and float64: is our training math PyTorch's, and how far is each float32 path from
// float64? The CIFAR net --model fresh from the zoo's seeded weights, or with the weights of a trained one
// (--onnx, e.g. a `resnet train` output; batch norm as it was saved), on one batch of a folder's training
// images (no augmentation).
//
//   node --import tsx scripts/grad-dump.ts --model plain20 [--onnx FILE] --data DIR --out DUMP [--seed 1] [--batch 64]
//
// DUMP gets theta.bin (parameters, float32), x.bin (the normalised batch, NCHW float32), g_<backend>.bin (the
// gradient of the mean loss from js64, js32, wasm with Winograd as training uses it, and wasm without), and
// meta.json (model, labels, parameter names, shapes and kinds).
import '../src/train/relaxed-simd-node';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { parseOnnx } from '../src/onnx/read';
import { seededRandom } from '../src/random';
import { jsBackend, type TrainBackend, wasmBackend } from '../src/train/backend';
import { loadImageFolder } from '../src/train/folder';
import { channelStats, fillBatch, shuffled } from '../src/train/image-set';
import { trainableSpec } from '../src/train/net-trainer';
import { NO_WINOGRAD, TrainNet, type WinogradPlan } from '../src/train/net';
import { buildModel } from '../src/zoo/build';

const { values: a } = parseArgs({
  options: {
    model: { type: 'string' }, onnx: { type: 'string' }, data: { type: 'string' }, out: { type: 'string' },
    seed: { type: 'string', default: '1' }, batch: { type: 'string', default: '64' },
  },
});
if (!a.data || !a.out || !a.model) throw new Error('usage: grad-dump.ts --model NAME [--onnx FILE] --data DIR --out DUMP [--seed N] [--batch B]');
const seed = Number(a.seed);
const B = Number(a.batch);

const folder = await loadImageFolder(a.data, { channels: 3, size: 32 });
const { mean, std } = channelStats(folder.train);
const idx = shuffled(folder.train.count, seededRandom(seed)).subarray(0, B);
const x = new Float32Array(B * 3 * 32 * 32);
fillBatch(folder.train, idx, mean, std, x);
const labels = Int32Array.from(idx, (i) => folder.train.labels[i]!);

const fresh = !a.onnx;
const graph = a.onnx
  ? parseOnnx(readFileSync(a.onnx))
  : buildModel({ ...trainableSpec(a.model), inputChannels: 3, inputSize: 32, classes: folder.classes.length }, { name: a.model, seed });

mkdirSync(a.out, { recursive: true });
let theta: Float32Array | null = null;
let params: TrainNet['params'] = [];
const backends: [string, () => TrainBackend, WinogradPlan?][] = [
  ['js64', () => jsBackend(64)], ['js32', () => jsBackend(32)], ['wasm', () => wasmBackend()], ['wasm_nowino', () => wasmBackend(), NO_WINOGRAD],
];
for (const [name, backend, winograd] of backends) {
  const net = new TrainNet(graph, { backend: backend(), maxBatch: B, resetBatchNorm: fresh, ...(winograd && { winograd }) });
  net.forward(x, B, true);
  const r = net.lossAndBackward(labels);
  writeFileSync(join(a.out, `g_${name}.bin`), net.getGrads());
  console.log(`${name}: loss ${r.loss.toFixed(9)}, ${r.correct}/${B} correct`);
  theta ??= net.getParams();
  params = net.params;
}
writeFileSync(join(a.out, 'theta.bin'), theta!);
writeFileSync(join(a.out, 'x.bin'), x);
writeFileSync(join(a.out, 'meta.json'), JSON.stringify({
  model: a.model, classes: folder.classes.length, batch: B, labels: [...labels],
  params: params.map((p) => ({ name: p.name, dims: p.dims, kind: p.kind })),
}));

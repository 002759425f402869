// Transfer mode: softmax regression on features, the backbone + new head exported as one ONNX model that
// every engine runs and `resnet classify` / `resnet eval` use; on a hand-checkable colour model, a seeded
// zoo resnet20 (RGB) and the shipped Fashion-MNIST resnet20 (grayscale, dark background) as backbones.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { findCamHead } from '../analysis/cam';
import { loadModel } from '../engine/session';
import { parseMeta } from '../model-meta';
import { parseOnnx } from '../onnx/read';
import { serializeOnnx } from '../onnx/write';
import { shippedModelPath } from '../models-dir';
import { parseAnySidecar } from '../sidecar';
import { COLOURS, colourModel, colourOf, writeColourImage } from '../testing/colour-model';
import { buildModel } from '../zoo/build';
import { zooSpec } from '../zoo/spec';
import { tensor } from '../../kernels/core/tensor';
import { evaluateOn } from './evaluate';
import { fitSoftmaxRegression, headLogits, trainTransfer, withNewHead } from './transfer';

const FIXTURE = join(import.meta.dirname, '../testdata/shapes');
const tmp = mkdtempSync(join(tmpdir(), 'rl-transfer-'));
after(() => rmSync(tmp, { recursive: true, force: true }));
const quiet = (): ((line: string) => void) => () => {};

describe('softmax regression', () => {
  it('separates separable classes, and takes raw (unstandardised) features after folding', () => {
    // Three clusters in 4-D, far from the origin and with very different scales per feature.
    const n = 90;
    const F = 4;
    const X = new Float32Array(n * F);
    const y: number[] = [];
    for (let i = 0; i < n; i++) {
      const k = i % 3;
      y.push(k);
      for (let f = 0; f < F; f++) X[i * F + f] = (f === k ? 5 : 0) * 10 ** f + 100 + Math.sin(i * 7 + f) * 10 ** (f - 1);
    }
    const head = fitSoftmaxRegression(X, y, n, F, 3, { steps: 200, weightDecay: 1e-3 });
    let hits = 0;
    for (let i = 0; i < n; i++) {
      const l = headLogits(head, X.subarray(i * F, (i + 1) * F));
      if (l.indexOf(Math.max(...l)) === y[i]) hits++;
    }
    assert.equal(hits, n);
  });

  it('withNewHead keeps the backbone to its pooling and ends in one new Gemm', () => {
    const g = parseOnnx(colourModel());
    const head = { weight: Float32Array.from([1, 0, 0, 0, 1, 1]), bias: Float32Array.from([0.5, -0.5]), classes: 2, features: 3 };
    const out = withNewHead(g, head, {});
    assert.deepEqual(out.nodes.map((n) => n.op), ['GlobalAveragePool', 'Flatten', 'Gemm']);
    assert.ok(!out.initializers.has('fc.weight'), 'the old FC weights are dropped');
    assert.deepEqual(out.outputs[0]!.shape, ['N', 2]);
    assert.deepEqual(findCamHead(out)!.weight, head.weight);
  });
});

describe('resnet train --from: transfer on a folder', () => {
  const colours = join(tmp, 'colours');
  before(async () => {
    for (const c of COLOURS) for (let i = 0; i < 10; i++) await writeColourImage(join(colours, c, `${c}${i}.png`), colourOf(c, i));
  });

  it('a colour backbone: 100% validation accuracy, one ONNX model with the folder\'s labels that every engine runs', async () => {
    const out = join(tmp, 'colour-run');
    const lines: string[] = [];
    // Labels named differently from the backbone's, to show they come from the folder.
    const r = await trainTransfer({
      backbone: colourModel(), backboneName: 'colours.onnx', dataDir: colours, outDir: out, name: 'my-colours', valFraction: 0.3, seed: 1,
      threads: 1, steps: 200, weightDecay: 1e-3, log: (l) => lines.push(l),
    });
    assert.equal(r.validation.images, 9);
    assert.equal(r.validation.accuracy, 1);
    assert.match(lines.join('\n'), /fitted a 3-class head on 3 features \(200 full-batch steps, weight decay 0\.001\) .*validation accuracy 100\.00% \(9\/9\)/);
    const bytes = new Uint8Array(readFileSync(r.onnxPath));
    const meta = parseMeta(parseOnnx(bytes).metadata)!;
    assert.deepEqual(meta.labels, ['blue', 'green', 'red']);
    assert.deepEqual(meta.input, [3, 8, 8]);
    assert.equal(meta.source, 'transfer from colours.onnx');
    const side = parseAnySidecar(JSON.parse(readFileSync(r.sidecarPath, 'utf8')));
    assert.ok('transfer' in side && side.transfer.features === 3 && side.validation.accuracy === 1);
    // Every engine gives the same answer for a reddish input.
    const x = new Float32Array(3 * 64);
    x.fill(0.9, 0, 64);
    x.fill(0.1, 64);
    for (const engine of ['wasm', 'ts', 'ort-wasm'] as const) {
      const s = await loadModel(bytes, { engine });
      const p = (await s.run(tensor([1, 3, 8, 8], x))).probs.data;
      await s.dispose();
      assert.equal(p.indexOf(Math.max(...p)), 2, `${engine}: ${[...p]}`);
    }
  });

  it('a seeded zoo resnet20 as the backbone: above chance on the fixture, and eval of the export agrees', async () => {
    const backbone = serializeOnnx(buildModel(zooSpec('resnet20'), { name: 'resnet20', seed: 1 }));
    const r = await trainTransfer({
      backbone, backboneName: 'resnet20.onnx', dataDir: FIXTURE, outDir: join(tmp, 'zoo-run'), valFraction: 0.2, seed: 1, threads: 2,
      steps: 300, weightDecay: 1e-3, log: quiet(),
    });
    assert.ok(r.trainAccuracy > 0.8, `train accuracy ${r.trainAccuracy}`);
    assert.ok(r.validation.accuracy > 0.25, `validation accuracy ${r.validation.accuracy} is not above chance (4 classes)`);
    assert.match(r.onnxPath, /resnet20-shapes\.onnx$/);
    const ev = await evaluateOn(new Uint8Array(readFileSync(r.onnxPath)), FIXTURE, 'wasm', { threads: 2 });
    assert.equal(ev.images, 16);
    assert.equal(ev.correct, r.validation.correct);
    assert.deepEqual(ev.confusion, r.validation.confusion);
  });

  it('the shipped Fashion-MNIST resnet20 as the backbone: grayscale 28x28 input and its dark-background preprocessing kept', async () => {
    const shipped = shippedModelPath('resnet20');
    assert.ok(shipped, 'models/resnet20.onnx is shipped');
    const r = await trainTransfer({
      backbone: new Uint8Array(readFileSync(shipped)), backboneName: 'resnet20', dataDir: FIXTURE, outDir: join(tmp, 'gray-run'), name: 'gray',
      valFraction: 0.2, seed: 1, threads: 2, steps: 300, weightDecay: 1e-3, log: quiet(),
    });
    const meta = parseMeta(parseOnnx(new Uint8Array(readFileSync(r.onnxPath))).metadata)!;
    assert.deepEqual(meta.input, [1, 28, 28]);
    assert.equal(meta.background, 'dark');
    assert.deepEqual(meta.labels, ['disc', 'ring', 'square', 'triangle']);
    assert.ok(r.validation.accuracy > 0.25, `validation accuracy ${r.validation.accuracy}`);
    const ev = await evaluateOn(new Uint8Array(readFileSync(r.onnxPath)), FIXTURE, 'ts');
    assert.equal(ev.correct, r.validation.correct);
  });

  it('refuses a backbone without global average pooling + FC, in one line', async () => {
    const g = parseOnnx(colourModel());
    const noPool = serializeOnnx({ ...g, nodes: g.nodes.filter((n) => n.op !== 'Gemm'), outputs: [{ name: 'flat', dtype: 'float32', shape: ['N', 3] }] });
    await assert.rejects(trainTransfer({
      backbone: noPool, backboneName: 'bare.onnx', dataDir: colours, outDir: join(tmp, 'x'), valFraction: 0.2, seed: 1, threads: 1, steps: 10, weightDecay: 0, log: quiet(),
    }), /bare\.onnx: transfer mode needs a backbone that ends in global average pooling and one fully-connected layer/);
  });
});

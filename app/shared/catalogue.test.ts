import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { IMAGENET } from '../../src/datasets';
import { fixtureSidecar } from '../../src/testing/sidecar';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { compileModel } from '../../src/engine/session';
import { importCheckpoint } from '../../src/import/index';
import { serializeOnnx } from '../../src/onnx/write';
import { buildModel } from '../../src/zoo/build';
import { zooSpec } from '../../src/zoo/spec';
import { defaultPair, labelsFor, pairChoices, parseManifest, sourceKey, trainedRuns, zooSourceSpec, zooTwin } from './catalogue';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

describe('model pairs', () => {
  it('without shipped models, defaults to the zoo pair plain20/resnet20 at Fashion-MNIST size', () => {
    const pairs = pairChoices({ models: [] });
    const d = defaultPair(pairs);
    assert.equal(d.key, 'zoo:resnet20:fashion-mnist');
    assert.equal(d.trained, false);
    assert.deepEqual([d.plain.kind, d.residual.kind], ['zoo', 'zoo']);
    if (d.plain.kind !== 'zoo' || d.residual.kind !== 'zoo') return;
    const plain = zooSourceSpec(d.plain);
    const res = zooSourceSpec(d.residual);
    assert.deepEqual([plain.residual, res.residual], [false, true]);
    assert.deepEqual([plain.inputChannels, plain.inputSize, plain.classes], [1, 28, 10]);
    assert.deepEqual(plain.stages, res.stages);
  });
  it('offers every residual zoo net with its plain twin (bottleneck nets get residual=false twins)', () => {
    const keys = pairChoices({ models: [] }).map((p) => p.key);
    for (const n of [20, 32, 44, 56, 110]) assert.ok(keys.includes(`zoo:resnet${n}:fashion-mnist`) && keys.includes(`zoo:resnet${n}:cifar10`));
    for (const n of [18, 34, 50, 101, 152]) assert.ok(keys.includes(`zoo:resnet${n}:imagenet`), `resnet${n}`);
    const r50 = pairChoices({ models: [] }).find((p) => p.key === 'zoo:resnet50:imagenet')!;
    assert.equal(r50.label, 'plain50 / resnet50 · 3×224×224');
    assert.ok(r50.plain.kind === 'zoo' && r50.plain.base === 'resnet50' && !r50.plain.residual);
  });
  it('prefers shipped trained models when both nets of a pair exist', () => {
    const manifest = parseManifest({ models: [
      { id: 'plain56', file: 'plain56.onnx', bytes: 1, sidecar: null },
      { id: 'resnet56', file: 'resnet56.onnx', bytes: 1, sidecar: fixtureSidecar('resnet56', [[0.2, 0.2]]) },
      { id: 'plain20', file: 'plain20.onnx', bytes: 1, sidecar: null },
      { id: 'resnet20', file: 'resnet20.onnx', bytes: 1, sidecar: null },
      { id: 'resnet110', file: 'resnet110.onnx', bytes: 1, sidecar: null },
    ] });
    const pairs = pairChoices(manifest);
    const shipped = pairs.filter((p) => p.trained).map((p) => p.label);
    assert.deepEqual(shipped, ['plain20 / resnet20 · trained', 'plain56 / resnet56 · Fashion-MNIST']);
    const d = defaultPair(pairs);
    assert.equal(d.key, 'shipped:20');
    assert.deepEqual(d.residual, { kind: 'shipped', id: 'resnet20', file: 'resnet20.onnx' });
  });
  it('ignores manifest entries with unsafe file names', () => {
    const m = parseManifest({ models: [{ id: 'x', file: '../../etc/x.onnx' }, { id: 'y', file: 'y.onnx' }, 'junk'] });
    assert.deepEqual(m.models.map((x) => x.id), ['y']);
    assert.deepEqual(parseManifest(null).models, []);
  });
  it('keys sources so cached bytes are found again', () => {
    const d = defaultPair(pairChoices({ models: [] }));
    assert.notEqual(sourceKey(d.plain), sourceKey(d.residual));
    assert.equal(sourceKey({ kind: 'file', name: 'm.onnx', bytes: new Uint8Array(3) }), 'file:m.onnx:3');
  });
});

describe('labels and curves', () => {
  it('labels: the model\'s own, ImageNet\'s for 1000 classes, else none', () => {
    assert.deepEqual(labelsFor({ labels: ['a', 'b'], classes: 2 }), ['a', 'b']);
    assert.equal(labelsFor({ labels: [], classes: 1000 }), IMAGENET.labels);
    assert.equal(IMAGENET.labels.length, 1000);
    assert.deepEqual(labelsFor({ labels: [], classes: 7 }), []);
  });
  it('places shipped plainN/resnetN nets with a training history in Figure 6', () => {
    const sidecar = (id: string, e: number) => fixtureSidecar(id, [[e, e], [e / 2, e / 4]]);
    const manifest = parseManifest({ models: [
      { id: 'resnet56', file: 'resnet56.onnx', bytes: 1, sidecar: sidecar('resnet56', 0.4) },
      { id: 'plain56', file: 'plain56.onnx', bytes: 1, sidecar: sidecar('plain56', 0.5) },
      { id: 'resnet20', file: 'resnet20.onnx', bytes: 1, sidecar: sidecar('resnet20', 0.3) },
      { id: 'plain20', file: 'plain20.onnx', bytes: 1, sidecar: null },
      { id: 'mynet', file: 'mynet.onnx', bytes: 1, sidecar: sidecar('mynet', 0.2) },
    ] });
    const runs = trainedRuns(manifest);
    assert.deepEqual(runs.map((r) => `${r.id}:${r.family}:${r.depth}`), ['resnet56:residual:56', 'plain56:plain:56', 'resnet20:residual:20']);
    assert.deepEqual(runs[2]!.curves, { epochs: [1, 2], trainError: [0.3, 0.15], testError: [0.3, 0.075] });
  });
  it('reads sidecars with the one parser: a broken one is left out, the model stays', () => {
    const manifest = parseManifest({ models: [
      { id: 'resnet20', file: 'resnet20.onnx', bytes: 1, sidecar: { curves: { trainError: [0.5], testError: [0.6] } } },
    ] });
    assert.equal(manifest.models[0]!.sidecar, null);
    assert.deepEqual(trainedRuns(manifest), []);
  });
});

describe('zoo twins', () => {
  const infoOf = (bytes: Uint8Array) => compileModel(bytes).info;
  const zoo = (name: string, over: object = {}) => infoOf(serializeOnnx(buildModel({ ...zooSpec(name), ...over }, { name, init: 'zeros' })));

  it('pairs the shipped Fashion-MNIST nets with their zoo twins at 1x28x28', () => {
    const r20 = zooTwin(infoOf(new Uint8Array(readFileSync(join(ROOT, 'models', 'resnet20.onnx')))));
    assert.deepEqual(r20, { source: { kind: 'zoo', name: 'plain20', base: 'plain20', residual: false, variant: 'fashion-mnist' }, residual: false });
    const p56 = zooTwin(infoOf(new Uint8Array(readFileSync(join(ROOT, 'models', 'plain56.onnx')))));
    assert.deepEqual(p56, { source: { kind: 'zoo', name: 'resnet56', base: 'resnet56', residual: true, variant: 'fashion-mnist' }, residual: true });
  });

  it('finds ImageNet twins with projection shortcuts (not counted as depth), and plain50 from resnet50 without shortcuts', () => {
    assert.deepEqual(zooTwin(zoo('resnet18', { shortcut: 'B' }))?.source, { kind: 'zoo', name: 'plain18', base: 'plain18', residual: false, variant: 'imagenet' });
    assert.deepEqual(zooTwin(zoo('resnet50'))?.source, { kind: 'zoo', name: 'plain50', base: 'resnet50', residual: false, variant: 'imagenet' });
    assert.deepEqual(zooTwin(zoo('plain34'))?.source, { kind: 'zoo', name: 'resnet34', base: 'resnet34', residual: true, variant: 'imagenet' });
    assert.deepEqual(zooTwin(zoo('resnet32'))?.source, { kind: 'zoo', name: 'plain32', base: 'plain32', residual: false, variant: 'cifar10' });
  });

  it('has none for depths the zoo lacks or inputs of no dataset size', () => {
    // The tiny torchvision-layout fixture: basic blocks 2-1-1-1, 12 layers.
    const tiny = importCheckpoint(new Uint8Array(readFileSync(join(ROOT, 'src', 'import', 'testdata', 'basic.pt'))));
    assert.equal(zooTwin(compileModel(serializeOnnx(tiny.graph)).info), null);
    assert.equal(zooTwin(zoo('resnet20', { inputSize: 16 })), null);
  });
});

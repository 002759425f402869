import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { ModelInfo } from '../engine/session';
import { META_KEY, parseMeta, type ModelMeta } from '../model-meta';
import { preprocessSpecFor, trainedOnDarkBackground } from './for-model';

const MODELS = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'models');

/** The shipped sidecar's JSON, edited, through the same parser the ONNX metadata goes through. */
function sidecarMeta(name: string, edit: (m: Record<string, unknown>) => void = () => {}): ModelMeta {
  const m = JSON.parse(readFileSync(join(MODELS, `${name}.json`), 'utf8')) as Record<string, unknown>;
  edit(m);
  return parseMeta({ [META_KEY]: JSON.stringify(m) })!;
}

function infoWith(meta: ModelMeta | null, inputShape: readonly number[] = meta ? meta.input : [3, 224, 224]): ModelInfo {
  return { name: meta?.name ?? 'user-model', meta, inputShape, classes: 10, outputs: [{ name: 'logits', shape: [10] }], labels: [], trained: true, params: 0, macs: 0, layers: [] };
}

describe('preprocessSpecFor background', () => {
  it("asks for a dark background for the shipped Fashion-MNIST models (dataset rule, no 'background' field)", () => {
    for (const name of ['resnet20', 'plain20']) {
      const meta = sidecarMeta(name);
      assert.equal(meta.training?.dataset, 'Fashion-MNIST');
      assert.equal(meta.background, undefined);
      const spec = preprocessSpecFor(infoWith(meta));
      assert.equal(spec.background, 'dark', name);
      assert.deepEqual([spec.channels, spec.height, spec.width], [1, 28, 28]);
    }
  });

  it('matches the dataset name case-insensitively', () => {
    const meta = sidecarMeta('resnet20', (m) => ((m['training'] as Record<string, unknown>)['dataset'] = 'fashion-mnist'));
    assert.equal(trainedOnDarkBackground(meta), true);
  });

  it("honours an explicit 'background' over the dataset", () => {
    const light = sidecarMeta('resnet20', (m) => (m['background'] = 'light'));
    assert.equal(preprocessSpecFor(infoWith(light)).background, undefined);
    const dark = sidecarMeta('resnet20', (m) => {
      m['background'] = 'dark';
      (m['training'] as Record<string, unknown>)['dataset'] = 'my scans';
    });
    assert.equal(preprocessSpecFor(infoWith(dark)).background, 'dark');
  });

  it('leaves it unset for other datasets, untrained zoo models and files without metadata', () => {
    const cifar = sidecarMeta('resnet20', (m) => ((m['training'] as Record<string, unknown>)['dataset'] = 'CIFAR-10'));
    assert.equal(preprocessSpecFor(infoWith(cifar)).background, undefined);
    const untrained = sidecarMeta('resnet20', (m) => delete m['training']);
    assert.equal(preprocessSpecFor(infoWith(untrained)).background, undefined);
    const none = preprocessSpecFor(infoWith(null));
    assert.equal(none.background, undefined);
    assert.equal(none.resizeShorter, 256);
  });

  it("parseMeta refuses a 'background' that is not dark or light", () => {
    const m = JSON.parse(readFileSync(join(MODELS, 'resnet20.json'), 'utf8')) as Record<string, unknown>;
    m['background'] = 'black';
    assert.throws(() => parseMeta({ [META_KEY]: JSON.stringify(m) }), /'background' must be 'dark' or 'light', got "black"/);
  });
});

// Our engines ('ts' and 'wasm') and ONNX Runtime Web agree on the same ONNX file: the zoo's CIFAR family, resnet18 and
// resnet50, to 1e-4 of the largest absolute logit.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { serializeOnnx } from '../onnx/write';
import { maxAbs, maxAbsDiff } from '../tensor';
import { randomNormalTensor } from '../random';
import { buildModel } from '../zoo/build';
import { zooNames, zooSpec } from '../zoo/spec';
import { loadModel, type Session } from './session';

const sessions: Session[] = [];
after(async () => {
  for (const s of sessions) await s.dispose();
});

/** Both our engines against ORT on the same bytes and input. */
async function assertParity(bytes: Uint8Array, batch: number, what: string): Promise<void> {
  const ort = await loadModel(bytes, { engine: 'ort-wasm', threads: 1 });
  const ours = [await loadModel(bytes, { engine: 'ts' }), await loadModel(bytes, { engine: 'wasm', threads: 2 })];
  sessions.push(ort, ...ours);
  const x = randomNormalTensor([batch, ...ort.info.inputShape], 11);
  const b = await ort.run(x);
  const scale = maxAbs(b.output.data);
  assert.ok(scale > 0, `${what}: ORT output is all zero`);
  for (const s of ours) {
    const a = await s.run(x);
    assert.deepEqual(a.output.shape, b.output.shape, what);
    const rel = maxAbsDiff(a.output, b.output) / scale;
    assert.ok(rel <= 1e-4, `${what} on ${s.engine}: max difference is ${rel.toExponential(2)} of the largest logit ${scale}`);
  }
}

describe('parity with ONNX Runtime Web (wasm)', () => {
  const cifar = zooNames().filter((n) => zooSpec(n).family === 'cifar');
  for (const name of cifar) {
    it(name, async () => assertParity(serializeOnnx(buildModel(zooSpec(name), { name })), 2, name));
  }
  for (const name of ['resnet18', 'resnet50']) {
    it(name, async () => assertParity(serializeOnnx(buildModel(zooSpec(name), { name })), 1, name));
  }
  it('resnet20 with option B and C shortcuts, and a 1-channel 28x28 variant', async () => {
    for (const shortcut of ['B', 'C'] as const) {
      await assertParity(serializeOnnx(buildModel({ ...zooSpec('resnet20'), shortcut }, { name: `r20${shortcut}` })), 2, `resnet20-${shortcut}`);
    }
    const fm = { ...zooSpec('resnet20'), inputChannels: 1, inputSize: 28 };
    await assertParity(serializeOnnx(buildModel(fm, { name: 'r20-fm' })), 3, 'resnet20 1x28x28');
  });
});

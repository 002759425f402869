// Our engines ('ts' and 'wasm') and ONNX Runtime Web agree on the same ONNX file: the zoo's CIFAR family, resnet18 and
// resnet50, to 1e-4 of the largest absolute logit; and every engine returns exactly the outputs the graph declares.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import type { Graph } from '../graph/ir';
import { serializeOnnx } from '../onnx/write';
import { maxAbs, maxAbsDiff } from '../../kernels/core/tensor';
import { randomNormalTensor } from '../random';
import { buildModel } from '../zoo/build';
import { zooNames, zooSpec } from '../zoo/spec';
import { compileGraph } from './compile';
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
  for (const s of ours) {
    const a = await s.run(x);
    assert.equal(a.outputs.length, b.outputs.length, `${what} on ${s.engine}: number of outputs`);
    b.outputs.forEach((want, i) => {
      const got = a.outputs[i]!;
      assert.deepEqual(got.shape, want.shape, `${what} on ${s.engine}: output ${i} shape`);
      const scale = maxAbs(want.data);
      assert.ok(scale > 0, `${what}: ORT output ${i} is all zero`);
      const rel = maxAbsDiff(got, want) / scale;
      assert.ok(rel <= 1e-4, `${what} on ${s.engine}: output ${i} differs by ${rel.toExponential(2)} of its largest value ${scale}`);
    });
  }
}

/** The same net declaring other values as its outputs (ONNX lets any value be one), with their shapes. */
function withOutputs(graph: Graph, names: readonly string[]): Graph {
  const { values } = compileGraph(graph);
  const outputs = names.map((name) => ({ name, dtype: 'float32' as const, shape: ['N', ...values.find((v) => v.name === name)!.shape] }));
  return { ...graph, outputs };
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

describe('every engine returns the outputs the graph declares', () => {
  const graph = buildModel(zooSpec('resnet20'), { name: 'resnet20' });
  const producedBy = (op: string): string => graph.nodes.find((n) => n.op === op)!.outputs[0]!;
  const input = graph.inputs[0]!.name;
  const logits = graph.outputs[0]!.name;
  const firstRelu = producedBy('Relu');
  const cases: [string, string[]][] = [
    ['the pooled features', [producedBy('GlobalAveragePool')]],
    ['the flattened features', [producedBy('Flatten')]],
    ['an intermediate activation', [firstRelu]],
    ['the input itself', [input]],
    ['several outputs: logits, pooled features and an early activation', [logits, producedBy('GlobalAveragePool'), firstRelu]],
  ];
  for (const [what, names] of cases) {
    it(what, async () => assertParity(serializeOnnx(withOutputs(graph, names)), 2, what));
  }
});

describe('a weight far out of scale (a flipped byte)', () => {
  it('gives the same outputs on every engine: the wasm engine runs that layer direct instead of Winograd', async () => {
    const graph = buildModel(zooSpec('resnet20'), { name: 'resnet20' });
    for (const conv of ['layer1.1.conv1', 'layer3.0.conv2']) {
      const name = graph.nodes.find((n) => n.name === conv)!.inputs[1]!;
      const w = graph.initializers.get(name)!.data as Float32Array;
      const flipped = new Float32Array(w);
      flipped[37] = -5e11;
      const initializers = new Map(graph.initializers).set(name, { dtype: 'float32', dims: graph.initializers.get(name)!.dims, data: flipped });
      await assertParity(serializeOnnx({ ...graph, initializers }), 2, `resnet20 with ${conv} weight 37 = -5e11`);
    }
  });
});

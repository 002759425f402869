// The compiler on graphs shaped like other exporters' (torchvision via torch.onnx, the ONNX model zoo),
// checked against ONNX Runtime on the same bytes, and its refusals of malformed models.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { type Attr, type Graph, type GraphNode, type IrTensor, f32, float, i64, int, ints, str } from '../graph/ir';
import { serializeOnnx } from '../onnx/write';
import { maxAbs, maxAbsDiff } from '../../kernels/core/tensor';
import { randomNormalTensor, seededRandom } from '../random';
import { compileGraph, ModelError } from './compile';
import { loadModel, type Session } from './session';

const sessions: Session[] = [];
after(async () => {
  for (const s of sessions) await s.dispose();
});

/** A tiny graph builder for tests: nodes in order, random weights from a seed. */
function graphOf(nodes: GraphNode[], inits: Record<string, IrTensor>, inputShape: (number | string)[], output: string, outShape: (number | string)[] = []): Graph {
  return {
    name: 'test', opset: 13, metadata: {},
    inputs: [{ name: 'x', dtype: 'float32', shape: inputShape }],
    outputs: [{ name: output, dtype: 'float32', shape: outShape }],
    nodes, initializers: new Map(Object.entries(inits)),
  };
}
const rng = seededRandom(3);
const rand = (dims: number[], scale = 0.3): IrTensor => f32(dims, Float32Array.from({ length: dims.reduce((a, b) => a * b, 1) }, () => rng.normal() * scale));
const n = (op: string, name: string, inputs: string[], attrs: Record<string, Attr> = {}, outputs = [name]): GraphNode => ({ op, name, inputs, outputs, attrs });
const conv = (name: string, x: string, w: string, b: string | null, k: number, s: number, p: number): GraphNode =>
  n('Conv', name, b ? [x, w, b] : [x, w], { kernel_shape: ints([k, k]), strides: ints([s, s]), pads: ints([p, p, p, p]) });

async function agree(g: Graph, batch = 2): Promise<Session> {
  const bytes = serializeOnnx(g);
  const ours = await loadModel(bytes, { engine: 'ts' });
  const ort = await loadModel(bytes, { engine: 'ort-wasm', threads: 1 });
  sessions.push(ours, ort);
  const x = randomNormalTensor([batch, ...ours.info.inputShape], 5);
  const [a, b] = [await ours.run(x), await ort.run(x)];
  assert.deepEqual(a.output.shape, b.output.shape);
  assert.ok(maxAbsDiff(a.output, b.output) <= 1e-4 * Math.max(maxAbs(b.output.data), 1e-6), `differs by ${maxAbsDiff(a.output, b.output)}`);
  return ours;
}

// What torch.onnx.export makes of a torchvision BasicBlock net in eval mode: BN folded into conv biases,
// Flatten spelled as Shape -> Gather -> Unsqueeze -> Concat -> Reshape, Constant nodes, a final Softmax.
function torchStyle(): Graph {
  const nodes = [
    conv('conv1', 'x', 'w1', 'b1', 3, 1, 1), n('Relu', 'relu1', ['conv1']),
    n('MaxPool', 'pool', ['relu1'], { kernel_shape: ints([3, 3]), strides: ints([2, 2]), pads: ints([1, 1, 1, 1]) }),
    conv('conv2', 'pool', 'w2', 'b2', 3, 1, 1), n('Relu', 'relu2', ['conv2']),
    conv('conv3', 'relu2', 'w3', 'b3', 3, 1, 1), n('Add', 'add', ['conv3', 'pool']), n('Relu', 'relu3', ['add']),
    conv('down', 'relu3', 'wd', 'bd', 1, 2, 0), conv('conv4', 'relu3', 'w4', 'b4', 3, 2, 1), n('Relu', 'relu4', ['conv4']),
    conv('conv5', 'relu4', 'w5', 'b5', 3, 1, 1), n('Add', 'add2', ['conv5', 'down']), n('Relu', 'relu5', ['add2']),
    n('GlobalAveragePool', 'gap', ['relu5']),
    n('Shape', 'shape', ['gap']), n('Constant', 'zero', [], { value: { type: 'tensor', value: { dtype: 'int64', dims: [], data: BigInt64Array.of(0n) } } }),
    n('Gather', 'gather', ['shape', 'zero'], { axis: int(0) }), n('Unsqueeze', 'unsq', ['gather', 'axes0']),
    n('Concat', 'concat', ['unsq', 'minus1'], { axis: int(0) }), n('Reshape', 'reshape', ['gap', 'concat']),
    n('Gemm', 'fc', ['reshape', 'wfc', 'bfc'], { transB: int(1), alpha: float(1), beta: float(1) }),
    n('Softmax', 'prob', ['fc'], { axis: int(1) }),
  ];
  return graphOf(nodes, {
    w1: rand([8, 3, 3, 3]), b1: rand([8]), w2: rand([8, 8, 3, 3]), b2: rand([8]), w3: rand([8, 8, 3, 3]), b3: rand([8]),
    wd: rand([16, 8, 1, 1]), bd: rand([16]), w4: rand([16, 8, 3, 3]), b4: rand([16]), w5: rand([16, 16, 3, 3]), b5: rand([16]),
    axes0: i64([0]), minus1: i64([-1]), wfc: rand([5, 16]), bfc: rand([5]),
  }, ['batch', 3, 15, 15], 'prob', ['batch', 5]);
}

describe('compiler', () => {
  it('runs a torchvision-style export (folded BN, Shape/Gather/Concat flatten, Softmax) like ORT', async () => {
    const s = await agree(torchStyle());
    const plan = s.plan;
    assert.ok(plan.outputIsProbabilities);
    // Both residual Adds fused into a conv's output, every ReLU fused, flatten chain folded away.
    assert.equal(plan.steps.filter((x) => x.kind === 'add' || x.kind === 'relu').length, 0);
    assert.equal(plan.steps.filter((x) => x.kind === 'conv' && x.residual !== undefined && x.relu).length, 2);
    assert.deepEqual(plan.steps.map((x) => x.kind), ['conv', 'maxPool', 'conv', 'conv', 'conv', 'conv', 'conv', 'globalAvgPool', 'flatten', 'fc', 'softmax']);
  });

  it('folds BatchNormalization into the conv before it, and keeps a standalone one', async () => {
    const nodes = [
      conv('c', 'x', 'w', null, 3, 1, 1),
      n('BatchNormalization', 'bn', ['c', 'g', 'b', 'm', 'v'], { epsilon: float(1e-3) }),
      n('Relu', 'r0', ['bn']), n('BatchNormalization', 'bn2', ['r0', 'g', 'b', 'm', 'v']), n('Relu', 'r', ['bn2']),
    ];
    const pos = (k: number) => f32([k], Float32Array.from({ length: k }, () => 0.5 + rng.uniform()));
    const g = graphOf(nodes, { w: rand([4, 2, 3, 3]), g: pos(4), b: rand([4]), m: rand([4]), v: pos(4) }, [1, 2, 6, 6], 'r', [1, 4, 6, 6]);
    const s = await agree(g, 1);
    // conv+bn+relu as one step; a BN after a ReLU cannot fold, its own ReLU stays separate.
    assert.deepEqual(s.plan.steps.map((x) => x.kind), ['conv', 'batchNorm', 'relu']);
  });

  it('runs MatMul + Add as a fully-connected layer, and option A with channels padded on both sides', async () => {
    const nodes = [
      conv('c', 'x', 'w', null, 3, 1, 1), n('Relu', 'r', ['c']),
      n('Slice', 'sub', ['r', 'st', 'en', 'ax', 'sp']), n('Pad', 'pad', ['sub', 'pads'], { mode: str('constant') }),
      conv('c2', 'r', 'w2', null, 3, 2, 1), n('Add', 'add', ['c2', 'pad']),
      n('GlobalAveragePool', 'gap', ['add']), n('Flatten', 'flat', ['gap'], { axis: int(1) }),
      n('MatMul', 'mm', ['flat', 'wm']), n('Add', 'bias', ['mm', 'bm']),
    ];
    const g = graphOf(nodes, {
      w: rand([4, 3, 3, 3]), w2: rand([8, 4, 3, 3]), st: i64([0, 0]), en: i64([9223372036854775807n, 9223372036854775807n]),
      ax: i64([2, 3]), sp: i64([2, 2]), pads: i64([0, 2, 0, 0, 0, 2, 0, 0]), wm: rand([8, 3]), bm: rand([3]),
    }, ['N', 3, 9, 9], 'bias', ['N', 3]);
    const s = await agree(g, 3);
    const kinds = s.plan.steps.map((x) => x.kind);
    assert.ok(kinds.includes('pad') && kinds.includes('shortcutA'), kinds.join(','));
    assert.equal(kinds.at(-1), 'fc');
  });

  it('counts parameters of a Gemm with its bias and multiply-adds of convs', () => {
    const plan = compileGraph(torchStyle());
    const fc = plan.stats.find((s) => s.name === 'fc')!;
    assert.equal(fc.params, 5 * 16 + 5);
    assert.equal(fc.macs, 5 * 16);
    const c1 = plan.stats.find((s) => s.name === 'conv1')!;
    assert.equal(c1.macs, 8 * 15 * 15 * 3 * 9);
    assert.equal(c1.params, 8 * 27 + 8);
  });

  const refuse = (g: Graph, pattern: RegExp): void => assert.throws(() => compileGraph(g), (e: unknown) => e instanceof ModelError && pattern.test(e.message), String(pattern));
  const one = (node: GraphNode, inits: Record<string, IrTensor> = { w: rand([2, 3, 3, 3]) }) => graphOf([node], inits, [1, 3, 8, 8], node.outputs[0]!);

  it('names an unsupported op', () => refuse(one(n('LSTM', 'rnn', ['x'])), /unsupported op 'LSTM' \(node 'rnn'\)/));
  it('refuses a zero stride', () => refuse(one(n('Conv', 'c', ['x', 'w'], { strides: ints([0, 1]) })), /Conv 'c': strides must be 2 positive integers/));
  it('refuses pads of the wrong length', () => refuse(one(n('Conv', 'c', ['x', 'w'], { pads: ints([1, 1]) })), /Conv 'c': pads must have 4 entries/));
  it('refuses a weight whose channels do not match', () => refuse(one(n('Conv', 'c', ['x', 'w']), { w: rand([2, 5, 3, 3]) }), /expects 5 input channels, input has 3/));
  it('refuses grouped convolutions by name', () => refuse(one(n('Conv', 'c', ['x', 'w'], { group: int(3) }), { w: rand([3, 1, 3, 3]) }), /group=3 is not supported/));
  it('refuses a kernel larger than the padded input', () => refuse(one(n('Conv', 'c', ['x', 'w']), { w: rand([2, 3, 11, 11]) }), /would have shape/));
  it('refuses huge pads that would allocate gigabytes', () => refuse(one(n('Conv', 'c', ['x', 'w'], { pads: ints([100000, 100000, 100000, 100000]) })), /over the limit/));
  it('asks for an input size when the file leaves it symbolic', () =>
    assert.throws(() => compileGraph(graphOf([n('Relu', 'r', ['x'])], {}, ['N', 3, 'H', 'W'], 'r')), /symbolic dimension 'H'/));
  it('refuses a Softmax that feeds further steps, for every engine alike', () =>
    refuse(graphOf([n('Softmax', 's', ['x'], { axis: int(1) }), n('Relu', 'r', ['s'])], {}, [1, 3, 8, 8], 'r'), /Softmax 's' feeds 'r': a Softmax is supported only as a final output/));
  it('runs a Softmax output beside a later-computed one on every engine (Softmax steps go last)', async () => {
    const g: Graph = {
      ...graphOf([n('Softmax', 's', ['x'], { axis: int(1) }), n('Relu', 'r', ['x'])], {}, ['N', 3, 8, 8], 's', ['N', 3, 8, 8]),
      outputs: [{ name: 's', dtype: 'float32', shape: ['N', 3, 8, 8] }, { name: 'r', dtype: 'float32', shape: ['N', 3, 8, 8] }],
    };
    assert.deepEqual(compileGraph(g).steps.map((x) => x.kind), ['relu', 'softmax']);
    const x = randomNormalTensor([2, 3, 8, 8], 4);
    const outs = [];
    for (const engine of ['ts', 'wasm', 'ort-wasm'] as const) {
      const s = await loadModel(serializeOnnx(g), { engine, threads: 1 });
      sessions.push(s);
      outs.push((await s.run(x)).outputs);
    }
    for (const o of outs) for (const i of [0, 1]) assert.ok(maxAbsDiff(o[i]!, outs[2]![i]!) <= 1e-5 * maxAbs(outs[2]![i]!.data), `output ${i}`);
  });
});


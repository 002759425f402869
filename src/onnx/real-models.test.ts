// Models written by other tools (ONNX's own node tests, PyTorch 0.3 exports), copied into testdata/ from
// Debian's libonnx-testdata. Where a test set is there, the parsed weights are checked by recomputing
// the recorded output with a small reference in the test.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import type { Graph, IrTensor } from '../graph/ir';
import { OnnxError } from './error';
import { opsUsed, parseOnnx, parseTensorProto } from './read';
import { serializeOnnx } from './write';

const testdata = new URL('./testdata/', import.meta.url);
const model = (name: string): Graph => parseOnnx(readFileSync(new URL(`${name}/model.onnx`, testdata)));
const pb = (name: string, file: string): IrTensor =>
  parseTensorProto(readFileSync(new URL(`${name}/test_data_set_0/${file}`, testdata)), file);

function floatData(t: IrTensor | undefined, what: string): Float32Array {
  assert.ok(t && t.dtype === 'float32', `${what} should be a float32 tensor`);
  return t.data;
}

function assertClose(actual: Float32Array, expected: Float32Array, tol: number, what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  let worst = 0;
  for (let i = 0; i < actual.length; i++) worst = Math.max(worst, Math.abs(actual[i]! - expected[i]!));
  assert.ok(worst <= tol, `${what}: max abs diff ${worst} > ${tol}`);
}

/** Direct NCHW convolution with stride 1, no padding, no dilation, group 1: the test's own reference. */
function conv2dValid(x: IrTensor, w: IrTensor, b: Float32Array): Float32Array {
  const [n, c, h, wd] = x.dims as [number, number, number, number];
  const [m, , kh, kw] = w.dims as [number, number, number, number];
  const oh = h - kh + 1, ow = wd - kw + 1;
  const xd = x.data as Float32Array, wdat = w.data as Float32Array;
  const out = new Float32Array(n * m * oh * ow);
  for (let b0 = 0; b0 < n; b0++) for (let o = 0; o < m; o++) for (let i = 0; i < oh; i++) for (let j = 0; j < ow; j++) {
    let acc = b[o]!;
    for (let ci = 0; ci < c; ci++) for (let ki = 0; ki < kh; ki++) for (let kj = 0; kj < kw; kj++) {
      acc += xd[((b0 * c + ci) * h + i + ki) * wd + j + kj]! * wdat[((o * c + ci) * kh + ki) * kw + kj]!;
    }
    out[((b0 * m + o) * oh + i) * ow + j] = acc;
  }
  return out;
}

describe('parseOnnx on real ONNX files', () => {
  it('node/test_conv_with_strides_padding: inputs, attributes, output shape, opset 11', () => {
    const g = model('test_conv_with_strides_padding');
    assert.equal(g.opset, 11);
    assert.deepStrictEqual(g.inputs, [
      { name: 'x', dtype: 'float32', shape: [1, 1, 7, 5] },
      { name: 'W', dtype: 'float32', shape: [1, 1, 3, 3] },
    ]);
    assert.deepStrictEqual(g.outputs, [{ name: 'y', dtype: 'float32', shape: [1, 1, 4, 3] }]);
    assert.equal(g.nodes.length, 1);
    const conv = g.nodes[0]!;
    assert.equal(conv.op, 'Conv');
    assert.equal(conv.name, 'op_0', 'the file leaves the node unnamed');
    assert.deepStrictEqual(conv.inputs, ['x', 'W']);
    assert.deepStrictEqual(conv.attrs, {
      kernel_shape: { type: 'ints', value: [3, 3] },
      pads: { type: 'ints', value: [1, 1, 1, 1] },
      strides: { type: 'ints', value: [2, 2] },
    });
    assert.equal(g.initializers.size, 0);
    // Its recorded input is what its declared input shape says.
    assert.deepStrictEqual(pb('test_conv_with_strides_padding', 'input_0.pb').dims, [1, 1, 7, 5]);
  });

  it('pytorch-converted/test_Conv2d (IR 3, weights also listed as inputs): weights reproduce the output', () => {
    const name = 'test_Conv2d';
    const g = model(name);
    assert.equal(g.opset, 6);
    assert.deepStrictEqual(g.inputs.map((v) => v.name), ['0'], 'initializers are not graph inputs');
    const w = g.initializers.get('1')!;
    assert.deepStrictEqual(w.dims, [4, 3, 3, 2]);
    const bias = floatData(g.initializers.get('2'), 'bias');
    assert.deepStrictEqual(g.nodes[0]!.attrs['kernel_shape'], { type: 'ints', value: [3, 2] });
    const x = pb(name, 'input_0.pb');
    const expected = pb(name, 'output_0.pb');
    assert.deepStrictEqual(expected.dims, [2, 4, 5, 4]);
    assertClose(conv2dValid(x, w, bias), floatData(expected, 'output_0'), 1e-5, 'conv output');
  });

  it('pytorch-converted/test_BatchNorm2d_eval: float attributes and BN parameters reproduce the output', () => {
    const name = 'test_BatchNorm2d_eval';
    const g = model(name);
    const bn = g.nodes[0]!;
    assert.equal(bn.op, 'BatchNormalization');
    assert.deepStrictEqual(bn.attrs['epsilon'], { type: 'float', value: Math.fround(1e-5) });
    assert.deepStrictEqual(bn.attrs['momentum'], { type: 'float', value: Math.fround(0.9) });
    const [scale, shift, mean, variance] = bn.inputs.slice(1).map((n) => floatData(g.initializers.get(n), n));
    const x = pb(name, 'input_0.pb');
    const [n, c, h, w] = x.dims as [number, number, number, number];
    const xd = floatData(x, 'x');
    const eps = (bn.attrs['epsilon'] as { value: number }).value;
    const y = xd.map((v, i) => {
      const ch = Math.floor(i / (h * w)) % c;
      return ((v - mean![ch]!) / Math.sqrt(variance![ch]! + eps)) * scale![ch]! + shift![ch]!;
    });
    assert.equal(y.length, n * c * h * w);
    assertClose(y, floatData(pb(name, 'output_0.pb'), 'output_0'), 1e-5, 'batchnorm output');
  });

  it('node/test_constant: a Constant node keeps its tensor attribute (and it equals the recorded output)', () => {
    const g = model('test_constant');
    assert.deepStrictEqual(opsUsed(g), ['Constant']);
    const value = g.nodes[0]!.attrs['value'];
    assert.ok(value?.type === 'tensor');
    assert.deepStrictEqual(value.value, pb('test_constant', 'output_0.pb'));
  });

  it('pytorch-operator/test_operator_non_float_params: an int64 initializer (raw_data) and int64 input', () => {
    const name = 'test_operator_non_float_params';
    const g = model(name);
    assert.deepStrictEqual(g.inputs, [{ name: '0', dtype: 'int64', shape: [2, 2] }]);
    const w = g.initializers.get('1')!;
    assert.equal(w.dtype, 'int64');
    // Evaluate the graph (Add and Mul of same-shape int64 tensors) and compare with the recorded output.
    const values = new Map<string, BigInt64Array>([['0', pb(name, 'input_0.pb').data as BigInt64Array], ['1', w.data as BigInt64Array]]);
    for (const node of g.nodes) {
      const [a, b] = node.inputs.map((v) => values.get(v)!);
      const f = node.op === 'Add' ? (p: bigint, q: bigint) => p + q : node.op === 'Mul' ? (p: bigint, q: bigint) => p * q : undefined;
      assert.ok(f, `unexpected op ${node.op}`);
      values.set(node.outputs[0]!, a!.map((v, i) => f(v, b![i]!)));
    }
    assert.deepStrictEqual(values.get(g.outputs[0]!.name), pb(name, 'output_0.pb').data);
  });

  it('simple/test_sequence_model1: int64_data (not raw) scalar initializers; unknown ops are kept', () => {
    const g = model('test_sequence_model1');
    assert.deepStrictEqual(g.initializers.get('pos'), { dtype: 'int64', dims: [], data: BigInt64Array.of(1n) });
    assert.deepStrictEqual(g.initializers.get('pos_at'), { dtype: 'int64', dims: [], data: BigInt64Array.of(2n) });
    assert.deepStrictEqual(opsUsed(g), ['SequenceAt', 'SequenceEmpty', 'SequenceInsert']);
  });

  it('node/test_slice: int64 graph inputs', () => {
    const g = model('test_slice');
    assert.deepStrictEqual(g.inputs.map((v) => `${v.name}:${v.dtype}[${v.shape.join(',')}]`), [
      'x:float32[20,10,5]', 'starts:int64[2]', 'ends:int64[2]', 'axes:int64[2]', 'steps:int64[2]',
    ]);
    assert.deepStrictEqual(pb('test_slice', 'input_1.pb').data, BigInt64Array.of(0n, 0n));
  });

  it('pytorch-operator/test_operator_add_broadcast: DOUBLE inputs are refused by name', () => {
    assert.throws(() => model('test_operator_add_broadcast'), (e: unknown) =>
      e instanceof OnnxError && e.message === "graph input '0': element type DOUBLE is not supported (supported: FLOAT, INT64)");
  });

  it('a parsed opset-11 model is refused by the writer (we write opset >= 13 only)', () => {
    assert.throws(() => serializeOnnx(model('test_conv_with_strides_padding')), (e: unknown) =>
      e instanceof OnnxError && e.message.includes('opset 11'));
  });
});

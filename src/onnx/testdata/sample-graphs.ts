// Small hand-built graphs for the ONNX reader/writer tests. Values are deterministic (seeded), so every
// test sees the same bytes.
import { f32, float, floats, type Graph, type GraphNode, i64, int, ints, type IrTensor, str } from '../../graph/ir';
import { seededRandom } from '../../random';

export const INT64_MAX = (1n << 63n) - 1n;

/** Seeded uniform numbers in [0, 1), so a failing case can be reproduced. */
export const rng = (seed: number): (() => number) => seededRandom(seed).uniform;

function randomF32(dims: readonly number[], seed: number, scale = 1): IrTensor {
  const next = rng(seed);
  const n = dims.reduce((a, b) => a * b, 1);
  return f32(dims, Float32Array.from({ length: n }, () => (next() * 2 - 1) * scale));
}

const node = (op: string, name: string, inputs: string[], outputs: string[], attrs: GraphNode['attrs'] = {}): GraphNode => ({
  op, name, inputs, outputs, attrs,
});

/**
 * x[N,3,8,8] -> Pad(int64 pads) -> Conv 3x3 -> BatchNormalization -> Relu -> Add(residual) ->
 * Slice(int64 starts/ends/axes, ends = INT64_MAX) -> GlobalAveragePool -> Flatten -> Gemm -> Add(Constant)
 * Every attribute kind appears: int, ints, float, floats (Constant value_floats), string (Pad mode),
 * tensor (Constant value). Floats are float32-exact so the round trip can compare with deepStrictEqual.
 */
export function sampleGraph(): Graph {
  const initializers = new Map<string, IrTensor>([
    ['pads', i64([0, 0, 1, 1, 0, 0, 1, 1])],
    ['conv.weight', randomF32([4, 3, 3, 3], 1, 0.5)],
    ['conv.bias', randomF32([4], 2, 0.1)],
    ['bn.scale', f32([4], Float32Array.of(1, 0.5, 2, 1.5))],
    ['bn.bias', f32([4], Float32Array.of(0, 0.25, -0.25, 0.125))],
    ['bn.mean', randomF32([4], 3, 0.1)],
    ['bn.var', f32([4], Float32Array.of(1, 0.75, 1.25, 0.5))],
    ['slice.starts', i64([0])],
    ['slice.ends', i64([INT64_MAX])],
    ['slice.axes', i64([1])],
    ['fc.weight', randomF32([2, 4], 4, 0.5)],
    ['fc.bias', f32([2], Float32Array.of(0.5, -0.5))],
  ]);
  const nodes: GraphNode[] = [
    node('Pad', 'pad', ['x', 'pads'], ['x_pad'], { mode: str('constant') }),
    node('Conv', 'conv', ['x_pad', 'conv.weight', 'conv.bias'], ['c'], {
      kernel_shape: ints([3, 3]), strides: ints([1, 1]), pads: ints([0, 0, 0, 0]), dilations: ints([1, 1]), group: int(1),
    }),
    node('BatchNormalization', 'bn', ['c', 'bn.scale', 'bn.bias', 'bn.mean', 'bn.var'], ['b'], {
      epsilon: float(Math.fround(1e-5)), momentum: float(0.875),
    }),
    node('Relu', 'relu', ['b'], ['r']),
    node('Add', 'residual', ['r', 'c'], ['s']),
    node('Slice', 'slice', ['s', 'slice.starts', 'slice.ends', 'slice.axes'], ['s2']),
    node('GlobalAveragePool', 'gap', ['s2'], ['p']),
    node('Flatten', 'flatten', ['p'], ['f'], { axis: int(1) }),
    node('Gemm', 'fc', ['f', 'fc.weight', 'fc.bias'], ['g'], {
      alpha: float(1), beta: float(1), transB: int(1),
    }),
    node('Constant', 'offset', [], ['k'], { value_floats: floats([0.25, -1.5]) }),
    node('Constant', 'scale', [], ['m'], { value: { type: 'tensor', value: f32([2], Float32Array.of(2, 0.5)) } }),
    node('Add', 'add_offset', ['g', 'k'], ['g2']),
    node('Mul', 'logits', ['g2', 'm'], ['y']),
  ];
  return {
    name: 'sample',
    inputs: [{ name: 'x', dtype: 'float32', shape: ['N', 3, 8, 8] }],
    outputs: [{ name: 'y', dtype: 'float32', shape: ['N', 2] }],
    nodes,
    initializers,
    metadata: { 'resnet-lab': JSON.stringify({ id: 'sample', labels: ['a', 'b'] }), author: 'tests' },
    opset: 13,
  };
}

/** x[N,1,4,4] -> Conv(2 filters 3x3, pad 1, known weights) -> Relu -> y; y[:,1:] flattened -> z. */
export function convReluGraph(): Graph {
  const ones = new Float32Array(9).fill(1);
  const edge = Float32Array.of(0, -1, 0, -1, 4, -1, 0, -1, 0);
  return {
    name: 'conv_relu',
    inputs: [{ name: 'x', dtype: 'float32', shape: ['N', 1, 4, 4] }],
    outputs: [
      { name: 'y', dtype: 'float32', shape: ['N', 2, 4, 4] },
      { name: 'z', dtype: 'float32', shape: ['N', 16] },
    ],
    nodes: [
      node('Conv', 'conv', ['x', 'w', 'b'], ['c'], { kernel_shape: ints([3, 3]), pads: ints([1, 1, 1, 1]) }),
      node('Relu', 'relu', ['c'], ['y']),
      node('Slice', 'second_channel', ['y', 'starts', 'ends', 'axes'], ['y1']),
      node('Reshape', 'flatten', ['y1', 'shape'], ['z']),
    ],
    initializers: new Map<string, IrTensor>([
      ['w', f32([2, 1, 3, 3], Float32Array.from([...ones, ...edge]))],
      ['b', f32([2], Float32Array.of(0.5, -1))],
      ['starts', i64([1])],
      ['ends', i64([INT64_MAX])],
      ['axes', i64([1])],
      ['shape', i64([0, -1])],
    ]),
    metadata: {},
    opset: 13,
  };
}

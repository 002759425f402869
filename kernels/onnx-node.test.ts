// ONNX's own node conformance tests (copied into kernels/testdata/onnx-node/) on every registered backend.
// Each case's single node is mapped to a kernel call; a case is skipped only for a stated reason.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { registerAll } from '../src/engine/register';
import { getKernel, registeredBackends } from './registry';
import type { AutoPad, PoolAttrs } from './core/attrs';
import { resolveAutoPad } from './core/shape';
import type { BackendName, OpName } from './types';
import { assertClose } from './testdata/helpers';
import { attrFloat, attrInt, attrInts, attrString, listNodeCases, loadNodeCase, type NodeCase, type NodeTensor } from './testdata/onnx-node';
import { shapeStr, type Tensor } from './core/tensor';

registerAll();

/** How to run a case: which op, and the call on a given backend. Or why it cannot run. */
type Plan = { readonly op: OpName; readonly run: (backend: BackendName) => Tensor } | { readonly skip: string };

const AUTO_PADS: readonly string[] = ['NOTSET', 'SAME_UPPER', 'SAME_LOWER', 'VALID'];

function f32(t: NodeTensor | null | undefined, what: string): Tensor {
  if (!t) throw new Error(`${what}: missing input`);
  if (t.dtype !== 'float32') throw new Error(`${what}: expected float32, got ${t.dtype}`);
  return { shape: t.shape, data: t.data };
}

function ints(t: NodeTensor | null | undefined, what: string): number[] {
  if (t?.dtype !== 'int64') throw new Error(`${what}: expected an int64 tensor`);
  return t.data;
}

/** Explicit [top, left, bottom, right] pads of a 2-D Conv or pool node. */
function spatialPads(c: NodeCase, inputHW: [number, number], kernel: [number, number], strides: [number, number], dilations: [number, number]): [number, number, number, number] {
  const autoPad = attrString(c, 'auto_pad', 'NOTSET');
  if (!AUTO_PADS.includes(autoPad)) throw new Error(`${c.name}: unknown auto_pad '${autoPad}'`);
  const pads = attrInts(c, 'pads', [0, 0, 0, 0]) as [number, number, number, number];
  return resolveAutoPad(autoPad as AutoPad, inputHW, kernel, strides, dilations, pads);
}

function pair(v: readonly number[], what: string): [number, number] {
  if (v.length !== 2) throw new Error(`${what}: expected 2 values, got [${v.join(',')}]`);
  return [v[0]!, v[1]!];
}

const DATA_TYPE_NAMES: Readonly<Record<number, string>> = { 2: 'uint8', 3: 'int8', 6: 'int32', 7: 'int64', 10: 'float16', 11: 'double' };

/** Why a case cannot map to our kernels, checked before any input is read; null if it can. */
function unsupported(c: NodeCase): string | null {
  if (c.nodeCount !== 1) return `${c.nodeCount} nodes: only single-node tests map to one kernel`;
  switch (c.opType) {
    case 'Conv':
      if (attrInt(c, 'group', 1) !== 1) return 'group > 1 unsupported (conv2d is groups 1)';
      break;
    case 'MaxPool':
      if (c.outputCount > 1) return 'MaxPool with an Indices output unsupported';
      break;
    case 'BatchNormalization':
      if (attrInt(c, 'training_mode', 0) === 1 || c.outputCount > 1) return 'training mode (batch statistics, running-stat outputs) unsupported: inference only';
      break;
    case 'Pad': {
      const mode = attrString(c, 'mode', 'constant');
      if (mode !== 'constant') return `mode '${mode}' unsupported: constant mode only`;
      break;
    }
    case 'Softmax':
      if (c.opset < 13) return `opset ${c.opset} Softmax coerces to 2-D; the kernel is opset-13 Softmax`;
      break;
    case 'Slice':
      if (c.opset < 10) return `opset ${c.opset} Slice takes attributes; only the opset >= 10 input form is mapped`;
      break;
  }
  const data = c.inputs[0];
  if (data && data.dtype !== 'float32') {
    const type = data.dtype === 'other' ? (DATA_TYPE_NAMES[data.dataType] ?? `data type ${data.dataType}`) : data.dtype;
    return `${type} data: the kernels are float32-only`;
  }
  return null;
}

function plan(c: NodeCase): Plan {
  const reason = unsupported(c);
  if (reason !== null) return { skip: reason };
  const x = c.inputs[0];
  switch (c.opType) {
    case 'Conv': {
      const X = f32(x, c.name);
      const W = f32(c.inputs[1], c.name);
      if (X.shape.length !== 4) return { skip: `${X.shape.length - 2}-D conv: only 2-D is supported` };
      const kernel: [number, number] = [W.shape[2]!, W.shape[3]!];
      const strides = pair(attrInts(c, 'strides', [1, 1]), 'strides');
      const dilations = pair(attrInts(c, 'dilations', [1, 1]), 'dilations');
      const pads = spatialPads(c, [X.shape[2]!, X.shape[3]!], kernel, strides, dilations);
      const bias = c.inputs[2] ? f32(c.inputs[2], 'B').data : null;
      return { op: 'conv2d', run: (b) => getKernel(b, 'conv2d')(X, W, bias, { strides, pads, dilations }, { relu: false }) };
    }
    case 'MaxPool':
    case 'AveragePool': {
      const X = f32(x, c.name);
      if (X.shape.length !== 4) return { skip: `${X.shape.length - 2}-D pool: only 2-D is supported` };
      const kernel = pair(attrInts(c, 'kernel_shape', []), 'kernel_shape');
      const strides = pair(attrInts(c, 'strides', [1, 1]), 'strides');
      const dilations = pair(attrInts(c, 'dilations', [1, 1]), 'dilations');
      const attrs: PoolAttrs = {
        kernel, strides, dilations,
        pads: spatialPads(c, [X.shape[2]!, X.shape[3]!], kernel, strides, dilations),
        ceilMode: attrInt(c, 'ceil_mode', 0) === 1,
        countIncludePad: attrInt(c, 'count_include_pad', 0) === 1,
      };
      return c.opType === 'MaxPool'
        ? { op: 'maxPool2d', run: (b) => getKernel(b, 'maxPool2d')(X, attrs) }
        : { op: 'avgPool2d', run: (b) => getKernel(b, 'avgPool2d')(X, attrs) };
    }
    case 'GlobalAveragePool': {
      const X = f32(x, c.name);
      return { op: 'globalAvgPool', run: (b) => getKernel(b, 'globalAvgPool')(X) };
    }
    case 'Gemm': {
      const A = f32(x, 'A');
      const B = f32(c.inputs[1], 'B');
      const C = c.inputs[2] ? f32(c.inputs[2], 'C') : null;
      const attrs = {
        transA: attrInt(c, 'transA', 0) === 1, transB: attrInt(c, 'transB', 0) === 1,
        alpha: attrFloat(c, 'alpha', 1), beta: attrFloat(c, 'beta', 1),
      };
      return { op: 'gemm', run: (b) => getKernel(b, 'gemm')(A, B, C, attrs) };
    }
    case 'Relu': {
      const X = f32(x, c.name);
      return { op: 'relu', run: (b) => getKernel(b, 'relu')(X) };
    }
    case 'Add': {
      const [A, B] = [f32(x, 'A'), f32(c.inputs[1], 'B')];
      return { op: 'add', run: (b) => getKernel(b, 'add')(A, B) };
    }
    case 'Softmax': {
      const X = f32(x, c.name);
      const axis = attrInt(c, 'axis', -1);
      return { op: 'softmax', run: (b) => getKernel(b, 'softmax')(X, axis) };
    }
    case 'BatchNormalization': {
      const X = f32(x, c.name);
      const [scale, bias, mean, variance] = [1, 2, 3, 4].map((i) => f32(c.inputs[i], `input ${i}`).data) as [Float32Array, Float32Array, Float32Array, Float32Array];
      const eps = attrFloat(c, 'epsilon', 1e-5);
      return { op: 'batchNorm', run: (b) => getKernel(b, 'batchNorm')(X, scale, bias, mean, variance, eps) };
    }
    case 'Pad': {
      const X = f32(x, c.name);
      // Opset >= 11 takes pads and the value as inputs; before, as attributes.
      const pads = c.opset >= 11 ? ints(c.inputs[1], 'pads') : attrInts(c, 'pads', []);
      const value = c.opset >= 11 ? (c.inputs[2] ? f32(c.inputs[2], 'constant_value').data[0]! : 0) : attrFloat(c, 'value', 0);
      return { op: 'pad', run: (b) => getKernel(b, 'pad')(X, pads, value) };
    }
    case 'Slice': {
      const X = f32(x, c.name);
      const starts = ints(c.inputs[1], 'starts');
      const ends = ints(c.inputs[2], 'ends');
      const axes = c.inputs[3] ? ints(c.inputs[3], 'axes') : starts.map((_, i) => i);
      const steps = c.inputs[4] ? ints(c.inputs[4], 'steps') : starts.map(() => 1);
      return { op: 'slice', run: (b) => getKernel(b, 'slice')(X, starts, ends, axes, steps) };
    }
    default:
      return { skip: `no kernel maps ONNX op ${c.opType}` };
  }
}

const cases = listNodeCases();

test('the ONNX node test data is present', () => {
  assert.ok(cases.length >= 60, `found only ${cases.length} cases in kernels/testdata/onnx-node`);
});

describe('ONNX node tests', () => {
  for (const name of cases) {
    const c = loadNodeCase(name);
    const p = plan(c);
    if ('skip' in p) {
      test(name, (t) => t.skip(p.skip));
      continue;
    }
    const backends = registeredBackends(p.op);
    if (backends.length === 0) {
      test(name, () => assert.fail(`no backend registered ${p.op}`));
      continue;
    }
    for (const backend of backends) {
      test(`${name} [${backend}]`, () => {
        const want = c.expected[0];
        assert.ok(want && want.dtype === 'float32', `${name}: expected output must be float32`);
        const got = p.run(backend);
        assertClose(got, { shape: want.shape, data: want.data }, `${name} ${p.op} -> ${shapeStr(want.shape)}`);
      });
    }
  }
});

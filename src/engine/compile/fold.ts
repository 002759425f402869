// Constant folding: Constant nodes, and nodes whose inputs are all constants, evaluated at compile time
// (PyTorch's Shape/Gather/Unsqueeze/Concat arithmetic around Flatten). Shape tensors carry the dynamic
// batch size as the BATCH sentinel.
import { sizeOf } from '../../../kernels/core/tensor';
import { type GraphNode, type IrTensor, attrInt } from '../../graph/ir';
import { fail } from './context';

/** Stands for the dynamic batch size inside folded shape tensors. */
export const BATCH = -0x7ead_beefn;
const INT32_MAX = 2147483647;

const bigToNum = (v: bigint): number => (v > BigInt(INT32_MAX) ? INT32_MAX : v < -BigInt(INT32_MAX) ? -INT32_MAX : Number(v));

/** A constant's values as numbers (int64 clamped to the int32 range, floats truncated). */
export function constInts(t: IrTensor): number[] {
  return t.dtype === 'int64' ? Array.from(t.data, bigToNum) : Array.from(t.data, Math.trunc);
}

export function floatsOf(t: IrTensor): Float32Array {
  return t.dtype === 'float32' ? t.data : Float32Array.from(t.data, Number);
}

/** The value of a Constant node, from whichever of its value attributes it has. */
export function constantValue(node: GraphNode): IrTensor {
  const v = node.attrs['value'];
  if (v?.type === 'tensor') return v.value;
  if (node.attrs['value_ints']?.type === 'ints') {
    const vi = node.attrs['value_ints'].value;
    return { dtype: 'int64', dims: [vi.length], data: BigInt64Array.from(vi.map(BigInt)) };
  }
  if (node.attrs['value_int']?.type === 'int') {
    return { dtype: 'int64', dims: [], data: BigInt64Array.of(BigInt(node.attrs['value_int'].value)) };
  }
  if (node.attrs['value_float']?.type === 'float') {
    return { dtype: 'float32', dims: [], data: Float32Array.of(node.attrs['value_float'].value) };
  }
  return fail(node, 'only tensor, int, ints and float constants are supported');
}

/** Evaluates a node whose inputs are all constants (PyTorch's shape arithmetic around Flatten). */
export function foldConstant(node: GraphNode, inputs: (IrTensor | undefined)[]): IrTensor {
  const int64 = (vals: bigint[], dims: number[]): IrTensor => ({ dtype: 'int64', dims, data: BigInt64Array.from(vals) });
  const x = inputs[0];
  if (!x) fail(node, 'missing input');
  const vals = (t: IrTensor): bigint[] => (t.dtype === 'int64' ? Array.from(t.data) : Array.from(t.data, (v) => BigInt(Math.trunc(v))));
  switch (node.op) {
    case 'Identity':
      return x;
    case 'Cast': {
      const to = attrInt(node, 'to', 1);
      if (to === 7) return int64(vals(x), [...x.dims]);
      if (to === 1) return { dtype: 'float32', dims: [...x.dims], data: Float32Array.from(x.data, Number) };
      return fail(node, `cast to type ${to} is not supported`);
    }
    case 'Gather': {
      const idx = inputs[1];
      if (!idx || x.dims.length !== 1 || attrInt(node, 'axis', 0) !== 0) fail(node, 'only 1-D constant Gather on axis 0 is supported');
      const v = vals(x);
      const picked = vals(idx).map((i) => {
        const j = Number(i < 0n ? i + BigInt(v.length) : i);
        if (j < 0 || j >= v.length) fail(node, `index ${i} is out of range for ${v.length} values`);
        return v[j]!;
      });
      return int64(picked, [...idx.dims]);
    }
    case 'Unsqueeze':
    case 'Squeeze':
      if (sizeOf(x.dims) > 64) fail(node, 'only small constant tensors are folded');
      return x.dtype === 'int64' ? int64(vals(x), node.op === 'Unsqueeze' ? [sizeOf(x.dims)] : sizeOf(x.dims) === 1 ? [] : [sizeOf(x.dims)]) : x;
    case 'Concat': {
      const all = inputs.filter((t): t is IrTensor => !!t);
      if (all.some((t) => t.dims.length > 1)) fail(node, 'only 1-D constant Concat is supported');
      const v = all.flatMap(vals);
      return int64(v, [v.length]);
    }
    default:
      return fail(node, 'constant inputs are not supported for this op');
  }
}

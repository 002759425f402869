// Elementwise ops: ReLU, Add with ONNX multidirectional (NumPy) broadcasting, inference-mode BatchNormalization.
import { shapeStr, sizeOf, type Tensor } from '../core/tensor';

export function relu(x: Tensor): Tensor {
  const out = new Float32Array(x.data.length);
  // Math.max keeps NaN as NaN, as ONNX's max(0, x) does.
  for (let i = 0; i < out.length; i++) out[i] = Math.max(0, x.data[i]!);
  return { shape: [...x.shape], data: out };
}

/** The NumPy broadcast of two shapes (aligned on the right; each dim pair equal or one of them 1). */
function broadcastShape(a: readonly number[], b: readonly number[]): number[] {
  const rank = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < rank; i++) {
    const da = a[a.length - rank + i] ?? 1;
    const db = b[b.length - rank + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) throw new Error(`broadcast: shapes ${shapeStr(a)} and ${shapeStr(b)} are incompatible at output dim ${i}`);
    out.push(da === 1 ? db : da);
  }
  return out;
}

/** Element strides of `shape` seen through the output shape `outShape`: 0 on broadcast (size-1 or missing) dims. */
function broadcastStrides(shape: readonly number[], outShape: readonly number[]): number[] {
  const strides = new Array<number>(outShape.length).fill(0);
  let stride = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    const outDim = outShape.length - shape.length + i;
    strides[outDim] = shape[i] === 1 ? 0 : stride;
    stride *= shape[i]!;
  }
  return strides;
}

export function add(a: Tensor, b: Tensor): Tensor {
  const shape = broadcastShape(a.shape, b.shape);
  const out = new Float32Array(sizeOf(shape));
  if (a.data.length === out.length && b.data.length === out.length) {
    for (let i = 0; i < out.length; i++) out[i] = a.data[i]! + b.data[i]!;
    return { shape, data: out };
  }
  if (out.length === 0) return { shape, data: out };
  // Walk the output row by row (last dim innermost); an odometer over the outer dims moves the input offsets.
  const rank = shape.length;
  const sa = broadcastStrides(a.shape, shape);
  const sb = broadcastStrides(b.shape, shape);
  const inner = rank === 0 ? 1 : shape[rank - 1]!;
  const ia = rank === 0 ? 0 : sa[rank - 1]!;
  const ib = rank === 0 ? 0 : sb[rank - 1]!;
  const index = new Array<number>(rank).fill(0);
  let offA = 0;
  let offB = 0;
  for (let o = 0; o < out.length; o += inner) {
    for (let j = 0; j < inner; j++) out[o + j] = a.data[offA + j * ia]! + b.data[offB + j * ib]!;
    // Advance the odometer over dims rank-2 .. 0.
    for (let d = rank - 2; d >= 0; d--) {
      index[d]!++;
      offA += sa[d]!;
      offB += sb[d]!;
      if (index[d]! < shape[d]!) break;
      offA -= sa[d]! * shape[d]!;
      offB -= sb[d]! * shape[d]!;
      index[d] = 0;
    }
  }
  return { shape, data: out };
}

/** y = (x - mean) / sqrt(variance + epsilon) * scale + bias, per channel of axis 1 (x is [N,C,...]). */
export function batchNorm(
  x: Tensor, scale: Float32Array, bias: Float32Array, mean: Float32Array, variance: Float32Array, epsilon: number,
): Tensor {
  if (x.shape.length < 2) throw new Error(`batchNorm: x ${shapeStr(x.shape)} needs at least 2 dims [N,C,...]`);
  const C = x.shape[1]!;
  const params = { scale, bias, mean, variance };
  for (const [name, v] of Object.entries(params)) {
    if (v.length !== C) throw new Error(`batchNorm: ${name} has ${v.length} values, x ${shapeStr(x.shape)} has ${C} channels`);
  }
  const spatial = sizeOf(x.shape.slice(2));
  const out = new Float32Array(x.data.length);
  for (let c = 0; c < C; c++) {
    // Fold into y = x * k + shift, in double precision.
    const k = scale[c]! / Math.sqrt(variance[c]! + epsilon);
    const shift = bias[c]! - mean[c]! * k;
    for (let base = c * spatial; base < out.length; base += C * spatial) {
      for (let i = base; i < base + spatial; i++) out[i] = x.data[i]! * k + shift;
    }
  }
  return { shape: [...x.shape], data: out };
}

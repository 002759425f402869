// ONNX (opset 13) Softmax: exp(x - max) / sum(exp(x - max)) along one axis.
import { shapeStr, type Tensor } from '../core/tensor';

export function softmax(x: Tensor, axis: number): Tensor {
  const rank = x.shape.length;
  if (!Number.isInteger(axis) || axis < -rank || axis >= rank) throw new Error(`softmax: axis ${axis} out of range for x ${shapeStr(x.shape)}`);
  const a = axis < 0 ? axis + rank : axis;
  const length = x.shape[a]!;
  // The data is [outer, length, inner]: element j of a softmax row sits at base + j * inner.
  let inner = 1;
  for (let d = a + 1; d < rank; d++) inner *= x.shape[d]!;
  const out = new Float32Array(x.data.length);
  for (let base0 = 0; base0 < out.length; base0 += length * inner) {
    for (let base = base0; base < base0 + inner; base++) {
      let max = -Infinity;
      for (let j = 0; j < length; j++) max = Math.max(max, x.data[base + j * inner]!);
      let sum = 0;
      for (let j = 0; j < length; j++) {
        const e = Math.exp(x.data[base + j * inner]! - max);
        out[base + j * inner] = e;
        sum += e;
      }
      for (let j = 0; j < length; j++) out[base + j * inner] = out[base + j * inner]! / sum;
    }
  }
  return { shape: [...x.shape], data: out };
}

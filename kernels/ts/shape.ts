// Data movement: constant-mode Pad (negative pads crop) and ONNX Slice. Both are a gather where every output
// axis has an index map into the input axis (-1 meaning "not from the input": the pad value).
import { resolveSliceAxis } from '../core/shape';
import { shapeStr, sizeOf, type Tensor } from '../core/tensor';

/** Constant-mode Pad; pads = [x1_begin, x2_begin, ..., x1_end, x2_end, ...], negative values remove elements. */
export function pad(x: Tensor, pads: readonly number[], value: number): Tensor {
  const rank = x.shape.length;
  if (pads.length !== 2 * rank) throw new Error(`pad: x ${shapeStr(x.shape)} needs ${2 * rank} pads, got [${pads.join(',')}]`);
  if (!pads.every(Number.isInteger)) throw new Error(`pad: pads [${pads.join(',')}] must be integers`);
  const outShape = x.shape.map((dim, d) => dim + pads[d]! + pads[d + rank]!);
  if (outShape.some((dim) => dim < 0)) {
    throw new Error(`pad: pads [${pads.join(',')}] remove more than x ${shapeStr(x.shape)} holds (output ${shapeStr(outShape)})`);
  }
  const maps = outShape.map((outDim, d) => {
    const map = new Int32Array(outDim);
    for (let o = 0; o < outDim; o++) {
      const i = o - pads[d]!;
      map[o] = i >= 0 && i < x.shape[d]! ? i : -1;
    }
    return map;
  });
  return { shape: outShape, data: gather(x, outShape, maps, value) };
}

export function slice(x: Tensor, starts: readonly number[], ends: readonly number[], axes: readonly number[], steps: readonly number[]): Tensor {
  const rank = x.shape.length;
  const what = `slice: x ${shapeStr(x.shape)}, starts [${starts.join(',')}], ends [${ends.join(',')}], axes [${axes.join(',')}], steps [${steps.join(',')}]`;
  if (ends.length !== starts.length || axes.length !== starts.length || steps.length !== starts.length) {
    throw new Error(`${what}: starts, ends, axes and steps must have one entry per sliced axis`);
  }
  const maps = x.shape.map((dim) => Int32Array.from({ length: dim }, (_, i) => i));
  const seen = new Set<number>();
  axes.forEach((axis, k) => {
    if (!Number.isInteger(axis) || axis < -rank || axis >= rank) throw new Error(`${what}: axis ${axis} out of range`);
    const a = axis < 0 ? axis + rank : axis;
    if (seen.has(a)) throw new Error(`${what}: axis ${a} repeated`);
    seen.add(a);
    const { start, count, step } = resolveSliceAxis(x.shape[a]!, starts[k]!, ends[k]!, steps[k]!);
    maps[a] = Int32Array.from({ length: count }, (_, o) => start + o * step);
  });
  const outShape = maps.map((m) => m.length);
  return { shape: outShape, data: gather(x, outShape, maps, 0) };
}

/** out[o0, o1, ...] = x[maps[0][o0], maps[1][o1], ...], or `fill` where any map entry is -1. */
function gather(x: Tensor, outShape: readonly number[], maps: readonly Int32Array[], fill: number): Float32Array {
  const rank = outShape.length;
  const out = new Float32Array(sizeOf(outShape));
  if (rank === 0) {
    out[0] = x.data[0]!;
    return out;
  }
  const inStrides = new Array<number>(rank);
  for (let d = rank - 1, s = 1; d >= 0; d--) {
    inStrides[d] = s;
    s *= x.shape[d]!;
  }
  let o = 0;
  // offset -1: this output row lies in the padding.
  const walk = (d: number, offset: number): void => {
    const map = maps[d]!;
    const stride = inStrides[d]!;
    if (d === rank - 1) {
      for (let k = 0; k < map.length; k++) out[o++] = offset < 0 || map[k]! < 0 ? fill : x.data[offset + map[k]! * stride]!;
      return;
    }
    for (let k = 0; k < map.length; k++) walk(d + 1, offset < 0 || map[k]! < 0 ? -1 : offset + map[k]! * stride);
  };
  walk(0, 0);
  return out;
}

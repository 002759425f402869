// Shape rules of the ONNX ops we compile, per sample (the batch is dynamic): axes, the attributes of window
// ops (strides, dilations, pads from auto_pad), Slice lengths. Window output sizes are windowOutputSize
// (kernels/core/shape.ts), the one formula every layer uses.
import type { AutoPad, ConvAttrs } from '../../../kernels/core/attrs';
import { resolveAutoPad } from '../../../kernels/core/shape';
import { shapeStr } from '../../../kernels/core/tensor';
import { type GraphNode, attrInts, attrString } from '../../graph/ir';
import { fail } from './context';

/** An ONNX axis (negative counts from the end) as a non-negative one, refused if out of range. */
export function normAxis(axis: number, rank: number, node: GraphNode): number {
  const a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a >= rank) fail(node, `axis ${axis} is out of range for rank ${rank}`);
  return a;
}

/** Explicit [top,left,bottom,right] pads from ONNX auto_pad for one 2-D window op (validated here). */
function resolvePads(
  autoPad: string, pads: readonly number[], inHW: readonly number[], kernel: readonly number[],
  strides: readonly number[], dilations: readonly number[],
): [number, number, number, number] {
  const p = pads.length === 0 ? [0, 0, 0, 0] : pads;
  if (autoPad === 'NOTSET' && p.length !== 4) throw new Error(`pads must have 4 entries for a 2-D op, got ${p.length}`);
  if (!AUTO_PADS.includes(autoPad)) throw new Error(`unknown auto_pad '${autoPad}'`);
  return resolveAutoPad(
    autoPad as AutoPad, [inHW[0]!, inHW[1]!], [kernel[0]!, kernel[1]!], [strides[0]!, strides[1]!], [dilations[0]!, dilations[1]!],
    autoPad === 'NOTSET' ? [p[0]!, p[1]!, p[2]!, p[3]!] : undefined,
  );
}

const AUTO_PADS: readonly string[] = ['NOTSET', 'SAME_UPPER', 'SAME_LOWER', 'VALID'];

/**
 * Output length of a sliced axis. Unlike ONNX (and resolveSliceAxis in kernels/core/shape.ts), a start below
 * -dim with a negative step becomes -1 here, so the axis is empty and the compiler refuses it, where ONNX
 * clamps the start to 0 (and takes element 0 when the end lies before it). Kept so that compiled plans and
 * refusals do not change.
 */
export function sliceLength(dim: number, start: number, end: number, step: number): number {
  const clamp = (v: number, lo: number, hi: number): number => Math.min(Math.max(v, lo), hi);
  let s = start < 0 ? start + dim : start;
  let e = end < 0 ? end + dim : end;
  if (step > 0) {
    s = clamp(s, 0, dim);
    e = clamp(e, 0, dim);
    return Math.max(0, Math.ceil((e - s) / step));
  }
  s = clamp(s, -1, dim - 1);
  e = clamp(e, -1, dim - 1);
  return Math.max(0, Math.ceil((s - e) / -step));
}

/** Strides, dilations and explicit pads of a Conv or pool node, validated. */
export function windowAttrs(node: GraphNode, xs: readonly number[], k: readonly [number, number]): ConvAttrs {
  const strides = attrInts(node, 'strides', [1, 1]);
  const dilations = attrInts(node, 'dilations', [1, 1]);
  if (strides.length !== 2 || strides.some((s) => !Number.isInteger(s) || s < 1)) fail(node, `strides must be 2 positive integers, got ${shapeStr(strides)}`);
  if (dilations.length !== 2 || dilations.some((s) => !Number.isInteger(s) || s < 1)) fail(node, `dilations must be 2 positive integers, got ${shapeStr(dilations)}`);
  if (k.some((v) => !Number.isInteger(v) || v < 1)) fail(node, `kernel must be positive, got ${shapeStr(k)}`);
  let pads: [number, number, number, number];
  try {
    pads = resolvePads(attrString(node, 'auto_pad', 'NOTSET'), attrInts(node, 'pads', []), xs.slice(1), k, strides, dilations);
  } catch (e) {
    fail(node, (e as Error).message);
  }
  if (pads.some((p) => !Number.isInteger(p) || p < 0)) fail(node, `pads must be non-negative integers, got ${shapeStr(pads)}`);
  return { strides: [strides[0]!, strides[1]!], pads, dilations: [dilations[0]!, dilations[1]!] };
}

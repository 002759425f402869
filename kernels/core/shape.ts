// Shape arithmetic every layer shares: the output size of a sliding window (conv, pool, im2col), ONNX's
// auto_pad, and ONNX Slice's index rules. One formula each, so the compiler, the kernels and the engines
// agree on every shape.
import type { AutoPad, ConvAttrs, PoolAttrs } from './attrs';

/** The extent of a kernel of size k with dilation d: (k - 1) * d + 1. */
function dilatedKernelSize(k: number, d: number): number {
  return (k - 1) * d + 1;
}

/**
 * Output size of a sliding window along one axis: floor((in + padBegin + padEnd - dilated kernel) / stride)
 * + 1. With ceilMode the division rounds up, but (as PyTorch and ONNX Runtime do) a last window that would
 * start past the input and its begin padding is dropped. No validation: the result is < 1 when the padded
 * input is smaller than the window (callers refuse that with their own words).
 */
export function windowOutputSize(
  inSize: number, kernel: number, stride: number, dilation: number, padBegin: number, padEnd: number, ceilMode = false,
): number {
  const span = inSize + padBegin + padEnd - dilatedKernelSize(kernel, dilation);
  let size = (ceilMode ? Math.ceil(span / stride) : Math.floor(span / stride)) + 1;
  if (ceilMode && (size - 1) * stride >= inSize + padBegin) size--;
  return size;
}

/**
 * Explicit ONNX pads [top, left, bottom, right] for a conv or pool's `auto_pad`. NOTSET keeps `pads`;
 * VALID pads nothing; SAME_* pads so that out = ceil(in / stride), the odd cell going at the end for
 * SAME_UPPER and at the beginning for SAME_LOWER.
 */
export function resolveAutoPad(
  autoPad: AutoPad,
  inputHW: readonly [number, number],
  kernelHW: readonly [number, number],
  strides: readonly [number, number],
  dilations: readonly [number, number],
  pads: readonly [number, number, number, number] = [0, 0, 0, 0],
): [number, number, number, number] {
  if (autoPad === 'NOTSET') return [pads[0], pads[1], pads[2], pads[3]];
  if (autoPad === 'VALID') return [0, 0, 0, 0];
  const begin: number[] = [];
  const end: number[] = [];
  for (let i = 0; i < 2; i++) {
    const outSize = Math.ceil(inputHW[i]! / strides[i]!);
    const total = Math.max(0, (outSize - 1) * strides[i]! + dilatedKernelSize(kernelHW[i]!, dilations[i]!) - inputHW[i]!);
    const small = Math.floor(total / 2);
    begin.push(autoPad === 'SAME_UPPER' ? small : total - small);
    end.push(autoPad === 'SAME_UPPER' ? total - small : small);
  }
  return [begin[0]!, begin[1]!, end[0]!, end[1]!];
}

/** Output [OH, OW] of a conv; throws (naming the shapes) if attributes are invalid or the output is empty. */
export function convOutputHW(
  inputHW: readonly [number, number],
  kernelHW: readonly [number, number],
  attrs: ConvAttrs,
): [number, number] {
  const { strides, pads, dilations } = attrs;
  const what = `conv2d: input HW [${inputHW.join(',')}], kernel [${kernelHW.join(',')}], strides [${strides.join(',')}], pads [${pads.join(',')}], dilations [${dilations.join(',')}]`;
  if (strides.length !== 2 || dilations.length !== 2 || pads.length !== 4) throw new Error(`${what}: need 2 strides, 2 dilations, 4 pads`);
  for (const v of [...strides, ...dilations]) if (!Number.isInteger(v) || v < 1) throw new Error(`${what}: strides and dilations must be integers >= 1`);
  for (const p of pads) if (!Number.isInteger(p) || p < 0) throw new Error(`${what}: pads must be integers >= 0`);
  const out: number[] = [];
  for (let i = 0; i < 2; i++) {
    if (inputHW[i]! + pads[i]! + pads[i + 2]! < dilatedKernelSize(kernelHW[i]!, dilations[i]!)) {
      throw new Error(`${what}: padded input smaller than the (dilated) kernel`);
    }
    out.push(windowOutputSize(inputHW[i]!, kernelHW[i]!, strides[i]!, dilations[i]!, pads[i]!, pads[i + 2]!));
  }
  return [out[0]!, out[1]!];
}

/**
 * Output [OH, OW] of a pool; throws (naming the shapes) if attributes are invalid or the output is empty.
 * With ceil_mode the last window may hang over the end (see windowOutputSize).
 */
export function poolOutputHW(inputHW: readonly [number, number], attrs: PoolAttrs): [number, number] {
  const { kernel, strides, pads, dilations } = attrs;
  const what = `pool: input HW [${inputHW.join(',')}], kernel [${kernel.join(',')}], strides [${strides.join(',')}], pads [${pads.join(',')}], dilations [${dilations.join(',')}]`;
  if (kernel.length !== 2 || strides.length !== 2 || dilations.length !== 2 || pads.length !== 4) {
    throw new Error(`${what}: need 2 kernel dims, 2 strides, 2 dilations, 4 pads`);
  }
  for (const v of [...kernel, ...strides, ...dilations]) {
    if (!Number.isInteger(v) || v < 1) throw new Error(`${what}: kernel, strides and dilations must be integers >= 1`);
  }
  const out: number[] = [];
  for (let i = 0; i < 2; i++) {
    const effectiveKernel = dilatedKernelSize(kernel[i]!, dilations[i]!);
    const [begin, end] = [pads[i]!, pads[i + 2]!];
    // A pad as wide as the window would make windows of padding only.
    if (!Number.isInteger(begin) || !Number.isInteger(end) || begin < 0 || end < 0 || begin >= effectiveKernel || end >= effectiveKernel) {
      throw new Error(`${what}: pads must be integers in [0, dilated kernel)`);
    }
    if (inputHW[i]! + begin + end - effectiveKernel < 0) throw new Error(`${what}: padded input smaller than the (dilated) kernel`);
    out.push(windowOutputSize(inputHW[i]!, kernel[i]!, strides[i]!, dilations[i]!, begin, end, attrs.ceilMode));
  }
  return [out[0]!, out[1]!];
}

/** One sliced axis after ONNX's rules: the first input index, how many elements, and the step. */
export interface ResolvedSliceAxis {
  readonly start: number;
  readonly count: number;
  readonly step: number;
}

/**
 * ONNX Slice semantics for one axis of size `dim`: negative starts/ends count from the end, then they are
 * clamped ([0, dim] for positive steps, [0, dim-1] and [-1, dim-1] for negative ones), so huge values such as
 * INT64_MAX simply mean "to the end".
 */
export function resolveSliceAxis(dim: number, start: number, end: number, step: number): ResolvedSliceAxis {
  if (step === 0 || !Number.isFinite(step)) throw new Error(`slice: step must be a non-zero number, got ${step}`);
  let s = start < 0 ? start + dim : start;
  let e = end < 0 ? end + dim : end;
  if (step > 0) {
    s = Math.min(Math.max(s, 0), dim);
    e = Math.min(Math.max(e, 0), dim);
  } else {
    s = Math.min(Math.max(s, 0), dim - 1);
    e = Math.min(Math.max(e, -1), dim - 1);
  }
  return { start: s, count: Math.max(0, Math.ceil((e - s) / step)), step };
}

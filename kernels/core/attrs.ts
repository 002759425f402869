// Attribute records of the window and matrix ops, in ONNX's terms. Kernels of every backend, the plan and
// the compiler share these.
import type { Tensor } from './tensor';

export interface ConvAttrs {
  readonly strides: readonly [number, number];
  /** ONNX order for 2-D: [top, left, bottom, right]. */
  readonly pads: readonly [number, number, number, number];
  readonly dilations: readonly [number, number];
}

/** What a conv does to its output before storing it: out = relu?(conv + bias + residual?). */
export interface ConvEpilogue {
  readonly residual?: Tensor;
  readonly relu: boolean;
}

export interface PoolAttrs {
  readonly kernel: readonly [number, number];
  readonly strides: readonly [number, number];
  readonly pads: readonly [number, number, number, number];
  readonly dilations: readonly [number, number];
  readonly ceilMode: boolean;
  /** AveragePool only: count padded cells in the divisor. */
  readonly countIncludePad: boolean;
}

export interface GemmAttrs {
  readonly transA: boolean;
  readonly transB: boolean;
  readonly alpha: number;
  readonly beta: number;
}

/** ONNX `auto_pad` of a conv or pool. */
export type AutoPad = 'NOTSET' | 'SAME_UPPER' | 'SAME_LOWER' | 'VALID';

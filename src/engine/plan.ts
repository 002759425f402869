// A compiled model: the graph after constant folding, BN folding and fusion, as a flat list of steps over
// numbered activation values. Every backend executes this same plan; shapes are known per sample
// (batch is always dimension 0 and is chosen at run time).
import type { Tensor } from '../../kernels/core/tensor';
import type { ConvAttrs, PoolAttrs } from '../../kernels/core/attrs';
import { WRITE_INTO, type WritesInto } from '../graph/ir';

export type ValueId = number;

export interface PlanValue {
  readonly name: string;
  /** Shape without the batch dimension, e.g. [64,56,56] for an NCHW activation. */
  readonly shape: readonly number[];
}

interface StepBase {
  /** The ONNX node name this step came from (the first one, when several were fused). */
  readonly name: string;
  readonly output: ValueId;
}

export interface ConvStep extends StepBase {
  readonly kind: 'conv';
  readonly input: ValueId;
  /** [M,C,kh,kw], BatchNormalization already folded in. */
  readonly weight: Tensor;
  readonly bias: Float32Array;
  readonly attrs: ConvAttrs;
  /** Added to the conv output before the ReLU (the residual connection). */
  readonly residual?: ValueId;
  readonly relu: boolean;
}

export interface PoolStep extends StepBase {
  readonly kind: 'maxPool' | 'avgPool';
  readonly input: ValueId;
  readonly attrs: PoolAttrs;
}

/** globalAvgPool, relu, or flatten: a reshape that leaves the data as it is (output shape in plan.values). */
export interface UnaryStep extends StepBase {
  readonly kind: 'globalAvgPool' | 'relu' | 'flatten';
  readonly input: ValueId;
}

/** Fully connected: y[n,m] = sum_k x[n,k] * weight[m,k] + bias[m]; relu optional. */
export interface FcStep extends StepBase {
  readonly kind: 'fc';
  readonly input: ValueId;
  readonly weight: Tensor;
  readonly bias: Float32Array;
  readonly relu: boolean;
}

export interface SoftmaxStep extends StepBase {
  readonly kind: 'softmax';
  readonly input: ValueId;
  /** Axis including the batch dimension (ONNX numbering, non-negative). */
  readonly axis: number;
}

export interface AddStep extends StepBase {
  readonly kind: 'add';
  readonly a: ValueId;
  readonly b: ValueId;
  readonly relu: boolean;
}

export interface ShortcutAStep extends StepBase {
  readonly kind: 'shortcutA';
  readonly input: ValueId;
  readonly stride: number;
  readonly outChannels: number;
}

export interface BatchNormStep extends StepBase {
  readonly kind: 'batchNorm';
  readonly input: ValueId;
  /** Inference BN as a per-channel affine map: y = x * scale + shift. */
  readonly scale: Float32Array;
  readonly shift: Float32Array;
}

/** Constant-mode Pad over the full rank (batch axis included, its pads are always 0), ONNX pad order. */
export interface PadStep extends StepBase {
  readonly kind: 'pad';
  readonly input: ValueId;
  readonly pads: readonly number[];
  readonly value: number;
}

/** Slice with one entry per sliced axis (axes include the batch axis numbering; the batch is never sliced). */
export interface SliceStep extends StepBase {
  readonly kind: 'slice';
  readonly input: ValueId;
  readonly starts: readonly number[];
  readonly ends: readonly number[];
  readonly axes: readonly number[];
  readonly steps: readonly number[];
}

export type Step =
  | ConvStep | PoolStep | UnaryStep | FcStep | SoftmaxStep | AddStep | ShortcutAStep | BatchNormStep | PadStep | SliceStep;

/** The values a step reads. */
export function stepInputs(s: Step): ValueId[] {
  switch (s.kind) {
    case 'add':
      return [s.a, s.b];
    case 'conv':
      return s.residual === undefined ? [s.input] : [s.input, s.residual];
    default:
      return [s.input];
  }
}

/** What a step costs, as the paper counts it: learned parameters and multiply-adds per sample. */
export interface LayerStat {
  readonly name: string;
  readonly kind: Step['kind'];
  /** What the step does, fusions included, e.g. 'conv 3x3/2 +residual +relu'. */
  readonly detail: string;
  /** Output shape without the batch dimension. */
  readonly outShape: readonly number[];
  /** Learned parameters of the ONNX nodes fused into this step (BN running statistics are not parameters). */
  readonly params: number;
  readonly macs: number;
}

export interface Plan {
  readonly values: readonly PlanValue[];
  readonly input: ValueId;
  /**
   * The graph's declared outputs, in its order. A classifier's first output is its logits (or its
   * probabilities when it ends in Softmax); every engine returns exactly these values.
   */
  readonly outputs: readonly ValueId[];
  /** The first output is a Softmax's. */
  readonly outputIsProbabilities: boolean;
  readonly steps: readonly Step[];
  /** One entry per step, same order. */
  readonly stats: readonly LayerStat[];
}

/**
 * A weight tensor whose data is computed when it is read, anew at every read: the model file's weights
 * (read from the file, or a copy where they are misaligned in memory) with BatchNormalization and Gemm's
 * alpha folded in. So a compiled plan holds no float copy of the model: an engine reads each layer's
 * weights once, packs them and lets them go. `compute` must return a fresh array at every call: whoever
 * reads a computed weight owns what it gets (and may change it). Read `data` once per use.
 */
export function computedWeight(shape: readonly number[], compute: () => Float32Array, into?: (dst: Float32Array) => void): Tensor {
  const t = Object.defineProperty({ shape }, 'data', { get: compute, enumerable: true });
  return (into ? Object.defineProperty(t, WRITE_INTO, { value: into }) : t) as Tensor;
}

/** The writer of a computed tensor's values into a given array (ir.ts: WRITE_INTO), if it has one. */
export function writerOf(t: object): ((dst: Float32Array) => void) | undefined {
  return (t as WritesInto)[WRITE_INTO];
}

/**
 * Whether a tensor's data is computed at each read, a fresh array the reader owns (computedWeight, and the
 * reader's initializers that are copied or read from the file when used), rather than an array it holds.
 */
export function isComputed(t: { readonly data: unknown }): boolean {
  return Object.getOwnPropertyDescriptor(t, 'data')?.get !== undefined;
}

/** The plan with its weights computed once and held: for the 'ts' engine, which reads them at every run. */
export function withWeightsInMemory(plan: Plan): Plan {
  const steps = plan.steps.map((s): Step => (s.kind === 'conv' || s.kind === 'fc' ? { ...s, weight: { shape: s.weight.shape, data: s.weight.data } } : s));
  return { ...plan, steps };
}

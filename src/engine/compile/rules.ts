// One rule per ONNX op: how a node becomes plan steps (or an alias of a value, or a constant). The table at
// the end maps op types to rules; an op with no rule is supported only when all its inputs are constants
// (then the driver folds it, see fold.ts). To support an op, add its rule here and, if it needs a new kind
// of step, the step to plan.ts and a kernel per engine.
import type { PoolAttrs } from '../../../kernels/core/attrs';
import { windowOutputSize } from '../../../kernels/core/shape';
import { type Tensor, shapeStr, sizeOf } from '../../../kernels/core/tensor';
import { type GraphNode, type IrTensor, attrFloat, attrInt, attrInts, attrString } from '../../graph/ir';
import { type ConvStep, type FcStep, type ValueId, computedWeight, isComputed, writerOf } from '../plan';
import { type CompileContext, fail } from './context';
import { BATCH, constInts, constantValue, floatsOf } from './fold';
import {
  batchNormFoldTarget, foldAffineIntoConv, foldConstantAdd, reluFusionTarget, residualFusionTarget,
} from './fuse';
import { normAxis, sliceLength, windowAttrs } from './shapes';

/** Lowers one node; `ctx` holds the values and steps so far. */
export type Rule = (node: GraphNode, ctx: CompileContext) => void;

export interface OpRule {
  /** Absent: the op is supported only on constant inputs (folded by the driver). */
  readonly lower?: Rule;
  /** Lowered as it is, even when all its inputs are constants (Constant has none; Shape reads an activation). */
  readonly beforeFolding?: boolean;
}

/**
 * A float initializer as a step's weight tensor: its data as it is (a view of the file's bytes, held at no
 * cost), or, when the reader computes it at each read (a copy, or read from the file), computed likewise.
 */
function weightOf(shape: readonly number[], t: IrTensor & { dtype: 'float32' }): Tensor {
  return isComputed(t) ? computedWeight(shape, () => t.data, writerOf(t)) : { shape, data: t.data };
}

const constantNode: Rule = (node, ctx) => ctx.setConst(node, constantValue(node));

const shape: Rule = (node, ctx) => {
  const x = ctx.act(node, 0);
  const dims = [BATCH, ...ctx.shape(x).map(BigInt)];
  ctx.setConst(node, { dtype: 'int64', dims: [dims.length], data: BigInt64Array.from(dims) });
};

/** Identity, and Dropout (inference: identity). */
const passThrough: Rule = (node, ctx) => ctx.alias(node, ctx.act(node, 0));

const conv: Rule = (node, ctx) => {
  const x = ctx.act(node, 0);
  const w = ctx.constant(node, 1);
  const b = ctx.constant(node, 2);
  const xs = ctx.shape(x);
  if (w?.dtype !== 'float32' || w.dims.length !== 4) fail(node, 'weight must be a float 4-D initializer [M,C,kh,kw]');
  if (xs.length !== 3) fail(node, `input must be 4-D (NCHW), got per-sample shape ${shapeStr(xs)}`);
  const group = attrInt(node, 'group', 1);
  if (group !== 1) fail(node, `group=${group} is not supported (only group 1)`);
  const [m, c, kh, kw] = w.dims as [number, number, number, number];
  if (c !== xs[0]) fail(node, `weight ${shapeStr(w.dims)} expects ${c} input channels, input has ${xs[0]}`);
  const ks = attrInts(node, 'kernel_shape', [kh, kw]);
  if (ks[0] !== kh || ks[1] !== kw) fail(node, `kernel_shape ${shapeStr(ks)} does not match weight ${shapeStr(w.dims)}`);
  const attrs = windowAttrs(node, xs, [kh, kw]);
  const oh = windowOutputSize(xs[1]!, kh, attrs.strides[0], attrs.dilations[0], attrs.pads[0], attrs.pads[2]);
  const ow = windowOutputSize(xs[2]!, kw, attrs.strides[1], attrs.dilations[1], attrs.pads[1], attrs.pads[3]);
  if (b && sizeOf(b.dims) !== m) fail(node, `bias has ${sizeOf(b.dims)} values, expected ${m}`);
  const output = ctx.newValue(node.outputs[0]!, [m, oh, ow]);
  const step: ConvStep = {
    kind: 'conv', name: node.name, input: x, output,
    weight: weightOf([m, c, kh, kw], w), bias: b ? floatsOf(b) : new Float32Array(m),
    attrs: { strides: attrs.strides, pads: attrs.pads, dilations: attrs.dilations }, relu: false,
  };
  ctx.addStep(step, ctx.paramsOf(node.inputs.slice(1)), m * oh * ow * c * kh * kw);
  ctx.alias(node, output);
};

/** Inference BatchNormalization: folded into the conv before it, else a per-channel affine step. */
const batchNormalization: Rule = (node, ctx) => {
  const x = ctx.act(node, 0);
  const [scale, bias, mean, variance] = [1, 2, 3, 4].map((i) => ctx.constant(node, i));
  if (!scale || !bias || !mean || !variance) fail(node, 'needs scale, bias, mean and variance initializers');
  const c = ctx.shape(x)[0]!;
  for (const t of [scale, bias, mean, variance]) {
    if (sizeOf(t.dims) !== c) fail(node, `parameters must have ${c} values (one per channel), got ${shapeStr(t.dims)}`);
  }
  const eps = attrFloat(node, 'epsilon', 1e-5);
  const [g, be, mu, v] = [scale, bias, mean, variance].map(floatsOf) as [Float32Array, Float32Array, Float32Array, Float32Array];
  const a = new Float32Array(c);
  const sh = new Float32Array(c);
  for (let i = 0; i < c; i++) {
    a[i] = g[i]! / Math.sqrt(v[i]! + eps);
    sh[i] = be[i]! - mu[i]! * a[i]!;
  }
  const learned = ctx.paramsOf(node.inputs.slice(1, 3));
  const p = batchNormFoldTarget(ctx, node);
  if (p) {
    ctx.updateStep(p, foldAffineIntoConv(p.step, a, sh, ctx.newValue(node.outputs[0]!, ctx.shape(p.step.output))), learned);
    ctx.alias(node, p.step.output);
  } else {
    const output = ctx.newValue(node.outputs[0]!, ctx.shape(x));
    ctx.addStep({ kind: 'batchNorm', name: node.name, input: x, output, scale: a, shift: sh }, learned, 0);
    ctx.alias(node, output);
  }
};

const relu: Rule = (node, ctx) => {
  const x = ctx.act(node, 0);
  const p = reluFusionTarget(ctx, node);
  if (p) {
    ctx.updateStep(p, { ...p.step, relu: true, output: ctx.newValue(node.outputs[0]!, ctx.shape(x)) }, 0);
    ctx.alias(node, p.step.output);
  } else {
    const output = ctx.newValue(node.outputs[0]!, ctx.shape(x));
    ctx.addStep({ kind: 'relu', name: node.name, input: x, output }, 0, 0);
    ctx.alias(node, output);
  }
};

/** Add of two activations (the residual connection, fused into a conv when it can be) or of a constant bias. */
const add: Rule = (node, ctx) => {
  const constIdx = node.inputs.findIndex((n) => ctx.isConst(n));
  if (constIdx >= 0) {
    foldConstantAdd(ctx, node, constIdx);
    return;
  }
  const a = ctx.act(node, 0);
  const b = ctx.act(node, 1);
  const [sa, sb] = [ctx.shape(a), ctx.shape(b)];
  if (shapeStr(sa) !== shapeStr(sb)) fail(node, `inputs must have the same shape, got ${shapeStr(sa)} and ${shapeStr(sb)}`);
  const best = residualFusionTarget(ctx, node, a, b);
  if (best) {
    const convStep = best.p.step as ConvStep;
    ctx.updateStep(best.p, { ...convStep, residual: best.other, output: ctx.newValue(node.outputs[0]!, sa) }, 0);
    ctx.alias(node, best.p.step.output);
  } else {
    const output = ctx.newValue(node.outputs[0]!, sa);
    ctx.addStep({ kind: 'add', name: node.name, a, b, output, relu: false }, 0, 0);
    ctx.alias(node, output);
  }
};

/** MaxPool and AveragePool. */
const pool: Rule = (node, ctx) => {
  const x = ctx.act(node, 0);
  const xs = ctx.shape(x);
  if (xs.length !== 3) fail(node, `input must be 4-D (NCHW), got per-sample shape ${shapeStr(xs)}`);
  if (node.outputs.length > 1 && node.outputs[1]) fail(node, 'the Indices output is not supported');
  const k = attrInts(node, 'kernel_shape', []);
  if (k.length !== 2) fail(node, `kernel_shape must have 2 entries, got ${shapeStr(k)}`);
  if (attrInt(node, 'storage_order', 0) !== 0) fail(node, 'storage_order=1 is not supported');
  const w = windowAttrs(node, xs, [k[0]!, k[1]!]);
  const attrs: PoolAttrs = {
    kernel: [k[0]!, k[1]!], strides: w.strides, pads: w.pads, dilations: w.dilations,
    ceilMode: attrInt(node, 'ceil_mode', 0) === 1, countIncludePad: attrInt(node, 'count_include_pad', 0) === 1,
  };
  const oh = windowOutputSize(xs[1]!, k[0]!, w.strides[0], w.dilations[0], w.pads[0], w.pads[2], attrs.ceilMode);
  const ow = windowOutputSize(xs[2]!, k[1]!, w.strides[1], w.dilations[1], w.pads[1], w.pads[3], attrs.ceilMode);
  const output = ctx.newValue(node.outputs[0]!, [xs[0]!, oh, ow]);
  ctx.addStep({ kind: node.op === 'MaxPool' ? 'maxPool' : 'avgPool', name: node.name, input: x, output, attrs }, 0, 0);
  ctx.alias(node, output);
};

const globalAveragePool: Rule = (node, ctx) => {
  const x = ctx.act(node, 0);
  const xs = ctx.shape(x);
  if (xs.length < 2) fail(node, `input must be at least 3-D, got per-sample shape ${shapeStr(xs)}`);
  const output = ctx.newValue(node.outputs[0]!, [xs[0]!, ...xs.slice(1).map(() => 1)]);
  ctx.addStep({ kind: 'globalAvgPool', name: node.name, input: x, output }, 0, 0);
  ctx.alias(node, output);
};

/** Flatten and Reshape: an alias when the shape stays, else a flatten step (data unchanged). */
function reshapeTo(ctx: CompileContext, node: GraphNode, x: ValueId, shape: readonly number[]): void {
  if (shapeStr(shape) === shapeStr(ctx.shape(x))) return ctx.alias(node, x);
  const output = ctx.newValue(node.outputs[0]!, shape);
  ctx.addStep({ kind: 'flatten', name: node.name, input: x, output }, 0, 0);
  ctx.alias(node, output);
}

const flatten: Rule = (node, ctx) => {
  const x = ctx.act(node, 0);
  const full = [1, ...ctx.shape(x)];
  const axis = normAxis(attrInt(node, 'axis', 1), full.length + 1, node);
  if (axis !== 1) fail(node, `only axis=1 is supported (keeps the batch), got ${axis}`);
  reshapeTo(ctx, node, x, [sizeOf(ctx.shape(x))]);
};

const reshape: Rule = (node, ctx) => {
  const x = ctx.act(node, 0);
  const shapeT = ctx.constant(node, 1);
  if (!shapeT) fail(node, 'needs a constant shape');
  const target = shapeT.dtype === 'int64' ? Array.from(shapeT.data) : [];
  if (target.length === 0) fail(node, 'shape must be a non-empty int64 tensor');
  const xs = ctx.shape(x);
  if (!(target[0] === BATCH || target[0] === 0n || (target[0] === -1n && !target.slice(1).includes(-1n)))) {
    fail(node, `the first dimension must keep the batch (0, -1 or Shape(x)[0]), got ${target[0]}`);
  }
  const rest = target.slice(1).map((d, i) => (d === 0n ? xs[i]! : d === BATCH ? -2 : Number(d)));
  if (rest.includes(-2)) fail(node, 'the batch size can only be the first dimension');
  const known1 = rest.filter((d) => d !== -1).reduce((p, q) => p * q, 1);
  const total = sizeOf(xs);
  const outShape = target[0] === -1n ? rest : rest.map((d) => (d === -1 ? total / known1 : d));
  if (sizeOf(outShape) !== total || outShape.some((d) => !Number.isInteger(d) || d <= 0)) {
    fail(node, `cannot reshape per-sample ${shapeStr(xs)} to ${shapeStr(outShape)}`);
  }
  reshapeTo(ctx, node, x, outShape);
};

/** Gemm and MatMul with a constant B: a fully connected step (alpha folded into the weights, beta * C into the bias). */
const fullyConnected: Rule = (node, ctx) => {
  const x = ctx.act(node, 0);
  const xs = ctx.shape(x);
  if (xs.length !== 1) fail(node, `input must be 2-D [N,K], got per-sample shape ${shapeStr(xs)}`);
  const w = ctx.constant(node, 1);
  if (w?.dtype !== 'float32' || w.dims.length !== 2) fail(node, 'B must be a float 2-D initializer');
  const isGemm = node.op === 'Gemm';
  if (isGemm && attrInt(node, 'transA', 0) !== 0) fail(node, 'transA=1 is not supported');
  const transB = isGemm && attrInt(node, 'transB', 0) === 1;
  const alpha = isGemm ? attrFloat(node, 'alpha', 1) : 1;
  const beta = isGemm ? attrFloat(node, 'beta', 1) : 1;
  const [k, m] = transB ? [w.dims[1]!, w.dims[0]!] : [w.dims[0]!, w.dims[1]!];
  if (k !== xs[0]) fail(node, `B ${shapeStr(w.dims)} does not fit input [N,${xs[0]}]`);
  const weight = transB && alpha === 1 ? weightOf([m, k], w) : computedWeight([m, k], () => fcWeight(w.data, m, k, transB, alpha));
  const bias = new Float32Array(m);
  const c = isGemm ? ctx.constant(node, 2) : undefined;
  if (c) {
    const cd = floatsOf(c);
    if (cd.length !== 1 && cd.length !== m) fail(node, `C ${shapeStr(c.dims)} does not broadcast to [N,${m}]`);
    for (let i = 0; i < m; i++) bias[i] = beta * cd[cd.length === 1 ? 0 : i]!;
  }
  const output = ctx.newValue(node.outputs[0]!, [m]);
  const step: FcStep = { kind: 'fc', name: node.name, input: x, output, weight, bias, relu: false };
  ctx.addStep(step, ctx.paramsOf(node.inputs.slice(1)), m * k);
  ctx.alias(node, output);
};

/** Gemm's B as [M,K] (transposed unless transB), times alpha, as a new array. */
function fcWeight(b: Float32Array, m: number, k: number, transB: boolean, alpha: number): Float32Array {
  const out = new Float32Array(m * k);
  for (let i = 0; i < m; i++) for (let j = 0; j < k; j++) out[i * k + j] = alpha * b[transB ? i * k + j : j * m + i]!;
  return out;
}

const softmax: Rule = (node, ctx) => {
  const { opset } = ctx.graph;
  const x = ctx.act(node, 0);
  const rank = ctx.shape(x).length + 1;
  const axis = normAxis(attrInt(node, 'axis', opset >= 13 ? -1 : 1), rank, node);
  if (axis === 0) fail(node, 'softmax over the batch axis is not supported');
  if (opset < 13 && axis !== rank - 1) fail(node, `opset-${opset} Softmax flattens from axis ${axis}; only the last axis is supported`);
  const output = ctx.newValue(node.outputs[0]!, ctx.shape(x));
  ctx.addStep({ kind: 'softmax', name: node.name, input: x, output, axis }, 0, 0);
  ctx.alias(node, output);
};

/** Slice with constant starts/ends/axes/steps; option A's subsampling x[:, :, ::s, ::s] becomes a shortcutA step. */
const slice: Rule = (node, ctx) => {
  const x = ctx.act(node, 0);
  const xs = ctx.shape(x);
  const rank = xs.length + 1;
  let starts: number[], ends: number[], axes: number[], stepsV: number[];
  if (ctx.graph.opset < 10) {
    starts = [...attrInts(node, 'starts', [])];
    ends = [...attrInts(node, 'ends', [])];
    axes = [...attrInts(node, 'axes', starts.map((_, i) => i))];
    stepsV = starts.map(() => 1);
  } else {
    const get = (i: number): number[] | undefined => {
      const t = ctx.constant(node, i);
      return t ? constInts(t) : undefined;
    };
    starts = get(1) ?? fail(node, 'starts must be a constant');
    ends = get(2) ?? fail(node, 'ends must be a constant');
    axes = get(3) ?? starts.map((_, i) => i);
    stepsV = get(4) ?? starts.map(() => 1);
  }
  if (new Set([starts.length, ends.length, axes.length, stepsV.length]).size !== 1) fail(node, 'starts, ends, axes and steps must have the same length');
  axes = axes.map((a) => normAxis(a, rank, node));
  if (stepsV.some((s) => s === 0)) fail(node, 'steps must not be 0');
  if (axes.includes(0)) fail(node, 'slicing the batch axis is not supported');
  const outShape = [...xs];
  axes.forEach((a, i) => {
    outShape[a - 1] = sliceLength(xs[a - 1]!, starts[i]!, ends[i]!, stepsV[i]!);
  });
  const output = ctx.newValue(node.outputs[0]!, outShape);
  // Option A's subsampling: x[:, :, ::s, ::s].
  const sub = axes.length === 2 && axes[0] === 2 && axes[1] === 3 && rank === 4 && starts.every((v) => v === 0) &&
    stepsV[0] === stepsV[1] && stepsV[0]! > 0 && ends.every((e, i) => e >= xs[axes[i]! - 1]!);
  if (sub) {
    ctx.addStep({ kind: 'shortcutA', name: node.name, input: x, output, stride: stepsV[0]!, outChannels: xs[0]! }, 0, 0);
  } else {
    ctx.addStep({ kind: 'slice', name: node.name, input: x, output, starts, ends, axes, steps: stepsV }, 0, 0);
  }
  ctx.alias(node, output);
};

/** Constant-mode Pad; option A's zero channels appended (after its subsampling, or alone) become one shortcutA step. */
const pad: Rule = (node, ctx) => {
  const x = ctx.act(node, 0);
  const xs = ctx.shape(x);
  const rank = xs.length + 1;
  const mode = attrString(node, 'mode', 'constant');
  if (mode !== 'constant') fail(node, `mode '${mode}' is not supported (only constant)`);
  let pads: number[];
  let value = 0;
  if (ctx.graph.opset < 11) {
    pads = [...attrInts(node, 'pads', [])];
    value = attrFloat(node, 'value', 0);
  } else {
    const p = ctx.constant(node, 1);
    if (!p) fail(node, 'pads must be a constant');
    pads = constInts(p);
    const v = ctx.constant(node, 2);
    if (v) value = floatsOf(v)[0] ?? 0;
    const axesT = ctx.constant(node, 3);
    if (axesT) {
      const axes = constInts(axesT).map((a) => normAxis(a, rank, node));
      const full = new Array<number>(2 * rank).fill(0);
      axes.forEach((a, i) => {
        full[a] = pads[i]!;
        full[a + rank] = pads[i + axes.length]!;
      });
      pads = full;
    }
  }
  if (pads.length !== 2 * rank) fail(node, `pads must have ${2 * rank} entries for rank ${rank}, got ${pads.length}`);
  if (pads[0] !== 0 || pads[rank] !== 0) fail(node, 'padding the batch axis is not supported');
  const outShape = xs.map((d, i) => d + pads[i + 1]! + pads[i + 1 + rank]!);
  const output = ctx.newValue(node.outputs[0]!, outShape);
  // Option A's zero channels appended after a subsampling (or directly): one shortcutA step.
  const onlyChannelsAtEnd = value === 0 && pads.every((p, i) => p === 0 || i === 1 + rank) && rank === 4;
  const p = ctx.fusable(node, 0);
  if (onlyChannelsAtEnd && p && p.step.kind === 'shortcutA' && p.step.outChannels === xs[0]) {
    ctx.updateStep(p, { ...p.step, outChannels: outShape[0]!, output }, 0);
  } else if (onlyChannelsAtEnd) {
    ctx.addStep({ kind: 'shortcutA', name: node.name, input: x, output, stride: 1, outChannels: outShape[0]! }, 0, 0);
  } else {
    ctx.addStep({ kind: 'pad', name: node.name, input: x, output, pads, value }, 0, 0);
  }
  ctx.alias(node, output);
};

/**
 * Every ONNX op the engine runs, in the order SUPPORTED_OPS lists them. Gather, Unsqueeze, Squeeze, Concat
 * and Cast have no rule: they appear in exported graphs only as shape arithmetic on constants, which the
 * driver folds.
 */
export const OP_RULES: ReadonlyMap<string, OpRule> = new Map<string, OpRule>([
  ['Conv', { lower: conv }],
  ['BatchNormalization', { lower: batchNormalization }],
  ['Relu', { lower: relu }],
  ['Add', { lower: add }],
  ['MaxPool', { lower: pool }],
  ['AveragePool', { lower: pool }],
  ['GlobalAveragePool', { lower: globalAveragePool }],
  ['Flatten', { lower: flatten }],
  ['Reshape', { lower: reshape }],
  ['Gemm', { lower: fullyConnected }],
  ['MatMul', { lower: fullyConnected }],
  ['Softmax', { lower: softmax }],
  ['Pad', { lower: pad }],
  ['Slice', { lower: slice }],
  ['Identity', { lower: passThrough }],
  ['Dropout', { lower: passThrough }],
  ['Constant', { lower: constantNode, beforeFolding: true }],
  ['Shape', { lower: shape, beforeFolding: true }],
  ['Gather', {}],
  ['Unsqueeze', {}],
  ['Squeeze', {}],
  ['Concat', {}],
  ['Cast', {}],
]);

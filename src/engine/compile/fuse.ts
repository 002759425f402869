// Fusion: what the compiler folds into the step before it instead of emitting a step of its own.
// BatchNormalization into the conv's weights and bias, a constant Add into a conv or fc bias, ReLU into a
// conv / add / fc output, the residual Add into the conv that computes one of its operands (moving a cheap
// shortcut step earlier when that is what makes the operand ready in time).
import { sizeOf } from '../../../kernels/core/tensor';
import type { GraphNode } from '../../graph/ir';
import { type AddStep, type ConvStep, type FcStep, type ValueId, computedWeight, isComputed, writerOf } from '../plan';
import { type CompileContext, type Producer, fail } from './context';
import { floatsOf } from './fold';

/**
 * y = conv(x) * a + shift per output channel, folded into the weights and bias. The folded weights are
 * computed when read (plan.ts: computedWeight), from the conv's: in place when those are computed too (a
 * fresh array at each read), else into a new array, so no folded copy of the model is held.
 */
export function foldAffineIntoConv(step: ConvStep, a: Float32Array, shift: Float32Array, output: ValueId): ConvStep {
  const [m] = step.weight.shape as [number];
  const source = step.weight;
  const bias = new Float32Array(m);
  for (let o = 0; o < m; o++) bias[o] = step.bias[o]! * a[o]! + shift[o]!;
  const fresh = isComputed(source);
  const write = writerOf(source);
  const weight = computedWeight(
    source.shape,
    () => {
      const w = source.data;
      return scaleRows(w, a, fresh ? w : new Float32Array(w.length));
    },
    (dst) => {
      if (write) write(dst);
      scaleRows(write ? dst : source.data, a, dst);
    },
  );
  return { ...step, weight, bias, output };
}

/** out = w with row o (of w.length / a.length values) times a[o]; out may be w. */
function scaleRows(w: Float32Array, a: Float32Array, out: Float32Array): Float32Array {
  const m = a.length;
  const per = w.length / m;
  for (let o = 0; o < m; o++) {
    const s = a[o]!;
    const end = (o + 1) * per;
    for (let i = o * per; i < end; i++) out[i] = w[i]! * s;
  }
  return out;
}

/** The conv a BatchNormalization on input 0 folds into: read only by it, no ReLU or residual yet. */
export function batchNormFoldTarget(ctx: CompileContext, node: GraphNode): (Producer & { step: ConvStep }) | undefined {
  const p = ctx.fusable(node, 0);
  return p && p.step.kind === 'conv' && !p.step.relu && p.step.residual === undefined ? (p as Producer & { step: ConvStep }) : undefined;
}

/** The conv, add or fc step a Relu on input 0 fuses into: read only by it, no ReLU yet. */
export function reluFusionTarget(ctx: CompileContext, node: GraphNode): (Producer & { step: ConvStep | AddStep | FcStep }) | undefined {
  const p = ctx.fusable(node, 0);
  return p && (p.step.kind === 'conv' || p.step.kind === 'add' || p.step.kind === 'fc') && !p.step.relu
    ? (p as Producer & { step: ConvStep | AddStep | FcStep })
    : undefined;
}

/** Moves the parameter-free step producing v to just before step `index`, if its inputs exist by then. */
function hoistBefore(ctx: CompileContext, v: ValueId, index: number): boolean {
  const { producer, steps, stats } = ctx;
  const p = producer.get(v);
  if (!p || p.index <= index || !['shortcutA', 'pad', 'slice'].includes(p.step.kind)) return false;
  const input = (p.step as { input: ValueId }).input;
  if (input !== ctx.inputId && (producer.get(input)?.index ?? Infinity) >= index) return false;
  const [step] = steps.splice(p.index, 1);
  const [stat] = stats.splice(p.index, 1);
  steps.splice(index, 0, step!);
  stats.splice(index, 0, stat!);
  steps.forEach((st, i) => {
    const pr = producer.get(st.output);
    if (pr) pr.index = i;
  });
  return true;
}

/**
 * The conv an Add of activations a and b fuses into as its residual: the later of the two producing convs
 * whose other operand exists by then (a cheap shortcut computed after the conv, as option A's is in
 * torchvision's order, is moved before it). Undefined if neither can take it.
 */
export function residualFusionTarget(ctx: CompileContext, node: GraphNode, a: ValueId, b: ValueId): { p: Producer; other: ValueId } | undefined {
  const readyBefore = (v: ValueId, index: number): boolean =>
    v === ctx.inputId || (ctx.producer.get(v)?.index ?? Infinity) < index || hoistBefore(ctx, v, index);
  const candidates = [0, 1]
    .map((i) => ({ p: ctx.fusable(node, i), other: i === 0 ? b : a }))
    .filter((c): c is { p: Producer; other: ValueId } =>
      !!c.p && c.p.step.kind === 'conv' && !c.p.step.relu && c.p.step.residual === undefined)
    .sort((x, y) => y.p.index - x.p.index);
  return candidates.find((c) => readyBefore(c.other, c.p.index));
}

/** An Add of a constant (input constIdx): folded into the bias of the conv or fc before it, else refused. */
export function foldConstantAdd(ctx: CompileContext, node: GraphNode, constIdx: number): void {
  const x = ctx.act(node, 1 - constIdx);
  const c = floatsOf(ctx.constant(node, constIdx)!);
  const p = ctx.fusable(node, 1 - constIdx);
  const s = ctx.shape(x);
  const channels = s[0]!;
  const perChannel = c.length === 1 || c.length === channels;
  const target: ConvStep | FcStep | undefined =
    p && (p.step.kind === 'fc' || (p.step.kind === 'conv' && p.step.residual === undefined)) ? p.step : undefined;
  const fitsChannels = target?.kind === 'fc' || c.length === 1 || sizeOf(ctx.constant(node, constIdx)!.dims.slice(-2)) === 1;
  if (p && target && !target.relu && perChannel && fitsChannels) {
    const bias = target.bias.map((v, i) => v + c[c.length === 1 ? 0 : i]!);
    ctx.updateStep(p, { ...target, bias, output: ctx.newValue(node.outputs[0]!, s) }, ctx.paramsOf([node.inputs[constIdx]!]));
    ctx.alias(node, p.step.output);
    return;
  }
  fail(node, `adding a constant of ${c.length} values is supported only right after a Conv, Gemm or MatMul`);
}

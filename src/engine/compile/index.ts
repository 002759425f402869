// Graph -> Plan: fold constants (PyTorch's Shape/Gather/Unsqueeze/Concat chains), fold BatchNormalization
// into the conv before it, fuse ReLU and the residual Add into the conv's output step, and recognise the
// option-A shortcut (Slice with steps + channel Pad). Shapes are inferred per sample; the batch is dynamic.
//
// This file is the driver: it declares the input, walks the nodes in order and hands each to its op's rule
// (rules.ts), folds nodes whose inputs are all constants (fold.ts), then keeps the steps the outputs need.
// Fusions are in fuse.ts, shape rules in shapes.ts, the compilation's state in context.ts.
import { shapeStr } from '../../../kernels/core/tensor';
import type { Graph, IrTensor } from '../../graph/ir';
import { type Plan, type Step, type ValueId, stepInputs } from '../plan';
import { CompileContext, ModelError, fail } from './context';
import { foldConstant } from './fold';
import { OP_RULES } from './rules';

export { ModelError } from './context';

/** Ops the engine runs (after folding); anything else is refused by name. */
const SUPPORTED_OPS: readonly string[] = [...OP_RULES.keys()];

export interface CompileOptions {
  /** Per-sample input shape [C,H,W] where the file leaves H and W symbolic. */
  readonly inputShape?: readonly number[];
}

export function compileGraph(graph: Graph, opts: CompileOptions = {}): Plan {
  const ctx = new CompileContext(graph);
  declareInput(ctx, opts);
  const { known } = ctx;

  for (const node of graph.nodes) {
    if (node.outputs[0] === undefined) fail(node, 'has no output');
    const rule = OP_RULES.get(node.op);
    if (rule?.lower && rule.beforeFolding) {
      rule.lower(node, ctx);
      continue;
    }
    // Constant folding of shape arithmetic and constants.
    if (node.inputs.length > 0 && node.inputs.filter(Boolean).every((n) => ctx.isConst(n))) {
      ctx.setConst(node, foldConstant(node, node.inputs.map((n) => (n ? (known.get(n) as { t: IrTensor }).t : undefined))));
      continue;
    }
    if (rule?.lower) rule.lower(node, ctx);
    else if (rule) fail(node, 'this op is supported only on constant inputs here');
    else throw new ModelError(`unsupported op '${node.op}' (node '${node.name}'); supported: ${SUPPORTED_OPS.join(', ')}`);
  }

  if (graph.outputs.length === 0) throw new ModelError('the model declares no output');
  const outputs = graph.outputs.map((o) => {
    const k = known.get(o.name);
    if (k?.kind !== 'act') throw new ModelError(`the model output '${o.name}' is not computed from the input`);
    return k.id;
  });
  const { steps, stats } = ctx;
  const live = liveSteps(steps, outputs);
  const order = softmaxLast(steps, live);
  const kept = order.map((i) => steps[i]!);
  return {
    values: ctx.values, input: ctx.inputId, outputs, steps: kept,
    stats: order.map((i, j) => ({ ...stats[i]!, detail: describeStep(kept[j]!) })),
    outputIsProbabilities: ctx.producer.get(outputs[0]!)?.step.kind === 'softmax',
  };
}

/**
 * The live steps' order with every Softmax last. A Softmax is a classifier's final step: engines apply it
 * to the outputs after the network has run, so one that feeds further steps is refused here, for all engines.
 */
function softmaxLast(steps: readonly Step[], live: readonly boolean[]): number[] {
  const order = steps.map((_, i) => i).filter((i) => live[i]);
  const softmaxes = new Set(order.filter((i) => steps[i]!.kind === 'softmax').map((i) => steps[i]!.output));
  for (const i of order) {
    const read = stepInputs(steps[i]!).find((v) => softmaxes.has(v));
    if (read !== undefined) {
      const from = steps.find((s) => s.output === read)!;
      throw new ModelError(`Softmax '${from.name}' feeds '${steps[i]!.name}': a Softmax is supported only as a final output`);
    }
  }
  return [...order.filter((i) => steps[i]!.kind !== 'softmax'), ...order.filter((i) => steps[i]!.kind === 'softmax')];
}

/** The model's one data input (an input that is not an initializer), with its per-sample shape resolved. */
function declareInput(ctx: CompileContext, opts: CompileOptions): void {
  const { graph } = ctx;
  const dataInputs = graph.inputs.filter((i) => !graph.initializers.has(i.name));
  if (dataInputs.length !== 1) {
    throw new ModelError(`the model must have exactly one data input, found ${dataInputs.length}`);
  }
  const inInfo = dataInputs[0]!;
  const fileShape = inInfo.shape.slice(1);
  const inputShape = fileShape.map((d, i) => {
    if (typeof d === 'number' && d > 0) return d;
    const o = opts.inputShape?.[i];
    if (o === undefined) throw new ModelError(`input '${inInfo.name}' has a symbolic dimension '${String(d)}' at axis ${i + 1}: give an input size`);
    return o;
  });
  if (opts.inputShape?.some((d, i) => typeof fileShape[i] === 'number' && fileShape[i] !== d)) {
    throw new ModelError(`input shape ${shapeStr(opts.inputShape)} does not match the model's ${shapeStr(fileShape as number[])}`);
  }
  ctx.inputId = ctx.newValue(inInfo.name, inputShape);
  ctx.known.set(inInfo.name, { kind: 'act', id: ctx.inputId });
}

/** Which steps the outputs depend on: a model whose output is an intermediate value runs no further. */
function liveSteps(steps: readonly Step[], outputs: readonly ValueId[]): boolean[] {
  const needed = new Set(outputs);
  const live = steps.map(() => false);
  for (let i = steps.length - 1; i >= 0; i--) {
    const s = steps[i]!;
    if (!needed.has(s.output)) continue;
    live[i] = true;
    for (const v of stepInputs(s)) needed.add(v);
  }
  return live;
}

function describeStep(s: Step): string {
  const relu = 'relu' in s && s.relu ? ' +relu' : '';
  switch (s.kind) {
    case 'conv': {
      const [, , kh, kw] = s.weight.shape;
      const [sh, sw] = s.attrs.strides;
      const st = sh === 1 && sw === 1 ? '' : sh === sw ? `/${sh}` : `/${sh}x${sw}`;
      return `conv ${kh}x${kw}${st}${s.residual === undefined ? '' : ' +residual'}${relu}`;
    }
    case 'maxPool':
    case 'avgPool':
      return `${s.kind === 'maxPool' ? 'max' : 'avg'} pool ${s.attrs.kernel.join('x')}/${s.attrs.strides[0]}`;
    case 'shortcutA':
      return `shortcut A${s.stride === 1 ? '' : `/${s.stride}`}`;
    case 'globalAvgPool':
      return 'global avg pool';
    case 'fc':
      return `fc${relu}`;
    case 'add':
      return `add${relu}`;
    default:
      return s.kind;
  }
}

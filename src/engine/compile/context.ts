// The state of one compilation (values, steps and their statistics, what every graph name stands for) and
// the helpers each op rule uses to read its inputs and emit, alias or rewrite steps.
import { shapeStr, sizeOf } from '../../../kernels/core/tensor';
import type { Graph, GraphNode, IrTensor } from '../../graph/ir';
import type { LayerStat, PlanValue, Step, ValueId } from '../plan';

export class ModelError extends Error {
  override name = 'ModelError';
}

export function fail(node: GraphNode, msg: string): never {
  throw new ModelError(`${node.op} '${node.name}': ${msg}`);
}

/** Largest activation we plan for, per sample (a guard against malformed shapes, not a real model's need). */
const MAX_VALUE_ELEMENTS = 1 << 28;

/** What a graph name stands for: a constant tensor (folded) or an activation value of the plan. */
export type Known =
  | { readonly kind: 'const'; readonly t: IrTensor }
  | { readonly kind: 'act'; readonly id: ValueId };

/** The step that produces a value, and where it is in the step list. */
export interface Producer {
  step: Step;
  index: number;
}

export class CompileContext {
  readonly values: PlanValue[] = [];
  readonly steps: Step[] = [];
  readonly stats: LayerStat[] = [];
  readonly known = new Map<string, Known>();
  readonly producer = new Map<ValueId, Producer>();
  /** How many nodes (and graph outputs) read each name: a step read once may be fused into its reader. */
  readonly consumers = new Map<string, number>();
  /** The model's data input (set once it is declared). */
  inputId: ValueId = -1;

  constructor(readonly graph: Graph) {
    for (const n of graph.nodes) for (const i of n.inputs) if (i) this.consumers.set(i, (this.consumers.get(i) ?? 0) + 1);
    for (const o of graph.outputs) this.consumers.set(o.name, (this.consumers.get(o.name) ?? 0) + 1);
    for (const [name, t] of graph.initializers) this.known.set(name, { kind: 'const', t });
  }

  newValue(name: string, shape: readonly number[]): ValueId {
    if (shape.some((d) => !Number.isInteger(d) || d <= 0)) throw new ModelError(`value '${name}' would have shape ${shapeStr(shape)}`);
    if (sizeOf(shape) > MAX_VALUE_ELEMENTS) throw new ModelError(`value '${name}' would have ${sizeOf(shape)} elements per sample ${shapeStr(shape)}, over the limit`);
    this.values.push({ name, shape: [...shape] });
    return this.values.length - 1;
  }

  /** Per-sample shape of a value. */
  shape(id: ValueId): readonly number[] {
    return this.values[id]!.shape;
  }

  /** Learned parameters per value name, so fused steps count what their source nodes held. */
  paramsOf(names: readonly string[]): number {
    return names.reduce((s, n) => s + (n && this.graph.initializers.has(n) ? sizeOf(this.graph.initializers.get(n)!.dims) : 0), 0);
  }

  addStep(step: Step, params: number, macs: number): void {
    this.producer.set(step.output, { step, index: this.steps.length });
    this.steps.push(step);
    this.stats.push({ name: step.name, kind: step.kind, detail: step.kind, outShape: this.values[step.output]!.shape, params, macs });
  }

  /** Replace a step in place (fusion), adding to its counts. */
  updateStep(p: Producer, step: Step, extraParams: number): void {
    this.producer.delete(p.step.output);
    this.steps[p.index] = step;
    const st = this.stats[p.index]!;
    this.stats[p.index] = { ...st, params: st.params + extraParams, outShape: this.values[step.output]!.shape };
    this.producer.set(step.output, { step, index: p.index });
    p.step = step;
  }

  /** Input i of the node, which must be an activation. */
  act(node: GraphNode, i: number): ValueId {
    const name = node.inputs[i];
    const k = name ? this.known.get(name) : undefined;
    if (!k) fail(node, `input ${i} ('${name ?? ''}') is missing`);
    if (k.kind !== 'act') fail(node, `input ${i} ('${name}') must be an activation, not a constant`);
    return k.id;
  }

  /** Input i of the node, which must be a constant; undefined for an absent optional input. */
  constant(node: GraphNode, i: number): IrTensor | undefined {
    const name = node.inputs[i];
    if (!name) return undefined;
    const k = this.known.get(name);
    if (!k) fail(node, `input ${i} ('${name}') is missing`);
    if (k.kind !== 'const') fail(node, `input ${i} ('${name}') must be a constant (an initializer)`);
    return k.t;
  }

  /** The node's (first) output is this constant. */
  setConst(node: GraphNode, t: IrTensor): void {
    this.known.set(node.outputs[0]!, { kind: 'const', t });
  }

  /** The node's (first) output is this value. */
  alias(node: GraphNode, id: ValueId): void {
    this.known.set(node.outputs[0]!, { kind: 'act', id });
  }

  /** A producing step we may rewrite: its output feeds only this node and is not a graph output. */
  fusable(node: GraphNode, i: number): Producer | undefined {
    const name = node.inputs[i]!;
    const k = this.known.get(name);
    if (k?.kind !== 'act' || this.consumers.get(name) !== 1) return undefined;
    return this.producer.get(k.id);
  }

  isConst(name: string | undefined): boolean {
    return !!name && this.known.get(name)?.kind === 'const';
  }
}

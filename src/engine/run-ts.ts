// Executes a Plan step by step with the kernels registered for a backend (the readable reference path).
import { getKernel } from '../../kernels/registry';
import type { BackendName } from '../../kernels/types';
import { type Tensor, sizeOf } from '../../kernels/core/tensor';
import { type Plan, type Step, type ValueId, stepInputs } from './plan';

export interface StepTiming {
  readonly name: string;
  /** A plan step's kind, or 'engine' for an engine's own work around the steps (copies, waiting for threads). */
  readonly kind: Step['kind'] | 'engine';
  readonly ms: number;
}

export interface PlanRun {
  /** The plan's outputs, in its order. */
  readonly outputs: Tensor[];
  readonly timings: StepTiming[];
  /** Every step's output by value name, when asked for. */
  readonly activations?: Map<string, Tensor>;
}

function lastUses(plan: Plan): Map<ValueId, number> {
  const last = new Map<ValueId, number>();
  plan.steps.forEach((s, i) => {
    for (const v of stepInputs(s)) last.set(v, i);
  });
  return last;
}

export function runStep(backend: BackendName, s: Step, get: (v: ValueId) => Tensor, outShape: readonly number[]): Tensor {
  const k = <K extends Parameters<typeof getKernel>[1]>(op: K) => getKernel(backend, op);
  const x = s.kind === 'add' ? get(s.a) : get(s.input);
  switch (s.kind) {
    case 'conv':
      return k('conv2d')(x, s.weight, s.bias, s.attrs, { relu: s.relu, residual: s.residual === undefined ? undefined : get(s.residual) });
    case 'maxPool':
      return k('maxPool2d')(x, s.attrs);
    case 'avgPool':
      return k('avgPool2d')(x, s.attrs);
    case 'globalAvgPool':
      return k('globalAvgPool')(x);
    case 'relu':
      return k('relu')(x);
    case 'flatten':
      return { shape: [x.shape[0]!, ...outShape], data: x.data };
    case 'fc': {
      const y = k('gemm')(x, s.weight, { shape: [s.bias.length], data: s.bias }, { transA: false, transB: true, alpha: 1, beta: 1 });
      return s.relu ? k('relu')(y) : y;
    }
    case 'softmax':
      return k('softmax')(x, s.axis);
    case 'add': {
      const y = k('add')(x, get(s.b));
      return s.relu ? k('relu')(y) : y;
    }
    case 'shortcutA':
      return k('shortcutA')(x, s.stride, s.outChannels);
    case 'batchNorm': {
      const c = s.scale.length;
      return k('batchNorm')(x, s.scale, s.shift, new Float32Array(c), new Float32Array(c).fill(1), 0);
    }
    case 'pad':
      return k('pad')(x, s.pads, s.value);
    case 'slice':
      return k('slice')(x, s.starts, s.ends, s.axes, s.steps);
  }
}

export function runPlan(plan: Plan, input: Tensor, backend: BackendName, capture = false): PlanRun {
  const inShape = plan.values[plan.input]!.shape;
  const n = input.shape[0]!;
  if (input.shape.length !== inShape.length + 1 || input.shape.slice(1).some((d, i) => d !== inShape[i])) {
    throw new Error(`input has shape [${input.shape.join(',')}], the model expects [N,${inShape.join(',')}]`);
  }
  if (input.data.length !== n * sizeOf(inShape)) throw new Error(`input data has ${input.data.length} values, shape needs ${n * sizeOf(inShape)}`);
  const live = new Map<ValueId, Tensor>([[plan.input, input]]);
  const last = lastUses(plan);
  const timings: StepTiming[] = [];
  const activations = capture ? new Map<string, Tensor>() : undefined;
  const get = (v: ValueId): Tensor => {
    const t = live.get(v);
    if (!t) throw new Error(`value '${plan.values[v]!.name}' is not computed yet`);
    return t;
  };
  plan.steps.forEach((s, i) => {
    const t0 = performance.now();
    const y = runStep(backend, s, get, plan.values[s.output]!.shape);
    timings.push({ name: s.name, kind: s.kind, ms: performance.now() - t0 });
    live.set(s.output, y);
    activations?.set(plan.values[s.output]!.name, y);
    // Drop values nobody reads any more so the GC can reuse their memory.
    for (const v of stepInputs(s)) if (last.get(v) === i && !plan.outputs.includes(v)) live.delete(v);
  });
  return { outputs: plan.outputs.map(get), timings, activations };
}

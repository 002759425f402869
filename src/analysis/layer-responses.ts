// The paper's Figure 7 for one image: the standard deviation of each 3x3 layer's response, "after BN and
// before other nonlinearity (ReLU/addition)". Our plans fold BN into the conv and fuse ReLU and the
// residual add into its output, so the step's stored output is not that response; we run the plan on our
// TypeScript kernels and, at each conv with a kernel of 3x3 or larger, also compute the conv alone
// (bias = folded BN, no ReLU, no residual) and take its std. The same numbers whichever engine is selected.
import { registerAll } from '../../src/engine/register';
import { getKernel } from '../../kernels/registry';
import { type ConvStep, type Plan, type ValueId, stepInputs } from '../engine/plan';
import { runStep } from '../engine/run-ts';
import { sizeOf, type Tensor } from '../../kernels/core/tensor';

export interface LayerResponse {
  /** The conv's ONNX node name. */
  readonly name: string;
  /** Output shape without the batch dimension. */
  readonly shape: readonly number[];
  readonly std: number;
}

/** Population standard deviation (float64 accumulation). */
export function stdOf(data: Float32Array): number {
  if (data.length === 0) return 0;
  let sum = 0;
  for (let i = 0; i < data.length; i++) sum += data[i]!;
  const mean = sum / data.length;
  let sq = 0;
  for (let i = 0; i < data.length; i++) {
    const d = data[i]! - mean;
    sq += d * d;
  }
  return Math.sqrt(sq / data.length);
}

/** The convs Figure 7 counts: main-path layers with a spatial kernel (1x1 projections are left out). */
export function isResponseLayer(s: ConvStep): boolean {
  return s.weight.shape[2]! >= 3 && s.weight.shape[3]! >= 3;
}

/** The pre-activation response of a conv step: its conv with folded BN, without ReLU or residual. */
export function convResponse(step: ConvStep, x: Tensor): Tensor {
  return getKernel('ts', 'conv2d')(x, step.weight, step.bias, step.attrs, { relu: false });
}

/**
 * Std of every response layer's output for input x ([1,C,H,W]), in network order. `onStep(done, total)` is
 * called after each step (an ImageNet-size net takes seconds: callers show progress).
 */
export function layerResponseStds(plan: Plan, x: Tensor, onStep?: (done: number, total: number) => void): LayerResponse[] {
  registerAll();
  const want = plan.values[plan.input]!.shape;
  if (x.shape.length !== want.length + 1 || x.shape.slice(1).some((d, i) => d !== want[i]) || x.data.length !== sizeOf(x.shape)) {
    throw new Error(`layerResponseStds: input has shape [${x.shape.join(',')}], the model expects [N,${want.join(',')}]`);
  }
  const last = new Map<ValueId, number>();
  plan.steps.forEach((s, i) => {
    for (const v of stepInputs(s)) last.set(v, i);
  });
  const live = new Map<ValueId, Tensor>([[plan.input, x]]);
  const get = (v: ValueId): Tensor => {
    const t = live.get(v);
    if (!t) throw new Error(`layerResponseStds: value '${plan.values[v]!.name}' is not computed yet`);
    return t;
  };
  const out: LayerResponse[] = [];
  plan.steps.forEach((s, i) => {
    if (s.kind === 'conv' && isResponseLayer(s)) {
      const plainConv = !s.relu && s.residual === undefined;
      const response = convResponse(s, get(s.input));
      out.push({ name: s.name, shape: plan.values[s.output]!.shape, std: stdOf(response.data) });
      live.set(s.output, plainConv ? response : runStep('ts', s, get, plan.values[s.output]!.shape));
    } else {
      live.set(s.output, runStep('ts', s, get, plan.values[s.output]!.shape));
    }
    for (const v of stepInputs(s)) if (last.get(v) === i && !plan.outputs.includes(v)) live.delete(v);
    onStep?.(i + 1, plan.steps.length);
  });
  return out;
}

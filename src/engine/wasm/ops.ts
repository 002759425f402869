// Op-level kernels for backend 'wasm' with the shared NCHW signatures, so the op tests written once for
// every backend run on the generated kernels too. Each call lowers a one-step Plan and runs it on one
// thread in a fresh (unshared) memory: correct and simple, not the fast path (that is the executor).
import type { ConvStep, FcStep, Plan, PlanValue, Step } from '../plan';
import { type Tensor, shapeStr, tensor } from '../../../kernels/core/tensor';
import { hasKernel, registerKernel } from '../../../kernels/registry';
import type { ConvAttrs, ConvEpilogue, GemmAttrs, PoolAttrs } from '../../../kernels/core/attrs';
import { convOutputHW, poolOutputHW } from '../../../kernels/core/shape';
import type { KernelSignatures } from '../../../kernels/types';
import { type ModuleConfig, WasmCore, compileKernelsSync, newMemory, resolveRelaxed } from './executor';
import { DEFAULT_MR } from '../../../kernels/wasm/f32-igemm-4x8';

let config: ModuleConfig | undefined;
const getConfig = (): ModuleConfig => (config ??= { relaxedSimd: resolveRelaxed(undefined), mr: DEFAULT_MR, shared: false });

/** Runs a single-step plan: `inputs` are written (NCHW, batch first), the output value is read back. */
function runOneStep(values: PlanValue[], step: Step, inputs: { id: number; t: Tensor }[], batch: number): Tensor {
  const plan: Plan = {
    values, input: inputs[0]!.id, outputs: [step.output], outputIsProbabilities: false, steps: [step],
    stats: [{ name: step.name, kind: step.kind, outShape: values[step.output]!.shape, params: 0, macs: 0, detail: '' }],
  };
  const module = compileKernelsSync(getConfig());
  const core = new WasmCore(plan, module, newMemory(false), getConfig().mr, inputs.map((i) => i.id), [step.output]);
  core.prepare(batch, 1);
  for (const i of inputs) core.writeValue(i.id, i.t);
  core.execute(null, false);
  return core.readValue(step.output);
}

const value = (name: string, shape: readonly number[]): PlanValue => ({ name, shape: [...shape] });

function conv2d(x: Tensor, w: Tensor, bias: Float32Array | null, attrs: ConvAttrs, epilogue: ConvEpilogue): Tensor {
  if (x.shape.length !== 4 || w.shape.length !== 4) {
    throw new Error(`wasm conv2d: x ${shapeStr(x.shape)} and w ${shapeStr(w.shape)} must both be 4-D (NCHW, MCkhkw)`);
  }
  const [N, C, H, W] = x.shape as [number, number, number, number];
  const [M, wC, KH, KW] = w.shape as [number, number, number, number];
  if (wC !== C) throw new Error(`wasm conv2d: x ${shapeStr(x.shape)} has ${C} channels but w ${shapeStr(w.shape)} expects ${wC} (groups > 1 unsupported)`);
  if (bias !== null && bias.length !== M) throw new Error(`wasm conv2d: bias has ${bias.length} values, w ${shapeStr(w.shape)} has ${M} output channels`);
  // The reference's validation, so both backends refuse the same attributes with the same words.
  const [OH, OW] = convOutputHW([H, W], [KH, KW], attrs);
  const values = [value('x', [C, H, W]), value('y', [M, OH, OW])];
  const inputs = [{ id: 0, t: x }];
  let residual: number | undefined;
  if (epilogue.residual) {
    if (shapeStr(epilogue.residual.shape) !== shapeStr([N, M, OH, OW])) {
      throw new Error(`wasm conv2d: residual ${shapeStr(epilogue.residual.shape)} must match the output ${shapeStr([N, M, OH, OW])}`);
    }
    values.push(value('residual', [M, OH, OW]));
    residual = 2;
    inputs.push({ id: 2, t: epilogue.residual });
  }
  const step: ConvStep = {
    kind: 'conv', name: 'conv', input: 0, output: 1, weight: w, bias: bias ?? new Float32Array(M), attrs, relu: epilogue.relu,
    ...(residual !== undefined ? { residual } : {}),
  };
  return runOneStep(values, step, inputs, N);
}

function gemm(a: Tensor, b: Tensor, c: Tensor | null, attrs: GemmAttrs): Tensor {
  if (a.shape.length !== 2 || b.shape.length !== 2) throw new Error(`wasm gemm: A ${shapeStr(a.shape)} and B ${shapeStr(b.shape)} must be 2-D`);
  const [M, K] = (attrs.transA ? [a.shape[1]!, a.shape[0]!] : [a.shape[0]!, a.shape[1]!]) as [number, number];
  const [Kb, N] = (attrs.transB ? [b.shape[1]!, b.shape[0]!] : [b.shape[0]!, b.shape[1]!]) as [number, number];
  if (K !== Kb) {
    throw new Error(`wasm gemm: A ${shapeStr(a.shape)} (transA=${attrs.transA}) and B ${shapeStr(b.shape)} (transB=${attrs.transB}) disagree on K: ${K} vs ${Kb}`);
  }
  // As the reference does, beta = 0 ignores C entirely.
  if (attrs.beta === 0) c = null;
  // A' rows are the "pixels"; the weights are B'^T [N,K] scaled by alpha.
  const aRows = attrs.transA ? transpose(a) : a;
  const wT = new Float32Array(N * K);
  for (let n = 0; n < N; n++) {
    for (let k = 0; k < K; k++) wT[n * K + k] = attrs.alpha * (attrs.transB ? b.data[n * K + k]! : b.data[k * N + n]!);
  }
  // C broadcast per column becomes the bias; any other C shape is added afterwards.
  const cs = c?.shape ?? [];
  const perColumn = c !== null && ((cs.length === 1 && cs[0] === N) || (cs.length === 2 && cs[0] === 1 && cs[1] === N) || c.data.length === 1);
  const bias = new Float32Array(N);
  if (c && perColumn) for (let n = 0; n < N; n++) bias[n] = attrs.beta * c.data[c.data.length === 1 ? 0 : n]!;
  const step: FcStep = { kind: 'fc', name: 'gemm', input: 0, output: 1, weight: tensor([N, K], wT), bias, relu: false };
  const y = runOneStep([value('a', [K]), value('y', [N])], step, [{ id: 0, t: tensor([M, K], aRows.data) }], M);
  if (c && !perColumn) {
    const [cm, cn] = cs.length === 2 ? [cs[0]!, cs[1]!] : cs.length === 1 ? [1, cs[0]!] : [1, 1];
    if ((cm !== 1 && cm !== M) || (cn !== 1 && cn !== N)) throw new Error(`wasm gemm: C ${shapeStr(cs)} does not broadcast to ${shapeStr([M, N])}`);
    for (let i = 0; i < M; i++) for (let j = 0; j < N; j++) y.data[i * N + j]! += attrs.beta * c.data[(cm === 1 ? 0 : i) * cn + (cn === 1 ? 0 : j)]!;
  }
  return y;
}

function transpose(t: Tensor): Tensor {
  const [r, c] = t.shape as [number, number];
  const out = new Float32Array(r * c);
  for (let i = 0; i < r; i++) for (let j = 0; j < c; j++) out[j * r + i] = t.data[i * c + j]!;
  return tensor([c, r], out);
}

function pool(kind: 'maxPool' | 'avgPool', x: Tensor, attrs: PoolAttrs): Tensor {
  if (x.shape.length !== 4) throw new Error(`wasm ${kind}: x ${shapeStr(x.shape)} must be 4-D (NCHW)`);
  const [N, C, H, W] = x.shape as [number, number, number, number];
  const [OH, OW] = poolOutputHW([H, W], attrs);
  const step: Step = { kind, name: kind, input: 0, output: 1, attrs };
  return runOneStep([value('x', [C, H, W]), value('y', [C, OH, OW])], step, [{ id: 0, t: x }], N);
}

function globalAvgPool(x: Tensor): Tensor {
  if (x.shape.length !== 4) throw new Error(`wasm globalAvgPool: x ${shapeStr(x.shape)} must be NCHW`);
  const [N, C, H, W] = x.shape as [number, number, number, number];
  const step: Step = { kind: 'globalAvgPool', name: 'gap', input: 0, output: 1 };
  return runOneStep([value('x', [C, H, W]), value('y', [C, 1, 1])], step, [{ id: 0, t: x }], N);
}

function shortcutA(x: Tensor, stride: number, outChannels: number): Tensor {
  if (x.shape.length !== 4) throw new Error(`wasm shortcutA: x ${shapeStr(x.shape)} must be NCHW`);
  const [N, C, H, W] = x.shape as [number, number, number, number];
  if (!Number.isInteger(stride) || stride < 1) throw new Error(`wasm shortcutA: stride ${stride} must be an integer >= 1 (x ${shapeStr(x.shape)})`);
  if (!Number.isInteger(outChannels) || outChannels < C) {
    throw new Error(`wasm shortcutA: outChannels ${outChannels} must be an integer >= the ${C} channels of x ${shapeStr(x.shape)}`);
  }
  const OH = Math.ceil(H / stride), OW = Math.ceil(W / stride);
  const step: Step = { kind: 'shortcutA', name: 'shortcutA', input: 0, output: 1, stride, outChannels };
  return runOneStep([value('x', [C, H, W]), value('y', [outChannels, OH, OW])], step, [{ id: 0, t: x }], N);
}

/** Views any tensor as [N,C,H,W] (rank 2..4; channels on axis 1) for the per-channel kernels. */
function asNCHW(x: Tensor, what: string): [number, number, number, number] {
  const s = x.shape;
  if (s.length < 2 || s.length > 4) throw new Error(`wasm ${what}: x ${shapeStr(s)} must have rank 2 to 4`);
  return [s[0]!, s[1]!, s[2] ?? 1, s[3] ?? 1];
}

function relu(x: Tensor): Tensor {
  // Elementwise: any shape works as one flat row per sample... but keep rank 0/1 simple by a flat view.
  const n = x.data.length;
  const step: Step = { kind: 'relu', name: 'relu', input: 0, output: 1 };
  const y = runOneStep([value('x', [Math.max(1, n)]), value('y', [Math.max(1, n)])], step, [{ id: 0, t: tensor([1, Math.max(1, n)], n === 0 ? new Float32Array(1) : x.data) }], 1);
  return tensor(x.shape, n === 0 ? new Float32Array(0) : y.data);
}

function batchNorm(x: Tensor, scale: Float32Array, bias: Float32Array, mean: Float32Array, variance: Float32Array, epsilon: number): Tensor {
  const [N, C, H, W] = asNCHW(x, 'batchNorm');
  for (const [name, v] of Object.entries({ scale, bias, mean, variance })) {
    if (v.length !== C) throw new Error(`wasm batchNorm: ${name} has ${v.length} values, x ${shapeStr(x.shape)} has ${C} channels`);
  }
  const a = new Float32Array(C), b = new Float32Array(C);
  for (let c = 0; c < C; c++) {
    a[c] = scale[c]! / Math.sqrt(variance[c]! + epsilon);
    b[c] = bias[c]! - mean[c]! * a[c]!;
  }
  const step: Step = { kind: 'batchNorm', name: 'bn', input: 0, output: 1, scale: a, shift: b };
  const y = runOneStep([value('x', [C, H, W]), value('y', [C, H, W])], step, [{ id: 0, t: tensor([N, C, H, W], x.data) }], N);
  return tensor(x.shape, y.data);
}

export const wasmKernels: Partial<KernelSignatures> = {
  conv2d,
  gemm,
  maxPool2d: (x, a) => pool('maxPool', x, a),
  avgPool2d: (x, a) => pool('avgPool', x, a),
  globalAvgPool,
  shortcutA,
  relu,
  batchNorm,
};

/**
 * Registers the ops above for backend 'wasm' (ops already registered are left alone). The module compiles
 * synchronously on first use (fine in Node and workers; a browser window's main thread refuses it).
 */
export function registerWasmKernels(): void {
  for (const op of Object.keys(wasmKernels) as (keyof KernelSignatures)[]) {
    if (!hasKernel('wasm', op)) registerKernel('wasm', op, wasmKernels[op] as never);
  }
}

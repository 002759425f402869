// Graph -> Plan: fold constants (PyTorch's Shape/Gather/Unsqueeze/Concat chains), fold BatchNormalization
// into the conv before it, fuse ReLU and the residual Add into the conv's output step, and recognise the
// option-A shortcut (Slice with steps + channel Pad). Shapes are inferred per sample; the batch is dynamic.
import type { AutoPad, ConvAttrs, PoolAttrs } from '../../kernels/core/attrs';
import { resolveAutoPad, windowOutputSize } from '../../kernels/core/shape';
import {
  type Graph, type GraphNode, type IrTensor, attrFloat, attrInt, attrInts, attrString,
} from '../graph/ir';
import { type Tensor, shapeStr, sizeOf } from '../../kernels/core/tensor';
import { type ConvStep, type FcStep, type LayerStat, type Plan, type PlanValue, type Step, type ValueId, stepInputs } from './plan';

export class ModelError extends Error {
  override name = 'ModelError';
}

/** Ops the engine runs (after folding); anything else is refused by name. */
export const SUPPORTED_OPS = [
  'Conv', 'BatchNormalization', 'Relu', 'Add', 'MaxPool', 'AveragePool', 'GlobalAveragePool', 'Flatten',
  'Reshape', 'Gemm', 'MatMul', 'Softmax', 'Pad', 'Slice', 'Identity', 'Dropout', 'Constant', 'Shape', 'Gather',
  'Unsqueeze', 'Squeeze', 'Concat', 'Cast',
] as const;

/** Stands for the dynamic batch size inside folded shape tensors. */
const BATCH = -0x7ead_beefn;
const INT32_MAX = 2147483647;
/** Largest activation we plan for, per sample (a guard against malformed shapes, not a real model's need). */
const MAX_VALUE_ELEMENTS = 1 << 28;

type Known =
  | { readonly kind: 'const'; readonly t: IrTensor }
  | { readonly kind: 'act'; readonly id: ValueId };

interface Producer {
  step: Step;
  index: number;
}

function fail(node: GraphNode, msg: string): never {
  throw new ModelError(`${node.op} '${node.name}': ${msg}`);
}

const bigToNum = (v: bigint): number => (v > BigInt(INT32_MAX) ? INT32_MAX : v < -BigInt(INT32_MAX) ? -INT32_MAX : Number(v));

function constInts(t: IrTensor): number[] {
  return t.dtype === 'int64' ? Array.from(t.data, bigToNum) : Array.from(t.data, Math.trunc);
}

function floatsOf(t: IrTensor): Float32Array {
  return t.dtype === 'float32' ? t.data : Float32Array.from(t.data, Number);
}

function normAxis(axis: number, rank: number, node: GraphNode): number {
  const a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a >= rank) fail(node, `axis ${axis} is out of range for rank ${rank}`);
  return a;
}

/** Explicit [top,left,bottom,right] pads from ONNX auto_pad for one 2-D window op (validated here). */
export function resolvePads(
  autoPad: string, pads: readonly number[], inHW: readonly number[], kernel: readonly number[],
  strides: readonly number[], dilations: readonly number[],
): [number, number, number, number] {
  const p = pads.length === 0 ? [0, 0, 0, 0] : pads;
  if (autoPad === 'NOTSET' && p.length !== 4) throw new Error(`pads must have 4 entries for a 2-D op, got ${p.length}`);
  if (!AUTO_PADS.includes(autoPad)) throw new Error(`unknown auto_pad '${autoPad}'`);
  return resolveAutoPad(
    autoPad as AutoPad, [inHW[0]!, inHW[1]!], [kernel[0]!, kernel[1]!], [strides[0]!, strides[1]!], [dilations[0]!, dilations[1]!],
    autoPad === 'NOTSET' ? [p[0]!, p[1]!, p[2]!, p[3]!] : undefined,
  );
}

const AUTO_PADS: readonly string[] = ['NOTSET', 'SAME_UPPER', 'SAME_LOWER', 'VALID'];

export interface CompileOptions {
  /** Per-sample input shape [C,H,W] where the file leaves H and W symbolic. */
  readonly inputShape?: readonly number[];
}

export function compileGraph(graph: Graph, opts: CompileOptions = {}): Plan {
  const values: PlanValue[] = [];
  const steps: Step[] = [];
  const stats: LayerStat[] = [];
  const known = new Map<string, Known>();
  const producer = new Map<ValueId, Producer>();
  const consumers = new Map<string, number>();
  for (const n of graph.nodes) for (const i of n.inputs) if (i) consumers.set(i, (consumers.get(i) ?? 0) + 1);
  for (const o of graph.outputs) consumers.set(o.name, (consumers.get(o.name) ?? 0) + 1);

  for (const [name, t] of graph.initializers) known.set(name, { kind: 'const', t });

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
  if (opts.inputShape && opts.inputShape.some((d, i) => typeof fileShape[i] === 'number' && fileShape[i] !== d)) {
    throw new ModelError(`input shape ${shapeStr(opts.inputShape)} does not match the model's ${shapeStr(fileShape as number[])}`);
  }
  const newValue = (name: string, shape: readonly number[]): ValueId => {
    if (shape.some((d) => !Number.isInteger(d) || d <= 0)) throw new ModelError(`value '${name}' would have shape ${shapeStr(shape)}`);
    if (sizeOf(shape) > MAX_VALUE_ELEMENTS) throw new ModelError(`value '${name}' would have ${sizeOf(shape)} elements per sample ${shapeStr(shape)}, over the limit`);
    values.push({ name, shape: [...shape] });
    return values.length - 1;
  };
  const inputId = newValue(inInfo.name, inputShape);
  known.set(inInfo.name, { kind: 'act', id: inputId });

  // Learned parameters per value name, so fused steps count what their source nodes held.
  const paramsOf = (names: readonly string[]): number =>
    names.reduce((s, n) => s + (n && graph.initializers.has(n) ? sizeOf(graph.initializers.get(n)!.dims) : 0), 0);

  const addStep = (step: Step, params: number, macs: number): void => {
    producer.set(step.output, { step, index: steps.length });
    steps.push(step);
    stats.push({ name: step.name, kind: step.kind, detail: step.kind, outShape: values[step.output]!.shape, params, macs });
  };
  /** Replace a step in place (fusion), adding to its counts. */
  const updateStep = (p: Producer, step: Step, extraParams: number): void => {
    producer.delete(p.step.output);
    steps[p.index] = step;
    const st = stats[p.index]!;
    stats[p.index] = { ...st, params: st.params + extraParams, outShape: values[step.output]!.shape };
    producer.set(step.output, { step, index: p.index });
    p.step = step;
  };

  const act = (node: GraphNode, i: number): ValueId => {
    const name = node.inputs[i];
    const k = name ? known.get(name) : undefined;
    if (!k) fail(node, `input ${i} ('${name ?? ''}') is missing`);
    if (k.kind !== 'act') fail(node, `input ${i} ('${name}') must be an activation, not a constant`);
    return k.id;
  };
  const constant = (node: GraphNode, i: number): IrTensor | undefined => {
    const name = node.inputs[i];
    if (!name) return undefined;
    const k = known.get(name);
    if (!k) fail(node, `input ${i} ('${name}') is missing`);
    if (k.kind !== 'const') fail(node, `input ${i} ('${name}') must be a constant (an initializer)`);
    return k.t;
  };
  const setConst = (node: GraphNode, t: IrTensor): void => void known.set(node.outputs[0]!, { kind: 'const', t });
  const alias = (node: GraphNode, id: ValueId): void => void known.set(node.outputs[0]!, { kind: 'act', id });
  /** A producing step we may rewrite: its output feeds only this node and is not a graph output. */
  const fusable = (node: GraphNode, i: number): Producer | undefined => {
    const name = node.inputs[i]!;
    const k = known.get(name);
    if (!k || k.kind !== 'act' || consumers.get(name) !== 1) return undefined;
    return producer.get(k.id);
  };
  const isConst = (name: string | undefined): boolean => !!name && known.get(name)?.kind === 'const';

  for (const node of graph.nodes) {
    const out = node.outputs[0];
    if (out === undefined) fail(node, 'has no output');
    // Constant folding of shape arithmetic and constants.
    if (node.op === 'Constant') {
      const v = node.attrs['value'];
      if (v?.type === 'tensor') setConst(node, v.value);
      else if (node.attrs['value_ints']?.type === 'ints') {
        const vi = node.attrs['value_ints'].value;
        setConst(node, { dtype: 'int64', dims: [vi.length], data: BigInt64Array.from(vi.map(BigInt)) });
      } else if (node.attrs['value_int']?.type === 'int') {
        setConst(node, { dtype: 'int64', dims: [], data: BigInt64Array.of(BigInt(node.attrs['value_int'].value)) });
      } else if (node.attrs['value_float']?.type === 'float') {
        setConst(node, { dtype: 'float32', dims: [], data: Float32Array.of(node.attrs['value_float'].value) });
      } else fail(node, 'only tensor, int, ints and float constants are supported');
      continue;
    }
    if (node.op !== 'Shape' && node.inputs.length > 0 && node.inputs.filter(Boolean).every((n) => isConst(n))) {
      setConst(node, foldConstant(node, node.inputs.map((n) => (n ? (known.get(n) as { t: IrTensor }).t : undefined))));
      continue;
    }
    switch (node.op) {
      case 'Shape': {
        const x = act(node, 0);
        const dims = [BATCH, ...values[x]!.shape.map(BigInt)];
        setConst(node, { dtype: 'int64', dims: [dims.length], data: BigInt64Array.from(dims) });
        break;
      }
      case 'Identity':
      case 'Dropout':
        alias(node, act(node, 0));
        break;
      case 'Conv': {
        const x = act(node, 0);
        const w = constant(node, 1);
        const b = constant(node, 2);
        const xs = values[x]!.shape;
        if (!w || w.dtype !== 'float32' || w.dims.length !== 4) fail(node, 'weight must be a float 4-D initializer [M,C,kh,kw]');
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
        const output = newValue(out, [m, oh, ow]);
        const step: ConvStep = {
          kind: 'conv', name: node.name, input: x, output,
          weight: { shape: [m, c, kh, kw], data: w.data }, bias: b ? floatsOf(b) : new Float32Array(m),
          attrs: { strides: attrs.strides, pads: attrs.pads, dilations: attrs.dilations }, relu: false,
        };
        addStep(step, paramsOf(node.inputs.slice(1)), m * oh * ow * c * kh * kw);
        alias(node, output);
        break;
      }
      case 'BatchNormalization': {
        const x = act(node, 0);
        const [scale, bias, mean, variance] = [1, 2, 3, 4].map((i) => constant(node, i));
        if (!scale || !bias || !mean || !variance) fail(node, 'needs scale, bias, mean and variance initializers');
        const c = values[x]!.shape[0]!;
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
        const learned = paramsOf(node.inputs.slice(1, 3));
        const p = fusable(node, 0);
        if (p && p.step.kind === 'conv' && !p.step.relu && p.step.residual === undefined) {
          updateStep(p, foldAffineIntoConv(p.step, a, sh, newValue(out, values[p.step.output]!.shape)), learned);
          alias(node, p.step.output);
        } else {
          const output = newValue(out, values[x]!.shape);
          addStep({ kind: 'batchNorm', name: node.name, input: x, output, scale: a, shift: sh }, learned, 0);
          alias(node, output);
        }
        break;
      }
      case 'Relu': {
        const x = act(node, 0);
        const p = fusable(node, 0);
        if (p && (p.step.kind === 'conv' || p.step.kind === 'add' || p.step.kind === 'fc') && !p.step.relu) {
          updateStep(p, { ...p.step, relu: true, output: newValue(out, values[x]!.shape) }, 0);
          alias(node, p.step.output);
        } else {
          const output = newValue(out, values[x]!.shape);
          addStep({ kind: 'relu', name: node.name, input: x, output }, 0, 0);
          alias(node, output);
        }
        break;
      }
      case 'Add': {
        const constIdx = node.inputs.findIndex((n) => isConst(n));
        if (constIdx >= 0) {
          addConstantBias(node, constIdx);
          break;
        }
        const a = act(node, 0);
        const b = act(node, 1);
        const [sa, sb] = [values[a]!.shape, values[b]!.shape];
        if (shapeStr(sa) !== shapeStr(sb)) fail(node, `inputs must have the same shape, got ${shapeStr(sa)} and ${shapeStr(sb)}`);
        // Fuse into the later of the two producing convs whose other operand exists by then (a cheap
        // shortcut computed after the conv, as option A's is in torchvision's order, is moved before it).
        const readyBefore = (v: ValueId, index: number): boolean =>
          v === inputId || (producer.get(v)?.index ?? Infinity) < index || hoistBefore(v, index);
        const candidates = [0, 1]
          .map((i) => ({ p: fusable(node, i), other: i === 0 ? b : a }))
          .filter((c): c is { p: Producer; other: ValueId } =>
            !!c.p && c.p.step.kind === 'conv' && !c.p.step.relu && c.p.step.residual === undefined)
          .sort((x, y) => y.p.index - x.p.index);
        const best = candidates.find((c) => readyBefore(c.other, c.p.index));
        if (best) {
          const conv = best.p.step as ConvStep;
          updateStep(best.p, { ...conv, residual: best.other, output: newValue(out, sa) }, 0);
          alias(node, best.p.step.output);
        } else {
          const output = newValue(out, sa);
          addStep({ kind: 'add', name: node.name, a, b, output, relu: false }, 0, 0);
          alias(node, output);
        }
        break;
      }
      case 'MaxPool':
      case 'AveragePool': {
        const x = act(node, 0);
        const xs = values[x]!.shape;
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
        const output = newValue(out, [xs[0]!, oh, ow]);
        addStep({ kind: node.op === 'MaxPool' ? 'maxPool' : 'avgPool', name: node.name, input: x, output, attrs }, 0, 0);
        alias(node, output);
        break;
      }
      case 'GlobalAveragePool': {
        const x = act(node, 0);
        const xs = values[x]!.shape;
        if (xs.length < 2) fail(node, `input must be at least 3-D, got per-sample shape ${shapeStr(xs)}`);
        const output = newValue(out, [xs[0]!, ...xs.slice(1).map(() => 1)]);
        addStep({ kind: 'globalAvgPool', name: node.name, input: x, output }, 0, 0);
        alias(node, output);
        break;
      }
      case 'Flatten': {
        const x = act(node, 0);
        const full = [1, ...values[x]!.shape];
        const axis = normAxis(attrInt(node, 'axis', 1), full.length + 1, node);
        if (axis !== 1) fail(node, `only axis=1 is supported (keeps the batch), got ${axis}`);
        reshapeTo(node, x, [sizeOf(values[x]!.shape)]);
        break;
      }
      case 'Reshape': {
        const x = act(node, 0);
        const shapeT = constant(node, 1);
        if (!shapeT) fail(node, 'needs a constant shape');
        const target = shapeT.dtype === 'int64' ? Array.from(shapeT.data) : [];
        if (target.length === 0) fail(node, 'shape must be a non-empty int64 tensor');
        const xs = values[x]!.shape;
        if (!(target[0] === BATCH || target[0] === 0n || (target[0] === -1n && !target.slice(1).includes(-1n)))) {
          fail(node, `the first dimension must keep the batch (0, -1 or Shape(x)[0]), got ${target[0]}`);
        }
        const rest = target.slice(1).map((d, i) => (d === 0n ? xs[i]! : d === BATCH ? -2 : Number(d)));
        if (rest.includes(-2)) fail(node, 'the batch size can only be the first dimension');
        const known1 = rest.filter((d) => d !== -1).reduce((a, b) => a * b, 1);
        const total = sizeOf(xs);
        const shape = target[0] === -1n ? rest : rest.map((d) => (d === -1 ? total / known1 : d));
        if (sizeOf(shape) !== total || shape.some((d) => !Number.isInteger(d) || d <= 0)) {
          fail(node, `cannot reshape per-sample ${shapeStr(xs)} to ${shapeStr(shape)}`);
        }
        reshapeTo(node, x, shape);
        break;
      }
      case 'Gemm':
      case 'MatMul': {
        const x = act(node, 0);
        const xs = values[x]!.shape;
        if (xs.length !== 1) fail(node, `input must be 2-D [N,K], got per-sample shape ${shapeStr(xs)}`);
        const w = constant(node, 1);
        if (!w || w.dtype !== 'float32' || w.dims.length !== 2) fail(node, 'B must be a float 2-D initializer');
        const isGemm = node.op === 'Gemm';
        if (isGemm && attrInt(node, 'transA', 0) !== 0) fail(node, 'transA=1 is not supported');
        const transB = isGemm && attrInt(node, 'transB', 0) === 1;
        const alpha = isGemm ? attrFloat(node, 'alpha', 1) : 1;
        const beta = isGemm ? attrFloat(node, 'beta', 1) : 1;
        const [k, m] = transB ? [w.dims[1]!, w.dims[0]!] : [w.dims[0]!, w.dims[1]!];
        if (k !== xs[0]) fail(node, `B ${shapeStr(w.dims)} does not fit input [N,${xs[0]}]`);
        const weight = new Float32Array(m * k);
        for (let i = 0; i < m; i++) for (let j = 0; j < k; j++) weight[i * k + j] = alpha * w.data[transB ? i * k + j : j * m + i]!;
        const bias = new Float32Array(m);
        const c = isGemm ? constant(node, 2) : undefined;
        if (c) {
          const cd = floatsOf(c);
          if (cd.length !== 1 && cd.length !== m) fail(node, `C ${shapeStr(c.dims)} does not broadcast to [N,${m}]`);
          for (let i = 0; i < m; i++) bias[i] = beta * cd[cd.length === 1 ? 0 : i]!;
        }
        const output = newValue(out, [m]);
        const step: FcStep = { kind: 'fc', name: node.name, input: x, output, weight: { shape: [m, k], data: weight }, bias, relu: false };
        addStep(step, paramsOf(node.inputs.slice(1)), m * k);
        alias(node, output);
        break;
      }
      case 'Softmax': {
        const x = act(node, 0);
        const rank = values[x]!.shape.length + 1;
        const axis = normAxis(attrInt(node, 'axis', graph.opset >= 13 ? -1 : 1), rank, node);
        if (axis === 0) fail(node, 'softmax over the batch axis is not supported');
        if (graph.opset < 13 && axis !== rank - 1) fail(node, `opset-${graph.opset} Softmax flattens from axis ${axis}; only the last axis is supported`);
        const output = newValue(out, values[x]!.shape);
        addStep({ kind: 'softmax', name: node.name, input: x, output, axis }, 0, 0);
        alias(node, output);
        break;
      }
      case 'Slice':
        slice(node);
        break;
      case 'Pad':
        pad(node);
        break;
      default:
        if ((SUPPORTED_OPS as readonly string[]).includes(node.op)) fail(node, 'this op is supported only on constant inputs here');
        throw new ModelError(`unsupported op '${node.op}' (node '${node.name}'); supported: ${SUPPORTED_OPS.join(', ')}`);
    }
  }

  /** Moves the parameter-free step producing v to just before step `index`, if its inputs exist by then. */
  function hoistBefore(v: ValueId, index: number): boolean {
    const p = producer.get(v);
    if (!p || p.index <= index || !['shortcutA', 'pad', 'slice'].includes(p.step.kind)) return false;
    const input = (p.step as { input: ValueId }).input;
    if (input !== inputId && (producer.get(input)?.index ?? Infinity) >= index) return false;
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

  function reshapeTo(node: GraphNode, x: ValueId, shape: readonly number[]): void {
    if (shapeStr(shape) === shapeStr(values[x]!.shape)) return alias(node, x);
    const output = newValue(node.outputs[0]!, shape);
    addStep({ kind: 'flatten', name: node.name, input: x, output }, 0, 0);
    alias(node, output);
  }

  function addConstantBias(node: GraphNode, constIdx: number): void {
    const x = act(node, 1 - constIdx);
    const c = floatsOf(constant(node, constIdx)!);
    const p = fusable(node, 1 - constIdx);
    const s = values[x]!.shape;
    const channels = s[0]!;
    const perChannel = c.length === 1 || c.length === channels;
    const target = p && (p.step.kind === 'fc' || (p.step.kind === 'conv' && p.step.residual === undefined)) ? p.step : undefined;
    const fitsChannels = target?.kind === 'fc' || c.length === 1 || sizeOf(constant(node, constIdx)!.dims.slice(-2)) === 1;
    if (p && target && !target.relu && perChannel && fitsChannels) {
      const bias = target.bias.map((v, i) => v + c[c.length === 1 ? 0 : i]!);
      updateStep(p, { ...target, bias, output: newValue(node.outputs[0]!, s) }, paramsOf([node.inputs[constIdx]!]));
      alias(node, p.step.output);
      return;
    }
    fail(node, `adding a constant of ${c.length} values is supported only right after a Conv, Gemm or MatMul`);
  }

  function slice(node: GraphNode): void {
    const x = act(node, 0);
    const xs = values[x]!.shape;
    const rank = xs.length + 1;
    let starts: number[], ends: number[], axes: number[], stepsV: number[];
    if (graph.opset < 10) {
      starts = [...attrInts(node, 'starts', [])];
      ends = [...attrInts(node, 'ends', [])];
      axes = [...attrInts(node, 'axes', starts.map((_, i) => i))];
      stepsV = starts.map(() => 1);
    } else {
      const get = (i: number): number[] | undefined => {
        const t = constant(node, i);
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
    const output = newValue(node.outputs[0]!, outShape);
    // Option A's subsampling: x[:, :, ::s, ::s].
    const sub = axes.length === 2 && axes[0] === 2 && axes[1] === 3 && rank === 4 && starts.every((v) => v === 0) &&
      stepsV[0] === stepsV[1] && stepsV[0]! > 0 && ends.every((e, i) => e >= xs[axes[i]! - 1]!);
    if (sub) {
      addStep({ kind: 'shortcutA', name: node.name, input: x, output, stride: stepsV[0]!, outChannels: xs[0]! }, 0, 0);
    } else {
      addStep({ kind: 'slice', name: node.name, input: x, output, starts, ends, axes, steps: stepsV }, 0, 0);
    }
    alias(node, output);
  }

  function pad(node: GraphNode): void {
    const x = act(node, 0);
    const xs = values[x]!.shape;
    const rank = xs.length + 1;
    const mode = attrString(node, 'mode', 'constant');
    if (mode !== 'constant') fail(node, `mode '${mode}' is not supported (only constant)`);
    let pads: number[];
    let value = 0;
    if (graph.opset < 11) {
      pads = [...attrInts(node, 'pads', [])];
      value = attrFloat(node, 'value', 0);
    } else {
      const p = constant(node, 1);
      if (!p) fail(node, 'pads must be a constant');
      pads = constInts(p);
      const v = constant(node, 2);
      if (v) value = floatsOf(v)[0] ?? 0;
      const axesT = constant(node, 3);
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
    const output = newValue(node.outputs[0]!, outShape);
    // Option A's zero channels appended after a subsampling (or directly): one shortcutA step.
    const onlyChannelsAtEnd = value === 0 && pads.every((p, i) => p === 0 || i === 1 + rank) && rank === 4;
    const p = fusable(node, 0);
    if (onlyChannelsAtEnd && p && p.step.kind === 'shortcutA' && p.step.outChannels === xs[0]) {
      updateStep(p, { ...p.step, outChannels: outShape[0]!, output }, 0);
    } else if (onlyChannelsAtEnd) {
      addStep({ kind: 'shortcutA', name: node.name, input: x, output, stride: 1, outChannels: outShape[0]! }, 0, 0);
    } else {
      addStep({ kind: 'pad', name: node.name, input: x, output, pads, value }, 0, 0);
    }
    alias(node, output);
  }

  if (graph.outputs.length === 0) throw new ModelError('the model declares no output');
  const outputs = graph.outputs.map((o) => {
    const k = known.get(o.name);
    if (!k || k.kind !== 'act') throw new ModelError(`the model output '${o.name}' is not computed from the input`);
    return k.id;
  });
  const live = liveSteps(steps, outputs);
  const kept = steps.filter((_, i) => live[i]);
  return {
    values, input: inputId, outputs, steps: kept,
    stats: stats.filter((_, i) => live[i]).map((st, i) => ({ ...st, detail: describeStep(kept[i]!) })),
    outputIsProbabilities: producer.get(outputs[0]!)?.step.kind === 'softmax',
  };
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

export function describeStep(s: Step): string {
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

function sliceLength(dim: number, start: number, end: number, step: number): number {
  const clamp = (v: number, lo: number, hi: number): number => Math.min(Math.max(v, lo), hi);
  let s = start < 0 ? start + dim : start;
  let e = end < 0 ? end + dim : end;
  if (step > 0) {
    s = clamp(s, 0, dim);
    e = clamp(e, 0, dim);
    return Math.max(0, Math.ceil((e - s) / step));
  }
  s = clamp(s, -1, dim - 1);
  e = clamp(e, -1, dim - 1);
  return Math.max(0, Math.ceil((s - e) / -step));
}

function windowAttrs(node: GraphNode, xs: readonly number[], k: readonly [number, number]): ConvAttrs {
  const strides = attrInts(node, 'strides', [1, 1]);
  const dilations = attrInts(node, 'dilations', [1, 1]);
  if (strides.length !== 2 || strides.some((s) => !Number.isInteger(s) || s < 1)) fail(node, `strides must be 2 positive integers, got ${shapeStr(strides)}`);
  if (dilations.length !== 2 || dilations.some((s) => !Number.isInteger(s) || s < 1)) fail(node, `dilations must be 2 positive integers, got ${shapeStr(dilations)}`);
  if (k.some((v) => !Number.isInteger(v) || v < 1)) fail(node, `kernel must be positive, got ${shapeStr(k)}`);
  let pads: [number, number, number, number];
  try {
    pads = resolvePads(attrString(node, 'auto_pad', 'NOTSET'), attrInts(node, 'pads', []), xs.slice(1), k, strides, dilations);
  } catch (e) {
    fail(node, (e as Error).message);
  }
  if (pads.some((p) => !Number.isInteger(p) || p < 0)) fail(node, `pads must be non-negative integers, got ${shapeStr(pads)}`);
  return { strides: [strides[0]!, strides[1]!], pads, dilations: [dilations[0]!, dilations[1]!] };
}

/** y = conv(x) * a + shift per output channel, folded into the weights and bias. */
function foldAffineIntoConv(step: ConvStep, a: Float32Array, shift: Float32Array, output: ValueId): ConvStep {
  const [m] = step.weight.shape as [number];
  const per = step.weight.data.length / m;
  const w = new Float32Array(step.weight.data.length);
  const bias = new Float32Array(m);
  for (let o = 0; o < m; o++) {
    for (let i = 0; i < per; i++) w[o * per + i] = step.weight.data[o * per + i]! * a[o]!;
    bias[o] = step.bias[o]! * a[o]! + shift[o]!;
  }
  const weight: Tensor = { shape: step.weight.shape, data: w };
  return { ...step, weight, bias, output };
}

/** Evaluates a node whose inputs are all constants (PyTorch's shape arithmetic around Flatten). */
function foldConstant(node: GraphNode, inputs: (IrTensor | undefined)[]): IrTensor {
  const int64 = (vals: bigint[], dims: number[]): IrTensor => ({ dtype: 'int64', dims, data: BigInt64Array.from(vals) });
  const x = inputs[0];
  if (!x) fail(node, 'missing input');
  const vals = (t: IrTensor): bigint[] => (t.dtype === 'int64' ? Array.from(t.data) : Array.from(t.data, (v) => BigInt(Math.trunc(v))));
  switch (node.op) {
    case 'Identity':
      return x;
    case 'Cast': {
      const to = attrInt(node, 'to', 1);
      if (to === 7) return int64(vals(x), [...x.dims]);
      if (to === 1) return { dtype: 'float32', dims: [...x.dims], data: Float32Array.from(x.data, Number) };
      return fail(node, `cast to type ${to} is not supported`);
    }
    case 'Gather': {
      const idx = inputs[1];
      if (!idx || x.dims.length !== 1 || attrInt(node, 'axis', 0) !== 0) fail(node, 'only 1-D constant Gather on axis 0 is supported');
      const v = vals(x);
      const picked = vals(idx).map((i) => {
        const j = Number(i < 0n ? i + BigInt(v.length) : i);
        if (j < 0 || j >= v.length) fail(node, `index ${i} is out of range for ${v.length} values`);
        return v[j]!;
      });
      return int64(picked, [...idx.dims]);
    }
    case 'Unsqueeze':
    case 'Squeeze':
      if (sizeOf(x.dims) > 64) fail(node, 'only small constant tensors are folded');
      return x.dtype === 'int64' ? int64(vals(x), node.op === 'Unsqueeze' ? [sizeOf(x.dims)] : sizeOf(x.dims) === 1 ? [] : [sizeOf(x.dims)]) : x;
    case 'Concat': {
      const all = inputs.filter((t): t is IrTensor => !!t);
      if (all.some((t) => t.dims.length > 1)) fail(node, 'only 1-D constant Concat is supported');
      const v = all.flatMap(vals);
      return int64(v, [v.length]);
    }
    default:
      return fail(node, 'constant inputs are not supported for this op');
  }
}

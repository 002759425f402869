// A trainable network built from a Graph (the zoo's, or one read back from our ONNX files): forward in
// training mode (batch statistics) or inference mode (running statistics), backward through every op, and
// the weights written back into a Graph. Activations are CHWN ([C, H, W, N], the batch innermost): every conv
// is one GEMM over the whole batch (see kernels/ts/train), or Winograd's, vectorised over the images. Buffers
// are sized once for the largest batch.
import type { BnSaved } from '../../kernels/ts/train/batchnorm';
import { type ConvGeom, colRows, convGeom } from '../../kernels/ts/train/conv';
import {
  channelPadBackward, channelPadForward, gapBackward, gapForward, subsampleBackward, subsampleForward,
} from '../../kernels/ts/train/elementwise';
import type { FloatArray } from '../../kernels/ts/train/gemm';
import { fcBackward, fcForward, type LossResult, softmaxCrossEntropy } from '../../kernels/ts/train/loss';
import { UserError } from '../errors';
import { type Graph, type GraphNode, type IrTensor, attrFloat, attrInt, attrInts, attrString, f32 } from '../graph/ir';
import type { TrainBackend, WinogradTile } from './backend';

/** A learnable tensor and its gradient (same shape, overwritten by every backward pass). */
export interface Param {
  readonly name: string;
  readonly dims: readonly number[];
  readonly data: FloatArray;
  readonly grad: FloatArray;
  /** What it is (scripts/grad-dump.ts writes it beside each gradient, to compare like with like). */
  readonly kind: 'conv' | 'fc-weight' | 'fc-bias' | 'conv-bias' | 'bn-scale' | 'bn-bias';
}

/** Non-learned state: batch norm running statistics. */
export interface StateTensor {
  readonly name: string;
  readonly dims: readonly number[];
  readonly data: FloatArray;
}

/** An activation: per-sample shape [c, h, w]; buffers hold c * maxBatch * h * w values. */
interface Value {
  readonly name: string;
  readonly c: number;
  readonly h: number;
  readonly w: number;
  readonly data: FloatArray;
  /** null for the network input (no gradient needed). */
  readonly grad: FloatArray | null;
}

type Op =
  | { kind: 'conv'; name: string; x: Value; y: Value; weight: Param; bias: Param | null; k: number; stride: number; pad: number }
  /** With `residual`, a residual add after the batch norm fused in: y = bn(x) + residual (then max(., 0) with relu). */
  | { kind: 'bn'; name: string; x: Value; y: Value; gamma: Param; beta: Param; mean: StateTensor; variance: StateTensor; eps: number; momentum: number; saved: BnSaved; relu: boolean; residual: Value | null }
  | { kind: 'relu'; name: string; x: Value; y: Value }
  | { kind: 'add'; name: string; a: Value; b: Value; y: Value; relu: boolean }
  | { kind: 'subsample'; name: string; x: Value; y: Value; stride: number }
  | { kind: 'channelPad'; name: string; x: Value; y: Value; before: number; after: number }
  | { kind: 'gap'; name: string; x: Value; y: Value }
  | { kind: 'fc'; name: string; x: Value; y: Value; weight: Param; bias: Param };

/** An op's output shape, "CxHxW": the layer a profile puts its time in. */
const layerOf = (op: Op): string => `${op.y.c}x${op.y.h}x${op.y.w}`;

export interface TrainNetOptions {
  readonly backend: TrainBackend;
  /** Largest batch forward/backward will be called with (buffers are sized for it). */
  readonly maxBatch: number;
  /** Reset BN to gamma 1, beta 0, mean 0, var 1 (a fresh net); false keeps the graph's values. */
  readonly resetBatchNorm?: boolean;
  /** Also compute the gradient with respect to the input (for gradient checks). */
  readonly inputGradient?: boolean;
  /**
   * Winograd tile per pass for 3x3 stride-1 pad-1 convs where the backend has Winograd kernels (0 = im2col +
   * GEMM). Default DEFAULT_WINOGRAD.
   */
  readonly winograd?: WinogradPlan;
  /**
   * Called with (phase, ms, layer) after each timed phase of forward/backward, layer the shape of the op's
   * output as "CxHxW" (profiling; see src/bench/train-bench.ts).
   */
  readonly profile?: (phase: string, ms: number, layer: string) => void;
  /** The profile's clock in ms (default performance.now; CPU time makes profiles on a busy machine steadier). */
  readonly clock?: () => number;
}

/** Winograd tile per pass (a pass planned as F(4x4) takes F(7x7) where useF7 says it pays). */
export interface WinogradPlan {
  readonly forward: WinogradTile | 0;
  readonly data: WinogradTile | 0;
  readonly weights: WinogradTile | 0;
  /** Convs with fewer input channels than this use im2col + GEMM in every pass (the first conv, C = 1 or 3). */
  readonly minChannels: number;
}

/** Products of an F(m x m, 3 x 3) pass per image and channel pair: its tiles' alpha^2 each. */
function winogradProducts(m: number, H: number, W: number): number {
  return Math.ceil(H / m) * Math.ceil(W / m) * (m + 2) ** 2;
}

/**
 * F(7x7) instead of F(4x4): where it needs at most 0.6 of the products (14x14 and 7x7 layers, where F(4x4)'s
 * tiles overhang: 0.56) and there are 32 channels or more each way, where the products are most of a pass
 * (at 16 the transforms are, and F(7x7)'s cost more: kernels/wasm/README.md, Round 5).
 */
function useF7(C: number, M: number, H: number, W: number): boolean {
  return Math.min(C, M) >= 32 && winogradProducts(7, H, W) <= 0.6 * winogradProducts(4, H, W);
}

/**
 * Residual nets: F(4x4) in all three passes (4x fewer multiplies than direct, against 2.25x for F(2x2)), on the
 * better conditioned points of WINOGRAD_F4X4_3X3_TRAIN, and F(7x7) where useF7. F(4x4)'s float32 error per layer
 * is ~5e-7 relative RMS (F(2x2) ~1.5e-7, a direct conv ~2e-7, F(7x7) ~2e-5); whole-net gradients against float64 differ mostly where a ReLU
 * input within that error of 0 flips, and for resnet20 F(4x4) forward makes that no more frequent than
 * float32 im2col convs do (kernels/wasm/README.md, Accuracy).
 */
const DEFAULT_WINOGRAD: WinogradPlan = { forward: 4, data: 4, weights: 4, minChannels: 4 };
/**
 * Plain nets (no residual add): F(2x2) forward. There F(4x4) forward doubled the inputs whose gradients a
 * flipped ReLU moved (plain20: 7 of 12 against 3 of 12 with float32 im2col), and in short plain56 runs one of
 * two stayed at chance after 50 steps while F(2x2) forward learned. The backward passes as residual nets'.
 */
const PLAIN_WINOGRAD: WinogradPlan = { forward: 2, data: 4, weights: 4, minChannels: 4 };
/** Every conv through im2col + GEMM (the tests keep that path covered). */
export const NO_WINOGRAD: WinogradPlan = { forward: 0, data: 0, weights: 0, minChannels: 4 };

/** Ops a trainable graph may use; anything else is refused by name. */
const TRAINABLE_OPS = ['Conv', 'BatchNormalization', 'Relu', 'Add', 'Slice', 'Pad', 'GlobalAveragePool', 'Flatten', 'Gemm', 'Identity'] as const;

class TrainGraphError extends UserError {
  override name = 'TrainGraphError';
}

function fail(node: GraphNode, msg: string): never {
  throw new TrainGraphError(`training: ${node.op} '${node.name}': ${msg}`);
}

const INT32_MAX = 2147483647;

function intsOf(t: IrTensor | undefined, node: GraphNode, what: string): number[] {
  if (!t) fail(node, `${what} must be a constant initializer`);
  if (t.dtype === 'int64') return Array.from(t.data, (v) => (v > BigInt(INT32_MAX) ? INT32_MAX : v < -BigInt(INT32_MAX) ? -INT32_MAX : Number(v)));
  return Array.from(t.data, Math.trunc);
}

/**
 * Columns per conv GEMM chunk: the chunk of im2col (rows x chunk floats) stays in L2 (about 512 KB). Chunks are
 * whole pixels (multiples of the batch n, the columns of one pixel) so the wasm im2col copies whole runs.
 */
function chunkPixels(rows: number, n = 1): number {
  const cols = Math.max(64, Math.min(1024, Math.floor(131072 / rows / 8) * 8));
  return Math.max(1, Math.floor(cols / n)) * n;
}

/**
 * The row stride of an im2col chunk of `cols` columns: padded so that rows do not start a multiple of 4 KB
 * apart (with 1024 columns, conv1's 9 rows shared one L1 cache set and evicted each other in the GEMM).
 */
function colStride(cols: number): number {
  let ld = cols;
  while ((ld * 4) % 4096 < 256 || (ld * 4) % 4096 > 4096 - 256) ld += 16;
  return ld;
}

export class TrainNet {
  readonly params: Param[] = [];
  readonly states: StateTensor[] = [];
  readonly input: Value;
  readonly output: Value;
  readonly classes: number;
  readonly maxBatch: number;
  private readonly ops: Op[] = [];
  private readonly values = new Map<string, Value>();
  readonly backend: TrainBackend;
  private readonly col: FloatArray;
  private readonly wT: FloatArray;
  private readonly gradReady = new Set<Value>();
  private batch = 0;
  private training = false;
  private readonly wino: WinogradPlan;
  /** The first operand of every residual add (fused into a batch norm or not): see zeroResidualBranchGammas. */
  private readonly residualFirstOperands: Value[] = [];
  /** How many nodes read each value (a ReLU is fused into the batch norm or add before it if it is the only reader). */
  private readonly readers = new Map<string, number>();
  private readonly profile: ((phase: string, ms: number, layer: string) => void) | null;
  private readonly clock: () => number;

  constructor(readonly graph: Graph, opts: TrainNetOptions) {
    this.backend = opts.backend;
    this.maxBatch = opts.maxBatch;
    this.wino = opts.winograd ?? (graph.nodes.some((n) => n.op === 'Add') ? DEFAULT_WINOGRAD : PLAIN_WINOGRAD);
    this.profile = opts.profile ?? null;
    this.clock = opts.clock ?? (() => performance.now());
    if (graph.inputs.length !== 1 || graph.outputs.length !== 1) {
      throw new TrainGraphError(`training: graph '${graph.name}' must have one input and one output, has ${graph.inputs.length} and ${graph.outputs.length}`);
    }
    const inShape = graph.inputs[0]!.shape.slice(1);
    if (inShape.length !== 3 || !inShape.every((d): d is number => typeof d === 'number' && d > 0)) {
      throw new TrainGraphError(`training: input '${graph.inputs[0]!.name}' must have a fixed [C,H,W] after the batch, got [${graph.inputs[0]!.shape.join(',')}]`);
    }
    const [c, h, w] = inShape as [number, number, number];
    this.input = this.newValue(graph.inputs[0]!.name, c, h, w, opts.inputGradient ?? false);
    let colSize = 0;
    let wtSize = 0;
    for (const node of graph.nodes) for (const i of node.inputs) this.readers.set(i, (this.readers.get(i) ?? 0) + 1);
    for (const out of graph.outputs) this.readers.set(out.name, (this.readers.get(out.name) ?? 0) + 1);
    for (const node of graph.nodes) {
      const op = this.buildOp(node, opts.resetBatchNorm ?? false);
      if (!op) continue;
      this.ops.push(op);
      if (op.kind === 'conv') {
        const rows = op.x.c * op.k * op.k;
        const rowsT = op.y.c * op.k * op.k;
        colSize = Math.max(colSize, rows * colStride(chunkPixels(rows, this.maxBatch)), rowsT * colStride(chunkPixels(rowsT, this.maxBatch)));
        wtSize = Math.max(wtSize, rows * op.y.c);
      }
    }
    const out = this.values.get(graph.outputs[0]!.name);
    if (!out) throw new TrainGraphError(`training: output '${graph.outputs[0]!.name}' is not produced by any node`);
    if (out.h !== 1 || out.w !== 1) throw new TrainGraphError(`training: output '${out.name}' must be [N, classes], is [N,${out.c},${out.h},${out.w}]`);
    this.output = out;
    this.classes = out.c;
    this.col = this.backend.alloc(Math.max(colSize, 1));
    this.wT = this.backend.alloc(Math.max(wtSize, 1));
  }

  private newValue(name: string, c: number, h: number, w: number, grad = true): Value {
    if (this.values.has(name)) throw new TrainGraphError(`training: value '${name}' is produced twice`);
    const n = c * h * w * this.maxBatch;
    const v: Value = { name, c, h, w, data: this.backend.alloc(n), grad: grad ? this.backend.alloc(n) : null };
    this.values.set(name, v);
    return v;
  }

  private valueOf(node: GraphNode, i: number): Value {
    const name = node.inputs[i];
    const v = name === undefined ? undefined : this.values.get(name);
    if (!v) fail(node, `input ${i} '${name ?? ''}' is not an activation computed before this node`);
    return v;
  }

  /**
   * Fuses the add v + other into the batch norm that computed v when the add is v's only reader: that batch
   * norm then writes bn(x) + other, and its backward passes the gradient on to `other` (the sum itself is
   * never stored: one pass over memory less each way, and one buffer less). The batch norm moves to the
   * add's place in the op list, after whatever computes `other` (option A's subsample and pad come between
   * them in the zoo's graphs); nothing in between reads v.
   */
  private fuseAddIntoBn(v: Value, other: Value, name: string): Extract<Op, { kind: 'bn' }> | null {
    const i = this.ops.findIndex((o) => o.kind === 'bn' && o.y === v);
    const op = this.ops[i];
    if (op?.kind !== 'bn' || op.relu || op.residual || other === v || this.readers.get(name) !== 1) return null;
    this.ops.splice(i, 1);
    this.ops.push(op);
    op.residual = other;
    return op;
  }

  private floatInit(node: GraphNode, i: number, dims: readonly number[]): { name: string; data: Float32Array } {
    const name = node.inputs[i];
    const t = name ? this.graph.initializers.get(name) : undefined;
    if (!name || !t || t.dtype !== 'float32') fail(node, `input ${i} must be a float32 initializer`);
    if (t.dims.length !== dims.length || t.dims.some((d, j) => d !== dims[j])) {
      fail(node, `initializer '${name}' has shape [${t.dims.join(',')}], expected [${dims.join(',')}]`);
    }
    return { name, data: t.data };
  }

  private param(node: GraphNode, i: number, dims: readonly number[], kind: Param['kind'], init?: number): Param {
    const { name, data } = this.floatInit(node, i, dims);
    const p: Param = { name, dims, kind, data: this.backend.alloc(data.length), grad: this.backend.alloc(data.length) };
    if (init === undefined) p.data.set(data);
    else p.data.fill(init);
    this.params.push(p);
    return p;
  }

  private state(node: GraphNode, i: number, dims: readonly number[], init?: number): StateTensor {
    const { name, data } = this.floatInit(node, i, dims);
    const s: StateTensor = { name, dims, data: this.backend.alloc(data.length) };
    if (init === undefined) s.data.set(data);
    else s.data.fill(init);
    this.states.push(s);
    return s;
  }

  private buildOp(node: GraphNode, resetBn: boolean): Op | null {
    const out = node.outputs[0];
    if (node.outputs.length !== 1 || !out) fail(node, `must have one output, has ${node.outputs.length}`);
    switch (node.op) {
      case 'Conv': {
        const x = this.valueOf(node, 0);
        const wName = node.inputs[1] ?? '';
        const wt = this.graph.initializers.get(wName);
        if (wt?.dims.length !== 4) fail(node, `weight '${wName}' must be a 4-D initializer`);
        const [m, cin, kh, kw] = wt.dims as [number, number, number, number];
        const strides = attrInts(node, 'strides', [1, 1]);
        const pads = attrInts(node, 'pads', [0, 0, 0, 0]);
        if (cin !== x.c) fail(node, `weight [${wt.dims.join(',')}] expects ${cin} input channels, input has ${x.c}`);
        if (kh !== kw || strides[0] !== strides[1] || pads.length !== 4 || new Set(pads).size !== 1) {
          fail(node, `only square kernels with equal strides and equal pads train here (kernel ${kh}x${kw}, strides [${strides.join(',')}], pads [${pads.join(',')}])`);
        }
        if (attrInt(node, 'group', 1) !== 1 || attrInts(node, 'dilations', [1, 1]).some((d) => d !== 1)) fail(node, 'groups and dilations must be 1');
        if (attrString(node, 'auto_pad', 'NOTSET') !== 'NOTSET') fail(node, 'auto_pad is not supported for training');
        const k = kh;
        const stride = strides[0]!;
        const pad = pads[0]!;
        const g = convGeom(cin, 1, x.h, x.w, m, k, stride, pad);
        const weight = this.param(node, 1, wt.dims, 'conv');
        const bias = node.inputs[2] ? this.param(node, 2, [m], 'conv-bias') : null;
        return { kind: 'conv', name: node.name, x, y: this.newValue(out, m, g.oh, g.ow), weight, bias, k, stride, pad };
      }
      case 'BatchNormalization': {
        const x = this.valueOf(node, 0);
        const C = x.c;
        if (node.inputs.length !== 5) fail(node, `needs 5 inputs, has ${node.inputs.length}`);
        const gamma = this.param(node, 1, [C], 'bn-scale', resetBn ? 1 : undefined);
        const beta = this.param(node, 2, [C], 'bn-bias', resetBn ? 0 : undefined);
        const mean = this.state(node, 3, [C], resetBn ? 0 : undefined);
        const variance = this.state(node, 4, [C], resetBn ? 1 : undefined);
        const saved: BnSaved = { mean: new Float64Array(C), invStd: new Float64Array(C) };
        return {
          kind: 'bn', name: node.name, x, y: this.newValue(out, C, x.h, x.w), gamma, beta, mean, variance, saved, relu: false, residual: null,
          eps: attrFloat(node, 'epsilon', 1e-5), momentum: attrFloat(node, 'momentum', 0.9),
        };
      }
      case 'Relu': {
        const x = this.valueOf(node, 0);
        // Fused into the batch norm or add that computed x when this ReLU is x's only reader: that op writes
        // max(., 0) in place and its backward masks the gradient (one pass over memory less each way).
        const prev = this.ops[this.ops.length - 1];
        if (prev && (prev.kind === 'bn' || prev.kind === 'add') && prev.y === x && !prev.relu && this.readers.get(node.inputs[0]!) === 1) {
          prev.relu = true;
          if (this.values.has(out)) fail(node, `value '${out}' is produced twice`);
          this.values.set(out, x);
          return null;
        }
        return { kind: 'relu', name: node.name, x, y: this.newValue(out, x.c, x.h, x.w) };
      }
      case 'Add': {
        const a = this.valueOf(node, 0);
        const b = this.valueOf(node, 1);
        if (a.c !== b.c || a.h !== b.h || a.w !== b.w) fail(node, `inputs have shapes [${a.c},${a.h},${a.w}] and [${b.c},${b.h},${b.w}]; training needs equal shapes`);
        this.residualFirstOperands.push(a);
        const fused = this.fuseAddIntoBn(a, b, node.inputs[0]!) ?? this.fuseAddIntoBn(b, a, node.inputs[1]!);
        if (fused) {
          if (this.values.has(out)) fail(node, `value '${out}' is produced twice`);
          this.values.set(out, fused.y);
          return null;
        }
        return { kind: 'add', name: node.name, a, b, y: this.newValue(out, a.c, a.h, a.w), relu: false };
      }
      case 'Slice': {
        // Option A's subsampling: starts 0, ends past the end, steps s on H and W.
        const x = this.valueOf(node, 0);
        const starts = intsOf(this.graph.initializers.get(node.inputs[1] ?? ''), node, 'starts');
        const ends = intsOf(this.graph.initializers.get(node.inputs[2] ?? ''), node, 'ends');
        const axes = node.inputs[3] ? intsOf(this.graph.initializers.get(node.inputs[3]), node, 'axes') : starts.map((_, i) => i);
        const steps = node.inputs[4] ? intsOf(this.graph.initializers.get(node.inputs[4]), node, 'steps') : starts.map(() => 1);
        const norm = axes.map((a) => (a < 0 ? a + 4 : a));
        const dims = [this.maxBatch, x.c, x.h, x.w];
        const ok = norm.length === 2 && norm.includes(2) && norm.includes(3) && steps[0] === steps[1] && steps[0]! >= 1 &&
          starts.every((s) => s === 0) && ends.every((e, i) => e >= dims[norm[i]!]!);
        if (!ok) fail(node, `only spatial subsampling (starts 0, steps s on axes 2 and 3) trains here; got starts [${starts}], ends [${ends}], axes [${axes}], steps [${steps}]`);
        const s = steps[0]!;
        return { kind: 'subsample', name: node.name, x, y: this.newValue(out, x.c, Math.ceil(x.h / s), Math.ceil(x.w / s)), stride: s };
      }
      case 'Pad': {
        // Option A's extra channels: constant zero padding on the channel axis only.
        const x = this.valueOf(node, 0);
        const pads = intsOf(this.graph.initializers.get(node.inputs[1] ?? ''), node, 'pads');
        const value = node.inputs[2] ? this.graph.initializers.get(node.inputs[2]) : undefined;
        const zeroValue = !value || (value.dtype === 'float32' && value.data.every((v) => v === 0));
        if (attrString(node, 'mode', 'constant') !== 'constant' || !zeroValue || pads.length !== 8 ||
          pads.some((p, i) => (i % 4 === 1 ? p < 0 : p !== 0))) {
          fail(node, `only zero padding of the channel axis trains here; got pads [${pads.join(',')}]`);
        }
        return { kind: 'channelPad', name: node.name, x, y: this.newValue(out, x.c + pads[1]! + pads[5]!, x.h, x.w), before: pads[1]!, after: pads[5]! };
      }
      case 'GlobalAveragePool': {
        const x = this.valueOf(node, 0);
        return { kind: 'gap', name: node.name, x, y: this.newValue(out, x.c, 1, 1) };
      }
      case 'Flatten':
      case 'Identity': {
        // [C, 1, 1, N] and [C, N] are the same buffer in CHWN; Identity is an alias too.
        const x = this.valueOf(node, 0);
        if (node.op === 'Flatten' && (attrInt(node, 'axis', 1) !== 1 || x.h !== 1 || x.w !== 1)) fail(node, `only flattening [N,C,1,1] on axis 1 trains here, input is [N,${x.c},${x.h},${x.w}]`);
        if (this.values.has(out)) fail(node, `value '${out}' is produced twice`);
        this.values.set(out, x);
        return null;
      }
      case 'Gemm': {
        const x = this.valueOf(node, 0);
        if (x.h !== 1 || x.w !== 1) fail(node, `input must be [N,F], is [N,${x.c},${x.h},${x.w}]`);
        if (attrInt(node, 'transA', 0) !== 0 || attrInt(node, 'transB', 0) !== 1 || attrFloat(node, 'alpha', 1) !== 1 || attrFloat(node, 'beta', 1) !== 1) {
          fail(node, 'only Gemm with transB=1, transA=0, alpha=beta=1 (a linear layer) trains here');
        }
        const wt = this.graph.initializers.get(node.inputs[1] ?? '');
        if (wt?.dims.length !== 2 || wt.dims[1] !== x.c) fail(node, `weight must be [K,${x.c}]`);
        const K = wt.dims[0]!;
        const weight = this.param(node, 1, [K, x.c], 'fc-weight');
        if (!node.inputs[2]) fail(node, 'needs a bias');
        const bias = this.param(node, 2, [K], 'fc-bias');
        return { kind: 'fc', name: node.name, x, y: this.newValue(out, K, 1, 1), weight, bias };
      }
      default:
        fail(node, `op is not supported for training (supported: ${TRAINABLE_OPS.join(', ')})`);
    }
  }

  /** Per-sample input size C*H*W. */
  get inputSize(): number {
    return this.input.c * this.input.h * this.input.w;
  }

  /**
   * Runs the network on n samples given NCHW (n x C*H*W floats, already normalised). Training mode uses and
   * updates batch statistics; returns the logits as [classes, n] (column per sample) in the net's buffer.
   */
  forward(x: ArrayLike<number>, n: number, training: boolean): FloatArray {
    if (!Number.isInteger(n) || n < 1 || n > this.maxBatch) throw new Error(`forward: batch ${n} is not in [1, ${this.maxBatch}]`);
    const per = this.inputSize;
    if (x.length < n * per) throw new Error(`forward: input has ${x.length} values, ${n} samples of [${this.input.c},${this.input.h},${this.input.w}] need ${n * per}`);
    this.batch = n;
    this.training = training;
    const { c, h, w } = this.input;
    const hw = h * w;
    const d = this.input.data;
    // NCHW -> CHWN
    for (let s = 0; s < n; s++) for (let ch = 0; ch < c; ch++) {
      const src = (s * c + ch) * hw;
      const dst = ch * hw * n + s;
      for (let i = 0; i < hw; i++) d[dst + i * n] = x[src + i]!;
    }
    for (const op of this.ops) this.forwardOp(op, n, training);
    return this.output.data.subarray(0, this.classes * n);
  }

  /** Logits of the last forward as [n, classes] (row per sample). */
  logitsRows(): Float32Array {
    const n = this.batch;
    const K = this.classes;
    const out = new Float32Array(n * K);
    const y = this.output.data;
    for (let k = 0; k < K; k++) for (let s = 0; s < n; s++) out[s * K + k] = y[k * n + s]!;
    return out;
  }

  /** Mean softmax cross-entropy of the last forward against labels, and the gradients of every parameter. */
  lossAndBackward(labels: ArrayLike<number>): LossResult {
    if (!this.training) throw new Error('backward: the last forward was not in training mode');
    const n = this.batch;
    const out = this.output;
    const r = softmaxCrossEntropy(out.data, labels, this.classes, n, out.grad!);
    this.gradReady.clear();
    this.gradReady.add(out);
    for (let i = this.ops.length - 1; i >= 0; i--) this.backwardOp(this.ops[i]!, n);
    this.backend.finishWeightGrads?.();
    return r;
  }

  /** The gradient of the last backward with respect to the input, NCHW (needs inputGradient). */
  inputGrad(): Float64Array {
    const g = this.input.grad;
    if (!g) throw new Error('inputGrad: the net was built without inputGradient');
    const n = this.batch;
    const { c, h, w } = this.input;
    const hw = h * w;
    const out = new Float64Array(n * c * hw);
    const ready = this.gradReady.has(this.input);
    if (ready) for (let s = 0; s < n; s++) for (let ch = 0; ch < c; ch++) for (let i = 0; i < hw; i++) out[(s * c + ch) * hw + i] = g[(ch * hw + i) * n + s]!;
    return out;
  }

  /** Loss and correct count of the last forward, no gradients. */
  loss(labels: ArrayLike<number>): LossResult {
    return softmaxCrossEntropy(this.output.data, labels, this.classes, this.batch, null);
  }

  private forwardOp(op: Op, n: number, training: boolean): void {
    if (!this.profile) return this.forwardOpUntimed(op, n, training);
    const t0 = this.clock();
    this.forwardOpUntimed(op, n, training);
    if (op.kind !== 'conv') this.profile(`${op.kind} forward`, this.clock() - t0, layerOf(op));
  }

  private forwardOpUntimed(op: Op, n: number, training: boolean): void {
    switch (op.kind) {
      case 'conv': return this.convForward(op, n);
      case 'bn': {
        const S = n * op.x.h * op.x.w;
        if (training) {
          this.backend.bnForwardTrain(op.x.data, op.x.c, S, op.gamma.data, op.beta.data, op.eps, op.y.data, op.saved,
            { mean: op.mean.data, variance: op.variance.data, momentum: op.momentum }, op.relu, op.residual?.data ?? null);
        } else {
          this.backend.bnForwardEval(op.x.data, op.x.c, S, op.gamma.data, op.beta.data, op.mean.data, op.variance.data, op.eps, op.y.data, op.relu, op.residual?.data ?? null);
        }
        return;
      }
      case 'relu': return this.backend.relu(op.x.data, size(op.x, n), op.y.data);
      case 'add': return this.backend.add(op.a.data, op.b.data, size(op.a, n), op.y.data, op.relu);
      case 'subsample': return subsampleForward(op.x.data, op.x.c, op.x.h, op.x.w, n, op.stride, op.y.data);
      case 'channelPad': return channelPadForward(op.x.data, op.x.c, op.before, op.after, n * op.x.h * op.x.w, op.y.data);
      case 'gap': return gapForward(op.x.data, op.x.c, op.x.h * op.x.w, n, op.y.data);
      case 'fc': return fcForward(op.x.data, op.weight.data, op.bias.data, op.x.c, op.y.c, n, op.y.data);
    }
  }

  /** The gradient buffer of x and whether to add into it (a second consumer) or overwrite it. */
  private target(x: Value): { dx: FloatArray; acc: boolean } | null {
    if (!x.grad) return null;
    const acc = this.gradReady.has(x);
    this.gradReady.add(x);
    return { dx: x.grad, acc };
  }

  private dyOf(op: Op): FloatArray {
    if (!this.gradReady.has(op.y)) throw new Error(`backward: no gradient reached '${op.y.name}' (output of ${op.kind} '${op.name}')`);
    return op.y.grad!;
  }

  private backwardOp(op: Op, n: number): void {
    if (!this.profile) return this.backwardOpUntimed(op, n);
    const t0 = this.clock();
    this.backwardOpUntimed(op, n);
    if (op.kind !== 'conv') this.profile(`${op.kind} backward`, this.clock() - t0, layerOf(op));
  }

  /** Runs fn, and reports its time as `phase` when profiling. */
  private timed(op: Op, phase: string, fn: () => void): void {
    if (!this.profile) return fn();
    const t0 = this.clock();
    fn();
    this.profile(phase, this.clock() - t0, layerOf(op));
  }

  private backwardOpUntimed(op: Op, n: number): void {
    const dy = this.dyOf(op);
    switch (op.kind) {
      case 'conv': return this.convBackward(op, n, dy);
      case 'bn': {
        const r = op.residual && this.target(op.residual);
        if (r) this.backend.pass(dy, size(op.y, n), r.dx, r.acc, op.relu ? op.y.data : null);
        const t = this.target(op.x)!;
        // The shortcut's gradient, when this pass wrote all of it, is the masked dy the batch norm needs: read
        // it instead of dy and the ReLU's output (one stream less in each of bn_sums and bn_dx; same bits).
        const [g, mask] = r && !r.acc ? [r.dx, null] : [dy, op.relu ? op.y.data : null];
        this.backend.bnBackward(op.x.data, g, op.x.c, n * op.x.h * op.x.w, op.gamma.data, op.saved, op.gamma.grad, op.beta.grad, t.dx, t.acc, mask);
        return;
      }
      case 'relu': {
        const t = this.target(op.x);
        if (t) this.backend.reluBackward(op.y.data, dy, size(op.x, n), t.dx, t.acc);
        return;
      }
      case 'add': {
        for (const v of [op.a, op.b]) {
          const t = this.target(v);
          if (t) this.backend.pass(dy, size(v, n), t.dx, t.acc, op.relu ? op.y.data : null);
        }
        return;
      }
      case 'subsample': {
        const t = this.target(op.x);
        if (t) subsampleBackward(dy, op.x.c, op.x.h, op.x.w, n, op.stride, t.dx, t.acc);
        return;
      }
      case 'channelPad': {
        const t = this.target(op.x);
        if (t) channelPadBackward(dy, op.x.c, op.before, n * op.x.h * op.x.w, t.dx, t.acc);
        return;
      }
      case 'gap': {
        const t = this.target(op.x);
        if (t) gapBackward(dy, op.x.c, op.x.h * op.x.w, n, t.dx, t.acc);
        return;
      }
      case 'fc': {
        const t = this.target(op.x);
        fcBackward(op.x.data, op.weight.data, dy, op.x.c, op.y.c, n, op.weight.grad, op.bias.grad, t ? t.dx : null, t ? t.acc : false);
        return;
      }
    }
  }

  private geom(op: Extract<Op, { kind: 'conv' }>, n: number): ConvGeom {
    return convGeom(op.x.c, n, op.x.h, op.x.w, op.y.c, op.k, op.stride, op.pad);
  }

  /** The Winograd tile for this conv in one pass, or 0 for im2col + GEMM. */
  private winogradTile(op: Extract<Op, { kind: 'conv' }>, pass: 'forward' | 'data' | 'weights'): WinogradTile | 0 {
    if (!this.backend.winograd || op.k !== 3 || op.stride !== 1 || op.pad !== 1 || op.x.c < this.wino.minChannels) return 0;
    const tile = this.wino[pass];
    return tile === 4 && useF7(op.x.c, op.y.c, op.x.h, op.x.w) ? 7 : tile;
  }

  /** y = W col(x), in chunks of pixels whose im2col stays in cache; or Winograd's. */
  private convForward(op: Extract<Op, { kind: 'conv' }>, n: number): void {
    const g = this.geom(op, n);
    const P = n * g.oh * g.ow;
    const tile = this.winogradTile(op, 'forward');
    if (tile) {
      this.timed(op, `conv forward (Winograd F${tile})`, () => this.backend.winograd!.conv(op.x.data, op.y.data, op.weight.data, g.c, g.m, n, g.h, g.w, false, false, tile));
    } else {
      this.timed(op, 'conv forward (im2col + GEMM)', () => {
        const R = colRows(g);
        const pc = chunkPixels(R, n);
        const be = this.backend;
        for (let p0 = 0; p0 < P; p0 += pc) {
          const p1 = Math.min(P, p0 + pc);
          be.im2col(op.x.data, g, this.col, colStride(pc), p0, p1);
          be.gemmNN(g.m, p1 - p0, R, op.weight.data, R, this.col, colStride(pc), op.y.data.subarray(p0), P, false);
        }
      });
    }
    if (op.bias) addRowBias(op.y.data, op.bias.data, g.m, P);
  }

  /** dW = dy col(x)^T; dx (+)= col2im(W^T dy), chunk by chunk; or Winograd's. */
  private convBackward(op: Extract<Op, { kind: 'conv' }>, n: number, dy: FloatArray): void {
    const g = this.geom(op, n);
    const R = colRows(g);
    const M = g.m;
    const P = n * g.oh * g.ow;
    const pc = chunkPixels(R, n);
    const be = this.backend;
    const wTile = this.winogradTile(op, 'weights');
    if (wTile) {
      this.timed(op, `conv weight gradient (Winograd F${wTile})`, () => be.winograd!.weightGrad(op.x.data, dy, op.weight.grad, g.c, M, n, g.h, g.w, wTile));
    } else {
      this.timed(op, 'conv weight gradient (im2col + GEMM)', () => {
        for (let p0 = 0; p0 < P; p0 += pc) {
          const p1 = Math.min(P, p0 + pc);
          be.im2col(op.x.data, g, this.col, colStride(pc), p0, p1);
          be.gemmNT(M, R, p1 - p0, dy.subarray(p0), P, this.col, colStride(pc), op.weight.grad, R, p0 > 0);
        }
      });
    }
    if (op.bias) rowSums(dy, M, P, op.bias.grad);
    const t = this.target(op.x);
    if (!t) return;
    const dTile = this.winogradTile(op, 'data');
    if (dTile) {
      this.timed(op, `conv backward data (Winograd F${dTile})`, () => be.winograd!.conv(dy, t.dx, op.weight.data, g.c, M, n, g.h, g.w, true, t.acc, dTile));
      return;
    }
    this.timed(op, 'conv backward data (im2col + GEMM)', () => this.convBackwardData(op, g, n, dy, t));
  }

  private convBackwardData(op: Extract<Op, { kind: 'conv' }>, g: ConvGeom, n: number, dy: FloatArray, t: { dx: FloatArray; acc: boolean }): void {
    const R = colRows(g);
    const M = g.m;
    const P = n * g.oh * g.ow;
    const pc = chunkPixels(R, n);
    const be = this.backend;
    const w = op.weight.data;
    const wT = this.wT;
    const K = g.k;
    if (g.stride === 1 && g.pad <= K - 1) {
      // Stride 1: dx = conv(dy, W') with W'[c, m, kh, kw] = W[m, c, K-1-kh, K-1-kw] and pad K-1-pad: a
      // forward-shaped GEMM whose im2col is cheap and whose output is dx itself (no col2im scatter).
      const C = g.c;
      for (let m = 0; m < M; m++) for (let c = 0; c < C; c++) for (let kk = 0; kk < K * K; kk++) {
        wT[(c * M + m) * K * K + (K * K - 1 - kk)] = w[(m * C + c) * K * K + kk]!;
      }
      const gT = convGeom(M, n, g.oh, g.ow, C, K, 1, K - 1 - g.pad);
      const RT = colRows(gT);
      const pcT = chunkPixels(RT, n);
      const PX = n * g.h * g.w;
      for (let p0 = 0; p0 < PX; p0 += pcT) {
        const p1 = Math.min(PX, p0 + pcT);
        be.im2col(dy, gT, this.col, colStride(pcT), p0, p1);
        be.gemmNN(C, p1 - p0, RT, wT, RT, this.col, colStride(pcT), t.dx.subarray(p0), PX, t.acc);
      }
      return;
    }
    // Other strides: dcol = W^T dy, then scatter-add with col2im.
    for (let m = 0; m < M; m++) for (let r = 0; r < R; r++) wT[r * M + m] = w[m * R + r]!;
    if (!t.acc) t.dx.fill(0, 0, g.c * g.h * g.w * n);
    for (let p0 = 0; p0 < P; p0 += pc) {
      const p1 = Math.min(P, p0 + pc);
      be.gemmNN(R, p1 - p0, M, wT, M, dy.subarray(p0), P, this.col, colStride(pc), false);
      be.col2im(this.col, g, t.dx, colStride(pc), p0, p1);
    }
  }

  /** A copy of the graph with this net's weights and BN statistics as its initializers. */
  toGraph(metadata?: Readonly<Record<string, string>>): Graph {
    const inits = new Map(this.graph.initializers);
    for (const t of [...this.params, ...this.states]) inits.set(t.name, f32(t.dims, Float32Array.from(t.data)));
    return { ...this.graph, initializers: inits, metadata: metadata ?? this.graph.metadata };
  }

  /**
   * Sets gamma to 0 in the batch norm that ends each residual branch (the first operand of an Add, the
   * order of the zoo and of torchvision: branch + shortcut), so every block starts as its shortcut and a
   * deep residual net starts as a shallow one (Goyal et al. 2017; torchvision's zero_init_residual). Plain
   * nets have no Add and are unchanged. Returns the names of the batch norms changed.
   */
  zeroResidualBranchGammas(): string[] {
    const changed: string[] = [];
    for (const a of this.residualFirstOperands) {
      const bn = this.ops.find((o) => o.kind === 'bn' && o.y === a);
      if (bn?.kind !== 'bn') continue;
      bn.gamma.data.fill(0);
      changed.push(bn.name);
    }
    return changed;
  }

  /** Sizes of the flat vectors below: all parameters, all states. */
  get paramCount(): number {
    return this.params.reduce((s, t) => s + t.data.length, 0);
  }

  get stateCount(): number {
    return this.states.reduce((s, t) => s + t.data.length, 0);
  }

  /** Parameters, their gradients and the states as flat vectors (checkpoints, optimizer, threads). */
  getParams(out = new Float32Array(this.paramCount)): Float32Array {
    return gather(this.params.map((p) => p.data), out);
  }

  getGrads(out = new Float32Array(this.paramCount)): Float32Array {
    return gather(this.params.map((p) => p.grad), out);
  }

  getStates(out = new Float32Array(this.stateCount)): Float32Array {
    return gather(this.states.map((s) => s.data), out);
  }

  setParams(v: ArrayLike<number>): void {
    scatter(v, this.params.map((p) => p.data), 'parameters');
  }

  setStates(v: ArrayLike<number>): void {
    scatter(v, this.states.map((s) => s.data), 'states');
  }

  /** Multiply-adds of one training-mode forward per sample (convs and FC), for throughput figures. */
  get macsPerSample(): number {
    let macs = 0;
    for (const op of this.ops) {
      if (op.kind === 'conv') macs += op.y.c * op.y.h * op.y.w * op.x.c * op.k * op.k;
      if (op.kind === 'fc') macs += op.y.c * op.x.c;
    }
    return macs;
  }

  /** Names of the ops in execution order with their kinds (for tests and logs). */
  get opKinds(): string[] {
    return this.ops.map((o) => o.kind);
  }
}

function gather(parts: readonly FloatArray[], out: Float32Array): Float32Array {
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

function scatter(v: ArrayLike<number>, parts: readonly FloatArray[], what: string): void {
  const total = parts.reduce((s, p) => s + p.length, 0);
  if (v.length !== total) throw new Error(`set ${what}: ${v.length} values, the net has ${total}`);
  let o = 0;
  for (const p of parts) {
    if (v instanceof Float32Array || v instanceof Float64Array) p.set(v.subarray(o, o + p.length));
    else for (let i = 0; i < p.length; i++) p[i] = v[o + i]!;
    o += p.length;
  }
}

function size(v: Value, n: number): number {
  return v.c * n * v.h * v.w;
}

function addRowBias(y: FloatArray, b: FloatArray, M: number, P: number): void {
  for (let m = 0; m < M; m++) {
    const v = b[m]!;
    for (let p = 0; p < P; p++) y[m * P + p]! += v;
  }
}

function rowSums(a: FloatArray, M: number, P: number, out: FloatArray): void {
  for (let m = 0; m < M; m++) {
    let s = 0;
    for (let p = 0; p < P; p++) s += a[m * P + p]!;
    out[m] = s;
  }
}

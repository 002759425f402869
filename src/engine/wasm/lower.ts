// Lowers a Plan to what the generated kernels execute: NHWC value layouts, weights packed once into
// panels (bias first), a liveness-planned activation arena for a given batch size, indirection tables,
// and the program of step descriptors.
import { type ConvStep, type FcStep, type PadStep, type Plan, type SliceStep, type Step, type ValueId, stepInputs, writerOf } from '../plan';
import { resolveSliceAxis, windowOutputSize } from '../../../kernels/core/shape';
import { type Tensor, shapeStr, sizeOf } from '../../../kernels/core/tensor';
import {
  DESC_WORDS, ElementwiseDesc, GatherDesc, GatherSubsampleDesc, GavgPoolDesc, IgemmDesc, Kind, PoolDesc, VmulcaddcDesc, WinogradDesc,
} from '../../../kernels/wasm/descriptors';
import { ALIGN, roundUp } from '../../../kernels/wasm/memory';
import {
  WINOGRAD_F2X2_3X3, WINOGRAD_F4X4_3X3, type WinogradTransform, winogradScratchBytes,
} from '../../../kernels/wasm/winograd-3x3';

/** Where a value lives per sample: NHWC with `cs` floats per pixel (channels C..cs-1 are zero). */
export interface ValueLayout {
  readonly c: number;
  readonly h: number;
  readonly w: number;
  readonly cs: number;
  /** Flatten output: shares the buffer of `aliasOf` (its NHWC layout is `source`). */
  readonly aliasOf?: ValueId;
  readonly source?: ValueLayout;
}

const layoutBytes = (l: ValueLayout): number => l.h * l.w * l.cs * 4;

function dims3(shape: readonly number[], what: string): [number, number, number] {
  if (shape.length === 3) return [shape[0]!, shape[1]!, shape[2]!];
  if (shape.length === 1) return [shape[0]!, 1, 1];
  throw new Error(`wasm engine: ${what} has shape ${shapeStr(shape)}; only [C,H,W] and [F] are supported`);
}

/** The steps the engine runs in JS after the wasm program (softmax has no wasm kernel: exp). */
export function isTailStep(s: Step): boolean {
  return s.kind === 'softmax';
}

/** Layout of every value: conv/fc outputs pad channels to 8 (the panel width), others to 4. */
export function layoutValues(plan: Plan, externalInputs: readonly ValueId[]): ValueLayout[] {
  const layouts: (ValueLayout | undefined)[] = new Array(plan.values.length);
  // The model input is padded to 4 channels; further inputs (an op kernel's residual) like conv outputs.
  externalInputs.forEach((id, i) => {
    const [c, h, w] = dims3(plan.values[id]!.shape, `input ${plan.values[id]!.name}`);
    layouts[id] = { c, h, w, cs: roundUp(c, i === 0 ? 4 : 8) };
  });
  const get = (id: ValueId, step: string): ValueLayout => {
    const l = layouts[id];
    if (!l) throw new Error(`wasm engine: step ${step} reads value ${plan.values[id]?.name ?? id} before it is produced`);
    return l;
  };
  for (const s of plan.steps) {
    const [c, h, w] = dims3(plan.values[s.output]!.shape, `value ${plan.values[s.output]!.name}`);
    let out: ValueLayout;
    switch (s.kind) {
      case 'conv':
      case 'fc':
        out = { c, h, w, cs: roundUp(c, 8) };
        break;
      case 'shortcutA':
        out = { c, h, w, cs: roundUp(c, 8) };
        break;
      case 'flatten': {
        const src = get(s.input, s.name);
        out = src.h * src.w === 1 && src.aliasOf === undefined
          ? { c, h, w, cs: src.cs, aliasOf: s.input }
          : { c, h, w, cs: c, aliasOf: src.aliasOf ?? s.input, source: src.source ?? src };
        break;
      }
      case 'add': {
        const a = get(s.a, s.name), b = get(s.b, s.name);
        if (a.cs !== b.cs || a.h !== b.h || a.w !== b.w) {
          throw new Error(`wasm engine: add ${s.name} needs equal shapes, got ${a.c}x${a.h}x${a.w} and ${b.c}x${b.h}x${b.w}`);
        }
        out = { c, h, w, cs: a.cs };
        break;
      }
      case 'softmax':
        out = { c, h, w, cs: c };
        break;
      case 'pad':
      case 'slice':
        out = { c, h, w, cs: roundUp(c, 8) };
        break;
      default:
        out = { c, h, w, cs: get(s.input, s.name).cs };
    }
    layouts[s.output] = out;
  }
  // Values no step produces (none in a well-formed plan) get an empty layout.
  return Array.from(layouts, (l) => l ?? { c: 0, h: 0, w: 0, cs: 0 });
}

/** Floats of a conv's packed panels (see packConv). */
const convPackedFloats = (M: number, C: number, taps: number): number => Math.ceil(M / 8) * (8 + taps * C * 8);

/**
 * Conv weights [M,C,kh,kw] + bias -> panels of 8 output channels: [bias x8][per tap, per channel: 8 weights],
 * written into `out` (zeroed, convPackedFloats long).
 */
function packConv(weight: Float32Array, wshape: readonly number[], bias: Float32Array, out: Float32Array): void {
  const [M, C, KH, KW] = wshape as [number, number, number, number];
  const taps = KH * KW;
  const panels = Math.ceil(M / 8);
  const panelFloats = 8 + taps * C * 8;
  const rowStride = C * taps;
  for (let p = 0; p < panels; p++) {
    const base = p * panelFloats;
    const jn = Math.min(8, M - p * 8);
    for (let j = 0; j < jn; j++) out[base + j] = bias[p * 8 + j]!;
    for (let t = 0; t < taps; t++) {
      for (let c = 0; c < C; c++) {
        const o = base + 8 + (t * C + c) * 8;
        const src = p * 8 * rowStride + c * taps + t;
        for (let j = 0; j < jn; j++) out[o + j] = weight[src + j * rowStride]!;
      }
    }
  }
}

/**
 * Binary orders of magnitude a filter's largest weight may stand above its median one for Winograd. The
 * transforms mix every weight into every output of a tile, so a weight far out of scale leaks its rounding
 * error (about 1e-7 of it, times the transform's growth) into outputs it does not touch, where direct
 * convolution leaves exact zeros (after a ReLU most inputs are 0). 2^10 keeps that leak under 1e-3 of the
 * filter's ordinary contributions; trained and He-initialised filters span 2^2 to 2^5.
 */
const WINOGRAD_MAX_FILTER_SPAN_LOG2 = 10;

/** Whether every filter's weights lie within WINOGRAD_MAX_FILTER_SPAN_LOG2 of its median (by float exponents, one pass). */
function filtersSuitWinograd(weight: Float32Array, filters: number): boolean {
  const per = weight.length / filters;
  const bits = new Uint32Array(weight.buffer, weight.byteOffset, weight.length);
  const counts = new Int32Array(256);
  for (let m = 0; m < filters; m++) {
    counts.fill(0);
    let top = 0;
    for (let i = m * per; i < (m + 1) * per; i++) {
      const e = (bits[i]! >>> 23) & 0xff;
      counts[e]!++;
      if (e > top) top = e;
    }
    if (top === 0xff) return false; // Inf or NaN
    let median = 0;
    for (let seen = counts[0]!; seen * 2 < per; seen += counts[median]!) median++;
    if (top - median > WINOGRAD_MAX_FILTER_SPAN_LOG2) return false;
  }
  return true;
}

/**
 * Which Winograd transform a conv runs with, if any (3x3, stride 1, no dilation). F(4x4,3x3) needs 4x
 * fewer multiply-adds than direct but its weights are 4x the direct ones: it is used for small weights
 * (C x M <= 128 x 128) with at least 4 tiles per image and 16 input channels. F(2x2,3x3) (2.25x fewer,
 * weights 16/9) for the other layers with at least 32 input channels. Below these the GEMMs' K = C loop is
 * too short to pay for the transforms. Measured: 56x56x64 93 vs 61 effective GFLOPS (F4 vs F2), 8x8x64
 * 82 vs 63, 32x32x16 at batch 32 62 vs 41 (F4 vs direct).
 */
function winogradShape(s: ConvStep, inC: number, outL: ValueLayout): WinogradTransform | null {
  const [M, , kh, kw] = s.weight.shape as [number, number, number, number];
  const { strides, dilations } = s.attrs;
  if (kh !== 3 || kw !== 3 || strides[0] !== 1 || strides[1] !== 1 || dilations[0] !== 1 || dilations[1] !== 1 || inC < 16) return null;
  const tiles4 = Math.ceil(outL.h / 4) * Math.ceil(outL.w / 4);
  if (tiles4 >= 4 && inC * M <= 128 * 128) return WINOGRAD_F4X4_3X3;
  return inC >= 32 ? WINOGRAD_F2X2_3X3 : null;
}

/** winogradShape's choice, if the conv's filters suit Winograd (filtersSuitWinograd). */
function winogradFor(s: ConvStep, weight: Float32Array, inC: number, outL: ValueLayout): WinogradTransform | null {
  const tr = winogradShape(s, inC, outL);
  return tr && filtersSuitWinograd(weight, s.weight.shape[0]!) ? tr : null;
}

/**
 * Whether a Winograd conv keeps its 3x3 filters and transforms them per run (WinogradDesc.filtersOnTheFly)
 * instead of holding U, 16/9 (F2) or 4x (F4) their size: from 128 x 128 channels, where the weights are
 * the bulk of a net's memory (ResNet-50: 137 MB packed instead of 98) and a run reads each weight for
 * few tiles, so the GEMMs wait on memory more than on the transform. Measured in the README's load table.
 */
function winogradFiltersOnTheFly(C: number, M: number): boolean {
  return C * M >= 128 * 128;
}

/** Floats of a conv's packed Winograd weights: U (packWinograd) or the filters (packWinogradFilters), then the bias. */
const winogradPackedFloats = (tr: WinogradTransform, M: number, csIn: number, onTheFly: boolean): number => {
  const A = tr.m + 2;
  const panels = Math.ceil(M / 8);
  return (onTheFly ? panels * csIn * 9 * 8 : A * A * panels * (8 + csIn * 8)) + panels * 8;
};

/**
 * 3x3 filters for a Winograd kernel that transforms them per run: [panel][csIn][tap][8 filters] (padded
 * channels and filters zero), then the bias; written into `out` (zeroed, winogradPackedFloats long).
 */
function packWinogradFilters(weight: Float32Array, wshape: readonly number[], bias: Float32Array, csIn: number, out: Float32Array): void {
  const [M, C] = wshape as [number, number];
  const panels = Math.ceil(M / 8);
  for (let p = 0; p < panels; p++) {
    const jn = Math.min(8, M - p * 8);
    for (let c = 0; c < C; c++) {
      const at = (p * csIn + c) * 72;
      for (let j = 0; j < jn; j++) {
        const w = ((p * 8 + j) * C + c) * 9;
        for (let k = 0; k < 9; k++) out[at + k * 8 + j] = weight[w + k]!;
      }
    }
  }
  out.set(bias.subarray(0, M), panels * csIn * 72);
}

/**
 * Winograd weights U = G g G^T for each of the alpha^2 positions xi, each packed like a 1x1 conv over
 * csIn channels with a zero bias (the bias is added after the output transform), then the bias itself;
 * written into `out` (zeroed, winogradPackedFloats long).
 */
function packWinograd(tr: WinogradTransform, weight: Float32Array, wshape: readonly number[], bias: Float32Array, csIn: number, out: Float32Array): void {
  const [M, C] = wshape as [number, number];
  const A = tr.m + 2;
  const panels = Math.ceil(M / 8);
  const panelFloats = 8 + csIn * 8;
  const xiFloats = panels * panelFloats;
  const G = Float64Array.from(tr.g.flat());
  const gg = new Float64Array(A * 3);
  // Panel by panel, channel by channel, its 8 filters: each plane's 8 floats for (panel, channel) are written together.
  for (let p = 0; p < panels; p++) {
    const jn = Math.min(8, M - p * 8);
    for (let c = 0; c < C; c++) {
      const at = p * panelFloats + 8 + c * 8;
      for (let j = 0; j < jn; j++) {
        const w = ((p * 8 + j) * C + c) * 9;
        const g00 = weight[w]!, g01 = weight[w + 1]!, g02 = weight[w + 2]!;
        const g10 = weight[w + 3]!, g11 = weight[w + 4]!, g12 = weight[w + 5]!;
        const g20 = weight[w + 6]!, g21 = weight[w + 7]!, g22 = weight[w + 8]!;
        // G g (A x 3), then (G g) G^T (A x A), in double precision (the same sums in the same order as ever).
        for (let r = 0; r < A; r++) {
          const a0 = G[r * 3]!, a1 = G[r * 3 + 1]!, a2 = G[r * 3 + 2]!;
          gg[r * 3] = a0 * g00 + a1 * g10 + a2 * g20;
          gg[r * 3 + 1] = a0 * g01 + a1 * g11 + a2 * g21;
          gg[r * 3 + 2] = a0 * g02 + a1 * g12 + a2 * g22;
        }
        for (let r = 0; r < A; r++) {
          const b0 = gg[r * 3]!, b1 = gg[r * 3 + 1]!, b2 = gg[r * 3 + 2]!;
          for (let k = 0; k < A; k++) out[(r * A + k) * xiFloats + at + j] = b0 * G[k * 3]! + b1 * G[k * 3 + 1]! + b2 * G[k * 3 + 2]!;
        }
      }
    }
  }
  for (let m = 0; m < M; m++) out[A * A * xiFloats + m] = bias[m]!;
}

/**
 * FC weights [M,K] -> the same panels with one tap over the input's physical row: when the input is a
 * flattened NHWC map ([C,H,W] with H*W > 1), logical feature c*HW + hw sits at hw*cs + c.
 */
const fcPackedFloats = (M: number, kPhys: number): number => Math.ceil(M / 8) * (8 + kPhys * 8);

function packFc(weight: Float32Array, M: number, K: number, bias: Float32Array, src: ValueLayout, out: Float32Array): void {
  const hw = src.h * src.w;
  const kPhys = hw * src.cs;
  const physOf = new Int32Array(K);
  for (let c = 0; c < src.c; c++) for (let i = 0; i < hw; i++) physOf[c * hw + i] = i * src.cs + c;
  const panels = Math.ceil(M / 8);
  const panelFloats = 8 + kPhys * 8;
  for (let p = 0; p < panels; p++) {
    const base = p * panelFloats;
    const jn = Math.min(8, M - p * 8);
    for (let j = 0; j < jn; j++) out[base + j] = bias[p * 8 + j]!;
    for (let k = 0; k < K; k++) {
      const o = base + 8 + physOf[k]! * 8;
      const from = p * 8 * K + k;
      for (let j = 0; j < jn; j++) out[o + j] = weight[from + j * K]!;
    }
  }
}

/** Per-step data that does not depend on the batch size: where its packed weights are and how they are packed. */
export interface StepConst {
  /** Byte offset of packed data (or BN scale/shift) inside the weights region. */
  readonly offset: number;
  /** Floats there. */
  readonly floats: number;
  /** fc: physical reduction length. */
  readonly kPhys?: number;
  /** conv run as Winograd (packed holds U, or the filters when winogradOnTheFly, then the bias). */
  readonly winograd?: WinogradTransform;
  readonly winogradOnTheFly?: boolean;
}

/** Where packed weights go: `floats` zeroed floats at byte `offset` of the weights region. */
export type PackTarget = (offset: number, floats: number) => Float32Array;

function checkConv(s: ConvStep, cin: number): void {
  if (s.weight.shape.length !== 4) throw new Error(`wasm engine: conv ${s.name} weight ${shapeStr(s.weight.shape)} is not 4-D`);
  if (s.weight.shape[1] !== cin) {
    throw new Error(`wasm engine: conv ${s.name} weight ${shapeStr(s.weight.shape)} vs input with ${cin} channels (groups are not supported)`);
  }
}

/** The fc's physical reduction length: its input's NHWC row (a flattened map's, when it is one). */
function fcSource(s: FcStep, layouts: readonly ValueLayout[]): ValueLayout {
  const src = layouts[s.input]!;
  return src.source ?? src;
}

/**
 * Bytes the packed weights take at most, before any is read (a conv may run as Winograd, whose weights
 * are larger, unless its filters turn out unsuited): the memory is grown once, to this, before packing.
 */
export function packedBytesBound(plan: Plan, layouts: readonly ValueLayout[], winograd = true): number {
  let bytes = 0;
  for (const s of plan.steps) {
    let floats = 0;
    if (s.kind === 'conv') {
      const [M, C, kh, kw] = s.weight.shape as [number, number, number, number];
      floats = convPackedFloats(M, C, kh * kw);
      const tr = winograd ? winogradShape(s, layouts[s.input]!.c, layouts[s.output]!) : null;
      if (tr) floats = Math.max(floats, winogradPackedFloats(tr, M, layouts[s.input]!.cs, winogradFiltersOnTheFly(C, M)));
    } else if (s.kind === 'fc') {
      const src = fcSource(s, layouts);
      floats = fcPackedFloats(s.weight.shape[0]!, src.h * src.w * src.cs);
    } else if (s.kind === 'batchNorm') {
      floats = 2 * layouts[s.input]!.cs;
    }
    bytes += roundUp(floats * 4, ALIGN);
  }
  return bytes;
}

/** Floats of the staging array packSteps reads each layer's weights into: the largest conv or fc weight. */
export function packStagingFloats(plan: Plan): number {
  return Math.max(0, ...plan.steps.map((s) => (s.kind === 'conv' || s.kind === 'fc' ? sizeOf(s.weight.shape) : 0)));
}

/**
 * Packs every step's weights, one step at a time: each conv's or fc's weights are read once (computed from
 * the model file's bytes, BN folded in, plan.ts: computedWeight) into `staging` (packStagingFloats long;
 * default a fresh array), packed straight into `target` (the engine's memory) and let go, so the float
 * weights are never all held at once. Without a target the packed data is made and dropped (to see how
 * each step would run).
 */
export function packSteps(
  plan: Plan, layouts: readonly ValueLayout[], winograd = true, target?: PackTarget, staging?: Float32Array,
): { consts: StepConst[]; bytes: number } {
  let off = 0;
  const consts: StepConst[] = [];
  const dest: PackTarget = target ?? ((_, floats) => new Float32Array(floats));
  const read = (w: Tensor): Float32Array => {
    const write = writerOf(w);
    if (!write) return w.data;
    staging ??= new Float32Array(packStagingFloats(plan));
    const dst = staging.subarray(0, sizeOf(w.shape));
    write(dst);
    return dst;
  };
  for (const s of plan.steps) {
    let c: StepConst = { offset: off, floats: 0 };
    if (s.kind === 'conv') {
      const cin = layouts[s.input]!.c;
      checkConv(s, cin);
      const [M, C, kh, kw] = s.weight.shape as [number, number, number, number];
      const weight = read(s.weight);
      const tr = winograd ? winogradFor(s, weight, cin, layouts[s.output]!) : null;
      if (tr) {
        const csIn = layouts[s.input]!.cs;
        const onTheFly = winogradFiltersOnTheFly(C, M);
        c = { offset: off, floats: winogradPackedFloats(tr, M, csIn, onTheFly), winograd: tr, winogradOnTheFly: onTheFly };
        if (onTheFly) packWinogradFilters(weight, s.weight.shape, s.bias, csIn, dest(off, c.floats));
        else packWinograd(tr, weight, s.weight.shape, s.bias, csIn, dest(off, c.floats));
      } else {
        c = { offset: off, floats: convPackedFloats(M, C, kh * kw) };
        packConv(weight, s.weight.shape, s.bias, dest(off, c.floats));
      }
    } else if (s.kind === 'fc') {
      const [M, K] = s.weight.shape as [number, number];
      const src = fcSource(s, layouts);
      if (src.c * src.h * src.w !== K) throw new Error(`wasm engine: fc weight has K=${K}, input has ${src.c}x${src.h}x${src.w}`);
      const kPhys = src.h * src.w * src.cs;
      c = { offset: off, floats: fcPackedFloats(M, kPhys), kPhys };
      packFc(read(s.weight), M, K, s.bias, src, dest(off, c.floats));
    } else if (s.kind === 'batchNorm') {
      const cs = layouts[s.input]!.cs;
      c = { offset: off, floats: 2 * cs };
      const ss = dest(off, c.floats);
      ss.set(s.scale, 0);
      ss.set(s.shift, cs);
    }
    off += roundUp(c.floats * 4, ALIGN);
    consts.push(c);
  }
  return { consts, bytes: off };
}

/** The buffer a value's bytes live in (flatten outputs alias their source). */
export function rootOf(layouts: readonly ValueLayout[], id: ValueId): ValueId {
  return layouts[id]!.aliasOf ?? id;
}

/**
 * Liveness-based arena: each buffer lives from the step that writes it to the last step that reads it
 * (external inputs from the start, kept outputs to the end); buffers are placed largest first at the
 * lowest offset that overlaps no buffer alive at the same time. A step that adds a residual (a conv's
 * fused one, or an add) writes into that buffer when this step is its last reader: each element is read
 * just before the same element is written (ResNet-50 at batch 1: 6.9 -> 5.0 MB).
 */
export function planArena(plan: Plan, layouts: readonly ValueLayout[], batch: number, externalInputs: readonly ValueId[], keep: readonly ValueId[], wasmSteps: number): { offsets: Map<ValueId, number>; bytes: number } {
  const steps = plan.steps.slice(0, wasmSteps);
  const lastRead = new Map<ValueId, number>();
  for (const id of externalInputs) lastRead.set(rootOf(layouts, id), Infinity);
  for (const id of keep) lastRead.set(rootOf(layouts, id), Infinity);
  steps.forEach((s, i) => {
    for (const id of stepInputs(s)) {
      const r = rootOf(layouts, id);
      if (lastRead.get(r) !== Infinity) lastRead.set(r, i);
    }
  });
  // The buffer each root shares (itself unless it is written in place of a dying residual).
  const bufferOf = new Map<ValueId, ValueId>();
  const buffer = (id: ValueId): ValueId => {
    const r = rootOf(layouts, id);
    return bufferOf.get(r) ?? r;
  };
  steps.forEach((s, i) => {
    const out = rootOf(layouts, s.output);
    if (out !== s.output) return;
    for (const res of inPlaceCandidates(s)) {
      const r = rootOf(layouts, res);
      // A conv reads its input around each output pixel: never in place of a residual that is also its input.
      if (s.kind === 'conv' && r === rootOf(layouts, s.input)) continue;
      if (lastRead.get(r) === i && sameLayout(layouts[r]!, layouts[out]!) && !bufferOf.has(out)) bufferOf.set(out, buffer(r));
    }
  });
  const first = new Map<ValueId, number>();
  const last = new Map<ValueId, number>();
  const touch = (id: ValueId, step: number): void => {
    const b = buffer(id);
    if (!first.has(b)) first.set(b, step);
    last.set(b, Math.max(last.get(b) ?? step, step));
  };
  for (const id of externalInputs) touch(id, -1);
  steps.forEach((s, i) => {
    for (const id of stepInputs(s)) touch(id, i);
    touch(s.output, i);
  });
  for (const id of keep) touch(id, wasmSteps);
  const buffers = [...first.keys()].map((id) => ({ id, from: first.get(id)!, to: last.get(id)!, size: roundUp(layoutBytes(layouts[id]!) * batch, ALIGN) }));
  buffers.sort((a, b) => b.size - a.size || a.from - b.from);
  const placed: { from: number; to: number; off: number; size: number }[] = [];
  const offsets = new Map<ValueId, number>();
  let total = 0;
  for (const b of buffers) {
    const clash = placed.filter((p) => p.from <= b.to && b.from <= p.to).sort((x, y) => x.off - y.off);
    let off = 0;
    for (const p of clash) {
      if (off + b.size <= p.off) break;
      off = Math.max(off, p.off + p.size);
    }
    placed.push({ from: b.from, to: b.to, off, size: b.size });
    offsets.set(b.id, off);
    total = Math.max(total, off + b.size);
  }
  for (const [root, b] of bufferOf) offsets.set(root, offsets.get(b)!);
  return { offsets, bytes: total };
}

/** The values a step may write its output over, if they die there: a conv's fused residual, an add's operands. */
function inPlaceCandidates(s: Step): ValueId[] {
  if (s.kind === 'conv') return s.residual !== undefined ? [s.residual] : [];
  if (s.kind === 'add') return s.a === s.b ? [] : [s.a, s.b];
  return [];
}

const sameLayout = (a: ValueLayout, b: ValueLayout): boolean => a.c === b.c && a.h === b.h && a.w === b.w && a.cs === b.cs && !a.source && !b.source;

export interface ConvGeometry {
  readonly n: number; readonly h: number; readonly w: number; readonly c: number; readonly cs: number;
  readonly oh: number; readonly ow: number; readonly kh: number; readonly kw: number;
  readonly sh: number; readonly sw: number; readonly pt: number; readonly pl: number; readonly dh: number; readonly dw: number;
}

function convGeometry(s: ConvStep, inL: ValueLayout, outL: ValueLayout, batch: number): ConvGeometry {
  const [, , kh, kw] = s.weight.shape as [number, number, number, number];
  const { strides, pads, dilations } = s.attrs;
  const oh = windowOutputSize(inL.h, kh, strides[0], dilations[0], pads[0], pads[2]);
  const ow = windowOutputSize(inL.w, kw, strides[1], dilations[1], pads[1], pads[3]);
  if (oh !== outL.h || ow !== outL.w) {
    throw new Error(`wasm engine: conv ${s.name} output ${oh}x${ow} disagrees with the plan's ${outL.h}x${outL.w}`);
  }
  return { n: batch, h: inL.h, w: inL.w, c: inL.c, cs: inL.cs, oh, ow, kh, kw, sh: strides[0], sw: strides[1], pt: pads[0], pl: pads[1], dh: dilations[0], dw: dilations[1] };
}

const isDirectConv = (g: ConvGeometry): boolean =>
  g.kh === 1 && g.kw === 1 && g.sh === 1 && g.sw === 1 && g.pt === 0 && g.pl === 0;

/** Indirection table: per tile of `mr` output pixels, per tap, `mr` byte addresses of input rows (or `zeroAddr`). */
function buildIndirection(g: ConvGeometry, mr: number, inAddr: number, zeroAddr: number): Int32Array {
  const P = g.n * g.oh * g.ow;
  const tiles = Math.ceil(P / mr);
  const taps = g.kh * g.kw;
  const out = new Int32Array(tiles * taps * mr);
  const rowBytes = g.cs * 4;
  let i = 0;
  for (let t = 0; t < tiles; t++) {
    for (let ky = 0; ky < g.kh; ky++) {
      for (let kx = 0; kx < g.kw; kx++) {
        for (let r = 0; r < mr; r++) {
          const p = Math.min(t * mr + r, P - 1);
          const n = Math.floor(p / (g.oh * g.ow));
          const oy = Math.floor(p / g.ow) % g.oh;
          const ox = p % g.ow;
          const iy = oy * g.sh - g.pt + ky * g.dh;
          const ix = ox * g.sw - g.pl + kx * g.dw;
          out[i++] = iy >= 0 && iy < g.h && ix >= 0 && ix < g.w ? inAddr + ((n * g.h + iy) * g.w + ix) * rowBytes : zeroAddr;
        }
      }
    }
  }
  return out;
}

export interface ProgramContext {
  readonly plan: Plan;
  readonly layouts: readonly ValueLayout[];
  readonly consts: readonly StepConst[];
  readonly batch: number;
  readonly threads: number;
  readonly mr: number;
  /** Byte address of each value's buffer. */
  readonly addr: (id: ValueId) => number;
  readonly weightsAddr: number;
  readonly zeroAddr: number;
  /** Reserves `bytes` for an indirection table and returns its address. */
  readonly allocIndirection: (bytes: number) => number;
  readonly writeInt32: (addr: number, data: Int32Array) => void;
  /** Per-thread scratch shared by all Winograd steps (see scratchBytesPerThread). */
  readonly scratchAddr: number;
  readonly scratchBytesPerThread: number;
}

/** Scratch budget per thread for a Winograd block (V and M of `tileBlock` tiles). */
const WINOGRAD_SCRATCH_BYTES = 2 << 20;

/** Tiles per Winograd block: this thread's share if it fits the budget, in multiples of the micro-kernel rows. */
function winogradTileBlock(tr: WinogradTransform, tiles: number, threads: number, csIn: number, csOut: number, mr: number, onTheFly: boolean): number {
  const share = winogradSplitsPanels(tiles, threads, csOut, onTheFly) ? tiles : Math.ceil(tiles / threads);
  const A = tr.m + 2;
  const fit = Math.floor(WINOGRAD_SCRATCH_BYTES / (A * A * (csIn + csOut) * 4));
  return Math.max(mr, Math.min(roundUp(share, mr), Math.floor(fit / mr) * mr));
}

/** Bytes of transformed filters (U) a thread makes at a time when they are transformed per run. */
const WINOGRAD_U_GROUP_BYTES = 256 << 10;

/** Panels whose U a thread makes at a time (WinogradDesc.filtersOnTheFly), 0 when U is packed. */
function winogradGroupPanels(tr: WinogradTransform, csIn: number, csOut: number, onTheFly: boolean): number {
  if (!onTheFly) return 0;
  const A = tr.m + 2;
  const fit = Math.floor(WINOGRAD_U_GROUP_BYTES / (A * A * (8 + csIn * 8) * 4));
  return Math.max(1, Math.min(Math.ceil(csOut / 8), fit));
}

/**
 * Few tiles per thread (late layers at small batch): split output channels instead, each weight read once.
 * Always with filters transformed on the fly, so that each panel's U is made once per block of tiles.
 */
function winogradSplitsPanels(tiles: number, threads: number, csOut: number, onTheFly: boolean): boolean {
  return onTheFly || (threads > 1 && tiles < 16 * threads && csOut / 8 >= 2 * threads);
}

function winogradTiles(tr: WinogradTransform, outL: ValueLayout, batch: number): number {
  return batch * Math.ceil(outL.h / tr.m) * Math.ceil(outL.w / tr.m);
}

/** The Winograd scratch one thread needs for the largest Winograd step of the plan (0 without any). */
export function scratchBytesPerThread(plan: Plan, layouts: readonly ValueLayout[], consts: readonly StepConst[], batch: number, threads: number, mr: number): number {
  let most = 0;
  plan.steps.forEach((s, i) => {
    const { winograd: tr, winogradOnTheFly: onTheFly = false } = consts[i]!;
    if (s.kind !== 'conv' || !tr) return;
    const inL = layouts[s.input]!, outL = layouts[s.output]!;
    const tb = winogradTileBlock(tr, winogradTiles(tr, outL, batch), threads, inL.cs, outL.cs, mr, onTheFly);
    most = Math.max(most, winogradScratchBytes(tr, tb, inL.cs, outL.cs, winogradGroupPanels(tr, inL.cs, outL.cs, onTheFly)));
  });
  return roundUp(most, ALIGN);
}

/** L2-sized input working set per block of tiles (the weights panel sweeps over the block). */
const TILE_BLOCK_BYTES = 1 << 20;

/** The descriptors (DESC_WORDS i32 each) of the wasm-run steps. */
export function buildProgram(ctx: ProgramContext, wasmSteps: number): Int32Array {
  const prog = new Int32Array(wasmSteps * DESC_WORDS);
  const { layouts, batch: N } = ctx;
  for (let i = 0; i < wasmSteps; i++) {
    const s = ctx.plan.steps[i]!;
    const d = prog.subarray(i * DESC_WORDS, (i + 1) * DESC_WORDS);
    const inL = 'input' in s ? layouts[s.input]! : undefined;
    const outL = layouts[s.output]!;
    switch (s.kind) {
      case 'conv':
        fillConv(ctx, d, s, inL!, outL);
        break;
      case 'fc':
        fillFc(ctx, d, s, inL!, outL);
        break;
      case 'maxPool':
      case 'avgPool': {
        const { kernel, strides, pads, dilations } = s.attrs;
        if (inL!.cs % 4 !== 0) throw new Error(`wasm engine: pool ${s.name} input stride ${inL!.cs} is not a multiple of 4`);
        d[PoolDesc.kind] = s.kind === 'maxPool' ? Kind.maxPool : Kind.avgPool;
        d[PoolDesc.input] = ctx.addr(s.input);
        d[PoolDesc.output] = ctx.addr(s.output);
        d[PoolDesc.n] = N; d[PoolDesc.h] = inL!.h; d[PoolDesc.w] = inL!.w; d[PoolDesc.oh] = outL.h; d[PoolDesc.ow] = outL.w;
        d[PoolDesc.cs] = inL!.cs; d[PoolDesc.kh] = kernel[0]; d[PoolDesc.kw] = kernel[1];
        d[PoolDesc.sh] = strides[0]; d[PoolDesc.sw] = strides[1]; d[PoolDesc.padTop] = pads[0]; d[PoolDesc.padLeft] = pads[1];
        d[PoolDesc.padBottom] = pads[2]; d[PoolDesc.padRight] = pads[3]; d[PoolDesc.dh] = dilations[0]; d[PoolDesc.dw] = dilations[1];
        d[PoolDesc.countIncludePad] = s.attrs.countIncludePad ? 1 : 0;
        break;
      }
      case 'globalAvgPool':
        d[GavgPoolDesc.kind] = Kind.gavgPool;
        d[GavgPoolDesc.input] = ctx.addr(s.input);
        d[GavgPoolDesc.output] = ctx.addr(s.output);
        d[GavgPoolDesc.n] = N; d[GavgPoolDesc.hw] = inL!.h * inL!.w; d[GavgPoolDesc.cs] = inL!.cs;
        break;
      case 'add':
        d[ElementwiseDesc.kind] = Kind.vadd;
        d[ElementwiseDesc.a] = ctx.addr(s.a); d[ElementwiseDesc.b] = ctx.addr(s.b); d[ElementwiseDesc.output] = ctx.addr(s.output);
        d[ElementwiseDesc.vectors] = (N * layoutBytes(outL)) / 16; d[ElementwiseDesc.relu] = s.relu ? 1 : 0;
        break;
      case 'relu':
        d[ElementwiseDesc.kind] = Kind.vrelu;
        d[ElementwiseDesc.a] = ctx.addr(s.input); d[ElementwiseDesc.output] = ctx.addr(s.output);
        d[ElementwiseDesc.vectors] = (N * layoutBytes(outL)) / 16;
        break;
      case 'batchNorm': {
        const c = ctx.consts[i]!;
        d[VmulcaddcDesc.kind] = Kind.vmulcaddc;
        d[VmulcaddcDesc.input] = ctx.addr(s.input); d[VmulcaddcDesc.output] = ctx.addr(s.output);
        d[VmulcaddcDesc.rows] = N * outL.h * outL.w; d[VmulcaddcDesc.cs] = outL.cs;
        d[VmulcaddcDesc.scale] = ctx.weightsAddr + c.offset; d[VmulcaddcDesc.shift] = ctx.weightsAddr + c.offset + outL.cs * 4;
        break;
      }
      case 'shortcutA':
        d[GatherSubsampleDesc.kind] = Kind.gatherSubsample;
        d[GatherSubsampleDesc.input] = ctx.addr(s.input); d[GatherSubsampleDesc.output] = ctx.addr(s.output);
        d[GatherSubsampleDesc.n] = N; d[GatherSubsampleDesc.h] = inL!.h; d[GatherSubsampleDesc.w] = inL!.w; d[GatherSubsampleDesc.oh] = outL.h; d[GatherSubsampleDesc.ow] = outL.w;
        d[GatherSubsampleDesc.csIn] = inL!.cs; d[GatherSubsampleDesc.csOut] = outL.cs; d[GatherSubsampleDesc.stride] = s.stride;
        break;
      case 'flatten': {
        // Same bytes under another name: nothing to run. A no-op relu over zero vectors keeps the barrier count simple.
        d[ElementwiseDesc.kind] = Kind.vrelu;
        d[ElementwiseDesc.vectors] = 0;
        break;
      }
      case 'pad':
      case 'slice':
        fillRemap(ctx, d, s, inL!, outL);
        break;
      case 'softmax':
        throw new Error(`wasm engine: ${s.kind} step ${s.name} cannot run in the wasm program`);
    }
  }
  return prog;
}

/** Per axis (C, H, W) of a value: out index i reads input index i * step + offset. */
function remapAxes(s: PadStep | SliceStep, inL: ValueLayout, rank: number): { step: number; offset: number }[] {
  const dims = [inL.c, inL.h, inL.w];
  const axes = dims.map(() => ({ step: 1, offset: 0 }));
  if (s.kind === 'pad') {
    if (s.pads.length !== 2 * rank) throw new Error(`wasm engine: pad ${s.name} has ${s.pads.length} pads for rank ${rank}`);
    if (s.pads[0] !== 0 || s.pads[rank] !== 0) throw new Error(`wasm engine: pad ${s.name} pads the batch axis`);
    for (let a = 1; a < rank; a++) axes[a - 1] = { step: 1, offset: -s.pads[a]! };
    return axes;
  }
  s.axes.forEach((axis, k) => {
    const a = axis < 0 ? axis + rank : axis;
    if (a < 1 || a >= rank) throw new Error(`wasm engine: slice ${s.name} on axis ${axis} of rank ${rank} (the batch axis is not sliced)`);
    const r = resolveSliceAxis(dims[a - 1]!, s.starts[k]!, s.ends[k]!, s.steps[k]!);
    axes[a - 1] = { step: r.step, offset: r.start };
  });
  return axes;
}

function fillRemap(ctx: ProgramContext, d: Int32Array, s: PadStep | SliceStep, inL: ValueLayout, outL: ValueLayout): void {
  const rank = ctx.plan.values[s.input]!.shape.length + 1;
  if (inL.aliasOf !== undefined && inL.source) throw new Error(`wasm engine: ${s.kind} ${s.name} of a flattened map is not supported`);
  const [ac, ay, ax] = remapAxes(s, inL, rank) as [{ step: number; offset: number }, { step: number; offset: number }, { step: number; offset: number }];
  const R = GatherDesc;
  d[R.kind] = Kind.gather;
  d[R.input] = ctx.addr(s.input); d[R.output] = ctx.addr(s.output);
  d[R.n] = ctx.batch; d[R.c] = inL.c; d[R.h] = inL.h; d[R.w] = inL.w; d[R.csIn] = inL.cs;
  d[R.oc] = outL.c; d[R.oh] = outL.h; d[R.ow] = outL.w; d[R.csOut] = outL.cs;
  d[R.sc] = ac.step; d[R.offC] = ac.offset; d[R.sy] = ay.step; d[R.offY] = ay.offset; d[R.sx] = ax.step; d[R.offX] = ax.offset;
  d[R.valueBits] = new Int32Array(new Float32Array([s.kind === 'pad' ? s.value : 0]).buffer)[0]!;
}

function splitAndBlock(d: Int32Array, ctx: ProgramContext, tiles: number, panels: number, tileInputBytes: number): void {
  // Few tiles per thread: split the output channels instead, so each thread streams only its weights.
  const byTiles = tiles >= 8 * ctx.threads || panels < 2 * ctx.threads;
  d[IgemmDesc.splitPanels] = byTiles ? 0 : 1;
  d[IgemmDesc.tileBlock] = Math.max(1, Math.floor(TILE_BLOCK_BYTES / Math.max(1, tileInputBytes)));
}

function fillWinograd(ctx: ProgramContext, d: Int32Array, s: ConvStep, inL: ValueLayout, outL: ValueLayout, c: StepConst, tr: WinogradTransform): void {
  const g = convGeometry(s, inL, outL, ctx.batch);
  const panels = Math.ceil(outL.c / 8);
  const panelBytes = (8 + inL.cs * 8) * 4;
  const A = tr.m + 2;
  const tiles = winogradTiles(tr, outL, ctx.batch);
  const W = WinogradDesc;
  const onTheFly = c.winogradOnTheFly ?? false;
  d[W.kind] = tr.m === 4 ? (onTheFly ? Kind.winogradF4x4Filters : Kind.winogradF4x4) : (onTheFly ? Kind.winogradF2x2Filters : Kind.winogradF2x2);
  d[W.input] = ctx.addr(s.input);
  d[W.output] = ctx.addr(s.output);
  d[W.residual] = s.residual !== undefined ? ctx.addr(s.residual) : 0;
  if (s.residual !== undefined && ctx.layouts[s.residual]!.cs !== outL.cs) {
    throw new Error(`wasm engine: conv ${s.name} residual stride ${ctx.layouts[s.residual]!.cs} != output stride ${outL.cs}`);
  }
  d[W.weights] = ctx.weightsAddr + c.offset;
  d[W.bias] = ctx.weightsAddr + c.offset + (onTheFly ? panels * inL.cs * 9 * 32 : A * A * panels * panelBytes);
  d[W.filtersOnTheFly] = winogradGroupPanels(tr, inL.cs, outL.cs, onTheFly);
  d[W.n] = ctx.batch; d[W.h] = g.h; d[W.w] = g.w; d[W.oh] = g.oh; d[W.ow] = g.ow;
  d[W.csIn] = inL.cs; d[W.csOut] = outL.cs; d[W.padTop] = g.pt; d[W.padLeft] = g.pl;
  d[W.relu] = s.relu ? 1 : 0;
  d[W.scratch] = ctx.scratchAddr;
  d[W.scratchBytes] = ctx.scratchBytesPerThread;
  d[W.tileBlock] = winogradTileBlock(tr, tiles, ctx.threads, inL.cs, outL.cs, ctx.mr, onTheFly);
  d[W.panels] = panels;
  d[W.panelBytes] = panelBytes;
  d[W.zero] = ctx.zeroAddr;
  d[W.splitPanels] = winogradSplitsPanels(tiles, ctx.threads, outL.cs, onTheFly) ? 1 : 0;
}

function fillConv(ctx: ProgramContext, d: Int32Array, s: ConvStep, inL: ValueLayout, outL: ValueLayout): void {
  const c = ctx.consts[ctx.plan.steps.indexOf(s)]!;
  if (c.winograd) {
    fillWinograd(ctx, d, s, inL, outL, c, c.winograd);
    return;
  }
  const g = convGeometry(s, inL, outL, ctx.batch);
  const P = ctx.batch * g.oh * g.ow;
  const taps = g.kh * g.kw;
  const tiles = Math.ceil(P / ctx.mr);
  const panels = Math.ceil(outL.c / 8);
  d[IgemmDesc.kind] = Kind.igemm;
  d[IgemmDesc.input] = ctx.addr(s.input);
  d[IgemmDesc.output] = ctx.addr(s.output);
  d[IgemmDesc.residual] = s.residual !== undefined ? ctx.addr(s.residual) : 0;
  if (s.residual !== undefined && ctx.layouts[s.residual]!.cs !== outL.cs) {
    throw new Error(`wasm engine: conv ${s.name} residual stride ${ctx.layouts[s.residual]!.cs} != output stride ${outL.cs}`);
  }
  d[IgemmDesc.weights] = ctx.weightsAddr + c.offset;
  if (isDirectConv(g)) {
    d[IgemmDesc.indirection] = 0;
  } else {
    const table = buildIndirection(g, ctx.mr, ctx.addr(s.input), ctx.zeroAddr);
    const at = ctx.allocIndirection(table.byteLength);
    ctx.writeInt32(at, table);
    d[IgemmDesc.indirection] = at;
  }
  d[IgemmDesc.pixels] = P;
  d[IgemmDesc.channels] = g.c;
  d[IgemmDesc.taps] = taps;
  d[IgemmDesc.inRowBytes] = g.cs * 4;
  d[IgemmDesc.outRowBytes] = outL.cs * 4;
  d[IgemmDesc.panels] = panels;
  d[IgemmDesc.relu] = s.relu ? 1 : 0;
  d[IgemmDesc.panelBytes] = (8 + taps * g.c * 8) * 4;
  splitAndBlock(d, ctx, tiles, panels, ctx.mr * taps * g.c * 4);
}

function fillFc(ctx: ProgramContext, d: Int32Array, s: FcStep, inL: ValueLayout, outL: ValueLayout): void {
  const c = ctx.consts[ctx.plan.steps.indexOf(s)]!;
  const kPhys = c.kPhys!;
  const panels = Math.ceil(outL.c / 8);
  d[IgemmDesc.kind] = Kind.igemm;
  d[IgemmDesc.input] = ctx.addr(s.input);
  d[IgemmDesc.output] = ctx.addr(s.output);
  d[IgemmDesc.residual] = 0;
  d[IgemmDesc.weights] = ctx.weightsAddr + c.offset;
  d[IgemmDesc.indirection] = 0;
  d[IgemmDesc.pixels] = ctx.batch;
  d[IgemmDesc.channels] = kPhys;
  d[IgemmDesc.taps] = 1;
  d[IgemmDesc.inRowBytes] = layoutBytes(inL.source ?? inL);
  d[IgemmDesc.outRowBytes] = outL.cs * 4;
  d[IgemmDesc.panels] = panels;
  d[IgemmDesc.relu] = s.relu ? 1 : 0;
  d[IgemmDesc.panelBytes] = (8 + kPhys * 8) * 4;
  splitAndBlock(d, ctx, Math.ceil(ctx.batch / ctx.mr), panels, ctx.mr * kPhys * 4);
}

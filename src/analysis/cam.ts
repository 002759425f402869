// Class activation maps (Zhou et al. 2016, "Learning Deep Features for Discriminative Localization").
// For a net that ends in global average pooling and one fully-connected layer, logit_c = b_c + mean over
// positions of sum_k w[c,k] * A_k(x,y), where A is the last block's output. The map of class c is that
// sum before the mean: no gradients, only one extra output (A) from whichever engine runs the net.
// Pure functions over typed arrays, shared by the CLI and the app.
import type { Graph, GraphNode, IrTensor } from '../graph/ir';

/** Where a net's class activation maps come from: the pooled value's name and the FC layer after it. */
export interface CamHead {
  /** The value global average pooling reads: the last block's output [N,C,h,w]. */
  readonly features: string;
  /** FC weights as [classes, channels], row c weighting channel k. */
  readonly weight: Float32Array;
  readonly classes: number;
  readonly channels: number;
}

/** Ops between the pooling and the FC layer that only reshape. */
const RESHAPES = new Set(['Flatten', 'Reshape', 'Squeeze', 'Identity', 'Dropout']);

function floats(t: IrTensor | undefined): Float32Array | undefined {
  return t?.dtype === 'float32' ? t.data : undefined;
}

/** [rows, cols] as [cols, rows]. */
function transpose(data: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(data.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = data[r * cols + c]!;
  return out;
}

/**
 * The GAP + FC head of a graph, or null when the net does not end that way (then it has no free CAM).
 * The FC may be a Gemm (PyTorch's export: transB=1) or a MatMul with a [C,K] weight.
 */
export function findCamHead(graph: Graph): CamHead | null {
  const pools = graph.nodes.filter((n) => n.op === 'GlobalAveragePool');
  if (pools.length !== 1) return null;
  const consumer = (value: string): GraphNode | undefined => {
    const users = graph.nodes.filter((n) => n.inputs.includes(value));
    return users.length === 1 ? users[0] : undefined;
  };
  let node = consumer(pools[0]!.outputs[0]!);
  while (node && RESHAPES.has(node.op)) node = consumer(node.outputs[0]!);
  if (!node) return null;
  const w = graph.initializers.get(node.inputs[1] ?? '');
  const data = floats(w);
  if (!w || !data || w.dims.length !== 2) return null;
  if (node.op !== 'Gemm' && node.op !== 'MatMul') return null;
  if (node.op === 'Gemm' && node.attrs['transA']?.value) return null;
  // Gemm as PyTorch exports it holds [classes, channels] (transB=1); MatMul and transB=0 hold the transpose.
  // The head must be what the net answers with: from the FC to its first output, only an optional bias
  // Add, a Softmax or reshapes.
  let last = node.outputs[0]!;
  for (let next = consumer(last); next && (RESHAPES.has(next.op) || next.op === 'Softmax' || next.op === 'Add'); next = consumer(last)) {
    last = next.outputs[0]!;
  }
  if (graph.outputs[0]?.name !== last) return null;
  const transB = node.op === 'Gemm' && node.attrs['transB']?.value === 1;
  const [d0, d1] = w.dims as [number, number];
  const [classes, channels] = transB ? [d0, d1] : [d1, d0];
  const weight = transB ? data : transpose(data, d0, d1);
  return { features: pools[0]!.inputs[0]!, weight, classes, channels };
}

/**
 * The class activation map of class `cls` for sample `n` of features [N,C,h,w]: an [h,w] map whose mean is
 * the class's logit less its bias.
 */
export function classActivationMap(features: { shape: readonly number[]; data: Float32Array }, head: CamHead, cls: number, n = 0): Float32Array {
  const [batch, c, h, w] = features.shape as [number, number, number, number];
  if (features.shape.length !== 4 || c !== head.channels) {
    throw new Error(`class activation map: features [${features.shape.join(',')}] do not match the FC layer's ${head.channels} channels`);
  }
  if (n < 0 || n >= batch) throw new Error(`class activation map: sample ${n} of a batch of ${batch}`);
  if (!Number.isInteger(cls) || cls < 0 || cls >= head.classes) throw new Error(`class activation map: class ${cls} of ${head.classes}`);
  const hw = h * w;
  const map = new Float32Array(hw);
  const base = n * c * hw;
  for (let k = 0; k < c; k++) {
    const wk = head.weight[cls * c + k]!;
    const off = base + k * hw;
    for (let i = 0; i < hw; i++) map[i]! += wk * features.data[off + i]!;
  }
  return map;
}

/** Bilinear resize of an [h,w] map to [outH,outW] (pixel centres aligned, as images are resized). */
export function resizeMap(map: Float32Array, h: number, w: number, outH: number, outW: number): Float32Array {
  const out = new Float32Array(outH * outW);
  const sy = h / outH, sx = w / outW;
  for (let y = 0; y < outH; y++) {
    const fy = Math.min(Math.max((y + 0.5) * sy - 0.5, 0), h - 1);
    const y0 = Math.floor(fy), y1 = Math.min(y0 + 1, h - 1), ty = fy - y0;
    for (let x = 0; x < outW; x++) {
      const fx = Math.min(Math.max((x + 0.5) * sx - 0.5, 0), w - 1);
      const x0 = Math.floor(fx), x1 = Math.min(x0 + 1, w - 1), tx = fx - x0;
      const top = map[y0 * w + x0]! * (1 - tx) + map[y0 * w + x1]! * tx;
      const bottom = map[y1 * w + x0]! * (1 - tx) + map[y1 * w + x1]! * tx;
      out[y * outW + x] = top * (1 - ty) + bottom * ty;
    }
  }
  return out;
}

/** Index of the largest value (the map's peak). */
export function argmax(values: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i]! > values[best]!) best = i;
  return best;
}

// A perceptually ordered map from blue (cold) through green and yellow to red (hot), as heat-maps are read.
const STOPS: readonly (readonly [number, number, number])[] = [
  [48, 18, 59], [50, 101, 220], [27, 186, 216], [66, 233, 120], [199, 238, 52], [250, 170, 39], [214, 57, 15], [122, 4, 3],
];

function colour(t: number): readonly [number, number, number] {
  const x = Math.min(Math.max(t, 0), 1) * (STOPS.length - 1);
  const i = Math.min(Math.floor(x), STOPS.length - 2);
  const f = x - i;
  const a = STOPS[i]!, b = STOPS[i + 1]!;
  return [a[0] + (b[0] - a[0]) * f, a[1] + (b[1] - a[1]) * f, a[2] + (b[2] - a[2]) * f];
}

/**
 * The map over an RGB image (both [H,W], the image as interleaved bytes): each pixel blended with the map's
 * colour, scaled from the map's minimum to its maximum, hotter parts more opaque. Returns RGBA bytes.
 */
export function overlayHeatmap(rgb: Uint8Array, map: Float32Array, height: number, width: number, opacity = 0.6): Uint8ClampedArray {
  if (rgb.length !== height * width * 3 || map.length !== height * width) {
    throw new Error(`heat-map overlay: image of ${rgb.length / 3} pixels and map of ${map.length} for ${width}x${height}`);
  }
  let lo = Infinity, hi = -Infinity;
  for (const v of map) {
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  const span = hi > lo ? hi - lo : 1;
  const out = new Uint8ClampedArray(height * width * 4);
  for (let i = 0; i < height * width; i++) {
    const t = (map[i]! - lo) / span;
    const [r, g, b] = colour(t);
    const a = opacity * (0.35 + 0.65 * t);
    out[i * 4] = rgb[i * 3]! * (1 - a) + r * a;
    out[i * 4 + 1] = rgb[i * 3 + 1]! * (1 - a) + g * a;
    out[i * 4 + 2] = rgb[i * 3 + 2]! * (1 - a) + b * a;
    out[i * 4 + 3] = 255;
  }
  return out;
}

// Pixels to model input, shared by the Node (sharp) path and the browser path. Pure: no Node or DOM
// imports, so the renderer and its workers can use it as is.
//
// The pipeline matches torchvision's eval transforms: Resize(shorter side) -> CenterCrop(H, W) ->
// ToTensor (x * 1/255) -> Normalize(mean, std), laid out NCHW.
import { tensor, shapeStr, sizeOf, type Tensor } from '../../kernels/core/tensor';

export interface PreprocessSpec {
  /** Model input channels: 3 = RGB, 1 = grayscale (ITU-R BT.601 luma of the RGB pixels). */
  channels: 1 | 3;
  height: number;
  width: number;
  /** Per channel, applied after scaling: (pixel * scale - mean[c]) / std[c]. */
  mean: number[];
  std: number[];
  /** Pixel scale before mean/std; default 1/255 (torchvision's ToTensor). */
  scale?: number;
  /**
   * Shorter side after resizing and before the centre crop, as torchvision's Resize(resizeShorter)
   * followed by CenterCrop(height, width) (ImageNet eval: 256 then 224). Default: resize straight to
   * the crop size, so the crop only trims the longer side.
   */
  resizeShorter?: number;
  /**
   * 'dark': the model was trained on objects over a dark background (Fashion-MNIST and MNIST are a
   * bright item on black). Ordinary photos are the opposite (a garment on a white or light backdrop), and
   * a network fed the other polarity answers nonsense, so an image whose border is light
   * (BORDER_LIGHT_THRESHOLD) is inverted (255 - v) before normalisation. Unset: pixels are used as they
   * are (ImageNet/CIFAR photos have no fixed background).
   */
  background?: 'dark';
}

/** Interleaved (HWC) 8-bit pixels: 1 = gray, 3 = RGB, 4 = RGBA. */
export interface PixelShape {
  height: number;
  width: number;
  channels: 1 | 3 | 4;
}

export interface ResizeCropPlan {
  /** Size of the resized image, before cropping. */
  resizeWidth: number;
  resizeHeight: number;
  /** Crop box in the resized image; its size is the model's input size. */
  crop: { left: number; top: number; width: number; height: number };
  /**
   * The same crop in source pixels (fractional): what a canvas `drawImage(src, x, y, width, height,
   * 0, 0, crop.width, crop.height)` needs to resize and crop in one step.
   */
  source: { x: number; y: number; width: number; height: number };
}

/** ITU-R BT.601 luma weights, as PIL's convert('L') and torchvision's rgb_to_grayscale use. */
const LUMA_601: readonly [number, number, number] = [0.299, 0.587, 0.114];

function assertPositiveInt(name: string, v: number): void {
  if (!Number.isInteger(v) || v <= 0) throw new Error(`${name} must be a positive integer, got ${v}`);
}

/** Python's round(): halves go to the even neighbour. torchvision's CenterCrop rounds this way. */
function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * Resize so the image covers dstW x dstH keeping its aspect ratio (by default the side that needs the
 * larger scale lands exactly on its target, which for square targets is the shorter side), then
 * centre-crop dstW x dstH. With `resizeShorter`, the shorter source side becomes that many pixels
 * first (torchvision Resize(int)). Like torchvision, the other side is truncated, not rounded, and
 * the crop offset is round((resized - crop) / 2).
 */
export function resizeCropPlan(
  srcW: number,
  srcH: number,
  dstW: number,
  dstH: number,
  resizeShorter?: number,
): ResizeCropPlan {
  assertPositiveInt('resizeCropPlan: source width', srcW);
  assertPositiveInt('resizeCropPlan: source height', srcH);
  assertPositiveInt('resizeCropPlan: target width', dstW);
  assertPositiveInt('resizeCropPlan: target height', dstH);
  let resizeWidth: number;
  let resizeHeight: number;
  if (resizeShorter !== undefined) {
    assertPositiveInt('resizeCropPlan: resizeShorter', resizeShorter);
    // Integer arithmetic (exact below 2^53) so 224 * 500 / 375 truncates the way Python's int() does.
    if (srcW <= srcH) {
      resizeWidth = resizeShorter;
      resizeHeight = Math.floor((resizeShorter * srcH) / srcW);
    } else {
      resizeHeight = resizeShorter;
      resizeWidth = Math.floor((resizeShorter * srcW) / srcH);
    }
    if (resizeWidth < dstW || resizeHeight < dstH) {
      throw new Error(
        `resizeCropPlan: ${srcW}x${srcH} resized to ${resizeWidth}x${resizeHeight} (shorter side ${resizeShorter}) ` +
          `is smaller than the ${dstW}x${dstH} crop`,
      );
    }
  } else if (dstW * srcH >= dstH * srcW) {
    // Width needs the larger scale (dstW/srcW >= dstH/srcH): it lands exactly on dstW.
    resizeWidth = dstW;
    resizeHeight = Math.max(dstH, Math.floor((dstW * srcH) / srcW));
  } else {
    resizeHeight = dstH;
    resizeWidth = Math.max(dstW, Math.floor((dstH * srcW) / srcH));
  }
  const left = roundHalfEven((resizeWidth - dstW) / 2);
  const top = roundHalfEven((resizeHeight - dstH) / 2);
  const sx = srcW / resizeWidth;
  const sy = srcH / resizeHeight;
  return {
    resizeWidth,
    resizeHeight,
    crop: { left, top, width: dstW, height: dstH },
    source: { x: left * sx, y: top * sy, width: dstW * sx, height: dstH * sy },
  };
}

/** Throws if a spec cannot be applied: sizes, channel count, mean/std lengths, zero std, scale. */
export function checkPreprocessSpec(spec: PreprocessSpec): void {
  assertPositiveInt('preprocess spec: height', spec.height);
  assertPositiveInt('preprocess spec: width', spec.width);
  const C = spec.channels;
  if (C !== 1 && C !== 3) throw new Error(`preprocess spec: channels must be 1 or 3, got ${String(C)}`);
  if (spec.mean.length !== C || spec.std.length !== C) {
    throw new Error(
      `preprocess spec: mean [${spec.mean.join(', ')}] and std [${spec.std.join(', ')}] need ${C} values each`,
    );
  }
  for (const s of spec.std) {
    if (!(Number.isFinite(s) && s !== 0)) throw new Error(`preprocess spec: std must be finite and non-zero, got ${s}`);
  }
  if (!spec.mean.every(Number.isFinite)) throw new Error(`preprocess spec: mean must be finite, got [${spec.mean.join(', ')}]`);
  if (spec.scale !== undefined && !(Number.isFinite(spec.scale) && spec.scale !== 0)) {
    throw new Error(`preprocess spec: scale must be finite and non-zero, got ${spec.scale}`);
  }
  if (spec.resizeShorter !== undefined) assertPositiveInt('preprocess spec: resizeShorter', spec.resizeShorter);
  if (spec.background !== undefined && spec.background !== 'dark') {
    throw new Error(`preprocess spec: background must be 'dark' or unset, got ${JSON.stringify(spec.background)}`);
  }
}

/**
 * Mean luma above which an image's border counts as light, on the 0..1 scale: 0.5. Fashion-MNIST's
 * borders are nearly black (over the first 1000 test images: mean 0.049, 99th percentile 0.15, highest
 * 0.195, where wide garments touch the edge), product photos' are near white, so the halfway point
 * separates them with a wide margin on both sides.
 */
const BORDER_LIGHT_THRESHOLD = 0.5;

/**
 * Mean BT.601 luma, 0..1, of the outermost ring of pixels (first and last row and column; every pixel
 * when the image is 1 or 2 pixels tall or wide). A 4th (alpha) channel is ignored, as pixelsToTensor does.
 */
export function borderLuma(pixels: Uint8Array | Uint8ClampedArray, shape: PixelShape): number {
  const { height: H, width: W, channels: C } = shape;
  assertPositiveInt('borderLuma: height', H);
  assertPositiveInt('borderLuma: width', W);
  if (C !== 1 && C !== 3 && C !== 4) throw new Error(`borderLuma: pixel channels must be 1, 3 or 4, got ${String(C)}`);
  if (pixels.length !== H * W * C) throw new Error(`borderLuma: ${pixels.length} bytes do not match ${W}x${H}x${C} = ${H * W * C}`);
  const [wr, wg, wb] = LUMA_601;
  const luma = (y: number, x: number): number => {
    const p = (y * W + x) * C;
    return C === 1 ? pixels[p]! : wr * pixels[p]! + wg * pixels[p + 1]! + wb * pixels[p + 2]!;
  };
  let sum = 0;
  let n = 0;
  for (let x = 0; x < W; x++) {
    sum += luma(0, x);
    n++;
    if (H > 1) {
      sum += luma(H - 1, x);
      n++;
    }
  }
  for (let y = 1; y < H - 1; y++) {
    sum += luma(y, 0);
    n++;
    if (W > 1) {
      sum += luma(y, W - 1);
      n++;
    }
  }
  return sum / n / 255;
}

/**
 * Whether pixelsToTensor inverts these (resized and cropped) pixels for this spec: only for models
 * trained on a dark background, and only when the image's border is light.
 */
export function invertsForSpec(pixels: Uint8Array | Uint8ClampedArray, shape: PixelShape, spec: PreprocessSpec): boolean {
  return spec.background === 'dark' && borderLuma(pixels, shape) > BORDER_LIGHT_THRESHOLD;
}

/**
 * Interleaved 8-bit pixels of exactly spec.height x spec.width (already resized and cropped) to a
 * float32 NCHW tensor [1, C, H, W] with (pixel * scale - mean[c]) / std[c]. 1-channel models get the
 * BT.601 luma of RGB input; 3-channel models get gray input replicated. A 4th (alpha) channel is
 * ignored: flatten it first (flattenAlpha) if the image may be transparent. With `spec.background`
 * 'dark', a light-bordered image is inverted first (255 - p; see PreprocessSpec.background): both the
 * sharp and the browser path come through here, so they agree on it.
 */
export function pixelsToTensor(
  pixels: Uint8Array | Uint8ClampedArray,
  shape: PixelShape,
  spec: PreprocessSpec,
): Tensor {
  const { height: H, width: W, channels: srcC } = shape;
  assertPositiveInt('pixelsToTensor: height', H);
  assertPositiveInt('pixelsToTensor: width', W);
  if (srcC !== 1 && srcC !== 3 && srcC !== 4) {
    throw new Error(`pixelsToTensor: pixel channels must be 1, 3 or 4, got ${String(srcC)}`);
  }
  if (pixels.length !== H * W * srcC) {
    throw new Error(`pixelsToTensor: ${pixels.length} bytes do not match ${W}x${H}x${srcC} = ${H * W * srcC}`);
  }
  if (H !== spec.height || W !== spec.width) {
    throw new Error(
      `pixelsToTensor: pixels are ${W}x${H}, the model wants ${spec.width}x${spec.height} (resize and crop first)`,
    );
  }
  checkPreprocessSpec(spec);
  const C = spec.channels;
  const scale = spec.scale ?? 1 / 255;
  const plane = H * W;
  const out = new Float32Array(C * plane);
  // Fold scale, mean and std into one multiply-add per value: (p * scale - m) / s = p * a + b; the
  // inversion folds in too: (255 - p) * a + b = p * (-a) + (255 * a + b). Luma weights sum to 1, so
  // inverting RGB and then taking luma equals inverting the luma.
  const invert = invertsForSpec(pixels, shape, spec);
  const mul = spec.std.map((s) => (invert ? -scale / s : scale / s));
  const add = spec.std.map((s, c) => (invert ? (255 * scale) / s : 0) - spec.mean[c]! / s);
  if (C === 3) {
    for (let c = 0; c < 3; c++) {
      const src = srcC === 1 ? 0 : c;
      const a = mul[c]!;
      const b = add[c]!;
      const base = c * plane;
      for (let i = 0; i < plane; i++) out[base + i] = pixels[i * srcC + src]! * a + b;
    }
  } else {
    const a = mul[0]!;
    const b = add[0]!;
    const [wr, wg, wb] = LUMA_601;
    for (let i = 0; i < plane; i++) {
      const p = i * srcC;
      const luma = srcC === 1 ? pixels[p]! : wr * pixels[p]! + wg * pixels[p + 1]! + wb * pixels[p + 2]!;
      out[i] = luma * a + b;
    }
  }
  return tensor([1, C, H, W], out);
}

/**
 * What the net sees: one sample of a normalised [N,C,H,W] tensor back to interleaved 8-bit RGB
 * (p = (x * std + mean) / scale, clamped; 1-channel inputs as gray). An inverted input stays inverted.
 */
export function tensorToPixels(t: Tensor, spec: Pick<PreprocessSpec, 'mean' | 'std' | 'scale'>, n = 0): Uint8Array {
  const [, C, H, W] = t.shape as [number, number, number, number];
  if (t.shape.length !== 4 || (C !== 1 && C !== 3)) throw new Error(`tensorToPixels: expected [N,1|3,H,W], got [${t.shape.join(',')}]`);
  const plane = H * W;
  const scale = spec.scale ?? 1 / 255;
  const out = new Uint8Array(plane * 3);
  for (let k = 0; k < 3; k++) {
    const c = C === 1 ? 0 : k;
    const base = (n * C + c) * plane;
    const [m, s] = [spec.mean[c]!, spec.std[c]!];
    for (let i = 0; i < plane; i++) out[i * 3 + k] = Math.min(255, Math.max(0, Math.round((t.data[base + i]! * s + m) / scale)));
  }
  return out;
}

/** RGBA (straight alpha) to RGB composited over a background (default white, as the sharp path). */
export function flattenAlpha(
  rgba: Uint8Array | Uint8ClampedArray,
  background: readonly [number, number, number] = [255, 255, 255],
): Uint8ClampedArray {
  if (rgba.length % 4 !== 0) throw new Error(`flattenAlpha: ${rgba.length} bytes is not a whole number of RGBA pixels`);
  const n = rgba.length / 4;
  const out = new Uint8ClampedArray(n * 3);
  for (let i = 0; i < n; i++) {
    const a = rgba[i * 4 + 3]! / 255;
    for (let c = 0; c < 3; c++) out[i * 3 + c] = rgba[i * 4 + c]! * a + background[c]! * (1 - a); // clamped store rounds
  }
  return out;
}

/** Source taps of a 1-D triangle (bilinear) filter, antialiased when shrinking. */
interface Taps {
  first: Int32Array; // first source index per output
  count: Int32Array; // number of taps per output
  weights: Float32Array; // count weights per output, at stride maxTaps
  maxTaps: number;
}

function triangleTaps(srcSize: number, dstSize: number, outStart: number, outCount: number): Taps {
  const scale = srcSize / dstSize;
  const filterScale = Math.max(scale, 1); // widen the kernel when shrinking so every source pixel counts
  const support = filterScale; // triangle has radius 1, scaled
  const maxTaps = Math.ceil(support) * 2 + 2;
  const first = new Int32Array(outCount);
  const count = new Int32Array(outCount);
  const weights = new Float32Array(outCount * maxTaps);
  for (let o = 0; o < outCount; o++) {
    const centre = (outStart + o + 0.5) * scale; // pixel centres aligned, as PIL, libvips and canvas do
    const lo = Math.max(0, Math.floor(centre - support));
    const hi = Math.min(srcSize, Math.ceil(centre + support));
    let sum = 0;
    let n = 0;
    for (let j = lo; j < hi && n < maxTaps; j++, n++) {
      const w = Math.max(0, 1 - Math.abs((j + 0.5 - centre) / filterScale));
      weights[o * maxTaps + n] = w;
      sum += w;
    }
    for (let k = 0; k < n; k++) weights[o * maxTaps + k]! /= sum || 1;
    first[o] = lo;
    count[o] = n;
  }
  return { first, count, weights, maxTaps };
}

/**
 * Resize and crop interleaved 8-bit pixels following a plan from resizeCropPlan, with a separable
 * antialiased triangle (bilinear) filter: the same kernel the sharp path uses (`kernel: 'linear'`),
 * for browsers that want pixels independent of the canvas's own smoothing. Only the cropped part of
 * the resized image is computed. Flatten alpha first: straight-alpha RGBA bleeds at transparent edges.
 */
export function resizeCropPixels(
  pixels: Uint8Array | Uint8ClampedArray,
  shape: PixelShape,
  plan: ResizeCropPlan,
): Uint8ClampedArray {
  const { width: srcW, height: srcH, channels: C } = shape;
  if (pixels.length !== srcW * srcH * C) {
    throw new Error(`resizeCropPixels: ${pixels.length} bytes do not match ${srcW}x${srcH}x${C}`);
  }
  const { crop } = plan;
  if (crop.left + crop.width > plan.resizeWidth || crop.top + crop.height > plan.resizeHeight) {
    throw new Error(
      `resizeCropPixels: crop ${crop.width}x${crop.height}+${crop.left}+${crop.top} is outside ${plan.resizeWidth}x${plan.resizeHeight}`,
    );
  }
  const tx = triangleTaps(srcW, plan.resizeWidth, crop.left, crop.width);
  const ty = triangleTaps(srcH, plan.resizeHeight, crop.top, crop.height);
  // Only the source rows some output row reads.
  const rowLo = ty.first[0]!;
  const rowHi = ty.first[crop.height - 1]! + ty.count[crop.height - 1]!;
  const outW = crop.width;
  // Horizontal pass into floats (no rounding between passes), then vertical.
  const tmp = new Float32Array((rowHi - rowLo) * outW * C);
  for (let y = rowLo; y < rowHi; y++) {
    const srcRow = y * srcW * C;
    const tmpRow = (y - rowLo) * outW * C;
    for (let x = 0; x < outW; x++) {
      const f = tx.first[x]!;
      const n = tx.count[x]!;
      const wBase = x * tx.maxTaps;
      for (let c = 0; c < C; c++) {
        let acc = 0;
        for (let k = 0; k < n; k++) acc += tx.weights[wBase + k]! * pixels[srcRow + (f + k) * C + c]!;
        tmp[tmpRow + x * C + c] = acc;
      }
    }
  }
  const out = new Uint8ClampedArray(crop.height * outW * C);
  const rowLen = outW * C;
  for (let y = 0; y < crop.height; y++) {
    const f = ty.first[y]! - rowLo;
    const n = ty.count[y]!;
    const wBase = y * ty.maxTaps;
    for (let i = 0; i < rowLen; i++) {
      let acc = 0;
      for (let k = 0; k < n; k++) acc += ty.weights[wBase + k]! * tmp[(f + k) * rowLen + i]!;
      out[y * rowLen + i] = acc; // Uint8ClampedArray stores round to nearest and clamp
    }
  }
  return out;
}

/** Concatenate tensors along N (axis 0); all other dimensions must match. */
export function batchTensors(ts: readonly Tensor[]): Tensor {
  if (ts.length === 0) throw new Error('batchTensors: no tensors to batch');
  const first = ts[0]!;
  if (first.shape.length === 0) throw new Error('batchTensors: cannot batch scalars (shape [])');
  const inner = first.shape.slice(1);
  let n = 0;
  for (const [i, t] of ts.entries()) {
    if (t.shape.length !== first.shape.length || shapeStr(t.shape.slice(1)) !== shapeStr(inner)) {
      throw new Error(`batchTensors: tensor ${i} has shape ${shapeStr(t.shape)}, expected [N,${inner.join(',')}]`);
    }
    n += t.shape[0]!;
  }
  const data = new Float32Array(n * sizeOf(inner));
  let offset = 0;
  for (const t of ts) {
    data.set(t.data, offset);
    offset += t.data.length;
  }
  return tensor([n, ...inner], data);
}

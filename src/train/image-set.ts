// Image sets in memory (uint8, planar CHW, any channel count) and what training does with them whatever
// their source: pixel statistics, the paper's augmentation (pad, random crop, horizontal flip) with an
// optional brightness/contrast jitter, normalisation into a batch, shuffling. Pure: the CLI's trainer and
// the app's training worker share it (data.ts reads Fashion-MNIST's files, folder.ts the user's folders).
import { UserError } from '../errors';
import type { seededRandom } from '../random';

export class DatasetError extends UserError {
  override name = 'DatasetError';
}

/** Images (uint8, planar CHW: `channels` planes of `rows` x `cols` each) with their class labels. */
export interface ImageSet {
  readonly count: number;
  /** 1 (grayscale) or 3 (RGB). */
  readonly channels: number;
  readonly rows: number;
  readonly cols: number;
  readonly images: Uint8Array;
  readonly labels: Uint8Array | Uint16Array;
}


/** Per-channel mean and standard deviation of a set's pixels (scaled to [0,1]): the normalisation a model stores. */
export function channelStats(set: ImageSet): { mean: number[]; std: number[] } {
  const C = set.channels;
  const plane = set.rows * set.cols;
  const mean: number[] = [];
  const std: number[] = [];
  for (let c = 0; c < C; c++) {
    let s = 0;
    let sq = 0;
    for (let i = 0; i < set.count; i++) {
      const base = (i * C + c) * plane;
      for (let p = 0; p < plane; p++) {
        const v = set.images[base + p]!;
        s += v;
        sq += v * v;
      }
    }
    const n = set.count * plane * 255;
    const m = s / n;
    mean.push(m);
    std.push(Math.sqrt(Math.max(0, (sq / 255) / n - m * m)));
  }
  return { mean, std };
}

/** Mean and standard deviation of all pixels (scaled to [0,1]) of a grayscale set. */
export function pixelStats(set: ImageSet): { mean: number; std: number } {
  let s = 0;
  let sq = 0;
  const px = set.images;
  for (let i = 0; i < px.length; i++) {
    const v = px[i]! / 255;
    s += v;
    sq += v * v;
  }
  const mean = s / px.length;
  return { mean, std: Math.sqrt(Math.max(0, sq / px.length - mean * mean)) };
}

export interface Augment {
  /** Zero padding on each side before the random crop back to the original size. */
  readonly pad: number;
  readonly flip: boolean;
  /**
   * Brightness and contrast jitter: each image's brightness and contrast are scaled by factors drawn
   * uniformly from [1 - jitter, 1 + jitter] (torchvision's ColorJitter(brightness, contrast)). 0 or absent: none.
   */
  readonly jitter?: number;
}

/** The paper's CIFAR augmentation: 4 pixels of zero padding, random crop, random horizontal flip. */
export const PAPER_AUGMENT: Augment = { pad: 4, flip: true };

/**
 * Writes samples `indices` of `set` as normalised NCHW floats into `out` ((p/255 - mean[c]) / std[c]),
 * augmented with `rng` when `augment` is given. Padding is pixel value 0 (black), as torchvision's
 * RandomCrop(padding) pads before normalising. `mean` and `std` are one number (every channel) or one per channel.
 */
export function fillBatch(
  set: ImageSet, indices: ArrayLike<number>, mean: number | readonly number[], std: number | readonly number[], out: Float32Array,
  augment?: { readonly spec: Augment; readonly rng: ReturnType<typeof seededRandom> },
): void {
  const { rows: H, cols: W, channels: C } = set;
  const per = C * H * W;
  const jitter = augment?.spec.jitter ?? 0;
  for (let b = 0; b < indices.length; b++) {
    const idx = indices[b]!;
    let dy = 0;
    let dx = 0;
    let flip = false;
    if (augment) {
      const p = augment.spec.pad;
      dy = Math.floor(augment.rng.uniform() * (2 * p + 1)) - p;
      dx = Math.floor(augment.rng.uniform() * (2 * p + 1)) - p;
      flip = augment.spec.flip && augment.rng.uniform() < 0.5;
    }
    if (jitter > 0) {
      const brightness = 1 + jitter * (2 * augment!.rng.uniform() - 1);
      const contrast = 1 + jitter * (2 * augment!.rng.uniform() - 1);
      jitterOne(set, idx, mean, std, out, b * per, dy, dx, flip, brightness, contrast);
      continue;
    }
    if (C === 1) {
      grayOne(set.images, idx * H * W, out, b * H * W, H, W, dy, dx, flip, typeof mean === 'number' ? mean : mean[0]!, typeof std === 'number' ? std : std[0]!);
      continue;
    }
    for (let c = 0; c < C; c++) {
      const m = typeof mean === 'number' ? mean : mean[c]!;
      const s = typeof std === 'number' ? std : std[c]!;
      const scale = 1 / (255 * s);
      const shift = -m / s;
      const src = (idx * C + c) * H * W;
      const dst = (b * C + c) * H * W;
      for (let y = 0; y < H; y++) {
        const sy = y + dy;
        for (let x = 0; x < W; x++) {
          const sx = (flip ? W - 1 - x : x) + dx;
          const v = sy >= 0 && sy < H && sx >= 0 && sx < W ? set.images[src + sy * W + sx]! : 0;
          out[dst + y * W + x] = v * scale + shift;
        }
      }
    }
  }
}

/** One grayscale image, shifted by (dy, dx) with zero fill and maybe mirrored, normalised: Fashion-MNIST's hot loop, kept monomorphic. */
function grayOne(
  images: Uint8Array, src: number, out: Float32Array, dst: number, H: number, W: number, dy: number, dx: number, flip: boolean, mean: number, std: number,
): void {
  const scale = 1 / (255 * std);
  const shift = -mean / std;
  for (let y = 0; y < H; y++) {
    const sy = y + dy;
    for (let x = 0; x < W; x++) {
      const sx = (flip ? W - 1 - x : x) + dx;
      const v = sy >= 0 && sy < H && sx >= 0 && sx < W ? images[src + sy * W + sx]! : 0;
      out[dst + y * W + x] = v * scale + shift;
    }
  }
}

/** ITU-R BT.601 luma of channel c's weight, as torchvision's contrast adjustment uses (1 for gray). */
const luma = (C: number, c: number): number => (C === 3 ? ([0.299, 0.587, 0.114] as const)[c]! : 1 / C);

/**
 * One image with brightness then contrast scaled (values in [0,255], clamped after each, as torchvision's
 * adjust_brightness and adjust_contrast do: contrast blends with the mean gray level of the image).
 */
function jitterOne(
  set: ImageSet, idx: number, mean: number | readonly number[], std: number | readonly number[], out: Float32Array, base: number,
  dy: number, dx: number, flip: boolean, brightness: number, contrast: number,
): void {
  const { rows: H, cols: W, channels: C } = set;
  const plane = H * W;
  const src = idx * C * plane;
  const tmp = new Float32Array(C * plane);
  let gray = 0;
  for (let c = 0; c < C; c++) {
    for (let y = 0; y < H; y++) {
      const sy = y + dy;
      for (let x = 0; x < W; x++) {
        const sx = (flip ? W - 1 - x : x) + dx;
        const v = sy >= 0 && sy < H && sx >= 0 && sx < W ? set.images[src + c * plane + sy * W + sx]! : 0;
        const bv = Math.min(255, v * brightness);
        tmp[c * plane + y * W + x] = bv;
        gray += luma(C, c) * bv;
      }
    }
  }
  gray /= plane;
  for (let c = 0; c < C; c++) {
    const m = typeof mean === 'number' ? mean : mean[c]!;
    const s = typeof std === 'number' ? std : std[c]!;
    const scale = 1 / (255 * s);
    const shift = -m / s;
    for (let i = 0; i < plane; i++) {
      const v = Math.min(255, Math.max(0, gray + contrast * (tmp[c * plane + i]! - gray)));
      out[base + c * plane + i] = v * scale + shift;
    }
  }
}

/** A seeded permutation of 0..n-1 (Fisher-Yates). */
export function shuffled(n: number, rng: ReturnType<typeof seededRandom>): Int32Array {
  const p = new Int32Array(n);
  for (let i = 0; i < n; i++) p[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rng.uniform() * (i + 1));
    const t = p[i]!;
    p[i] = p[j]!;
    p[j] = t;
  }
  return p;
}

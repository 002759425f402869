// Fashion-MNIST from IDX files (gzipped or not), image sets of any channel count (the user's folders are
// decoded into them by folder.ts), the paper's augmentation (pad, random crop, horizontal flip) with an
// optional brightness/contrast jitter, and normalisation to the model's input.
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { FASHION_MNIST } from '../datasets';
import { UserError } from '../errors';
import { checkRegularFile, FileReadError, readRegularFile } from '../read-file';
import type { seededRandom } from '../zoo/build';

/** Where Debian's dataset-fashion-mnist package puts the files. */
export const DEFAULT_DATA_DIR = '/usr/share/datasets/fashion-mnist/';

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

export interface FashionMnist {
  readonly train: ImageSet;
  readonly test: ImageSet;
}

const IDX_UBYTE = 0x08;
/** Largest file we read (the real training images are 47 MB unpacked). */
const MAX_IDX_BYTES = 256 * 1024 * 1024;

/** Parses an IDX file of unsigned bytes: its dimensions and data. Gzip is detected by its magic bytes. */
export function parseIdx(raw: Uint8Array, what: string): { dims: number[]; data: Uint8Array } {
  let bytes = raw;
  if (raw.length >= 2 && raw[0] === 0x1f && raw[1] === 0x8b) {
    try {
      bytes = new Uint8Array(gunzipSync(raw, { maxOutputLength: MAX_IDX_BYTES }));
    } catch (e) {
      throw new DatasetError(`${what}: not a valid gzip file (${(e as Error).message})`);
    }
  }
  if (bytes.length < 4 || bytes[0] !== 0 || bytes[1] !== 0) throw new DatasetError(`${what}: not an IDX file (bad magic number)`);
  if (bytes[2] !== IDX_UBYTE) throw new DatasetError(`${what}: IDX data type 0x${bytes[2]!.toString(16)} is not unsigned bytes (0x08)`);
  const rank = bytes[3]!;
  if (rank < 1 || rank > 4) throw new DatasetError(`${what}: IDX rank ${rank} is not 1..4`);
  const header = 4 + 4 * rank;
  if (bytes.length < header) throw new DatasetError(`${what}: truncated IDX header`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const dims: number[] = [];
  for (let i = 0; i < rank; i++) dims.push(view.getUint32(4 + 4 * i, false));
  const size = dims.reduce((a, b) => a * b, 1);
  if (bytes.length - header !== size) {
    throw new DatasetError(`${what}: IDX dimensions [${dims.join(',')}] need ${size} bytes of data, the file has ${bytes.length - header}`);
  }
  return { dims, data: bytes.subarray(header) };
}

/** An IDX file of unsigned bytes with the given dimensions (the inverse of parseIdx, uncompressed). */
export function encodeIdx(dims: readonly number[], data: Uint8Array): Uint8Array {
  const size = dims.reduce((a, b) => a * b, 1);
  if (data.length !== size) throw new Error(`encodeIdx: dimensions [${dims.join(',')}] need ${size} bytes, got ${data.length}`);
  const out = new Uint8Array(4 + 4 * dims.length + size);
  out.set([0, 0, IDX_UBYTE, dims.length]);
  const view = new DataView(out.buffer);
  dims.forEach((d, i) => view.setUint32(4 + 4 * i, d, false));
  out.set(data, 4 + 4 * dims.length);
  return out;
}

function findFile(dir: string, base: string): string {
  for (const name of [base, `${base}.gz`]) {
    const p = join(dir, name);
    try {
      checkRegularFile(p, { maxBytes: MAX_IDX_BYTES });
      return p;
    } catch (e) {
      // A missing name tries the next; anything else there (a FIFO, a link to /dev/zero, too large) is refused.
      if (!(e instanceof FileReadError)) throw e;
      if (e.kind !== 'not-found') throw new DatasetError(e.message, { cause: e });
    }
  }
  throw new DatasetError(
    `no Fashion-MNIST in ${dir}: ${base}[.gz] is missing (expected train-images-idx3-ubyte, train-labels-idx1-ubyte, ` +
    `t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte, optionally gzipped; Debian: apt install dataset-fashion-mnist)`,
  );
}

function readFileChecked(path: string): Uint8Array {
  try {
    return readRegularFile(path, { maxBytes: MAX_IDX_BYTES });
  } catch (e) {
    if (e instanceof FileReadError) throw new DatasetError(e.message, { cause: e });
    throw e;
  }
}

/** Reads one split (`train` or `t10k`), optionally only its first `limit` images. */
export function loadSplit(dir: string, split: 'train' | 't10k', classes: number, limit?: number): ImageSet & { readonly labels: Uint8Array } {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new DatasetError(`dataset directory ${dir} does not exist`);
  const imgPath = findFile(dir, `${split}-images-idx3-ubyte`);
  const lblPath = findFile(dir, `${split}-labels-idx1-ubyte`);
  const img = parseIdx(readFileChecked(imgPath), imgPath);
  const lbl = parseIdx(readFileChecked(lblPath), lblPath);
  if (img.dims.length !== 3) throw new DatasetError(`${imgPath}: images must be [N,rows,cols], got [${img.dims.join(',')}]`);
  if (lbl.dims.length !== 1) throw new DatasetError(`${lblPath}: labels must be [N], got [${lbl.dims.join(',')}]`);
  const [n, rows, cols] = img.dims as [number, number, number];
  if (lbl.dims[0] !== n) throw new DatasetError(`${imgPath} has ${n} images but ${lblPath} has ${lbl.dims[0]} labels`);
  const count = limit === undefined ? n : Math.min(n, limit);
  const labels = lbl.data.subarray(0, count);
  for (let i = 0; i < count; i++) {
    if (labels[i]! >= classes) throw new DatasetError(`${lblPath}: label ${labels[i]} of image ${i} is not a class 0..${classes - 1}`);
  }
  return { count, channels: 1, rows, cols, images: img.data.subarray(0, count * rows * cols), labels };
}

export function loadFashionMnist(dir: string, opts: { limit?: number; testLimit?: number } = {}): FashionMnist {
  const train = loadSplit(dir, 'train', FASHION_MNIST.classes, opts.limit);
  const test = loadSplit(dir, 't10k', FASHION_MNIST.classes, opts.testLimit);
  if (train.rows !== test.rows || train.cols !== test.cols) {
    throw new DatasetError(`training images are ${train.rows}x${train.cols} but test images are ${test.rows}x${test.cols}`);
  }
  return { train, test };
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

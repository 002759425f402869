// Fashion-MNIST from IDX files (gzipped or not), read into image sets (image-set.ts).
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { FASHION_MNIST } from '../datasets';
import { checkRegularFile, FileReadError, readRegularFile } from '../read-file';
import { DatasetError, type ImageSet } from './image-set';

/** Where Debian's dataset-fashion-mnist package puts the files. */
export const DEFAULT_DATA_DIR = '/usr/share/datasets/fashion-mnist/';

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

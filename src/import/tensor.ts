// A tensor as a checkpoint stores it: a dtype, a shape, strides and an offset into a storage of raw bytes
// (PyTorch's model; a safetensors tensor is the contiguous case). Nothing is converted until a weight is
// asked for, and then only after every index it will read is checked to lie inside the storage, so the
// sizes a file declares can never make us allocate more than the data it carries.
import { MAX_TENSOR_ELEMENTS } from '../onnx/tensor';
import { ImportError } from './error';

/** Bytes per element of the dtypes checkpoints use (PyTorch's names). */
export const ELEMENT_BYTES: Readonly<Record<string, number>> = {
  float32: 4, float64: 8, float16: 2, bfloat16: 2,
  int64: 8, int32: 4, int16: 2, int8: 1, uint8: 1, bool: 1,
  complex64: 8, complex128: 16, qint8: 1, quint8: 1, qint32: 4, quint4x2: 1, quint2x4: 1,
};

/** The dtypes a weight may have: converted to float32 on import. */
const FLOAT_DTYPES: ReadonlySet<string> = new Set(['float32', 'float16', 'bfloat16', 'float64']);

export interface TensorStorage {
  /** Element byte order: little-endian except in zip checkpoints written on big-endian machines. */
  readonly bigEndian: boolean;
  /** The storage's bytes; throws ImportError when the container does not have them. */
  bytes(): Uint8Array;
}

export interface CheckpointTensor {
  /** PyTorch's dtype name ('float32', 'bfloat16', ...), or the container's own name for one we do not know. */
  readonly dtype: string;
  readonly shape: readonly number[];
  /** In elements, as torch's Tensor.stride(). */
  readonly strides: readonly number[];
  /** In elements, as torch's Tensor.storage_offset(). */
  readonly offset: number;
  readonly storage: TensorStorage;
}

export function isCheckpointTensor(v: unknown): v is CheckpointTensor {
  return typeof v === 'object' && v !== null && 'storage' in v && 'shape' in v && 'strides' in v;
}

export function shapeStr(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

function checkIndexList(v: readonly number[], what: string, where: string): void {
  for (const d of v) {
    if (!Number.isSafeInteger(d) || d < 0) throw new ImportError(`${where}: ${what} ${shapeStr(v)} has an entry that is not a non-negative integer`);
  }
}

/** Checks a tensor's declared geometry (not yet its storage): non-negative integer sizes within limits. */
export function checkGeometry(t: CheckpointTensor, where: string): void {
  checkIndexList(t.shape, 'shape', where);
  checkIndexList(t.strides, 'strides', where);
  if (t.strides.length !== t.shape.length) {
    throw new ImportError(`${where}: shape ${shapeStr(t.shape)} and strides ${shapeStr(t.strides)} have different ranks`);
  }
  if (!Number.isSafeInteger(t.offset) || t.offset < 0) throw new ImportError(`${where}: storage offset ${t.offset} is not a non-negative integer`);
  if (numel(t.shape) > MAX_TENSOR_ELEMENTS) {
    throw new ImportError(`${where}: shape ${shapeStr(t.shape)} has ${numel(t.shape)} elements, over the limit of ${MAX_TENSOR_ELEMENTS}`);
  }
}

export function numel(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** Row-major strides of a contiguous tensor. */
export function contiguousStrides(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= shape[i]!;
  }
  return s;
}

/**
 * The tensor's values as float32, in row-major order whatever its strides. Refuses non-float dtypes by
 * name, and any element that would lie outside the storage, before allocating the result.
 */
export function tensorToFloat32(t: CheckpointTensor, where: string): Float32Array {
  if (!FLOAT_DTYPES.has(t.dtype)) {
    throw new ImportError(`${where} has dtype ${t.dtype}: only float32, float16, bfloat16 and float64 weights can be imported`);
  }
  checkGeometry(t, where);
  const size = ELEMENT_BYTES[t.dtype]!;
  const n = numel(t.shape);
  if (n === 0) return new Float32Array(0);
  const bytes = t.storage.bytes();
  const available = Math.floor(bytes.length / size);
  // The furthest element any index reaches: offset + sum((size_i - 1) * stride_i).
  const reach = t.shape.reduce((acc, d, i) => acc + (d - 1) * t.strides[i]!, t.offset);
  if (reach >= available) {
    throw new ImportError(
      `${where}: shape ${shapeStr(t.shape)}, strides ${shapeStr(t.strides)} and offset ${t.offset} reach element ${reach}, ` +
      `but its storage has ${available} (${bytes.length} bytes of ${t.dtype})`,
    );
  }
  const read = elementReader(t.dtype, new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength), !t.storage.bigEndian);
  const out = new Float32Array(n);
  const dense = contiguousStrides(t.shape);
  const contiguous = t.strides.every((s, i) => s === dense[i] || t.shape[i] === 1);
  if (contiguous) {
    if (t.dtype === 'float32' && !t.storage.bigEndian) {
      // Fast path: one copy of the bytes (the storage may not be 4-byte aligned, so no Float32Array view).
      new Uint8Array(out.buffer).set(bytes.subarray(t.offset * 4, (t.offset + n) * 4));
      return out;
    }
    for (let i = 0; i < n; i++) out[i] = read(t.offset + i);
    return out;
  }
  // Strided: walk the indices as an odometer, innermost dimension fastest.
  const rank = t.shape.length;
  const index = new Array<number>(rank).fill(0);
  let at = t.offset;
  for (let i = 0; i < n; i++) {
    out[i] = read(at);
    for (let d = rank - 1; d >= 0; d--) {
      index[d]!++;
      at += t.strides[d]!;
      if (index[d]! < t.shape[d]!) break;
      at -= t.strides[d]! * t.shape[d]!;
      index[d] = 0;
    }
  }
  return out;
}

const scratch = new DataView(new ArrayBuffer(4));

/** IEEE half -> number, subnormals and infinities included. */
export function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 31) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

/** bfloat16 is the top half of a float32. */
export function bfloat16ToFloat(h: number): number {
  scratch.setUint32(0, h << 16);
  return scratch.getFloat32(0);
}

function elementReader(dtype: string, view: DataView, littleEndian: boolean): (element: number) => number {
  switch (dtype) {
    case 'float32':
      return (i) => view.getFloat32(i * 4, littleEndian);
    case 'float64':
      return (i) => view.getFloat64(i * 8, littleEndian);
    case 'float16':
      return (i) => halfToFloat(view.getUint16(i * 2, littleEndian));
    case 'bfloat16':
      return (i) => bfloat16ToFloat(view.getUint16(i * 2, littleEndian));
    default:
      throw new ImportError(`no float reader for dtype ${dtype}`);
  }
}

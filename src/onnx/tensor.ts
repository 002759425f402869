// TensorProto <-> IrTensor. Every size is checked before anything is allocated, so a file can only make
// us allocate as much as the data it actually carries (at most twice that, for INT32 -> int64).
import { type IrTensor, WRITE_INTO } from '../graph/ir';
import { OnnxError } from './error';
import { DataType, dataTypeName, int64ToBigInt, type TensorProto } from './proto';

/** Largest element count we accept for one tensor (and for one dimension of a graph input). */
export const MAX_TENSOR_ELEMENTS = 2 ** 31 - 1;

const LITTLE_ENDIAN_HOST = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
const FLOAT32_MAX = 3.4028234663852886e38;

function dimsStr(dims: readonly (number | bigint | string)[]): string {
  return `[${dims.join(',')}]`;
}

/**
 * Validated tensor dims: each a non-negative integer, their product within MAX_TENSOR_ELEMENTS.
 * Products are computed in BigInt so [65536,65536,65536] is refused instead of wrapping.
 */
function checkDims(raw: readonly (number | bigint)[], where: string): number[] {
  raw.forEach((d, i) => {
    if (typeof d === 'number' && !Number.isInteger(d)) {
      throw new OnnxError(`${where}: dims ${dimsStr(raw)}: dimension ${i} (${d}) is not an integer`);
    }
  });
  const dims = raw.map((d) => BigInt(d));
  let product = 1n;
  for (let i = 0; i < dims.length; i++) {
    const d = dims[i]!;
    if (d < 0n) throw new OnnxError(`${where}: dims ${dimsStr(dims)}: dimension ${i} is negative (${d})`);
    if (d > BigInt(MAX_TENSOR_ELEMENTS)) {
      throw new OnnxError(`${where}: dims ${dimsStr(dims)}: dimension ${i} (${d}) is over the limit of ${MAX_TENSOR_ELEMENTS}`);
    }
    product *= d;
  }
  if (product > BigInt(MAX_TENSOR_ELEMENTS)) {
    throw new OnnxError(
      `${where}: dims ${dimsStr(dims)} describe ${product} elements, over the limit of ${MAX_TENSOR_ELEMENTS}`,
    );
  }
  return dims.map(Number);
}

function elementCount(dims: readonly number[]): number {
  let n = 1;
  for (const d of dims) n *= d;
  return n;
}

/** Little-endian bytes copied into a fresh, aligned typed array of `count` elements. */
function fromLittleEndian<T extends Float32Array | Float64Array | Int32Array | BigInt64Array>(
  raw: Uint8Array,
  out: T,
  read: (view: DataView, byteOffset: number) => number | bigint,
): T {
  if (LITTLE_ENDIAN_HOST) {
    new Uint8Array(out.buffer, out.byteOffset, out.byteLength).set(raw);
    return out;
  }
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const step = out.BYTES_PER_ELEMENT;
  for (let i = 0; i < out.length; i++) (out as unknown as (number | bigint)[])[i] = read(view, i * step);
  return out;
}

/** raw_data: its length, and its bytes (a view of the file's bytes in memory, or read from the file when asked). */
export interface RawBytes {
  readonly byteLength: number;
  read(): Uint8Array;
  /** The bytes into dst (byteLength long), where that needs no buffer of its own. */
  readInto?(dst: Uint8Array): void;
}

const floatsOfRaw = (raw: Uint8Array): Float32Array =>
  LITTLE_ENDIAN_HOST && raw.byteOffset % 4 === 0
    ? new Float32Array(raw.buffer, raw.byteOffset, raw.byteLength / 4)
    : fromLittleEndian(raw, new Float32Array(raw.byteLength / 4), (v, o) => v.getFloat32(o, true));

/**
 * A FLOAT tensor over little-endian raw bytes without copying them where it can. Bytes in memory, 4-byte
 * aligned on a little-endian host: `data` is a view of them (of the file's bytes: the caller must not change
 * those while the tensor is in use). Otherwise `data` is computed when read, anew at each read: a copy of
 * misaligned bytes (protobuf aligns nothing), or the bytes read from the file, so a model is never held
 * twice: the compiler reads each weight once, as it folds and packs that layer.
 */
function float32OfRaw(dims: readonly number[], raw: RawBytes, inMemory: boolean): IrTensor {
  if (inMemory) {
    const bytes = raw.read();
    if (LITTLE_ENDIAN_HOST && bytes.byteOffset % 4 === 0) return { dtype: 'float32', dims, data: floatsOfRaw(bytes) };
  }
  const into = (dst: Float32Array): void => {
    const bytes = new Uint8Array(dst.buffer, dst.byteOffset, dst.byteLength);
    if (!LITTLE_ENDIAN_HOST) dst.set(floatsOfRaw(raw.read()));
    else if (raw.readInto) raw.readInto(bytes);
    else bytes.set(raw.read());
  };
  const t = Object.defineProperty({ dtype: 'float32' as const, dims }, 'data', { get: () => floatsOfRaw(raw.read()), enumerable: true });
  return Object.defineProperty(t, WRITE_INTO, { value: into }) as IrTensor;
}

/** The data source of a tensor: raw_data bytes or the typed repeated field, checked against the count. */
function pickData<T>(
  t: TensorProto,
  typed: readonly T[] | null | undefined,
  typedField: string,
  bytesPerElement: number,
  dims: readonly number[],
  where: string,
  left: RawBytes | undefined,
): { raw: RawBytes } | { values: readonly T[] } {
  const count = elementCount(dims);
  const inline = t.rawData ?? new Uint8Array(0);
  const raw: RawBytes = left ?? { byteLength: inline.length, read: () => inline };
  const values = typed ?? [];
  // A decoded message has raw_data as its own property when the file has the field, even empty (ONNX's
  // proto2 presence): then raw_data is the data, and an empty one beside typed values is a mismatch.
  const hasRaw = left !== undefined || raw.byteLength > 0 || Object.hasOwn(t, 'rawData');
  if (hasRaw && values.length > 0) {
    throw new OnnxError(`${where}: has both raw_data (${raw.byteLength} bytes) and ${typedField} (${values.length} values)`);
  }
  if (hasRaw) {
    const need = count * bytesPerElement;
    if (raw.byteLength !== need) {
      throw new OnnxError(`${where}: raw_data has ${raw.byteLength} bytes, dims ${dimsStr(dims)} need ${need}`);
    }
    return { raw };
  }
  if (values.length !== count) {
    if (values.length === 0) {
      throw new OnnxError(
        `${where}: has no data (neither raw_data nor ${typedField}), dims ${dimsStr(dims)} need ${count} values`,
      );
    }
    throw new OnnxError(`${where}: ${typedField} has ${values.length} values, dims ${dimsStr(dims)} need ${count}`);
  }
  return { values };
}

function externalLocation(t: TensorProto): string | undefined {
  return t.externalData?.find((e) => e.key === 'location')?.value ?? undefined;
}

/**
 * Converts a TensorProto to an IrTensor. FLOAT and INT64 are read as is; DOUBLE becomes float32 (refused
 * if a value does not fit) and INT32 becomes int64 (always exact). `where` names the tensor in errors.
 * `left`: the raw_data, when the reader left it in the file (source.ts); FLOAT data is then read when used.
 */
export function tensorFromProto(t: TensorProto, where: string, left?: RawBytes): IrTensor {
  // dataLocation EXTERNAL = 1
  if (t.dataLocation === 1 || (t.externalData?.length ?? 0) > 0) {
    const loc = externalLocation(t);
    throw new OnnxError(
      `${where}: external data is not supported (the values live in a separate file${loc ? ` '${loc}'` : ''}); `
        + 'save the model with its weights inside the .onnx file',
    );
  }
  if (t.segment) throw new OnnxError(`${where}: segmented tensors are not supported`);
  const dims = checkDims((t.dims ?? []).map(int64ToBigInt), where);
  const count = elementCount(dims);
  switch (t.dataType ?? 0) {
    case DataType.FLOAT: {
      const src = pickData(t, t.floatData, 'float_data', 4, dims, where, left);
      if ('raw' in src) return float32OfRaw(dims, src.raw, left === undefined);
      return { dtype: 'float32', dims, data: Float32Array.from(src.values) };
    }
    case DataType.DOUBLE: {
      const src = pickData(t, t.doubleData, 'double_data', 8, dims, where, left);
      const doubles = 'raw' in src
        ? fromLittleEndian(src.raw.read(), new Float64Array(count), (v, o) => v.getFloat64(o, true))
        : Float64Array.from(src.values);
      for (let i = 0; i < doubles.length; i++) {
        if (Math.abs(doubles[i]!) > FLOAT32_MAX && Number.isFinite(doubles[i]!)) {
          throw new OnnxError(`${where}: DOUBLE value ${doubles[i]} at index ${i} does not fit in float32`);
        }
      }
      return { dtype: 'float32', dims, data: Float32Array.from(doubles) };
    }
    case DataType.INT64: {
      const src = pickData(t, t.int64Data, 'int64_data', 8, dims, where, left);
      const data = 'raw' in src
        ? fromLittleEndian(src.raw.read(), new BigInt64Array(count), (v, o) => v.getBigInt64(o, true))
        : BigInt64Array.from(src.values, int64ToBigInt);
      return { dtype: 'int64', dims, data };
    }
    case DataType.INT32: {
      const src = pickData(t, t.int32Data, 'int32_data', 4, dims, where, left);
      const ints = 'raw' in src
        ? fromLittleEndian(src.raw.read(), new Int32Array(count), (v, o) => v.getInt32(o, true))
        : Int32Array.from(src.values);
      return { dtype: 'int64', dims, data: BigInt64Array.from(ints, (v) => BigInt(v)) };
    }
    default:
      throw new OnnxError(
        `${where}: data type ${dataTypeName(t.dataType)} is not supported (supported: FLOAT, INT64; DOUBLE and INT32 are converted)`,
      );
  }
}

/** Typed-array bytes in little-endian order (a view when the host is little-endian, a copy otherwise). */
function toLittleEndian(data: Float32Array | BigInt64Array): Uint8Array {
  if (LITTLE_ENDIAN_HOST) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  const out = new Uint8Array(data.byteLength);
  const view = new DataView(out.buffer);
  if (data instanceof Float32Array) data.forEach((v, i) => view.setFloat32(i * 4, v, true));
  else data.forEach((v, i) => view.setBigInt64(i * 8, v, true));
  return out;
}

/** An IrTensor as a TensorProto with raw_data, after checking its data matches its dims. */
export function tensorToProto(name: string, t: IrTensor, where: string): TensorProto {
  const dims = checkDims(t.dims, where);
  const count = elementCount(dims);
  if (t.data.length !== count) {
    throw new OnnxError(`${where}: data has ${t.data.length} elements, dims ${dimsStr(dims)} need ${count}`);
  }
  return {
    name,
    dims,
    dataType: t.dtype === 'float32' ? DataType.FLOAT : DataType.INT64,
    rawData: toLittleEndian(t.data),
  };
}

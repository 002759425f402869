// The one place that touches onnx-proto (protobufjs bindings of onnx.proto): its runtime, its types,
// and the int64 plumbing. protobufjs hands int64 fields back as `Long` objects when the `long` package
// resolves and as plain numbers when it does not (e.g. some bundles), so everything here accepts both.
import onnxProto from 'onnx-proto';

export const { onnx } = onnxProto;

export type ModelProto = onnxProto.onnx.ModelProto;
export type GraphProto = onnxProto.onnx.IGraphProto;
export type NodeProto = onnxProto.onnx.INodeProto;
export type AttributeProto = onnxProto.onnx.IAttributeProto;
export type TensorProto = onnxProto.onnx.ITensorProto;
export type ValueInfoProto = onnxProto.onnx.IValueInfoProto;
// Decoded messages are class instances; only those carry the oneof getters ('value').
export type DecodedTypeProto = onnxProto.onnx.TypeProto;
export type DecodedDimension = onnxProto.onnx.TensorShapeProto.Dimension;

/** ONNX TensorProto.DataType codes we name in code (the rest only appear in error messages). */
export const DataType = { FLOAT: 1, INT32: 6, INT64: 7, DOUBLE: 11 } as const;

/** AttributeProto.AttributeType codes. */
export const AttrType = {
  UNDEFINED: 0, FLOAT: 1, INT: 2, STRING: 3, TENSOR: 4, GRAPH: 5, FLOATS: 6, INTS: 7, STRINGS: 8,
  TENSORS: 9, GRAPHS: 10, SPARSE_TENSOR: 11, SPARSE_TENSORS: 12, TYPE_PROTO: 13, TYPE_PROTOS: 14,
} as const;

// Names of every TensorProto.DataType up to ONNX 1.17, so an unsupported one is named, not numbered.
const DATA_TYPE_NAMES = [
  'UNDEFINED', 'FLOAT', 'UINT8', 'INT8', 'UINT16', 'INT16', 'INT32', 'INT64', 'STRING', 'BOOL', 'FLOAT16',
  'DOUBLE', 'UINT32', 'UINT64', 'COMPLEX64', 'COMPLEX128', 'BFLOAT16', 'FLOAT8E4M3FN', 'FLOAT8E4M3FNUZ',
  'FLOAT8E5M2', 'FLOAT8E5M2FNUZ', 'UINT4', 'INT4', 'FLOAT4E2M1',
];

export function dataTypeName(code: number | null | undefined): string {
  const c = code ?? 0;
  return DATA_TYPE_NAMES[c] ?? `data type ${c}`;
}

const ATTR_TYPE_NAMES = new Map<number, string>(Object.entries(AttrType).map(([k, v]) => [v, k]));

export function attrTypeName(code: number): string {
  return ATTR_TYPE_NAMES.get(code) ?? `attribute type ${code}`;
}

/** What protobufjs gives for an int64 field: a number, or a Long-like {low, high} pair of 32-bit halves. */
export type Int64 = number | { readonly low: number; readonly high: number; readonly unsigned?: boolean };

const INT64_MIN = -(1n << 63n);
const INT64_MAX = (1n << 63n) - 1n;

function isLongLike(v: unknown): v is { low: number; high: number; unsigned?: boolean } {
  return typeof v === 'object' && v !== null && typeof (v as { low?: unknown }).low === 'number'
    && typeof (v as { high?: unknown }).high === 'number';
}

/** Exact value of a decoded int64 field (signed, as ONNX int64 fields are). */
export function int64ToBigInt(v: unknown): bigint {
  if (v === null || v === undefined) return 0n;
  if (typeof v === 'number') return Number.isInteger(v) ? BigInt(v) : BigInt(Math.trunc(v));
  if (typeof v === 'bigint') return v;
  if (isLongLike(v)) {
    const bits = (BigInt(v.high >>> 0) << 32n) | BigInt(v.low >>> 0);
    return v.unsigned === true ? bits : BigInt.asIntN(64, bits);
  }
  throw new TypeError(`expected an int64 value, got ${typeof v}`);
}

/**
 * An int64 as a JS number. Values beyond 2^53 (in practice only the INT64_MAX/MIN "to the end" sentinels
 * of Slice-like attributes) become the nearest double; toInt64 clamps them back on write.
 */
export function int64ToNumber(v: unknown): number {
  return Number(int64ToBigInt(v));
}

/**
 * An integer for an int64 field. Safe integers go through as numbers; anything larger is clamped to the
 * int64 range and handed over as {low, high} bits, because protobufjs would wrap 2^63 to INT64_MIN.
 */
export function toInt64(v: number | bigint): Int64 {
  if (typeof v === 'number' && Number.isSafeInteger(v)) return v;
  let b = typeof v === 'bigint' ? v : BigInt(v);
  if (b > INT64_MAX) b = INT64_MAX;
  if (b < INT64_MIN) b = INT64_MIN;
  const bits = BigInt.asUintN(64, b);
  return { low: Number(bits & 0xffffffffn) | 0, high: Number(bits >> 32n) | 0, unsigned: false };
}

const utf8Decoder = new TextDecoder('utf-8');
const utf8Encoder = new TextEncoder();

export function utf8(bytes: Uint8Array | null | undefined): string {
  return bytes ? utf8Decoder.decode(bytes) : '';
}

export function utf8Bytes(s: string): Uint8Array {
  return utf8Encoder.encode(s);
}

// ONNX file -> Graph. Decoding is protobufjs's; everything after it is checked here so that a bad file
// (empty, not protobuf, truncated, lying lengths, impossible shapes, external weights, unsupported
// dtypes, dangling values) ends in one OnnxError that says what is wrong and where.
import type { Attr, Dim, DType, Graph, GraphNode, IrTensor, ValueInfo } from '../graph/ir';
import { OnnxError } from './error';
import { checkAndOrderNodes } from './graph-check';
import {
  AttrType, type AttributeProto, attrTypeName, DataType, dataTypeName, type GraphProto, int64ToBigInt,
  int64ToNumber, type ModelProto, type NodeProto, onnx, type TensorProto, utf8, type ValueInfoProto,
  type DecodedDimension, type DecodedTypeProto,
} from './proto';
import { type ByteSource, modelSkeleton, readAll } from './source';
import { MAX_TENSOR_ELEMENTS, type RawBytes, tensorFromProto } from './tensor';
import { checkWireFormat } from './wire-check';

/** Files larger than this are refused before decoding (protobuf itself cannot address more than 2 GiB). */
export const MAX_MODEL_BYTES = 2 ** 30;

/**
 * Newest ONNX IR version we read: the newest ONNX Runtime 1.30 reads. A newer file may carry fields and
 * meanings this reader would silently ignore, so it is refused by version.
 */
export const MAX_IR_VERSION = 13;

/** Newest default-domain opset we read: the newest ONNX Runtime 1.30 supports. */
const MAX_OPSET = 26;

/** Symbolic name given to a dimension that has neither dim_value nor dim_param. */
export const UNKNOWN_DIM = '?';

export interface ParseOptions {
  /** Override MAX_MODEL_BYTES (lower it, e.g. for a UI that previews small files). */
  readonly maxBytes?: number;
}

/**
 * Parses and validates an ONNX ModelProto. Throws OnnxError for anything we cannot run faithfully.
 * Bytes in memory: float initializers are views of them where aligned (don't change the bytes while the
 * graph is in use). A ByteSource (a file read piece by piece, source.ts): the initializers' large raw_data
 * stays in the file and is read when an initializer's data is read, so the model is never held whole; the
 * checks are the same, and a file whose framing is unusual is read whole and checked as bytes are.
 */
export function parseOnnx(input: Uint8Array | ByteSource, opts: ParseOptions = {}): Graph {
  const maxBytes = opts.maxBytes ?? MAX_MODEL_BYTES;
  if (input instanceof Uint8Array) return modelGraph(decodeModel(input, maxBytes), input.length);
  const src = input;
  checkSize(src.byteLength, maxBytes);
  const head = src.read(0, Math.min(src.byteLength, 64));
  // A file that starts like text or an archive (or with whitespace that could hide one) goes the whole-file way.
  const skeleton = sniffNonOnnx(head) === undefined && ![0xef, 0x20, 0x09, 0x0a, 0x0d].includes(head[0]!) ? modelSkeleton(src) : undefined;
  if (skeleton) {
    let model: ModelProto | undefined;
    try {
      checkWireFormat(skeleton.bytes, 'Model');
      model = onnx.ModelProto.decode(skeleton.bytes);
    } catch {
      // Refused by the wire check or by protobufjs: read the whole file, for the error it gives as bytes.
    }
    if (model) {
      const left = (i: number): RawBytes | undefined => {
        const r = skeleton.raw[i];
        if (!r) return undefined;
        const into = src.readInto?.bind(src);
        return { byteLength: r.length, read: () => src.read(r.offset, r.length), ...(into && { readInto: (dst: Uint8Array) => into(r.offset, dst) }) };
      };
      return modelGraph(model, src.byteLength, left);
    }
  }
  return parseOnnx(readAll(src), opts);
}

function modelGraph(model: ModelProto, byteLength: number, left?: (initializer: number) => RawBytes | undefined): Graph {
  const g = model.graph;
  if (!g) throw new OnnxError(`not an ONNX model: the file (${byteLength} bytes) has no graph`);
  const ir = int64ToNumber(model.irVersion);
  if (ir < 1) throw new OnnxError(ir === 0 ? 'not an ONNX model: ir_version is missing' : `not an ONNX model: ir_version ${ir} is not valid`);
  if (ir > MAX_IR_VERSION) {
    throw new OnnxError(`the model's IR version ${ir} is newer than this reader knows (up to ${MAX_IR_VERSION}); re-export it with an older ONNX`);
  }
  const opset = defaultOpset(model);
  return convertGraph(g, opset, metadataOf(model), left);
}

/** Parses a serialized TensorProto (the input_N.pb / output_N.pb files of ONNX's test data). */
export function parseTensorProto(bytes: Uint8Array, what = 'tensor'): IrTensor {
  if (bytes.length === 0) throw new OnnxError(`${what}: file is empty`);
  if (bytes.length > MAX_MODEL_BYTES) throw new OnnxError(`${what}: ${bytes.length} bytes is over the limit of ${MAX_MODEL_BYTES}`);
  let t: TensorProto;
  wireCheck(bytes, 'Tensor', `${what}: not a valid TensorProto`);
  try {
    t = onnx.TensorProto.decode(bytes);
  } catch (e) {
    throw decodeError(e, `${what}: not a valid TensorProto`);
  }
  return tensorFromProto(t, t.name ? `${what} '${t.name}'` : what);
}

/** The distinct op types of a graph, sorted, so callers can name every op they do not support at once. */
export function opsUsed(graph: Graph): string[] {
  return [...new Set(graph.nodes.map((n) => n.op))].sort();
}

// ---- decoding -------------------------------------------------------------------------------------

function checkSize(length: number, maxBytes: number): void {
  if (length > maxBytes) {
    throw new OnnxError(`model file is ${length} bytes, over the limit of ${maxBytes} bytes`);
  }
  if (length === 0) throw new OnnxError('model file is empty (0 bytes)');
}

function decodeModel(bytes: Uint8Array, maxBytes: number): ModelProto {
  checkSize(bytes.length, maxBytes);
  const kind = sniffNonOnnx(bytes);
  if (kind) throw new OnnxError(`not an ONNX model: the file looks like ${kind}`);
  wireCheck(bytes, 'Model', 'not a valid ONNX model');
  try {
    return onnx.ModelProto.decode(bytes);
  } catch (e) {
    throw decodeError(e, 'not a valid ONNX model');
  }
}

/**
 * Recognizes common files renamed to .onnx. A valid ModelProto cannot start with these bytes: '<', '{'
 * and ASCII whitespace all decode to wire types or field numbers that ONNX never writes first.
 */
function sniffNonOnnx(bytes: Uint8Array): string | undefined {
  let i = 0;
  if (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) i = 3; // UTF-8 BOM
  while (i < bytes.length && (bytes[i] === 0x20 || bytes[i] === 0x09 || bytes[i] === 0x0a || bytes[i] === 0x0d)) i++;
  const head = String.fromCharCode(...bytes.subarray(i, i + 24));
  if (head.startsWith('version https')) return 'a Git LFS pointer, not the model itself (fetch it with git lfs pull)';
  if (head.startsWith('<')) return `an HTML or XML document (it starts with '${printable(head)}')`;
  if (head.startsWith('{') || head.startsWith('[')) return `JSON or text (it starts with '${printable(head)}')`;
  if (bytes[0] === 0x50 && bytes[1] === 0x4b && bytes[2] === 0x03 && bytes[3] === 0x04) {
    return 'a ZIP archive (a PyTorch .pt/.pth checkpoint is one; export it with torch.onnx.export)';
  }
  return undefined;
}

function printable(s: string): string {
  return s.replace(/[^\x20-\x7e]/g, '.');
}

function wireCheck(bytes: Uint8Array, root: 'Model' | 'Tensor', prefix: string): void {
  try {
    checkWireFormat(bytes, root);
  } catch (e) {
    if (e instanceof OnnxError) throw new OnnxError(`${prefix}: ${e.message}`);
    throw e;
  }
}

function decodeError(e: unknown, prefix: string): OnnxError {
  const msg = e instanceof Error ? e.message : String(e);
  if (e instanceof RangeError && /index out of range/.test(msg)) {
    return new OnnxError(
      `${prefix}: the file is truncated or corrupt (a length field points past the end of the data: ${msg})`,
      { cause: e },
    );
  }
  if (e instanceof RangeError && /call stack/i.test(msg)) {
    return new OnnxError(`${prefix}: messages are nested too deeply`, { cause: e });
  }
  return new OnnxError(`${prefix}: protobuf decoding failed (${msg})`, { cause: e });
}

function defaultOpset(model: ModelProto): number {
  const entry = model.opsetImport.find((o) => !o.domain || o.domain === 'ai.onnx');
  if (!entry) {
    const domains = model.opsetImport.map((o) => `'${o.domain}'`).join(', ');
    throw new OnnxError(`model declares no opset for the default ONNX domain (opset_import has ${domains || 'no entries'})`);
  }
  const version = int64ToNumber(entry.version);
  if (!(version >= 1)) throw new OnnxError(`model declares opset version ${version}, which is not valid`);
  if (version > MAX_OPSET) throw new OnnxError(`model declares opset ${version}, newer than the ONNX opsets we know (up to ${MAX_OPSET})`);
  return version;
}

function metadataOf(model: ModelProto): Record<string, string> {
  const out: Record<string, string> = {};
  for (const p of model.metadataProps) {
    if (!p.key) continue; // an entry with no key names nothing (ONNX Runtime ignores it too)
    setOwn(out, p.key, p.value ?? '');
  }
  return out;
}

/** record[key] = value as an own property, even for '__proto__' (a plain assignment would set the prototype). */
function setOwn<T>(record: Record<string, T>, key: string, value: T): void {
  Object.defineProperty(record, key, { value, enumerable: true, writable: true, configurable: true });
}

// ---- graph ----------------------------------------------------------------------------------------

function convertGraph(g: GraphProto, opset: number, metadata: Record<string, string>, left?: (initializer: number) => RawBytes | undefined): Graph {
  const nodeProtos = g.node ?? [];
  if (nodeProtos.length === 0) throw new OnnxError('the graph has no nodes');

  const initializers = new Map<string, IrTensor>();
  const elemTypes = new Map<string, string>();
  for (const [i, t] of (g.initializer ?? []).entries()) {
    const name = t.name ?? '';
    if (name === '') throw new OnnxError('an initializer has no name');
    if (initializers.has(name)) throw new OnnxError(`initializer '${name}' is declared twice`);
    initializers.set(name, tensorFromProto(t, `initializer '${name}'`, left?.(i)));
    // The file's own element type (DOUBLE and INT32 are converted on reading), for the op rules' type checks.
    elemTypes.set(name, dataTypeName(t.dataType));
  }
  if ((g.sparseInitializer?.length ?? 0) > 0) {
    throw new OnnxError(`sparse initializers are not supported ('${g.sparseInitializer![0]!.values?.name ?? ''}')`);
  }

  // Before IR version 4 initializers were also listed as graph inputs; they are not inputs to feed.
  const inputs = (g.input ?? [])
    .filter((v) => !initializers.has(v.name ?? ''))
    .map((v) => convertValueInfo(v, 'graph input', true));
  const outputs = (g.output ?? []).map((v) => convertValueInfo(v, 'graph output', false));
  if (outputs.length === 0) throw new OnnxError('the graph has no outputs');

  const names = uniqueNodeNames(nodeProtos);
  const nodes = nodeProtos.map((n, i) => convertNode(n, names[i]!));
  nodeProtos.forEach((n) => {
    const value = n.opType === 'Constant' && (!n.domain || n.domain === 'ai.onnx') ? n.attribute?.find((a) => a.name === 'value')?.t : undefined;
    if (value && n.output?.[0]) elemTypes.set(n.output[0], dataTypeName(value.dataType));
  });
  const ordered = checkAndOrderNodes({ inputs, outputs, nodes, initializers, opset, elemTypes });
  return { name: g.name ?? '', inputs, outputs, nodes: [...ordered], initializers, metadata, opset };
}

/**
 * Node names for the IR: the file's name, or `op_N` (N = position) when it is empty (ONNX makes names
 * optional; per-layer views key on them). A name given twice is refused: the spec requires node names
 * to be unique within a graph, and ONNX Runtime refuses such files.
 */
function uniqueNodeNames(nodes: readonly NodeProto[]): string[] {
  const taken = new Set<string>();
  for (const n of nodes) {
    const name = n.name ?? '';
    if (name === '') continue;
    if (taken.has(name)) throw new OnnxError(`two nodes are named '${name}' (node names must be unique)`);
    taken.add(name);
  }
  return nodes.map((n, i) => {
    let name = n.name ?? '';
    if (name === '') {
      name = `op_${i}`;
      while (taken.has(name)) name = `${name}_`;
      taken.add(name);
    }
    return name;
  });
}

function convertNode(n: NodeProto, name: string): GraphNode {
  const opType = n.opType ?? '';
  if (opType === '') throw new OnnxError(`node '${name}' has no op_type`);
  // Ops outside the default domain keep their domain in the name, so the engine's "unknown op" error is
  // exact ('com.microsoft.FusedConv') and the writer can put it back.
  const domain = n.domain ?? '';
  const op = domain === '' || domain === 'ai.onnx' ? opType : `${domain}.${opType}`;
  const where = `node '${name}' (${op})`;
  const attrs: Record<string, Attr> = {};
  for (const a of n.attribute ?? []) {
    const attrName = a.name ?? '';
    if (attrName === '') throw new OnnxError(`${where}: an attribute has no name`);
    if (Object.hasOwn(attrs, attrName)) throw new OnnxError(`${where}: attribute '${attrName}' is given twice`);
    setOwn(attrs, attrName, convertAttr(a, `${where} attribute '${attrName}'`));
  }
  return { op, name, inputs: [...(n.input ?? [])], outputs: [...(n.output ?? [])], attrs };
}

/** The declared attribute type, or for old files that leave it unset, the one field that holds a value. */
function attrTypeOf(a: AttributeProto): number {
  if (a.type) return a.type;
  if (a.t) return AttrType.TENSOR;
  if (a.g) return AttrType.GRAPH;
  if ((a.floats?.length ?? 0) > 0) return AttrType.FLOATS;
  if ((a.ints?.length ?? 0) > 0) return AttrType.INTS;
  if ((a.strings?.length ?? 0) > 0) return AttrType.STRINGS;
  if ((a.s?.length ?? 0) > 0) return AttrType.STRING;
  return AttrType.UNDEFINED;
}

/** The value fields of AttributeProto with the type each belongs to (onnx.proto). */
const ATTR_FIELDS: readonly (readonly [keyof AttributeProto, number, boolean])[] = [
  ['f', AttrType.FLOAT, false], ['i', AttrType.INT, false], ['s', AttrType.STRING, false], ['t', AttrType.TENSOR, false],
  ['g', AttrType.GRAPH, false], ['sparseTensor', AttrType.SPARSE_TENSOR, false], ['tp', AttrType.TYPE_PROTO, false],
  ['floats', AttrType.FLOATS, true], ['ints', AttrType.INTS, true], ['strings', AttrType.STRINGS, true],
  ['tensors', AttrType.TENSORS, true], ['graphs', AttrType.GRAPHS, true], ['sparseTensors', AttrType.SPARSE_TENSORS, true],
  ['typeProtos', AttrType.TYPE_PROTOS, true],
];

/**
 * The value fields an attribute has in the file: a singular field present (proto2 presence: decoded
 * messages hold it as their own property, even at its default), a repeated one non-empty. ONNX's checker
 * refuses a value in a field of another type than the declared one, and more than one value field.
 */
function checkAttrFields(a: AttributeProto, where: string): void {
  const present = ATTR_FIELDS.filter(([k, , repeated]) => (repeated ? ((a[k] as unknown[] | null | undefined)?.length ?? 0) > 0 : Object.hasOwn(a, k) && a[k] != null));
  const declared = a.type ?? 0;
  for (const [k, type] of present) {
    if (declared !== 0 && type !== declared) {
      throw new OnnxError(`${where}: has type ${attrTypeName(declared)} but also a value in its '${String(k)}' field (${attrTypeName(type)})`);
    }
  }
  if (present.length > 1) throw new OnnxError(`${where}: has more than one value field (${present.map(([k]) => String(k)).join(', ')})`);
}

function convertAttr(a: AttributeProto, where: string): Attr {
  if (a.refAttrName) throw new OnnxError(`${where}: references function attribute '${a.refAttrName}', which is not supported`);
  checkAttrFields(a, where);
  const type = attrTypeOf(a);
  switch (type) {
    case AttrType.INT:
      return { type: 'int', value: int64ToNumber(a.i) };
    case AttrType.INTS:
      return { type: 'ints', value: (a.ints ?? []).map(int64ToNumber) };
    case AttrType.FLOAT:
      return { type: 'float', value: a.f ?? 0 };
    case AttrType.FLOATS:
      return { type: 'floats', value: [...(a.floats ?? [])] };
    case AttrType.STRING:
      return { type: 'string', value: utf8(a.s) };
    case AttrType.TENSOR:
      if (!a.t) throw new OnnxError(`${where}: has type TENSOR but no tensor`);
      return { type: 'tensor', value: tensorFromProto(a.t, where) };
    case AttrType.UNDEFINED:
      throw new OnnxError(`${where}: has no type and no value`);
    default:
      throw new OnnxError(`${where}: has type ${attrTypeName(type)}, which is not supported`);
  }
}

function convertValueInfo(v: ValueInfoProto, what: 'graph input' | 'graph output', needShape: boolean): ValueInfo {
  const name = v.name ?? '';
  if (name === '') throw new OnnxError(`a ${what} has no name`);
  const where = `${what} '${name}'`;
  const tt = v.type?.tensorType;
  if (!tt) {
    const kind = (v.type as DecodedTypeProto | null | undefined)?.value;
    throw new OnnxError(`${where}: ${kind ? `is a ${kind}, not a tensor` : 'has no tensor type'}`);
  }
  const dtype = valueDType(tt.elemType ?? 0, where);
  if (!tt.shape) {
    // An output's rank is informational (the engine infers shapes); an input's is needed to feed it.
    if (needShape) throw new OnnxError(`${where}: has no shape`);
    return { name, dtype, shape: [] };
  }
  const shape = ((tt.shape.dim ?? []) as DecodedDimension[]).map((d, i): Dim => {
    if (d.value === 'dimValue') {
      const n = int64ToBigInt(d.dimValue);
      if (n < 0n) throw new OnnxError(`${where}: dimension ${i} is negative (${n})`);
      if (n === 0n && what === 'graph input') throw new OnnxError(`${where}: dimension ${i} is 0 (an input with no elements)`);
      if (n > BigInt(MAX_TENSOR_ELEMENTS)) {
        throw new OnnxError(`${where}: dimension ${i} (${n}) is over the limit of ${MAX_TENSOR_ELEMENTS}`);
      }
      return Number(n);
    }
    if (d.value === 'dimParam' && d.dimParam) return d.dimParam;
    return UNKNOWN_DIM;
  });
  return { name, dtype, shape };
}

function valueDType(elemType: number, where: string): DType {
  if (elemType === DataType.FLOAT) return 'float32';
  if (elemType === DataType.INT64) return 'int64';
  throw new OnnxError(`${where}: element type ${dataTypeName(elemType)} is not supported (supported: FLOAT, INT64)`);
}

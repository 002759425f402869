// Reads one of ONNX's node conformance tests (model.onnx + test_data_set_0/{input,output}_N.pb) with
// onnx-proto: the single node, its attributes, and its input and expected output tensors.
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import onnxProto from 'onnx-proto';
import { shapeStr } from '../core/tensor';

const { onnx } = onnxProto;

const ONNX_NODE_DIR = fileURLToPath(new URL('./onnx-node/', import.meta.url));

const FLOAT = 1;
const INT64 = 7;

export type NodeTensor =
  | { readonly dtype: 'float32'; readonly shape: number[]; readonly data: Float32Array }
  | { readonly dtype: 'int64'; readonly shape: number[]; readonly data: number[] }
  | { readonly dtype: 'other'; readonly shape: number[]; readonly dataType: number };

export interface NodeCase {
  readonly name: string;
  readonly opset: number;
  readonly nodeCount: number;
  readonly opType: string;
  readonly attrs: ReadonlyMap<string, onnxProto.onnx.IAttributeProto>;
  /** By node input position; null for an omitted optional input (''). */
  readonly inputs: readonly (NodeTensor | null)[];
  readonly outputCount: number;
  readonly expected: readonly NodeTensor[];
}

/** int64 fields come back from protobufjs as numbers or as Long objects; values past 2^53 lose precision, which is fine here. */
function int64(v: number | { toString(): string } | null | undefined): number {
  if (v === null || v === undefined) return 0;
  return typeof v === 'number' ? v : Number(v.toString());
}

function decodeTensor(bytes: Uint8Array, what: string): NodeTensor {
  const t = onnx.TensorProto.decode(bytes);
  const shape = t.dims.map(int64);
  const count = shape.reduce((a, b) => a * b, 1);
  const raw = t.rawData && t.rawData.length > 0 ? new DataView(t.rawData.buffer, t.rawData.byteOffset, t.rawData.byteLength) : null;
  if (t.dataType === FLOAT) {
    const data = raw ? Float32Array.from({ length: raw.byteLength / 4 }, (_, i) => raw.getFloat32(4 * i, true)) : Float32Array.from(t.floatData);
    if (data.length !== count) throw new Error(`${what}: ${data.length} floats for shape ${shapeStr(shape)}`);
    return { dtype: 'float32', shape, data };
  }
  if (t.dataType === INT64) {
    const data = raw ? Array.from({ length: raw.byteLength / 8 }, (_, i) => Number(raw.getBigInt64(8 * i, true))) : t.int64Data.map(int64);
    if (data.length !== count) throw new Error(`${what}: ${data.length} int64s for shape ${shapeStr(shape)}`);
    return { dtype: 'int64', shape, data };
  }
  return { dtype: 'other', shape, dataType: t.dataType };
}

export function listNodeCases(): string[] {
  return readdirSync(ONNX_NODE_DIR).filter((n) => n.startsWith('test_')).sort();
}

export function loadNodeCase(name: string): NodeCase {
  const dir = join(ONNX_NODE_DIR, name);
  const model = onnx.ModelProto.decode(readFileSync(join(dir, 'model.onnx')));
  const graph = model.graph;
  const nodes = graph?.node ?? [];
  const node = nodes[0];
  if (!graph || !node) throw new Error(`${name}: model has no graph nodes`);
  const initializers = new Set((graph.initializer ?? []).map((t) => t.name));
  const graphInputs = (graph.input ?? []).map((v) => v.name).filter((n) => !initializers.has(n));
  const readPb = (file: string): NodeTensor => decodeTensor(readFileSync(join(dir, 'test_data_set_0', file)), `${name}/${file}`);
  const inputs = (node.input ?? []).map((inputName) => {
    if (inputName === '') return null;
    const index = graphInputs.indexOf(inputName);
    if (index < 0) throw new Error(`${name}: node input '${inputName}' is not a graph input`);
    return readPb(`input_${index}.pb`);
  });
  const expected: NodeTensor[] = [];
  for (let i = 0; existsSync(join(dir, 'test_data_set_0', `output_${i}.pb`)); i++) expected.push(readPb(`output_${i}.pb`));
  const defaultDomain = model.opsetImport.find((o) => !o.domain);
  return {
    name,
    opset: int64(defaultDomain?.version),
    nodeCount: nodes.length,
    opType: node.opType ?? '',
    attrs: new Map((node.attribute ?? []).map((a) => [a.name ?? '', a])),
    inputs,
    outputCount: (node.output ?? []).length,
    expected,
  };
}

// Attribute getters with ONNX defaults.
export function attrInt(c: NodeCase, name: string, dflt: number): number {
  const a = c.attrs.get(name);
  return a ? int64(a.i) : dflt;
}
export function attrInts(c: NodeCase, name: string, dflt: readonly number[]): number[] {
  const a = c.attrs.get(name);
  return a ? (a.ints ?? []).map(int64) : [...dflt];
}
export function attrFloat(c: NodeCase, name: string, dflt: number): number {
  const a = c.attrs.get(name);
  return a ? (a.f ?? 0) : dflt;
}
export function attrString(c: NodeCase, name: string, dflt: string): string {
  const a = c.attrs.get(name);
  return a?.s ? new TextDecoder().decode(a.s) : dflt;
}

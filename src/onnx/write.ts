// Graph -> ONNX file: a standard ModelProto that onnxruntime, Netron and onnx.checker accept.
// Initializers go out as little-endian raw_data; the graph is checked (and ordered) first, so we never
// write a file that our own reader would refuse.
import type { Attr, Dim, Graph, GraphNode, ValueInfo } from '../graph/ir';
import { OnnxError } from './error';
import { checkAndOrderNodes } from './graph-check';
import { UNKNOWN_DIM } from './read';
import {
  AttrType, type AttributeProto, DataType, type NodeProto, onnx, toInt64, utf8Bytes, type ValueInfoProto,
} from './proto';
import { MAX_TENSOR_ELEMENTS, tensorToProto } from './tensor';

/** IR version 8 (ONNX 1.10+): understood by every onnxruntime from 1.10 on. */
export const IR_VERSION = 8;
/** Oldest default-domain opset we write: Squeeze/Unsqueeze/Split take axes as inputs from 13 on. */
const MIN_WRITE_OPSET = 13;
const PRODUCER_NAME = 'resnet-lab';

export interface SerializeOptions {
  /** producer_name (default 'resnet-lab'). */
  readonly producer?: string;
  /** The model's doc_string, shown by Netron. */
  readonly docString?: string;
}

export function serializeOnnx(graph: Graph, opts: SerializeOptions = {}): Uint8Array {
  if (!Number.isInteger(graph.opset) || graph.opset < MIN_WRITE_OPSET) {
    throw new OnnxError(`graph opset ${graph.opset} is not supported for writing (need an integer >= ${MIN_WRITE_OPSET})`);
  }
  const nodes = checkAndOrderNodes(graph);
  const extraDomains = new Set<string>();
  const model = onnx.ModelProto.create({
    irVersion: IR_VERSION,
    producerName: opts.producer ?? PRODUCER_NAME,
    docString: opts.docString ?? '',
    graph: {
      name: graph.name,
      node: nodes.map((n) => nodeToProto(n, extraDomains)),
      initializer: [...graph.initializers].map(([name, t]) => tensorToProto(name, t, `initializer '${name}'`)),
      input: graph.inputs.map((v) => valueInfoToProto(v, 'graph input')),
      output: graph.outputs.map((v) => valueInfoToProto(v, 'graph output')),
    },
    opsetImport: [
      { domain: '', version: graph.opset },
      // The IR keeps no version for other domains; 1 is the first (and usually only) one.
      ...[...extraDomains].sort().map((domain) => ({ domain, version: 1 })),
    ],
    metadataProps: Object.entries(graph.metadata).map(([key, value]) => ({ key, value })),
  });
  const buf = onnx.ModelProto.encode(model).finish();
  // protobufjs returns a Node Buffer in Node; hand out a plain Uint8Array view of the same bytes.
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
}

/** 'com.microsoft.FusedConv' -> domain 'com.microsoft', op_type 'FusedConv' (the reader's convention). */
function splitOp(op: string): { domain: string; opType: string } {
  const dot = op.lastIndexOf('.');
  return dot < 0 ? { domain: '', opType: op } : { domain: op.slice(0, dot), opType: op.slice(dot + 1) };
}

function nodeToProto(n: GraphNode, extraDomains: Set<string>): NodeProto {
  const { domain, opType } = splitOp(n.op);
  if (opType === '') throw new OnnxError(`node '${n.name}' has an empty op`);
  if (domain !== '') extraDomains.add(domain);
  const where = `node '${n.name}' (${n.op})`;
  return {
    name: n.name,
    opType,
    domain,
    input: [...n.inputs],
    output: [...n.outputs],
    attribute: Object.entries(n.attrs).map(([name, a]) => attrToProto(name, a, `${where} attribute '${name}'`)),
  };
}

function int64Of(v: number, where: string): ReturnType<typeof toInt64> {
  if (!Number.isInteger(v)) throw new OnnxError(`${where}: ${v} is not an integer`);
  return toInt64(v);
}

function attrToProto(name: string, a: Attr, where: string): AttributeProto {
  switch (a.type) {
    case 'int':
      return { name, type: AttrType.INT, i: int64Of(a.value, where) };
    case 'ints':
      return { name, type: AttrType.INTS, ints: a.value.map((v) => int64Of(v, where)) };
    case 'float':
      return { name, type: AttrType.FLOAT, f: a.value };
    case 'floats':
      return { name, type: AttrType.FLOATS, floats: [...a.value] };
    case 'string':
      return { name, type: AttrType.STRING, s: utf8Bytes(a.value) };
    case 'tensor':
      return { name, type: AttrType.TENSOR, t: tensorToProto('', a.value, where) };
  }
}

function dimToProto(d: Dim, where: string): { dimValue: number } | { dimParam: string } | Record<string, never> {
  if (typeof d === 'string') return d === UNKNOWN_DIM ? {} : { dimParam: d };
  if (!Number.isInteger(d) || d < 0 || d > MAX_TENSOR_ELEMENTS) {
    throw new OnnxError(`${where}: dimension ${d} is not an integer in [0, ${MAX_TENSOR_ELEMENTS}]`);
  }
  return { dimValue: d };
}

function valueInfoToProto(v: ValueInfo, what: string): ValueInfoProto {
  const where = `${what} '${v.name}'`;
  return {
    name: v.name,
    type: {
      tensorType: {
        elemType: v.dtype === 'float32' ? DataType.FLOAT : DataType.INT64,
        shape: { dim: v.shape.map((d) => dimToProto(d, where)) },
      },
    },
  };
}

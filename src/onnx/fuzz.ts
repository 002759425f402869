// Seeded mutations of an ONNX model, for the model fuzzer (src/fuzz/, scripts/fuzz-models.ts): byte-level
// damage (bit flips, overwritten spans, truncation, deleted or repeated spans, length prefixes claiming
// gigabytes) and structured edits made on the decoded protobuf (IR and opset versions, op types,
// attribute values and types, unknown and duplicate attributes, inserted pools and softmaxes, duplicate,
// removed, reordered and rewired nodes, initializer dims, dtypes and values, raw_data beside typed data,
// graph inputs and outputs, our metadata). The same (model, seed) always gives the same bytes, so a
// finding is reproduced from its seed alone.
import { seededRandom } from '../random';
import { onnx } from './proto';

// The decoded messages as the mutators use them (protobufjs's decoded messages always have their
// repeated fields as arrays; int64 fields are numbers or Longs).
interface Attribute { name: string; type: number; i: unknown; ints: unknown[]; f: number; floats: number[]; s: Uint8Array }
interface Node { name: string; opType: string; domain: string; input: string[]; output: string[]; attribute: Attribute[] }
interface Tensor {
  name: string; dims: unknown[]; dataType: number; rawData: Uint8Array; floatData: number[]; dataLocation: number;
  externalData: { key: string; value: string }[];
}
interface Dim { dimValue?: unknown; dimParam?: string }
interface ValueInfo { name: string; type?: { tensorType?: { elemType: number; shape?: { dim: Dim[] } } } }
interface Graph { node: Node[]; initializer: Tensor[]; input: ValueInfo[]; output: ValueInfo[] }
interface Model {
  irVersion: unknown; opsetImport: { domain: string; version: unknown }[]; graph: Graph | null;
  metadataProps: { key: string; value: string }[];
}

/** A deep copy of a message through its own encoding. */
function copyOf<T>(type: { encode(m: never): { finish(): Uint8Array }; decode(b: Uint8Array): unknown }, m: T): T {
  return type.decode(type.encode(m as never).finish()) as T;
}

export interface MutatedModel {
  readonly bytes: Uint8Array;
  /** One line per mutation applied, e.g. "attr-value conv1.pads = [2000,2000,2000,2000]". */
  readonly mutations: readonly string[];
}

/** A seeded source of choices. */
export interface Chooser {
  /** Uniform in [0, 1). */
  next(): number;
  /** An integer in [lo, hi]. */
  int(lo: number, hi: number): number;
  pick<T>(items: readonly T[]): T;
  chance(p: number): boolean;
}

function chooser(seed: number): Chooser {
  const u = seededRandom(seed).uniform;
  const int = (lo: number, hi: number): number => lo + Math.floor(u() * (hi - lo + 1));
  return {
    next: u,
    int,
    pick: <T>(items: readonly T[]): T => items[int(0, items.length - 1)]!,
    chance: (p) => u() < p,
  };
}

/** Mixes a run's seed and a case number into the case's own seed (so cases are independent). */
export function caseSeed(runSeed: number, index: number): number {
  let h = (Math.imul(runSeed ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(index + 1, 0xc2b2ae35)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x7feb352d) >>> 0;
  return (h ^ (h >>> 15)) >>> 0;
}

// ---- values the mutators draw from -----------------------------------------------------------------

const EDGE_INTS = [-(2 ** 31), -2000, -2, -1, 0, 1, 2, 3, 4, 5, 7, 16, 100, 2000, 2 ** 31 - 1, 2 ** 40];
const SMALL_INTS = [-1, 0, 1, 2, 3, 4];
const EDGE_FLOATS = [NaN, Infinity, -Infinity, -1, 0, 1e-30, 1e-5, 0.5, 1, 2, 1e30, -1e30];
const STRINGS = ['NOTSET', 'SAME_UPPER', 'SAME_LOWER', 'VALID', 'constant', 'reflect', 'edge', 'wrap', 'foo', ''];
const OP_TYPES = [
  'Relu', 'Sigmoid', 'Tanh', 'Conv', 'ConvTranspose', 'MaxPool', 'AveragePool', 'Add', 'Mul', 'Sub', 'Identity',
  'Dropout', 'Flatten', 'GlobalAveragePool', 'GlobalMaxPool', 'Softmax', 'BatchNormalization', 'Gemm', 'MatMul',
  'Pad', 'Slice', 'Reshape', 'Clip', 'LeakyRelu', 'FancyOp', '',
];
const NEW_ATTRS = [
  'spatial', 'consumed_inputs', 'is_test', 'broadcast', 'foo', 'axis', 'auto_pad', 'ceil_mode', 'storage_order',
  'training_mode', 'allowzero', 'count_include_pad', 'group', 'strides', 'pads', 'dilations', 'kernel_shape',
  'epsilon', 'transA', 'transB', 'alpha', 'mode',
];
const IR_VERSIONS = [0, 1, 2, 3, 4, 6, 7, 9, 10, 11, 12, 13, 14, 100, 2 ** 40, -1];
const OPSETS = [0, 1, 5, 6, 7, 9, 10, 11, 12, 13, 14, 17, 18, 19, 21, 22, 23, 24, 25, 30, 100, 2 ** 31];
const DATA_TYPES = [0, 1, 2, 3, 5, 6, 7, 8, 9, 10, 11, 12, 16, 26, 99];

/** AttributeProto.type codes (onnx.proto). */
const A = { FLOAT: 1, INT: 2, STRING: 3, TENSOR: 4, GRAPH: 5, FLOATS: 6, INTS: 7, STRINGS: 8 } as const;

const utf8 = new TextEncoder();
const text = (b: Uint8Array | null | undefined): string => (b ? new TextDecoder().decode(b) : '');
const num = (v: unknown): number => (typeof v === 'number' ? v : v && typeof v === 'object' && 'low' in v ? Number(String(v)) : 0);

function attrText(a: Attribute): string {
  switch (a.type) {
    case A.INT: return String(num(a.i));
    case A.INTS: return `[${(a.ints ?? []).map(num).join(',')}]`;
    case A.FLOAT: return String(a.f);
    case A.FLOATS: return `[${(a.floats ?? []).join(',')}]`;
    case A.STRING: return `'${text(a.s)}'`;
    default: return `<type ${a.type}>`;
  }
}

function newAttr(name: string, c: Chooser): Attribute {
  const kind = c.pick(['int', 'ints', 'float', 'string'] as const);
  const a = { name } as Attribute;
  if (kind === 'int') Object.assign(a, { type: A.INT, i: c.pick(EDGE_INTS) });
  if (kind === 'ints') Object.assign(a, { type: A.INTS, ints: Array.from({ length: c.int(0, 5) }, () => c.pick(EDGE_INTS)) });
  if (kind === 'float') Object.assign(a, { type: A.FLOAT, f: c.pick(EDGE_FLOATS) });
  if (kind === 'string') Object.assign(a, { type: A.STRING, s: utf8.encode(c.pick(STRINGS)) });
  return a;
}

/** A new value for an attribute of the same type: edge integers, wrong lengths, special floats. */
function revalue(a: Attribute, c: Chooser): void {
  switch (a.type) {
    case A.INT:
      a.i = c.chance(0.5) ? c.pick(SMALL_INTS) : c.pick(EDGE_INTS);
      break;
    case A.INTS: {
      const len = c.chance(0.7) ? (a.ints ?? []).length : c.int(0, 6);
      const same = c.chance(0.5);
      const v = c.chance(0.5) ? c.pick(SMALL_INTS) : c.pick(EDGE_INTS);
      a.ints = Array.from({ length: len }, (_, i) => (same ? v : c.chance(0.5) ? num(a.ints?.[i]) : c.pick(EDGE_INTS)));
      break;
    }
    case A.FLOAT:
      a.f = c.pick(EDGE_FLOATS);
      break;
    case A.FLOATS:
      a.floats = (a.floats ?? []).map(() => c.pick(EDGE_FLOATS));
      break;
    case A.STRING:
      a.s = utf8.encode(c.pick(STRINGS));
      break;
  }
}

/** Reads a float32 initializer's values (raw_data or float_data). */
function floatsOf(t: Tensor): Float32Array | undefined {
  if (t.dataType !== 1) return undefined;
  if (t.rawData && t.rawData.length > 0) {
    if (t.rawData.length % 4 !== 0) return undefined;
    return new Float32Array(Uint8Array.from(t.rawData).buffer);
  }
  return Float32Array.from(t.floatData ?? []);
}

function setFloats(t: Tensor, f: Float32Array): void {
  t.rawData = new Uint8Array(f.buffer.slice(0));
  t.floatData = [];
}

/** Every value name the graph defines (inputs, initializers, node outputs). */
function valueNames(m: Model): string[] {
  const g = m.graph!;
  return [...g.input.map((v) => v.name), ...g.initializer.map((t) => t.name), ...g.node.flatMap((n) => n.output)];
}

/** Nodes whose output is a 4-D activation of the trunk (ReLU outputs in a ResNet), for inserting ops after. */
function activationNodes(m: Model): Node[] {
  const r = m.graph!.node.filter((n) => n.opType === 'Relu');
  return r.length > 0 ? r : m.graph!.node;
}

/** Inserts `node` right after `after`, moving the consumers of `after`'s first output onto `node`'s. */
function insertAfter(m: Model, after: Node, node: Node): void {
  const g = m.graph!;
  const from = after.output[0]!;
  const to = node.output[0]!;
  for (const n of g.node) n.input = n.input.map((v) => (v === from ? to : v));
  for (const o of g.output) if (o.name === from) o.name = to;
  node.input = [from, ...node.input.slice(1)];
  g.node.splice(g.node.indexOf(after) + 1, 0, node);
}

type Structured = (m: Model, c: Chooser) => string;

const STRUCTURED: Record<string, Structured> = {
  'ir-version': (m, c) => {
    m.irVersion = c.pick(IR_VERSIONS);
    return `ir_version = ${num(m.irVersion)}`;
  },
  opset: (m, c) => {
    const r = c.next();
    if (r < 0.1) {
      m.opsetImport = [];
      return 'no opset_import';
    }
    if (r < 0.2) {
      m.opsetImport.push({ domain: 'com.microsoft', version: 1 });
      return 'opset_import + com.microsoft 1';
    }
    const v = c.pick(OPSETS);
    const entry = m.opsetImport.find((o) => !o.domain) ?? m.opsetImport[0];
    if (entry) entry.version = v;
    return `default opset = ${v}`;
  },
  'op-type': (m, c) => {
    const n = c.pick(m.graph!.node);
    const was = n.opType;
    n.opType = c.pick(OP_TYPES);
    return `op_type ${n.name}: ${was} -> ${n.opType}`;
  },
  'attr-value': (m, c) => {
    // Favour the window ops' attributes: most of the ONNX rules are theirs.
    const withAttrs = m.graph!.node.filter((n) => n.attribute.length > 0);
    if (withAttrs.length === 0) return 'attr-value: no node has attributes';
    const windows = withAttrs.filter((n) => /Conv|Pool/.test(n.opType));
    const n = c.pick(windows.length > 0 && c.chance(0.6) ? windows : withAttrs);
    const a = c.pick(n.attribute);
    revalue(a, c);
    return `attr-value ${n.name}.${a.name} = ${attrText(a)}`;
  },
  'attr-type': (m, c) => {
    const withAttrs = m.graph!.node.filter((n) => n.attribute.length > 0);
    if (withAttrs.length === 0) return 'attr-type: no node has attributes';
    const n = c.pick(withAttrs);
    const a = c.pick(n.attribute);
    const was = a.type;
    const r = c.next();
    if (r < 0.3) Object.assign(a, { type: A.FLOAT, f: 1, ints: [], i: 0 });
    else if (r < 0.5) Object.assign(a, { type: A.STRING, s: utf8.encode('1'), ints: [], i: 0, f: 0 });
    else if (r < 0.7 && a.type === A.INT) Object.assign(a, { type: A.INTS, ints: [num(a.i)], i: 0 });
    else if (r < 0.8 && a.type === A.INTS) Object.assign(a, { type: A.INT, i: num(a.ints?.[0]), ints: [] });
    else if (r < 0.9) Object.assign(a, { type: A.FLOATS, floats: [1, 1], ints: [], i: 0 });
    else a.type = c.int(0, 15);
    return `attr-type ${n.name}.${a.name}: type ${was} -> ${a.type}`;
  },
  'attr-add': (m, c) => {
    const n = c.pick(m.graph!.node);
    const a = newAttr(c.pick(NEW_ATTRS), c);
    n.attribute.push(a);
    return `attr-add ${n.name} (${n.opType}).${a.name} = ${attrText(a)}`;
  },
  'attr-remove': (m, c) => {
    const withAttrs = m.graph!.node.filter((n) => n.attribute.length > 0);
    if (withAttrs.length === 0) return 'attr-remove: no node has attributes';
    const n = c.pick(withAttrs);
    const [a] = n.attribute.splice(c.int(0, n.attribute.length - 1), 1);
    return `attr-remove ${n.name}.${a!.name}`;
  },
  'attr-duplicate': (m, c) => {
    const withAttrs = m.graph!.node.filter((n) => n.attribute.length > 0);
    if (withAttrs.length === 0) return 'attr-duplicate: no node has attributes';
    const n = c.pick(withAttrs);
    const a = c.pick(n.attribute);
    const copy = copyOf(onnx.AttributeProto, a);
    revalue(copy, c);
    n.attribute.push(copy);
    return `attr-duplicate ${n.name}.${a.name} (second value ${attrText(copy)})`;
  },
  'insert-pool': (m, c) => {
    const after = c.pick(activationNodes(m));
    const op = c.pick(['MaxPool', 'AveragePool']);
    const k = c.pick([1, 2, 3, 3, 5]);
    const attrs: Attribute[] = [({ name: 'kernel_shape', type: A.INTS, ints: c.chance(0.1) ? [k, 0] : [k, k] } as Attribute)];
    const pad = c.pick([0, 0, 1, 1, 2, k - 1, k, k + 1, 2000, -1]);
    if (c.chance(0.8)) attrs.push(({ name: 'pads', type: A.INTS, ints: c.chance(0.1) ? [pad, pad] : [pad, pad, pad, pad] } as Attribute));
    if (c.chance(0.7)) attrs.push(({ name: 'strides', type: A.INTS, ints: [c.pick([1, 1, 2, 3, 0, -1]), c.pick([1, 2, 3])] } as Attribute));
    if (c.chance(0.3)) attrs.push(({ name: 'dilations', type: A.INTS, ints: [c.pick([1, 2, 0]), c.pick([1, 2])] } as Attribute));
    if (c.chance(0.3)) attrs.push(({ name: 'ceil_mode', type: A.INT, i: c.pick([0, 1, 2, -1]) } as Attribute));
    if (op === 'AveragePool' && c.chance(0.3)) attrs.push(({ name: 'count_include_pad', type: A.INT, i: c.pick([0, 1, 2]) } as Attribute));
    if (op === 'MaxPool' && c.chance(0.2)) attrs.push(({ name: 'storage_order', type: A.INT, i: c.pick([0, 1, 2]) } as Attribute));
    if (c.chance(0.15)) attrs.push(({ name: 'auto_pad', type: A.STRING, s: utf8.encode(c.pick(['SAME_UPPER', 'SAME_LOWER', 'VALID', 'NOTSET', 'foo'])) } as Attribute));
    const node = ({ name: `fuzz.${op}`, opType: op, domain: '', input: [], output: [`fuzz.${op}.out`], attribute: attrs } as Node);
    insertAfter(m, after, node);
    return `insert ${op} after ${after.name}: ${attrs.map((a) => `${a.name}=${attrText(a)}`).join(' ')}`;
  },
  'insert-op': (m, c) => {
    const g = m.graph!;
    const last = g.node[g.node.length - 1]!;
    const after = c.chance(0.5) ? last : c.pick(activationNodes(m));
    const op = c.pick(['Softmax', 'Flatten', 'Identity', 'Dropout', 'Relu', 'GlobalAveragePool']);
    const attrs: Attribute[] = [];
    if ((op === 'Softmax' || op === 'Flatten') && c.chance(0.7)) attrs.push(({ name: 'axis', type: A.INT, i: c.pick([-5, -2, -1, 0, 1, 2, 3, 4, 5]) } as Attribute));
    const node = ({ name: `fuzz.${op}`, opType: op, domain: '', input: [], output: [`fuzz.${op}.out`], attribute: attrs } as Node);
    insertAfter(m, after, node);
    return `insert ${op} after ${after.name}${attrs.map((a) => ` ${a.name}=${attrText(a)}`).join('')}`;
  },
  'node-name-dup': (m, c) => {
    const g = m.graph!;
    const a = c.pick(g.node);
    const b = c.pick(g.node);
    b.name = a.name;
    return `node name: '${b.opType}' node renamed to '${a.name}'`;
  },
  'node-names-empty': (m) => {
    for (const n of m.graph!.node) n.name = '';
    return 'node names all empty';
  },
  'node-duplicate': (m, c) => {
    const g = m.graph!;
    const i = c.int(0, g.node.length - 1);
    const copy = copyOf(onnx.NodeProto, g.node[i]!);
    if (c.chance(0.5)) copy.name = `${copy.name}.copy`;
    g.node.splice(c.int(0, g.node.length), 0, copy);
    return `node-duplicate ${copy.name} (${copy.opType})`;
  },
  'node-remove': (m, c) => {
    const g = m.graph!;
    const [n] = g.node.splice(c.int(0, g.node.length - 1), 1);
    return `node-remove ${n!.name} (${n!.opType})`;
  },
  'node-swap': (m, c) => {
    const g = m.graph!;
    const i = c.int(0, g.node.length - 1);
    const j = c.int(0, g.node.length - 1);
    [g.node[i], g.node[j]] = [g.node[j]!, g.node[i]!];
    return `node-swap ${i} <-> ${j}`;
  },
  'node-rewire': (m, c) => {
    const g = m.graph!;
    const n = c.pick(g.node.filter((x) => x.input.length > 0));
    const k = c.int(0, n.input.length - 1);
    const was = n.input[k];
    n.input[k] = c.chance(0.1) ? 'ghost' : c.chance(0.1) ? '' : c.pick(valueNames(m));
    return `node-rewire ${n.name} input ${k}: '${was}' -> '${n.input[k]}'`;
  },
  'node-inputs': (m, c) => {
    const n = c.pick(m.graph!.node);
    if (c.chance(0.5) && n.input.length > 0) n.input.pop();
    else n.input.push(c.pick(valueNames(m)));
    return `node-inputs ${n.name} now [${n.input.join(',')}]`;
  },
  'node-output': (m, c) => {
    const n = c.pick(m.graph!.node);
    const r = c.next();
    if (r < 0.3) n.output = [];
    else if (r < 0.6) n.output.push(c.pick(valueNames(m)));
    else n.output = [c.pick(valueNames(m))];
    return `node-output ${n.name} now [${n.output.join(',')}]`;
  },
  'node-domain': (m, c) => {
    const n = c.pick(m.graph!.node);
    n.domain = c.pick(['com.microsoft', 'ai.onnx.ml', 'ai.onnx', 'x']);
    return `node-domain ${n.name} = '${n.domain}'`;
  },
  'init-dims': (m, c) => {
    const t = c.pick(m.graph!.initializer);
    const r = c.next();
    const dims = t.dims.map(num);
    if (r < 0.5 && dims.length > 0) dims[c.int(0, dims.length - 1)] = c.pick([0, 1, 2, 3, 7, 16, -1, 2 ** 31, 2 ** 40]);
    else if (r < 0.75) dims.push(c.pick([1, 2]));
    else dims.pop();
    t.dims = dims;
    return `init-dims ${t.name} = [${dims.join(',')}]`;
  },
  'init-reshape': (m, c) => {
    // Same element count, another shape: data stays consistent, the graph's shapes do not.
    const t = c.pick(m.graph!.initializer.filter((x) => x.dims.length >= 2));
    const dims = t.dims.map(num);
    const i = c.int(0, dims.length - 2);
    const f = [2, 3].find((p) => dims[i]! % p === 0);
    if (f === undefined) return `init-reshape ${t.name}: nothing to move`;
    dims[i] = dims[i]! / f;
    dims[i + 1] = dims[i + 1]! * f;
    t.dims = dims;
    return `init-reshape ${t.name} = [${dims.join(',')}]`;
  },
  'init-dtype': (m, c) => {
    const t = c.pick(m.graph!.initializer);
    const was = t.dataType;
    t.dataType = c.pick(DATA_TYPES);
    return `init-dtype ${t.name}: ${was} -> ${t.dataType}`;
  },
  'init-values': (m, c) => {
    const g = m.graph!;
    const t = c.pick(g.initializer);
    const f = floatsOf(t);
    if (f && f.length > 0) {
      const v = c.pick([NaN, Infinity, -Infinity, 1e30, -3e38, 1e10, 1e5, 0, -1, 1e-40]);
      const count = c.pick([1, 1, 3, 20, 100, f.length]);
      for (let k = 0; k < count; k++) f[c.int(0, f.length - 1)] = v;
      setFloats(t, f);
      return `init-values ${t.name}: ${Math.min(count, f.length)} of ${f.length} values = ${v}`;
    }
    if (t.dataType === 7 && t.rawData && t.rawData.length % 8 === 0 && t.rawData.length > 0) {
      const v = new BigInt64Array(Uint8Array.from(t.rawData).buffer);
      const x = c.pick([-(2n ** 63n), -5n, -1n, 0n, 1n, 2n, 3n, 5n, 64n, 2n ** 31n, 2n ** 62n]);
      v[c.int(0, v.length - 1)] = x;
      t.rawData = new Uint8Array(v.buffer);
      return `init-values ${t.name}: one int64 = ${x}`;
    }
    return `init-values ${t.name}: left as is (data type ${t.dataType})`;
  },
  'init-flip-floats': (m, c) => {
    // Silent corruption: random bit flips in the float payload only (the protobuf stays valid).
    const t = c.pick(m.graph!.initializer.filter((x) => x.dataType === 1));
    const f = floatsOf(t);
    if (!f || f.length === 0) return `init-flip-floats ${t.name}: no data`;
    const bits = new Uint32Array(f.buffer);
    const n = c.pick([1, 5, 20]);
    for (let k = 0; k < n; k++) bits[c.int(0, bits.length - 1)]! ^= 1 << c.int(0, 31);
    setFloats(t, f);
    return `init-flip-floats ${t.name}: ${n} bit flips`;
  },
  'init-raw-typed': (m, c) => {
    const t = c.pick(m.graph!.initializer.filter((x) => x.dataType === 1));
    const f = floatsOf(t);
    if (!f) return `init-raw-typed ${t.name}: no data`;
    const r = c.next();
    if (r < 0.4) {
      t.rawData = new Uint8Array(0);
      t.floatData = [...f];
      return `init-raw-typed ${t.name}: empty raw_data beside float_data`;
    }
    if (r < 0.7) {
      t.floatData = [...f];
      return `init-raw-typed ${t.name}: raw_data and float_data both set`;
    }
    t.rawData = new Uint8Array(0);
    t.floatData = [];
    return `init-raw-typed ${t.name}: empty raw_data, no float_data`;
  },
  'init-remove': (m, c) => {
    const g = m.graph!;
    const [t] = g.initializer.splice(c.int(0, g.initializer.length - 1), 1);
    return `init-remove ${t!.name}`;
  },
  'init-duplicate': (m, c) => {
    const g = m.graph!;
    const t = c.pick(g.initializer);
    g.initializer.push(copyOf(onnx.TensorProto, t));
    return `init-duplicate ${t.name}`;
  },
  'init-external': (m, c) => {
    const t = c.pick(m.graph!.initializer);
    t.dataLocation = 1;
    t.externalData = [{ key: 'location', value: c.pick(['w.bin', '/etc/passwd', '../../x']) }];
    return `init-external ${t.name}`;
  },
  'input-dims': (m, c) => {
    const input = m.graph!.input[0];
    const dims = input?.type?.tensorType?.shape?.dim;
    if (!dims || dims.length === 0) return 'input-dims: no input shape';
    const i = c.int(0, dims.length - 1);
    const d = dims[i]!;
    const r = c.next();
    if (r < 0.2) Object.assign(d, { dimValue: undefined, dimParam: c.pick(['H', 'N', '']) });
    else if (r < 0.3) dims.splice(i, 1);
    else if (r < 0.4) dims.push({ dimValue: 1 });
    else Object.assign(d, { dimParam: undefined, dimValue: c.pick([0, 1, 2, 3, 7, 27, 29, 56, -1, 2 ** 31]) });
    return `input-dims axis ${i}: [${dims.map((x) => (x.dimParam ? x.dimParam : num(x.dimValue))).join(',')}]`;
  },
  'input-type': (m, c) => {
    const tt = m.graph!.input[0]?.type?.tensorType;
    if (!tt) return 'input-type: no tensor input';
    tt.elemType = c.pick([0, 2, 6, 7, 10, 11, 16]);
    return `input-type elem_type = ${tt.elemType}`;
  },
  'graph-io': (m, c) => {
    const g = m.graph!;
    const r = c.next();
    if (r < 0.2) {
      g.output = [];
      return 'graph-io: no outputs';
    }
    if (r < 0.45) {
      const v = c.pick(g.node.flatMap((n) => n.output));
      g.output.push({ name: v, type: { tensorType: { elemType: 1 } } });
      return `graph-io: extra output '${v}'`;
    }
    if (r < 0.6) {
      g.output[0]!.name = 'ghost';
      return "graph-io: output renamed to 'ghost'";
    }
    if (r < 0.75) {
      g.input.push(copyOf(onnx.ValueInfoProto, g.input[0]!));
      return 'graph-io: input declared twice';
    }
    if (r < 0.9) {
      const copy = copyOf(onnx.ValueInfoProto, g.input[0]!);
      copy.name = 'second_input';
      g.input.push(copy);
      return "graph-io: a second input 'second_input'";
    }
    g.input = [];
    return 'graph-io: no inputs';
  },
  metadata: (m, c) => {
    const entry = m.metadataProps.find((p) => p.key === 'resnet-lab');
    const r = c.next();
    if (!entry || r < 0.2) {
      m.metadataProps.push({ key: c.pick(['', 'resnet-lab', '__proto__']), value: '{' });
      return 'metadata: odd entry added';
    }
    let meta: Record<string, unknown>;
    try {
      meta = JSON.parse(entry.value) as Record<string, unknown>;
    } catch {
      meta = {};
    }
    const keys = Object.keys(meta);
    const key = c.pick(keys.length > 0 ? keys : ['labels']);
    const v = c.pick<unknown>([null, -1, 0, 'x', [], [1e9], { a: 1 }, [NaN], 1e308, [3, 0, 28], ['a']]);
    meta[key] = v;
    entry.value = r < 0.3 ? entry.value.slice(0, c.int(0, entry.value.length)) : JSON.stringify(meta);
    return r < 0.3 ? 'metadata: JSON cut short' : `metadata: ${key} = ${JSON.stringify(v)}`;
  },
};

// ---- byte-level mutations ----------------------------------------------------------------------------

type ByteLevel = (b: Uint8Array, c: Chooser) => { bytes: Uint8Array; what: string };

/** A varint's length in bytes at offset o (0 if it runs past the end or over 10 bytes). */
function varintLength(b: Uint8Array, o: number): number {
  for (let k = 0; k < 10 && o + k < b.length; k++) if ((b[o + k]! & 0x80) === 0) return k + 1;
  return 0;
}

const BYTE_LEVEL: Record<string, ByteLevel> = {
  'flip-bits': (b, c) => {
    const out = b.slice();
    const n = c.int(1, 8);
    for (let k = 0; k < n; k++) out[c.int(0, out.length - 1)]! ^= 1 << c.int(0, 7);
    return { bytes: out, what: `flip-bits ${n}` };
  },
  'random-span': (b, c) => {
    const out = b.slice();
    const at = c.int(0, out.length - 1);
    const n = c.int(1, 16);
    for (let k = at; k < Math.min(out.length, at + n); k++) out[k] = c.int(0, 255);
    return { bytes: out, what: `random-span ${n} bytes at ${at}` };
  },
  truncate: (b, c) => {
    const n = c.chance(0.2) ? c.int(0, 64) : c.int(0, b.length - 1);
    return { bytes: b.slice(0, n), what: `truncate to ${n} of ${b.length} bytes` };
  },
  'delete-span': (b, c) => {
    const at = c.int(0, b.length - 1);
    const n = c.int(1, 64);
    return { bytes: Uint8Array.from([...b.subarray(0, at), ...b.subarray(at + n)]), what: `delete-span ${n} bytes at ${at}` };
  },
  'repeat-span': (b, c) => {
    const at = c.int(0, b.length - 1);
    const n = c.int(1, 256);
    const to = c.int(0, b.length);
    const span = b.subarray(at, at + n);
    const out = new Uint8Array(b.length + span.length);
    out.set(b.subarray(0, to));
    out.set(span, to);
    out.set(b.subarray(to), to + span.length);
    return { bytes: out, what: `repeat-span ${span.length} bytes from ${at} at ${to}` };
  },
  'huge-length': (b, c) => {
    // A length-delimited field's length prefix set to 2 GiB, 4 GiB or 2^35 (the data does not follow).
    for (let tries = 0; tries < 200; tries++) {
      const at = c.int(0, b.length - 2);
      const tag = b[at]!;
      if ((tag & 7) !== 2 || tag >> 3 < 1 || tag >> 3 > 20) continue;
      const len = varintLength(b, at + 1);
      if (len === 0) continue;
      const huge = c.pick([[0x80, 0x80, 0x80, 0x80, 0x08], [0xff, 0xff, 0xff, 0xff, 0x0f], [0x80, 0x80, 0x80, 0x80, 0x80, 0x01]]);
      const out = Uint8Array.from([...b.subarray(0, at + 1), ...huge, ...b.subarray(at + 1 + len)]);
      return { bytes: out, what: `huge-length at ${at} (field ${tag >> 3})` };
    }
    return { bytes: b.slice(), what: 'huge-length: no length prefix found' };
  },
};

export const MUTATORS: readonly string[] = [...Object.keys(STRUCTURED), ...Object.keys(BYTE_LEVEL)];

/**
 * One seeded mutant of `base`: one to three mutations, structured ones (on the decoded model) first,
 * then at most one byte-level one on the encoded bytes. `only` restricts the mutators (by name).
 */
export function mutateModel(base: Uint8Array, seed: number, only?: readonly string[]): MutatedModel {
  const c = chooser(seed);
  const structured = Object.keys(STRUCTURED).filter((k) => !only || only.includes(k));
  const byteLevel = Object.keys(BYTE_LEVEL).filter((k) => !only || only.includes(k));
  const count = c.pick([1, 1, 1, 1, 1, 1, 2, 2, 2, 3]);
  const useBytes = byteLevel.length > 0 && (structured.length === 0 || c.chance(0.3));
  const mutations: string[] = [];
  let bytes = base;
  const nStructured = useBytes ? count - 1 : count;
  if (nStructured > 0 && structured.length > 0) {
    const m = onnx.ModelProto.decode(base) as unknown as Model;
    if (!m.graph) throw new Error('mutateModel: the base model has no graph');
    for (let k = 0; k < nStructured; k++) {
      const name = c.pick(structured);
      mutations.push(`${name}: ${STRUCTURED[name]!(m, c)}`);
    }
    bytes = onnx.ModelProto.encode(m as never).finish();
  }
  if (useBytes) {
    const name = c.pick(byteLevel);
    // A plain Uint8Array (a Node Buffer's slice() is a view, not a copy), never the caller's own bytes.
    const r = BYTE_LEVEL[name]!(bytes === base ? Uint8Array.from(base) : new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength), c);
    mutations.push(r.what);
    bytes = r.bytes;
  }
  return { bytes, mutations };
}

/**
 * The model with its (first) input declared side x side, and our metadata's input size to match: the same
 * graph and weights on a smaller input, for a fuzzer that must be quick (global average pooling takes any
 * size).
 */
export function withInputSide(bytes: Uint8Array, side: number): Uint8Array {
  const m = onnx.ModelProto.decode(bytes) as unknown as Model;
  const dims = m.graph?.input[0]?.type?.tensorType?.shape?.dim;
  if (dims?.length !== 4) throw new Error('withInputSide: the model has no 4-D input');
  dims[2] = { dimValue: side };
  dims[3] = { dimValue: side };
  const entry = m.metadataProps.find((p) => p.key === 'resnet-lab');
  if (entry) entry.value = JSON.stringify({ ...(JSON.parse(entry.value) as object), input: [num(dims[1]!.dimValue), side, side] });
  return onnx.ModelProto.encode(m as never).finish();
}

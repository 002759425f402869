// The ONNX specification's rules for the ops our engines run, checked once when a graph is read (and
// before one is written), so that every engine sees only models the spec allows and all of them
// accept and refuse the same files. Per op and opset version (the op's schema as the spec's changelog
// gives it): input and output counts, the attributes it knows with their types, the required ones;
// then the value rules of each op (Conv and pools: kernel, strides, dilations, pads against the kernel,
// group; Gemm's transposes; axis ranges where the input's rank is known; Pad's mode; BatchNormalization's
// epsilon and training mode...). Ops outside this table are left to the engines, which name what they do
// not support. Every failure is an OnnxError naming the node, the op and the attribute.
import type { Attr, GraphNode, IrTensor, ValueInfo } from '../graph/ir';
import { OnnxError } from './error';

type AttrKind = Attr['type'] | 'sparse_tensor' | 'strings';

interface OpSchema {
  /** The opset version this schema is from (the op's "since version"). */
  readonly since: number;
  readonly inputs: readonly [number, number];
  readonly outputs: readonly [number, number];
  readonly attrs: Readonly<Record<string, AttrKind>>;
  readonly required?: readonly string[];
}

const INF = Number.POSITIVE_INFINITY;
const WINDOW = { auto_pad: 'string', kernel_shape: 'ints', pads: 'ints', strides: 'ints' } as const;

/** Schemas by op, oldest first. Versions that only added data types are left out (same rules). */
const SCHEMAS: Readonly<Record<string, readonly OpSchema[]>> = {
  Conv: [{ since: 1, inputs: [2, 3], outputs: [1, 1], attrs: { ...WINDOW, dilations: 'ints', group: 'int' } }],
  BatchNormalization: [
    { since: 1, inputs: [5, 5], outputs: [1, 5], attrs: { consumed_inputs: 'ints', epsilon: 'float', is_test: 'int', momentum: 'float', spatial: 'int' }, required: ['consumed_inputs'] },
    { since: 6, inputs: [5, 5], outputs: [1, 5], attrs: { epsilon: 'float', is_test: 'int', momentum: 'float', spatial: 'int' } },
    { since: 7, inputs: [5, 5], outputs: [1, 5], attrs: { epsilon: 'float', momentum: 'float', spatial: 'int' } },
    { since: 9, inputs: [5, 5], outputs: [1, 5], attrs: { epsilon: 'float', momentum: 'float' } },
    { since: 14, inputs: [5, 5], outputs: [1, 3], attrs: { epsilon: 'float', momentum: 'float', training_mode: 'int' } },
  ],
  Relu: [
    { since: 1, inputs: [1, 1], outputs: [1, 1], attrs: { consumed_inputs: 'ints' } },
    { since: 6, inputs: [1, 1], outputs: [1, 1], attrs: {} },
  ],
  Add: [
    { since: 1, inputs: [2, 2], outputs: [1, 1], attrs: { axis: 'int', broadcast: 'int', consumed_inputs: 'ints' } },
    { since: 6, inputs: [2, 2], outputs: [1, 1], attrs: { axis: 'int', broadcast: 'int' } },
    { since: 7, inputs: [2, 2], outputs: [1, 1], attrs: {} },
  ],
  MaxPool: [
    { since: 1, inputs: [1, 1], outputs: [1, 1], attrs: WINDOW, required: ['kernel_shape'] },
    { since: 8, inputs: [1, 1], outputs: [1, 2], attrs: { ...WINDOW, storage_order: 'int' }, required: ['kernel_shape'] },
    { since: 10, inputs: [1, 1], outputs: [1, 2], attrs: { ...WINDOW, storage_order: 'int', ceil_mode: 'int', dilations: 'ints' }, required: ['kernel_shape'] },
  ],
  AveragePool: [
    { since: 1, inputs: [1, 1], outputs: [1, 1], attrs: WINDOW, required: ['kernel_shape'] },
    { since: 7, inputs: [1, 1], outputs: [1, 1], attrs: { ...WINDOW, count_include_pad: 'int' }, required: ['kernel_shape'] },
    { since: 10, inputs: [1, 1], outputs: [1, 1], attrs: { ...WINDOW, count_include_pad: 'int', ceil_mode: 'int' }, required: ['kernel_shape'] },
    { since: 19, inputs: [1, 1], outputs: [1, 1], attrs: { ...WINDOW, count_include_pad: 'int', ceil_mode: 'int', dilations: 'ints' }, required: ['kernel_shape'] },
  ],
  GlobalAveragePool: [{ since: 1, inputs: [1, 1], outputs: [1, 1], attrs: {} }],
  Flatten: [{ since: 1, inputs: [1, 1], outputs: [1, 1], attrs: { axis: 'int' } }],
  Reshape: [
    { since: 1, inputs: [1, 1], outputs: [1, 1], attrs: { consumed_inputs: 'ints', shape: 'ints' } },
    { since: 5, inputs: [2, 2], outputs: [1, 1], attrs: {} },
    { since: 14, inputs: [2, 2], outputs: [1, 1], attrs: { allowzero: 'int' } },
  ],
  Gemm: [
    { since: 1, inputs: [3, 3], outputs: [1, 1], attrs: { alpha: 'float', beta: 'float', broadcast: 'int', transA: 'int', transB: 'int' } },
    { since: 7, inputs: [3, 3], outputs: [1, 1], attrs: { alpha: 'float', beta: 'float', transA: 'int', transB: 'int' } },
    { since: 11, inputs: [2, 3], outputs: [1, 1], attrs: { alpha: 'float', beta: 'float', transA: 'int', transB: 'int' } },
  ],
  MatMul: [{ since: 1, inputs: [2, 2], outputs: [1, 1], attrs: {} }],
  Softmax: [{ since: 1, inputs: [1, 1], outputs: [1, 1], attrs: { axis: 'int' } }],
  Pad: [
    { since: 1, inputs: [1, 1], outputs: [1, 1], attrs: { mode: 'string', paddings: 'ints', value: 'float' }, required: ['paddings'] },
    { since: 2, inputs: [1, 1], outputs: [1, 1], attrs: { mode: 'string', pads: 'ints', value: 'float' }, required: ['pads'] },
    { since: 11, inputs: [2, 3], outputs: [1, 1], attrs: { mode: 'string' } },
    { since: 18, inputs: [2, 4], outputs: [1, 1], attrs: { mode: 'string' } },
  ],
  Slice: [
    { since: 1, inputs: [1, 1], outputs: [1, 1], attrs: { axes: 'ints', ends: 'ints', starts: 'ints' }, required: ['starts', 'ends'] },
    { since: 10, inputs: [3, 5], outputs: [1, 1], attrs: {} },
  ],
  Identity: [{ since: 1, inputs: [1, 1], outputs: [1, 1], attrs: {} }],
  Dropout: [
    { since: 1, inputs: [1, 1], outputs: [1, 2], attrs: { consumed_inputs: 'ints', is_test: 'int', ratio: 'float' } },
    { since: 6, inputs: [1, 1], outputs: [1, 2], attrs: { is_test: 'int', ratio: 'float' } },
    { since: 7, inputs: [1, 1], outputs: [1, 2], attrs: { ratio: 'float' } },
    { since: 12, inputs: [1, 3], outputs: [1, 2], attrs: { seed: 'int' } },
  ],
  Constant: [
    { since: 1, inputs: [0, 0], outputs: [1, 1], attrs: { value: 'tensor' }, required: ['value'] },
    { since: 11, inputs: [0, 0], outputs: [1, 1], attrs: { value: 'tensor', sparse_value: 'sparse_tensor' } },
    {
      since: 12, inputs: [0, 0], outputs: [1, 1],
      attrs: { value: 'tensor', sparse_value: 'sparse_tensor', value_float: 'float', value_floats: 'floats', value_int: 'int', value_ints: 'ints', value_string: 'string', value_strings: 'strings' },
    },
  ],
  Shape: [
    { since: 1, inputs: [1, 1], outputs: [1, 1], attrs: {} },
    { since: 15, inputs: [1, 1], outputs: [1, 1], attrs: { end: 'int', start: 'int' } },
  ],
  Gather: [{ since: 1, inputs: [2, 2], outputs: [1, 1], attrs: { axis: 'int' } }],
  Unsqueeze: [
    { since: 1, inputs: [1, 1], outputs: [1, 1], attrs: { axes: 'ints' }, required: ['axes'] },
    { since: 13, inputs: [2, 2], outputs: [1, 1], attrs: {} },
  ],
  Squeeze: [
    { since: 1, inputs: [1, 1], outputs: [1, 1], attrs: { axes: 'ints' } },
    { since: 13, inputs: [1, 2], outputs: [1, 1], attrs: {} },
  ],
  Concat: [
    { since: 1, inputs: [1, INF], outputs: [1, 1], attrs: { axis: 'int' } },
    { since: 4, inputs: [1, INF], outputs: [1, 1], attrs: { axis: 'int' }, required: ['axis'] },
  ],
  Cast: [
    { since: 1, inputs: [1, 1], outputs: [1, 1], attrs: { to: 'string' }, required: ['to'] },
    { since: 6, inputs: [1, 1], outputs: [1, 1], attrs: { to: 'int' }, required: ['to'] },
    { since: 19, inputs: [1, 1], outputs: [1, 1], attrs: { saturate: 'int', to: 'int' }, required: ['to'] },
  ],
};

function schemaFor(node: GraphNode, opset: number): OpSchema | undefined {
  const versions = SCHEMAS[node.op];
  if (!versions) return undefined;
  let found: OpSchema | undefined;
  for (const s of versions) if (s.since <= opset) found = s;
  if (!found) throw new OnnxError(`${where(node)}: ${node.op} does not exist in opset ${opset} (it first appears in opset ${versions[0]!.since})`);
  return found;
}

const where = (n: GraphNode): string => `node '${n.name}' (${n.op})`;

/** What the graph check knows about values: ranks of graph inputs, initializers and what follows them. */
export interface RankContext {
  readonly inputs: readonly ValueInfo[];
  readonly initializers: ReadonlyMap<string, IrTensor>;
  /** ONNX element types of initializers and constants as the file stores them (else taken from the IR). */
  readonly elemTypes?: ReadonlyMap<string, string>;
}

const FLOATS = ['FLOAT', 'DOUBLE', 'FLOAT16', 'BFLOAT16'];
const INDICES = ['INT32', 'INT64'];

/**
 * The spec's type constraints on the inputs of the ops we run: which element types each input takes
 * (`allowed`, by input index; '*' for any later input), and which inputs must share one type.
 */
function typeRules(op: string, opset: number): { allowed: Record<number | '*', readonly string[] | undefined>; same: readonly number[] } | undefined {
  const numeric = [...FLOATS, 'INT32', 'INT64', 'INT8', 'UINT8', 'INT16', 'UINT16', 'UINT32', 'UINT64'];
  switch (op) {
    case 'Conv': return { allowed: { 0: FLOATS, 1: FLOATS, 2: FLOATS, '*': undefined }, same: [0, 1, 2] };
    case 'BatchNormalization': return { allowed: { 0: FLOATS, '*': FLOATS }, same: opset >= 15 ? [] : [0, 1, 2, 3, 4] };
    case 'AveragePool': case 'GlobalAveragePool': case 'MaxPool': case 'Softmax':
      return { allowed: { 0: FLOATS, '*': undefined }, same: [] };
    case 'Relu': return { allowed: { 0: opset >= 14 ? numeric : FLOATS, '*': undefined }, same: [] };
    case 'Add': case 'MatMul': return { allowed: { 0: numeric, 1: numeric, '*': undefined }, same: [0, 1] };
    case 'Gemm': return { allowed: { 0: numeric, 1: numeric, 2: numeric, '*': undefined }, same: [0, 1, 2] };
    case 'Reshape': return { allowed: { 1: ['INT64'], '*': undefined }, same: [] };
    case 'Slice': return { allowed: { 1: INDICES, 2: INDICES, 3: INDICES, 4: INDICES, '*': undefined }, same: [1, 2, 3, 4] };
    case 'Pad': return { allowed: { 1: ['INT64'], 3: INDICES, '*': undefined }, same: [0, 2] };
    case 'Gather': return { allowed: { 1: INDICES, '*': undefined }, same: [] };
    case 'Squeeze': case 'Unsqueeze': return { allowed: { 1: ['INT64'], '*': undefined }, same: [] };
    case 'Concat': return { allowed: { '*': undefined }, same: [-1] };
    case 'Dropout': return { allowed: { 0: FLOATS, 1: FLOATS, 2: ['BOOL'], '*': undefined }, same: [] };
    default: return undefined;
  }
}

/** The element type of a node's output, from its op and its inputs' types. */
function outputType(node: GraphNode, inputType: (i: number) => string | undefined): string | undefined {
  switch (node.op) {
    case 'Shape': return 'INT64';
    case 'Cast': {
      const to = intAttr(node, 'to');
      return to === undefined ? undefined : ONNX_TYPE_NAMES[to];
    }
    case 'Constant': {
      if (node.attrs['value_float'] || node.attrs['value_floats']) return 'FLOAT';
      if (node.attrs['value_int'] || node.attrs['value_ints']) return 'INT64';
      return undefined;
    }
    default: return inputType(0);
  }
}

const ONNX_TYPE_NAMES = [
  'UNDEFINED', 'FLOAT', 'UINT8', 'INT8', 'UINT16', 'INT16', 'INT32', 'INT64', 'STRING', 'BOOL', 'FLOAT16', 'DOUBLE', 'UINT32',
  'UINT64', 'COMPLEX64', 'COMPLEX128', 'BFLOAT16',
];

function checkTypes(node: GraphNode, opset: number, typeOf: (name: string) => string | undefined): void {
  const rules = typeRules(node.op, opset);
  if (!rules) return;
  const types = node.inputs.map((n) => (n ? typeOf(n) : undefined));
  types.forEach((t, i) => {
    const allowed = i in rules.allowed ? rules.allowed[i] : rules.allowed['*'];
    if (t !== undefined && allowed && !allowed.includes(t)) {
      fail(node, `input ${i} '${node.inputs[i]}' is ${t}; ${node.op} takes ${allowed.length > 4 ? 'numbers' : allowed.join(' or ')} there`);
    }
  });
  const group = rules.same[0] === -1 ? types.map((_, i) => i) : rules.same;
  let first: number | undefined;
  for (const i of group) {
    const t = types[i];
    if (t === undefined) continue;
    if (first === undefined) first = i;
    else if (types[first] !== t) fail(node, `input ${i} '${node.inputs[i]}' is ${t} but input ${first} '${node.inputs[first]}' is ${types[first]}: they must have the same type`);
  }
}

/**
 * Checks every node of an ordered graph against its op's schema for `opset` and the op's value rules.
 * Ranks are followed from the graph inputs and initializers through the ops we know, so axis
 * attributes are checked where the input's rank is known.
 */
export function checkOpRules(nodes: readonly GraphNode[], opset: number, ctx: RankContext): void {
  const rank = new Map<string, number>();
  const types = new Map<string, string>();
  for (const i of ctx.inputs) {
    rank.set(i.name, i.shape.length);
    types.set(i.name, i.dtype === 'float32' ? 'FLOAT' : 'INT64');
  }
  for (const [name, t] of ctx.initializers) {
    rank.set(name, t.dims.length);
    types.set(name, ctx.elemTypes?.get(name) ?? (t.dtype === 'float32' ? 'FLOAT' : 'INT64'));
  }
  for (const [name, t] of ctx.elemTypes ?? []) if (!types.has(name)) types.set(name, t);
  for (const node of nodes) {
    const schema = schemaFor(node, opset);
    if (!schema) {
      for (const o of node.outputs) types.delete(o);
      continue;
    }
    checkSchema(node, schema, opset);
    checkTypes(node, opset, (n) => types.get(n));
    const t = types.get(node.outputs[0] ?? '') ?? outputType(node, (i) => (node.inputs[i] ? types.get(node.inputs[i]!) : undefined));
    if (t !== undefined && node.outputs[0]) types.set(node.outputs[0], t);
    const inRank = node.inputs[0] ? rank.get(node.inputs[0]) : undefined;
    checkValues(node, opset, inRank, ctx.initializers);
    if (node.op === 'Dropout') checkDropoutInputs(node, (i) => (node.inputs[i] ? rank.get(node.inputs[i]!) : undefined), ctx.initializers);
    const out = outputRank(node, inRank, ctx.initializers, (i) => (node.inputs[i] ? rank.get(node.inputs[i]!) : undefined));
    if (out !== undefined && node.outputs[0]) rank.set(node.outputs[0], out);
  }
}

function countText(range: readonly [number, number]): string {
  return range[0] === range[1] ? String(range[0]) : range[1] === INF ? `at least ${range[0]}` : `${range[0]} to ${range[1]}`;
}

function checkSchema(node: GraphNode, s: OpSchema, opset: number): void {
  // Trailing '' entries are omitted optional inputs/outputs; count up to the last given one.
  const given = (names: readonly string[]): number => {
    let n = names.length;
    while (n > 0 && names[n - 1] === '') n--;
    return n;
  };
  const nIn = given(node.inputs);
  const nOut = given(node.outputs);
  if (nIn < s.inputs[0] || nIn > s.inputs[1]) {
    throw new OnnxError(`${where(node)}: has ${nIn} inputs, opset-${opset} ${node.op} takes ${countText(s.inputs)}`);
  }
  if (nOut < s.outputs[0] || nOut > s.outputs[1]) {
    throw new OnnxError(`${where(node)}: has ${nOut} outputs, opset-${opset} ${node.op} has ${countText(s.outputs)}`);
  }
  for (const [name, a] of Object.entries(node.attrs)) {
    const want = Object.hasOwn(s.attrs, name) ? s.attrs[name] : undefined;
    if (want === undefined) {
      const known = Object.keys(s.attrs);
      throw new OnnxError(`${where(node)}: unknown attribute '${name}' for opset-${opset} ${node.op} (it has ${known.length ? known.join(', ') : 'no attributes'})`);
    }
    if (a.type !== want) throw new OnnxError(`${where(node)}: attribute '${name}' must be ${article(want)}, got ${article(a.type)}`);
  }
  for (const name of s.required ?? []) {
    if (!Object.hasOwn(node.attrs, name)) throw new OnnxError(`${where(node)}: attribute '${name}' is required`);
  }
}

function article(kind: string): string {
  const text = { int: 'an int', ints: 'a list of ints', float: 'a float', floats: 'a list of floats', string: 'a string', strings: 'a list of strings', tensor: 'a tensor', sparse_tensor: 'a sparse tensor' } as Record<string, string>;
  return text[kind] ?? kind;
}

// ---- value rules ------------------------------------------------------------------------------------

const intAttr = (n: GraphNode, name: string): number | undefined => {
  const a = n.attrs[name];
  return a?.type === 'int' ? a.value : undefined;
};
const intsAttr = (n: GraphNode, name: string): readonly number[] | undefined => {
  const a = n.attrs[name];
  return a?.type === 'ints' ? a.value : undefined;
};
const floatAttr = (n: GraphNode, name: string): number | undefined => {
  const a = n.attrs[name];
  return a?.type === 'float' ? a.value : undefined;
};
const stringAttr = (n: GraphNode, name: string): string | undefined => {
  const a = n.attrs[name];
  return a?.type === 'string' ? a.value : undefined;
};
const list = (v: readonly number[]): string => `[${v.join(',')}]`;

function fail(node: GraphNode, msg: string): never {
  throw new OnnxError(`${where(node)}: ${msg}`);
}

function flag(node: GraphNode, name: string): void {
  const v = intAttr(node, name);
  if (v !== undefined && v !== 0 && v !== 1) fail(node, `${name} must be 0 or 1, got ${v}`);
}

/** An axis attribute within [-rank, rank - 1] (or [-rank, rank] where `inclusive`). */
function axisIn(node: GraphNode, name: string, axis: number, rank: number | undefined, inclusive = false): void {
  if (rank === undefined) return;
  const hi = inclusive ? rank : rank - 1;
  if (axis < -rank || axis > hi) fail(node, `${name} ${axis} is out of range for an input of rank ${rank} (allowed: ${-rank} to ${hi})`);
}

function checkValues(node: GraphNode, opset: number, inRank: number | undefined, inits: ReadonlyMap<string, IrTensor>): void {
  switch (node.op) {
    case 'Conv':
      return checkWindow(node, true, inRank, inits);
    case 'MaxPool':
    case 'AveragePool':
      flag(node, 'ceil_mode');
      flag(node, 'count_include_pad');
      flag(node, 'storage_order');
      return checkWindow(node, false, inRank, inits);
    case 'BatchNormalization': {
      const eps = floatAttr(node, 'epsilon');
      if (eps !== undefined && !(Number.isFinite(eps) && eps > 0)) fail(node, `epsilon must be a positive finite number, got ${eps}`);
      const momentum = floatAttr(node, 'momentum');
      if (momentum !== undefined && !Number.isFinite(momentum)) fail(node, `momentum must be finite, got ${momentum}`);
      flag(node, 'training_mode');
      if (intAttr(node, 'training_mode') === 1) fail(node, 'training_mode=1 is not supported (inference uses the running statistics)');
      const spatial = intAttr(node, 'spatial');
      flag(node, 'spatial');
      if (spatial === 0) fail(node, 'spatial=0 (per-activation statistics) is not supported');
      if (node.outputs.slice(1).some((o) => o !== '')) fail(node, 'the training outputs (running mean and variance...) are not supported');
      // scale, B, mean and var are 1-D, one value per channel (spatial mode).
      node.inputs.slice(1).forEach((name, i) => {
        const t = name ? inits.get(name) : undefined;
        if (t && t.dims.length !== 1) fail(node, `${['scale', 'B', 'mean', 'var'][i]} '${name}' must be 1-D (one value per channel), got dims ${list(t.dims)}`);
      });
      return;
    }
    case 'Gemm': {
      flag(node, 'transA');
      flag(node, 'transB');
      flag(node, 'broadcast');
      // C must broadcast to [M,N] with M the batch: [N], [1], [1,N] or [1,1] (a per-row C needs a known M).
      const b = node.inputs[1] ? inits.get(node.inputs[1]) : undefined;
      const c = node.inputs[2] ? inits.get(node.inputs[2]) : undefined;
      if (b && b.dims.length !== 2) fail(node, `B '${node.inputs[1]}' must be 2-D, got dims ${list(b.dims)}`);
      if (b && c) {
        const n = intAttr(node, 'transB') === 1 ? b.dims[0]! : b.dims[1]!;
        const ok = c.dims.length <= 2 && (c.dims.length < 2 || c.dims[0] === 1) && (c.dims.length === 0 || [1, n].includes(c.dims[c.dims.length - 1]!));
        if (!ok) fail(node, `C '${node.inputs[2]}' dims ${list(c.dims)} do not broadcast to [batch,${n}]`);
      }
      return;
    }
    case 'Softmax':
    case 'Concat':
    case 'Gather': {
      const axis = intAttr(node, 'axis');
      if (axis !== undefined) axisIn(node, 'axis', axis, inRank);
      return;
    }
    case 'Flatten': {
      const axis = intAttr(node, 'axis');
      if (axis !== undefined) axisIn(node, 'axis', axis, inRank, true);
      return;
    }
    case 'Squeeze':
    case 'Unsqueeze': {
      const axes = intsAttr(node, 'axes');
      if (axes && new Set(axes).size !== axes.length) fail(node, `axes ${list(axes)} repeat an axis`);
      if (axes && inRank !== undefined) {
        const r = node.op === 'Unsqueeze' ? inRank + axes.length : inRank;
        for (const a of axes) axisIn(node, 'axes entry', a, r);
      }
      return;
    }
    case 'Pad': {
      const mode = stringAttr(node, 'mode');
      const modes = opset >= 19 ? ['constant', 'reflect', 'edge', 'wrap'] : ['constant', 'reflect', 'edge'];
      if (mode !== undefined && !modes.includes(mode)) fail(node, `mode '${mode}' is not one of ${modes.join(', ')}`);
      const pads = intsAttr(node, 'pads') ?? intsAttr(node, 'paddings');
      if (pads && pads.length % 2 !== 0) fail(node, `pads ${list(pads)} must have an even number of entries`);
      if (pads && inRank !== undefined && pads.length !== 2 * inRank) fail(node, `pads ${list(pads)} must have ${2 * inRank} entries for an input of rank ${inRank}`);
      return;
    }
    case 'Reshape': {
      flag(node, 'allowzero');
      const shape = node.inputs[1] ? inits.get(node.inputs[1]) : undefined;
      if (intAttr(node, 'allowzero') === 1 && shape?.dtype === 'int64' && shape.data.includes(0n)) {
        fail(node, 'allowzero=1 with a 0 in the shape (a zero-size dimension) is not supported');
      }
      if (shape && shape.dims.length !== 1) fail(node, `the shape input must be 1-D, got dims ${list(shape.dims)}`);
      if (shape?.dtype === 'int64' && shape.data.filter((d) => d === -1n).length > 1) fail(node, 'the shape has more than one -1');
      return;
    }
    case 'Slice': {
      const starts = intsAttr(node, 'starts');
      const ends = intsAttr(node, 'ends');
      const axes = intsAttr(node, 'axes');
      if (starts && ends && (starts.length !== ends.length || (axes && axes.length !== starts.length))) {
        fail(node, 'starts, ends and axes must have the same length');
      }
      return;
    }
    case 'Cast': {
      const to = intAttr(node, 'to');
      if (to !== undefined && !(to >= 1 && to <= 23)) fail(node, `to=${to} is not an ONNX data type`);
      return;
    }
    case 'Constant': {
      const given = Object.keys(node.attrs);
      if (given.length !== 1) fail(node, `needs exactly one of value, value_float, value_floats, value_int, value_ints... (got ${given.length ? given.join(', ') : 'none'})`);
      return;
    }
    case 'Dropout': {
      const ratio = floatAttr(node, 'ratio');
      if (ratio !== undefined && !(ratio >= 0 && ratio < 1)) fail(node, `ratio must be in [0, 1), got ${ratio}`);
      return;
    }
  }
}

/** Dropout-12+: ratio and training_mode are scalars; a constant training_mode of true is not inference. */
function checkDropoutInputs(node: GraphNode, rankOf: (i: number) => number | undefined, inits: ReadonlyMap<string, IrTensor>): void {
  for (const [i, name] of [[1, 'ratio'], [2, 'training_mode']] as const) {
    const r = rankOf(i);
    if (r !== undefined && r !== 0) fail(node, `${name} (input ${i}) must be a scalar, got a tensor of rank ${r}`);
  }
  const mode = node.inputs[2] ? inits.get(node.inputs[2]) : undefined;
  if (mode && mode.data.length === 1 && Number(mode.data[0]) !== 0) fail(node, 'training_mode=true (random dropout at inference) is not supported');
}

/**
 * Conv and pools: kernel sides > 0 (Conv's kernel_shape must match its weight), strides and dilations
 * > 0, one stride and dilation per spatial axis, pads non-negative with two per spatial axis and each
 * smaller than the (dilated) kernel side on its axis (a window entirely made of padding sees no input),
 * auto_pad one of the four values and never beside explicit pads, Conv's group dividing the output
 * channels.
 */
function checkWindow(node: GraphNode, isConv: boolean, inRank: number | undefined, inits: ReadonlyMap<string, IrTensor>): void {
  const w = isConv && node.inputs[1] ? inits.get(node.inputs[1]) : undefined;
  let kernel = intsAttr(node, 'kernel_shape');
  if (w) {
    if (w.dims.length < 3) fail(node, `weight '${node.inputs[1]}' must have at least 3 dimensions [M,C/group,k...], got ${list(w.dims)}`);
    const wk = w.dims.slice(2);
    if (kernel && list(kernel) !== list(wk)) fail(node, `kernel_shape ${list(kernel)} does not match weight '${node.inputs[1]}' ${list(w.dims)}`);
    kernel ??= wk;
  }
  const spatial = kernel?.length ?? (inRank !== undefined ? inRank - 2 : undefined);
  if (kernel) {
    if (kernel.length === 0) fail(node, 'kernel_shape is empty');
    if (kernel.some((k) => !(k > 0))) fail(node, `kernel_shape ${list(kernel)} must be positive`);
  }
  if (spatial !== undefined && inRank !== undefined && inRank !== spatial + 2) {
    fail(node, `a ${spatial}-D kernel needs a ${spatial + 2}-D input, the input has rank ${inRank}`);
  }
  const strides = intsAttr(node, 'strides');
  if (strides) {
    if (strides.some((s) => !(s > 0))) fail(node, `strides ${list(strides)} must be positive`);
    if (spatial !== undefined && strides.length !== spatial) fail(node, `strides ${list(strides)} must have ${spatial} entries (one per spatial axis)`);
  }
  const dilations = intsAttr(node, 'dilations');
  if (dilations) {
    if (dilations.some((d) => !(d > 0))) fail(node, `dilations ${list(dilations)} must be positive`);
    if (spatial !== undefined && dilations.length !== spatial) fail(node, `dilations ${list(dilations)} must have ${spatial} entries (one per spatial axis)`);
  }
  const autoPad = stringAttr(node, 'auto_pad');
  if (autoPad !== undefined && !['NOTSET', 'SAME_UPPER', 'SAME_LOWER', 'VALID'].includes(autoPad)) {
    fail(node, `auto_pad '${autoPad}' is not one of NOTSET, SAME_UPPER, SAME_LOWER, VALID`);
  }
  const pads = intsAttr(node, 'pads');
  if (pads) {
    if (autoPad !== undefined && autoPad !== 'NOTSET' && pads.some((p) => p !== 0)) fail(node, `pads ${list(pads)} cannot be given with auto_pad '${autoPad}'`);
    if (pads.some((p) => p < 0)) fail(node, `pads ${list(pads)} must not be negative`);
    if (spatial !== undefined && pads.length !== 2 * spatial) fail(node, `pads ${list(pads)} must have ${2 * spatial} entries (begin and end of each spatial axis)`);
    if (kernel && pads.length === 2 * kernel.length) {
      kernel.forEach((k, i) => {
        // Conv: the dilated extent; pools: the kernel itself, as ONNX Runtime checks it.
        const extent = isConv ? (k - 1) * (dilations?.[i] ?? 1) + 1 : k;
        if (pads[i]! >= extent || pads[i + kernel!.length]! >= extent) {
          fail(node, `pads ${list(pads)} must be smaller than the ${isConv ? 'kernel extent' : 'kernel'} (${extent} on axis ${i})`);
        }
      });
    }
  }
  if (isConv) {
    const group = intAttr(node, 'group');
    if (group !== undefined) {
      if (!(group >= 1)) fail(node, `group must be at least 1, got ${group}`);
      if (w && w.dims[0]! % group !== 0) fail(node, `group ${group} does not divide the ${w.dims[0]} output channels of weight '${node.inputs[1]}'`);
    }
    const b = node.inputs[2] ? inits.get(node.inputs[2]) : undefined;
    if (w && b && (b.dims.length !== 1 || b.dims[0] !== w.dims[0])) fail(node, `bias '${node.inputs[2]}' ${list(b.dims)} must have one value per output channel (${w.dims[0]})`);
  }
}

/** The rank of a node's first output where the op and its input's rank tell it. */
function outputRank(node: GraphNode, inRank: number | undefined, inits: ReadonlyMap<string, IrTensor>, rankOf: (i: number) => number | undefined): number | undefined {
  switch (node.op) {
    case 'Conv': case 'MaxPool': case 'AveragePool': case 'GlobalAveragePool': case 'BatchNormalization': case 'Relu':
    case 'Softmax': case 'Identity': case 'Dropout': case 'Cast': case 'Pad': case 'Slice':
      return inRank;
    case 'Add': {
      const b = rankOf(1);
      return inRank !== undefined && b !== undefined ? Math.max(inRank, b) : undefined;
    }
    case 'Flatten': case 'Gemm':
      return 2;
    case 'Shape':
      return 1;
    case 'Reshape': {
      const s = node.inputs[1] ? inits.get(node.inputs[1]) : undefined;
      return s && s.dims.length === 1 ? s.dims[0] : intsAttr(node, 'shape')?.length;
    }
    case 'Constant': {
      const v = node.attrs['value'];
      if (v?.type === 'tensor') return v.value.dims.length;
      if (node.attrs['value_ints'] || node.attrs['value_floats']) return 1;
      return node.attrs['value_int'] || node.attrs['value_float'] ? 0 : undefined;
    }
    case 'Gather': {
      const q = rankOf(1);
      return inRank !== undefined && q !== undefined ? inRank + q - 1 : undefined;
    }
    case 'Unsqueeze': {
      const axes = intsAttr(node, 'axes') ?? (node.inputs[1] ? inits.get(node.inputs[1])?.data : undefined);
      return inRank !== undefined && axes ? inRank + axes.length : undefined;
    }
    case 'Concat':
      return inRank;
    default:
      return undefined;
  }
}

// The in-memory model graph: ONNX's structure and op vocabulary, with typed attributes and tensors.
// The zoo builds it, src/onnx reads and writes it, src/engine compiles it.

export type DType = 'float32' | 'int64';

/** A constant tensor of the graph (initializer or Constant value). int64 data is kept exact as BigInt. */
export type IrTensor =
  | { readonly dtype: 'float32'; readonly dims: readonly number[]; readonly data: Float32Array }
  | { readonly dtype: 'int64'; readonly dims: readonly number[]; readonly data: BigInt64Array };

/**
 * A float tensor whose `data` is computed at each read (a fresh array: read from a file, copied, folded) may
 * also write those values into an array it is given, allocating nothing: `t[WRITE_INTO]?.(dst)`, with dst
 * of the tensor's element count. The wasm engine packs weights through one scratch array this way.
 */
export const WRITE_INTO: unique symbol = Symbol('writeInto');

/** What may carry WRITE_INTO. */
export interface WritesInto {
  readonly [WRITE_INTO]?: (dst: Float32Array) => void;
}

export type Attr =
  | { readonly type: 'int'; readonly value: number }
  | { readonly type: 'ints'; readonly value: readonly number[] }
  | { readonly type: 'float'; readonly value: number }
  | { readonly type: 'floats'; readonly value: readonly number[] }
  | { readonly type: 'string'; readonly value: string }
  | { readonly type: 'tensor'; readonly value: IrTensor };

export interface GraphNode {
  readonly op: string;
  readonly name: string;
  /** Value names; '' marks an omitted optional input, as in ONNX. */
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
  readonly attrs: Readonly<Record<string, Attr>>;
}

/** A dimension is a number, or a symbolic name (e.g. 'N' for the dynamic batch). */
export type Dim = number | string;

export interface ValueInfo {
  readonly name: string;
  readonly dtype: DType;
  readonly shape: readonly Dim[];
}

export interface Graph {
  readonly name: string;
  readonly inputs: readonly ValueInfo[];
  readonly outputs: readonly ValueInfo[];
  readonly nodes: readonly GraphNode[];
  readonly initializers: ReadonlyMap<string, IrTensor>;
  /** ONNX metadata_props: free-form key/value strings (our model metadata lives under 'resnet-lab'). */
  readonly metadata: Readonly<Record<string, string>>;
  readonly opset: number;
}

// Attribute constructors keep builder code short and typed.
export const int = (value: number): Attr => ({ type: 'int', value });
export const ints = (value: readonly number[]): Attr => ({ type: 'ints', value });
export const float = (value: number): Attr => ({ type: 'float', value });
export const floats = (value: readonly number[]): Attr => ({ type: 'floats', value });
export const str = (value: string): Attr => ({ type: 'string', value });

export function f32(dims: readonly number[], data: Float32Array): IrTensor {
  return { dtype: 'float32', dims: [...dims], data };
}

export function i64(values: readonly (number | bigint)[]): IrTensor {
  return { dtype: 'int64', dims: [values.length], data: BigInt64Array.from(values.map((v) => BigInt(v))) };
}

export function attrInt(node: GraphNode, name: string, dflt: number): number {
  const a = node.attrs[name];
  if (a === undefined) return dflt;
  if (a.type !== 'int') throw new Error(`${node.op} '${node.name}': attribute ${name} must be an int, got ${a.type}`);
  return a.value;
}

export function attrInts(node: GraphNode, name: string, dflt: readonly number[]): readonly number[] {
  const a = node.attrs[name];
  if (a === undefined) return dflt;
  if (a.type !== 'ints') throw new Error(`${node.op} '${node.name}': attribute ${name} must be ints, got ${a.type}`);
  return a.value;
}

export function attrFloat(node: GraphNode, name: string, dflt: number): number {
  const a = node.attrs[name];
  if (a === undefined) return dflt;
  if (a.type !== 'float') throw new Error(`${node.op} '${node.name}': attribute ${name} must be a float, got ${a.type}`);
  return a.value;
}

export function attrString(node: GraphNode, name: string, dflt: string): string {
  const a = node.attrs[name];
  if (a === undefined) return dflt;
  if (a.type !== 'string') throw new Error(`${node.op} '${node.name}': attribute ${name} must be a string, got ${a.type}`);
  return a.value;
}

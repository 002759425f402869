// A dense float32 tensor: row-major data with an explicit shape. Every kernel takes and returns these.
export interface Tensor {
  readonly shape: readonly number[];
  readonly data: Float32Array;
}

export function sizeOf(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

export function tensor(shape: readonly number[], data?: Float32Array): Tensor {
  const n = sizeOf(shape);
  if (data && data.length !== n) {
    throw new Error(`tensor: data has ${data.length} elements, shape [${shape.join(',')}] needs ${n}`);
  }
  return { shape: [...shape], data: data ?? new Float32Array(n) };
}

export function shapeStr(shape: readonly number[]): string {
  return `[${shape.join(',')}]`;
}

/** Largest absolute difference between two tensors of the same shape. */
export function maxAbsDiff(a: Tensor, b: Tensor): number {
  if (shapeStr(a.shape) !== shapeStr(b.shape)) {
    throw new Error(`maxAbsDiff: shapes differ ${shapeStr(a.shape)} vs ${shapeStr(b.shape)}`);
  }
  let m = 0;
  for (let i = 0; i < a.data.length; i++) m = Math.max(m, Math.abs(a.data[i]! - b.data[i]!));
  return m;
}

export function maxAbs(a: Float32Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]!));
  return m;
}

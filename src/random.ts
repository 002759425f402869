// Seeded randomness: the same seed gives the same weights, inputs and test cases on every machine.
import type { Tensor } from '../kernels/core/tensor';

export interface Rng {
  /** Uniform in [0, 1). */
  uniform(): number;
  /** Standard normal. */
  normal(): number;
  /** Fills `out` with normals times `scale`: the values `normal()` would give. */
  fillNormal(out: Float32Array, scale: number): void;
}

/**
 * The ziggurat of Marsaglia and Tsang (2000) for exp(-x^2/2), with 128 layers of equal area: the top
 * layer is a triangle-topped strip to x = 0, the base a rectangle to R plus the tail beyond it. Layer i
 * (0 <= i < 128) spans x in [0, X[i]) and heights F[i]..F[i+1]. Drawing ResNet-50's 25.5M seeded
 * weights is most of building a zoo net; Box-Muller (a log, a square root and a cosine per value) took
 * 1.3-1.8 s of it, the ziggurat's one uniform and one compare per value (99% of draws) about 0.15 s.
 */
const LAYERS = 128;
const R = 3.442619855899;
const AREA = 9.91256303526217e-3;
const density = (x: number): number => Math.exp(-0.5 * x * x);

function zigguratTables(): { x: Float64Array; f: Float64Array } {
  const x = new Float64Array(LAYERS + 1);
  const f = new Float64Array(LAYERS + 1);
  x[0] = AREA / density(R); // the base's width if its tail were a rectangle of the same area
  x[1] = R;
  f[0] = 0;
  f[1] = density(R);
  for (let i = 1; i < LAYERS - 1; i++) {
    f[i + 1] = f[i]! + AREA / x[i]!;
    x[i + 1] = Math.sqrt(-2 * Math.log(f[i + 1]!));
  }
  x[LAYERS] = 0;
  f[LAYERS] = 1;
  return { x, f };
}

const { x: X, f: F } = zigguratTables();
/** X[i] / 2^24: a 24-bit position times STEP[i] is uniform over layer i's width. */
const STEP = X.map((w) => w / 16777216);
/** Bit 7 of a draw as its sign, by arithmetic rather than a branch (a coin flip mispredicts half the time). */
const signOf = (b: number): number => 1 - ((b >>> 6) & 2);

/** mulberry32 for uniforms, the ziggurat for normals. */
export function seededRandom(seed: number): Rng {
  // The state lives in an Int32Array: a closure variable would be boxed whenever it leaves V8's 31-bit
  // small integers, which made every draw 3-4x slower.
  const state = Int32Array.of(seed | 0);
  const bits = (): number => {
    const s = (state[0]! + 0x6d2b79f5) | 0;
    state[0] = s;
    let t = Math.imul(s ^ (s >>> 15), s | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return t ^ (t >>> 14);
  };
  const uniform = (): number => (bits() >>> 0) / 4294967296;
  // One 32-bit draw: 7 bits pick the layer, 1 bit the sign, 24 bits the position along the layer; 99% of
  // draws end at the first compare (kept small so that V8 inlines it into fillNormal's loop).
  const normal = (): number => {
    const b = bits();
    const layer = b & (LAYERS - 1);
    const x = (b >>> 8) * STEP[layer]!;
    return x < X[layer + 1]! ? x * signOf(b) : edge(b);
  };
  // The draw fell beyond the next layer's width: the wedge under the curve, or the tail.
  const edge = (b: number): number => {
    for (;;) {
      const layer = b & (LAYERS - 1);
      const sign = signOf(b);
      const x = (b >>> 8) * STEP[layer]!;
      if (x < X[layer + 1]!) return sign * x;
      if (layer === 0) return sign * tail();
      if (F[layer]! + (F[layer + 1]! - F[layer]!) * uniform() < density(x)) return sign * x;
      b = bits();
    }
  };
  // Beyond R (Marsaglia 1964): exponential proposals accepted under the normal's tail.
  const tail = (): number => {
    for (;;) {
      const e = -Math.log(1 - uniform()) / R;
      const y = -Math.log(1 - uniform());
      if (2 * y >= e * e) return R + e;
    }
  };
  const fillNormal = (out: Float32Array, scale: number): void => {
    for (let i = 0; i < out.length; i++) out[i] = normal() * scale;
  };
  return { uniform, normal, fillNormal };
}

/** A tensor of standard normal values. */
export function randomNormalTensor(shape: readonly number[], seed: number): Tensor {
  const rng = seededRandom(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  return { shape: [...shape], data: Float32Array.from({ length: n }, () => rng.normal()) };
}

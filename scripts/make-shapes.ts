// Writes a labelled image folder of photo-like pictures, for training and benchmarking on "the user's own
// folders" where no photo data set can be downloaded. Ten object classes (disc, square, triangle, ring,
// cross, star, crescent, hexagon, heart, arrow), each rendered with random size, place, rotation,
// colour, lighting, soft shadow and surface texture over a random textured background with clutter,
// then shrunk with smooth edges, given sensor noise and saved as JPEG: the object, not its colour or place, tells the class.
//
//   node --import tsx scripts/make-shapes.ts OUT [--train N] [--val N] [--size PX] [--classes K] [--seed S]
//
// OUT gets train/<class>/*.jpg and val/<class>/*.jpg (N per class each), the ImageFolder layout.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { type Rng, seededRandom } from '../src/random';

export const SHAPES = ['disc', 'square', 'triangle', 'ring', 'cross', 'star', 'crescent', 'hexagon', 'heart', 'arrow'] as const;
type Shape = (typeof SHAPES)[number];

/** Renders at this many times the output size, then shrinks: smooth edges as a camera would see them. */
const SUPERSAMPLE = 3;

function polygonInside(x: number, y: number, pts: readonly (readonly [number, number])[]): boolean {
  let inside = false;
  for (let i = 0, j = pts.length - 1; i < pts.length; j = i++) {
    const [xi, yi] = pts[i]!, [xj, yj] = pts[j]!;
    if (yi > y !== yj > y && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) inside = !inside;
  }
  return inside;
}

function regular(n: number, r: number, phase = -Math.PI / 2): [number, number][] {
  return Array.from({ length: n }, (_, i) => [r * Math.cos(phase + (2 * Math.PI * i) / n), r * Math.sin(phase + (2 * Math.PI * i) / n)]);
}

const STAR = Array.from({ length: 10 }, (_, i): [number, number] => {
  const r = i % 2 === 0 ? 1 : 0.42;
  const a = -Math.PI / 2 + (Math.PI * i) / 5;
  return [r * Math.cos(a), r * Math.sin(a)];
});
const TRIANGLE = regular(3, 1);
const HEXAGON = regular(6, 0.95, 0);
const ARROW: [number, number][] = [[-0.9, -0.25], [0.1, -0.25], [0.1, -0.65], [0.95, 0], [0.1, 0.65], [0.1, 0.25], [-0.9, 0.25]];

/** Whether object-space point (u, v), with the object in the unit disc, is inside the shape. */
function inside(shape: Shape, u: number, v: number): boolean {
  const r2 = u * u + v * v;
  switch (shape) {
    case 'disc': return r2 <= 0.85 * 0.85;
    case 'square': return Math.abs(u) <= 0.68 && Math.abs(v) <= 0.68;
    case 'triangle': return polygonInside(u, v, TRIANGLE);
    case 'ring': return r2 <= 0.9 * 0.9 && r2 >= 0.5 * 0.5;
    case 'cross': return (Math.abs(u) <= 0.28 && Math.abs(v) <= 0.9) || (Math.abs(v) <= 0.28 && Math.abs(u) <= 0.9);
    case 'star': return polygonInside(u, v, STAR);
    case 'crescent': return r2 <= 0.85 * 0.85 && (u - 0.38) ** 2 + v * v > 0.62 * 0.62;
    case 'hexagon': return polygonInside(u, v, HEXAGON);
    case 'heart': {
      const x = u * 1.15, y = -v * 1.15 + 0.25;
      return (x * x + y * y - 0.6) ** 3 - x * x * y * y * y <= 0;
    }
    case 'arrow': return polygonInside(u, v, ARROW);
  }
}

/** Smooth value noise in [0,1] at `cells` cells across, for textures. */
function valueNoise(rng: Rng, cells: number): (x: number, y: number) => number {
  const g = Float32Array.from({ length: (cells + 1) * (cells + 1) }, () => rng.uniform());
  return (x, y) => {
    const fx = Math.min(x * cells, cells - 1e-6), fy = Math.min(y * cells, cells - 1e-6);
    const ix = Math.floor(fx), iy = Math.floor(fy);
    const tx = fx - ix, ty = fy - iy;
    const sx = tx * tx * (3 - 2 * tx), sy = ty * ty * (3 - 2 * ty);
    const at = (a: number, b: number): number => g[b * (cells + 1) + a]!;
    const top = at(ix, iy) * (1 - sx) + at(ix + 1, iy) * sx;
    const bot = at(ix, iy + 1) * (1 - sx) + at(ix + 1, iy + 1) * sx;
    return top * (1 - sy) + bot * sy;
  };
}

function randomColour(rng: Rng): [number, number, number] {
  // HSV with moderate saturation: colours seen in photos rather than pure primaries.
  const h = rng.uniform() * 6, s = 0.25 + 0.6 * rng.uniform(), v = 0.3 + 0.65 * rng.uniform();
  const c = v * s, x = c * (1 - Math.abs((h % 2) - 1)), m = v - c;
  const [r, g, b] = h < 1 ? [c, x, 0] : h < 2 ? [x, c, 0] : h < 3 ? [0, c, x] : h < 4 ? [0, x, c] : h < 5 ? [x, 0, c] : [c, 0, x];
  return [r + m, g + m, b + m];
}

/** One picture of `shape`, RGB bytes of size x size. */
export function renderShape(shape: Shape, size: number, rng: Rng): Uint8Array {
  const S = size * SUPERSAMPLE;
  const bgA = randomColour(rng), bgB = randomColour(rng);
  const bgNoise = [valueNoise(rng, 3), valueNoise(rng, 9)];
  const fg = randomColour(rng);
  const fgNoise = valueNoise(rng, 6);
  const scale = 0.28 + 0.17 * rng.uniform(); // object radius as a fraction of the picture
  const cx = scale + (1 - 2 * scale) * rng.uniform(), cy = scale + (1 - 2 * scale) * rng.uniform();
  const rot = 2 * Math.PI * rng.uniform();
  const [cr, sr] = [Math.cos(rot), Math.sin(rot)];
  const light = 2 * Math.PI * rng.uniform();
  const [lx, ly] = [Math.cos(light), Math.sin(light)];
  const shadow = 0.04 + 0.04 * rng.uniform();
  // Half the pictures have clutter: a smaller ellipse of another colour somewhere, partly under the object.
  const clutter = rng.uniform() < 0.5 ? { x: rng.uniform(), y: rng.uniform(), rx: 0.08 + 0.12 * rng.uniform(), ry: 0.05 + 0.1 * rng.uniform(), c: randomColour(rng) } : null;
  const toObject = (x: number, y: number): [number, number] => {
    const dx = (x - cx) / scale, dy = (y - cy) / scale;
    return [cr * dx + sr * dy, -sr * dx + cr * dy];
  };
  const px = new Float32Array(S * S * 3);
  for (let j = 0; j < S; j++) {
    for (let i = 0; i < S; i++) {
      const x = (i + 0.5) / S, y = (j + 0.5) / S;
      const t = 0.65 * bgNoise[0]!(x, y) + 0.35 * bgNoise[1]!(x, y);
      let rgb = [0, 1, 2].map((k) => bgA[k]! * (1 - t) + bgB[k]! * t);
      if (clutter && ((x - clutter.x) / clutter.rx) ** 2 + ((y - clutter.y) / clutter.ry) ** 2 <= 1) rgb = clutter.c.map((c) => c * (0.8 + 0.2 * t));
      // Soft shadow: the shape offset away from the light darkens the background.
      const [su, sv] = toObject(x + shadow * lx, y + shadow * ly);
      if (inside(shape, su, sv)) rgb = rgb.map((c) => c * 0.6);
      const [u, v] = toObject(x, y);
      if (inside(shape, u, v)) {
        // Lit from one side as a rounded object: brighter towards the light, darker away from it.
        const shade = 0.75 + 0.35 * ((x - cx) * -lx + (y - cy) * -ly) / scale;
        const tex = 0.85 + 0.3 * fgNoise(x, y);
        rgb = fg.map((c) => c * shade * tex);
      }
      px.set(rgb, (j * S + i) * 3);
    }
  }
  const out = new Uint8Array(size * size * 3);
  const noise = 0.01 + 0.03 * rng.uniform();
  for (let j = 0; j < size; j++) {
    for (let i = 0; i < size; i++) {
      for (let k = 0; k < 3; k++) {
        let sum = 0;
        for (let b = 0; b < SUPERSAMPLE; b++) {
          for (let a = 0; a < SUPERSAMPLE; a++) sum += px[((j * SUPERSAMPLE + b) * S + i * SUPERSAMPLE + a) * 3 + k]!;
        }
        const v = sum / SUPERSAMPLE ** 2 + noise * rng.normal();
        out[(j * size + i) * 3 + k] = Math.round(255 * Math.min(1, Math.max(0, v)));
      }
    }
  }
  return out;
}

export async function writeShapesFolder(
  out: string, opts: { train: number; val: number; size: number; classes: number; seed: number },
): Promise<void> {
  const rng = seededRandom(opts.seed);
  for (const [split, n] of [['train', opts.train], ['val', opts.val]] as const) {
    for (const shape of SHAPES.slice(0, opts.classes)) {
      const dir = join(out, split, shape);
      mkdirSync(dir, { recursive: true });
      for (let i = 0; i < n; i++) {
        const rgb = renderShape(shape, opts.size, rng);
        const quality = 75 + Math.floor(20 * rng.uniform());
        const jpeg = await sharp(Buffer.from(rgb), { raw: { width: opts.size, height: opts.size, channels: 3 } }).jpeg({ quality }).toBuffer();
        writeFileSync(join(dir, `${shape}-${String(i).padStart(4, '0')}.jpg`), jpeg);
      }
    }
  }
}

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    options: {
      train: { type: 'string', default: '300' }, val: { type: 'string', default: '100' }, size: { type: 'string', default: '32' },
      classes: { type: 'string', default: '10' }, seed: { type: 'string', default: '1' },
    },
    allowPositionals: true,
  });
  if (positionals.length !== 1) throw new Error('usage: make-shapes.ts OUT [--train N] [--val N] [--size PX] [--classes K] [--seed S]');
  const opts = { train: Number(values.train), val: Number(values.val), size: Number(values.size), classes: Number(values.classes), seed: Number(values.seed) };
  if (!(opts.classes >= 2 && opts.classes <= SHAPES.length)) throw new Error(`--classes must be 2..${SHAPES.length}`);
  await writeShapesFolder(positionals[0]!, opts);
  console.log(`wrote ${positionals[0]}: ${opts.classes} classes, ${opts.train} training and ${opts.val} validation images each, ${opts.size}x${opts.size} JPEG`);
}

if (import.meta.url === `file://${process.argv[1]}`) await main();

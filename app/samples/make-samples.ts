// One-off generator of the app's sample images (outputs are committed; rerun only to change them):
//   node --import tsx app/samples/make-samples.ts
// The first Fashion-MNIST test image of each class, as it is (28x28 gray PNG, so the nets get exactly the
// test image), named by its class. scripts/build.mjs copies them to dist/web/samples/ with an index; "Try sample images" loads them.
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import sharp from 'sharp';
import { FASHION_MNIST } from '../../src/datasets';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
const SCALE = 1;

/** An IDX file's payload after its header (magic, then one 4-byte size per dimension). */
function idx(name: string): Uint8Array {
  const b = gunzipSync(readFileSync(join(root, 'src', 'testdata', 'fashion-mnist', `${name}.gz`)));
  return new Uint8Array(b.buffer, b.byteOffset + 4 + 4 * b[3]!, b.length - 4 - 4 * b[3]!);
}
const set = { images: idx('t10k-images-idx3-ubyte'), labels: idx('t10k-labels-idx1-ubyte') };
const done = new Set<number>();
for (let i = 0; i < set.labels.length && done.size < 10; i++) {
  const cls = set.labels[i]!;
  if (done.has(cls)) continue;
  done.add(cls);
  const side = 28 * SCALE;
  const px = new Uint8Array(side * side);
  for (let y = 0; y < side; y++) for (let x = 0; x < side; x++) px[y * side + x] = set.images[i * 784 + Math.floor(y / SCALE) * 28 + Math.floor(x / SCALE)]!;
  const name = FASHION_MNIST.labels[cls]!.toLowerCase().replace(/[^a-z]+/g, '-');
  const png = await sharp(px, { raw: { width: side, height: side, channels: 1 } }).png({ compressionLevel: 9 }).toBuffer();
  writeFileSync(join(here, `${name}.png`), png);
  console.log(`${name}.png: test image ${i} (${png.length} bytes)`);
}

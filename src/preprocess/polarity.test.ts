// End to end with the shipped Fashion-MNIST models: a "product photo" (dark garment on a light backdrop,
// as users drop them) must classify as well as the dataset's own polarity (bright garment on black), and
// only because preprocessSpecFor asks for background 'dark'.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import sharp, { type Sharp } from 'sharp';
import { loadModel, type Session } from '../engine/session';
import { maxAbsDiff } from '../../kernels/core/tensor';
import { loadSplit } from '../train/data';
import type { ImageSet } from '../train/image-set';
import { preprocessSpecFor } from './for-model';
import type { PreprocessSpec } from './normalize';
import { decodeImage } from './sharp';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const COUNT = 20;
const SIDE = 200;
/** A navy garment: the coloured product-photo variant paints it over white. */
const NAVY = [30, 40, 120] as const;

interface Photos {
  /** The dataset's polarity, upscaled: bright garment on black. */
  readonly dataset: Buffer;
  /** 255 - v, upscaled: a gray garment on white. */
  readonly inverted: Buffer;
  /** A navy garment on white, RGB JPEG: v blends white towards navy. */
  readonly coloured: Buffer;
}

function upscaled(pixels: Uint8Array, channels: 1 | 3): Sharp {
  return sharp(Buffer.from(pixels), { raw: { width: 28, height: 28, channels } }).resize(SIDE, SIDE, { kernel: 'cubic' });
}

async function makePhotos(set: ImageSet, i: number): Promise<Photos> {
  const px = set.images.subarray(i * 784, (i + 1) * 784);
  const rgb = new Uint8Array(784 * 3);
  for (let p = 0; p < 784; p++) for (let c = 0; c < 3; c++) rgb[p * 3 + c] = Math.round(255 - (px[p]! / 255) * (255 - NAVY[c]!));
  return {
    dataset: await upscaled(px, 1).png().toBuffer(),
    inverted: await upscaled(px.map((v) => 255 - v), 1).png().toBuffer(),
    coloured: await upscaled(rgb, 3).jpeg({ quality: 90 }).toBuffer(),
  };
}

function argmax(d: Float32Array): number {
  let k = 0;
  for (let j = 1; j < d.length; j++) if (d[j]! > d[k]!) k = j;
  return k;
}

describe('background polarity with the shipped Fashion-MNIST models', () => {
  let set: ImageSet;
  const photos: Photos[] = [];

  before(async () => {
    set = loadSplit(join(ROOT, 'src', 'testdata', 'fashion-mnist'), 't10k', 10, COUNT);
    for (let i = 0; i < COUNT; i++) photos.push(await makePhotos(set, i));
  });

  for (const name of ['resnet20', 'plain20']) {
    describe(name, () => {
      let session: Session;
      let spec: PreprocessSpec;
      before(async () => {
        session = await loadModel(new Uint8Array(readFileSync(join(ROOT, 'models', `${name}.onnx`))), { engine: 'wasm' });
        spec = preprocessSpecFor(session.info);
      });
      after(() => session.dispose());

      const classify = async (image: Buffer, s: PreprocessSpec): Promise<number> =>
        argmax((await session.run((await decodeImage(image, s)).tensor)).output.data);

      it('classifies product photos and dataset-polarity images alike (>= 80% right each)', async (t) => {
        assert.equal(spec.background, 'dark');
        const right = { dataset: 0, inverted: 0, coloured: 0 };
        for (let i = 0; i < COUNT; i++) {
          const label = set.labels[i]!;
          const p = photos[i]!;
          // The inverted photo, once preprocessed, is the dataset image again to within rounding (libvips
          // resamples 8-bit images in fixed point, rounding that does not commute exactly with 255 - v).
          const a = (await decodeImage(p.dataset, spec)).tensor;
          const b = (await decodeImage(p.inverted, spec)).tensor;
          const levels = maxAbsDiff(a, b) * 255 * spec.std[0]!;
          assert.ok(levels <= 4 + 1e-3, `image ${i}: preprocessed inverted photo is ${levels.toFixed(2)} gray levels off the dataset one (> 4)`);
          if ((await classify(p.dataset, spec)) === label) right.dataset++;
          if ((await classify(p.inverted, spec)) === label) right.inverted++;
          if ((await classify(p.coloured, spec)) === label) right.coloured++;
        }
        t.diagnostic(`${name}: right of ${COUNT}: dataset polarity ${right.dataset}, inverted gray ${right.inverted}, navy on white ${right.coloured}`);
        for (const [variant, n] of Object.entries(right)) {
          assert.ok(n >= 0.8 * COUNT, `${name}: ${variant} images: ${n} of ${COUNT} right, expected >= ${0.8 * COUNT}`);
        }
      });

      it('gets product photos wrong without the background option (the bug this fixes)', async (t) => {
        const { background: _unused, ...asIs } = spec;
        let right = 0;
        for (let i = 0; i < COUNT; i++) if ((await classify(photos[i]!.inverted, asIs)) === set.labels[i]) right++;
        t.diagnostic(`${name}: inverted gray without background 'dark': ${right} of ${COUNT} right`);
        assert.ok(right <= 0.5 * COUNT, `${name}: ${right} of ${COUNT} right without inversion; the polarity should matter`);
      });
    });
  }
});

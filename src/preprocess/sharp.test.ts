import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { IMAGENET } from '../datasets';
import { maxAbsDiff, type Tensor } from '../../kernels/core/tensor';
import { pixelsToTensor, resizeCropPixels, resizeCropPlan, type PreprocessSpec } from './normalize';
import { deflateSync } from 'node:zlib';
import { crc32 } from '../train/checkpoint';
import { MAX_IMAGE_SIDE } from './image-limits';
import { ImageError, decodeImage, type ImageErrorKind } from './sharp';
import { rawSpec as raw } from './testing';

// Fixtures made by src/testdata/images/make-fixtures.ts. The "marker" picture is 48x32: blue, with a
// red 12x12 square top-left and a green one top-right.
const IMAGES = join(dirname(fileURLToPath(import.meta.url)), '..', 'testdata', 'images');
const image = (name: string): string => join(IMAGES, name);


function rgbAt(t: Tensor, x: number, y: number): [number, number, number] {
  const [, , h, w] = t.shape as [number, number, number, number];
  const plane = h * w;
  return [0, 1, 2].map((c) => t.data[c * plane + y * w + x]!) as [number, number, number];
}

type Colour = 'red' | 'green' | 'blue';
function colourAt(t: Tensor, x: number, y: number): Colour | string {
  const [r, g, b] = rgbAt(t, x, y);
  if (r > 200 && g < 60 && b < 60) return 'red';
  if (g > 200 && r < 60 && b < 60) return 'green';
  if (b > 200 && r < 60 && g < 60) return 'blue';
  return `(${r},${g},${b})`;
}

/** Corners of a 48x32 decode: top-left, top-right, bottom-left, bottom-right. */
const corners = (t: Tensor): string[] => [colourAt(t, 5, 5), colourAt(t, 42, 5), colourAt(t, 5, 26), colourAt(t, 42, 26)];
const MARKER = ['red', 'green', 'blue', 'blue'];

/** A valid 8-bit grayscale PNG of zeros, width x height: huge sizes compress to a few kB (zlib of zero rows). */
function grayPng(width: number, height: number): Uint8Array {
  const chunk = (type: string, data: Uint8Array): Uint8Array => {
    const out = new Uint8Array(12 + data.length);
    const view = new DataView(out.buffer);
    view.setUint32(0, data.length);
    out.set(new TextEncoder().encode(type), 4);
    out.set(data, 8);
    view.setUint32(8 + data.length, crc32(out.subarray(4, 8 + data.length)));
    return out;
  };
  const ihdr = new Uint8Array(13);
  const v = new DataView(ihdr.buffer);
  v.setUint32(0, width);
  v.setUint32(4, height);
  ihdr.set([8, 0, 0, 0, 0], 8); // 8-bit, grayscale, deflate, adaptive filtering, no interlace
  const rows = new Uint8Array((width + 1) * height); // filter byte 0 and zero pixels on every row
  const parts = [Uint8Array.of(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a), chunk('IHDR', ihdr), chunk('IDAT', deflateSync(rows, { level: 9 })), chunk('IEND', new Uint8Array(0))];
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

async function rejects(input: string | Uint8Array, kind: ImageErrorKind, pattern: RegExp, opts = {}): Promise<void> {
  await assert.rejects(decodeImage(input, raw(32, 48), opts), (err: unknown) => {
    assert.ok(err instanceof ImageError, `expected ImageError, got ${String(err)}`);
    assert.equal(err.kind, kind, err.message);
    assert.match(err.message, pattern);
    return true;
  });
}

describe('decodeImage: orientation and formats', () => {
  for (let k = 1; k <= 8; k++) {
    it(`applies EXIF orientation ${k}`, async () => {
      const r = await decodeImage(image(`orient-${k}.jpg`), raw(32, 48));
      assert.deepEqual([r.width, r.height, r.format], [48, 32, 'jpeg']);
      assert.deepEqual(r.tensor.shape, [1, 3, 32, 48]);
      assert.deepEqual(corners(r.tensor), MARKER);
    });
  }

  for (const [file, format] of [
    ['marker.png', 'png'],
    ['marker.webp', 'webp'],
    ['marker.avif', 'avif'],
    ['marker.tiff', 'tiff'],
    ['animated.gif', 'gif'], // frame 1 is the marker, frame 2 all blue
    ['cmyk.jpg', 'jpeg'],
  ] as const) {
    it(`reads ${file}`, async () => {
      const r = await decodeImage(image(file), raw(32, 48));
      assert.deepEqual([r.width, r.height, r.format], [48, 32, format]);
      if (file === 'cmyk.jpg') {
        // CMYK goes through an ICC profile, so colours shift; the layout must not.
        const [r0, g0, b0] = rgbAt(r.tensor, 5, 5);
        assert.ok(r0 > 180 && g0 < 80 && b0 < 80, `CMYK red corner is (${r0},${g0},${b0})`);
        const [r1, g1, b1] = rgbAt(r.tensor, 42, 26);
        assert.ok(b1 > r1 + 60 && b1 > g1 + 40, `CMYK blue corner is (${r1},${g1},${b1})`);
      } else {
        assert.deepEqual(corners(r.tensor), MARKER);
      }
    });
  }

  it('reads bytes as well as paths, with the same result', async () => {
    const fromPath = await decodeImage(image('orient-6.jpg'), raw(32, 48));
    const fromBytes = await decodeImage(new Uint8Array(readFileSync(image('orient-6.jpg'))), raw(32, 48));
    assert.equal(maxAbsDiff(fromPath.tensor, fromBytes.tensor), 0);
  });
});

describe('decodeImage: pixel values', () => {
  it('flattens alpha onto white and normalizes with ImageNet mean/std', async () => {
    // alpha.png: left opaque (200,100,50), right transparent, bottom 8 rows black at alpha 128.
    const spec: PreprocessSpec = { channels: 3, height: 32, width: 32, mean: [...IMAGENET.mean], std: [...IMAGENET.std] };
    const { tensor } = await decodeImage(image('alpha.png'), spec);
    const norm = (v: number, c: number) => (v / 255 - IMAGENET.mean[c]!) / IMAGENET.std[c]!;
    const at = (x: number, y: number) => rgbAt(tensor, x, y);
    at(4, 4).forEach((v, c) => assert.ok(Math.abs(v - norm([200, 100, 50][c]!, c)) < 1e-5, `opaque c=${c}: ${v}`));
    at(24, 4).forEach((v, c) => assert.ok(Math.abs(v - norm(255, c)) < 1e-5, `transparent c=${c}: ${v}`));
    at(8, 28).forEach((v, c) => assert.ok(Math.abs(v - norm(127, c)) < 1.01 / 255 / IMAGENET.std[c]!, `half alpha c=${c}: ${v}`));
  });

  it('scales 16-bit PNG to 8 bits', async () => {
    const { tensor } = await decodeImage(image('rgb16.png'), raw(16, 16));
    assert.deepEqual(rgbAt(tensor, 7, 7), [200, 100, 50]);
  });

  it('grayscale in, 1- and 3-channel models out', async () => {
    // gray.png: left half 64, right half 192.
    const one = await decodeImage(image('gray.png'), { ...raw(32, 32, 1), scale: 1 / 255, mean: [0.5], std: [0.25] });
    assert.deepEqual(one.tensor.shape, [1, 1, 32, 32]);
    assert.ok(Math.abs(one.tensor.data[4 * 32 + 4]! - (64 / 255 - 0.5) / 0.25) < 1e-5);
    assert.ok(Math.abs(one.tensor.data[4 * 32 + 28]! - (192 / 255 - 0.5) / 0.25) < 1e-5);
    const three = await decodeImage(image('gray.png'), raw(32, 32));
    assert.deepEqual(rgbAt(three.tensor, 4, 4), [64, 64, 64]);
    assert.deepEqual(rgbAt(three.tensor, 28, 4), [192, 192, 192]);
  });

  it('converts colour to BT.601 luma for 1-channel models', async () => {
    const { tensor } = await decodeImage(image('marker.png'), raw(32, 48, 1));
    assert.ok(Math.abs(tensor.data[5 * 48 + 5]! - 0.299 * 255) < 1e-3, 'red');
    assert.ok(Math.abs(tensor.data[5 * 48 + 42]! - 0.587 * 255) < 1e-3, 'green');
    assert.ok(Math.abs(tensor.data[26 * 48 + 5]! - 0.114 * 255) < 1e-3, 'blue');
  });

  it('shrinks and crops: 48x32 to 16x16 with resizeShorter 24', async () => {
    // Resize to 36x24, crop 16x16 at (10, 4). The squares shrink to resized x 0..8 (red) and 27..35
    // (green); the filter reads source pixels within 1.33 of each centre, so the crop is pure blue.
    const spec = { ...raw(16, 16), resizeShorter: 24 };
    const plan = resizeCropPlan(48, 32, 16, 16, 24);
    assert.deepEqual(plan.crop, { left: 10, top: 4, width: 16, height: 16 });
    const { tensor } = await decodeImage(image('marker.png'), spec);
    assert.deepEqual(tensor.shape, [1, 3, 16, 16]);
    for (let y = 0; y < 16; y++) for (let x = 0; x < 16; x++) assert.deepEqual(rgbAt(tensor, x, y), [0, 0, 255], `(${x},${y})`);
    // Straight to 16 high: 24x16, crop at x=4; crop x=0 reads source x 7..11, all red.
    const tight = await decodeImage(image('marker.png'), raw(16, 16));
    assert.deepEqual(rgbAt(tight.tensor, 0, 1), [255, 0, 0]);
    assert.equal(colourAt(tight.tensor, 8, 12), 'blue');
  });

  it('enlarges small images exactly as the TypeScript (browser) resize does', async () => {
    const { tensor } = await decodeImage(image('marker.png'), raw(50, 50));
    const { data, info } = await sharp(image('marker.png')).raw().toBuffer({ resolveWithObject: true });
    const plan = resizeCropPlan(48, 32, 50, 50);
    const pixels = resizeCropPixels(data, { width: info.width, height: info.height, channels: 3 }, plan);
    const expected = pixelsToTensor(pixels, { width: 50, height: 50, channels: 3 }, raw(50, 50));
    assert.equal(maxAbsDiff(tensor, expected), 0);
  });

  it('shrinks within a pixel level of the TypeScript (browser) resize', async () => {
    // A smooth 640x480 picture: gradients, a sine pattern and a disc.
    const w = 640;
    const h = 480;
    const px = new Uint8Array(w * h * 3);
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const disc = (x - w / 3) ** 2 + (y - h / 2) ** 2 < (h / 4) ** 2;
        px.set([(255 * x) / w, disc ? 230 : 128 + 100 * Math.sin(x / 7) * Math.cos(y / 11), (255 * y) / h], (y * w + x) * 3);
      }
    }
    const png = await sharp(px, { raw: { width: w, height: h, channels: 3 } }).png().toBuffer();
    const spec = { ...raw(224, 224), resizeShorter: 256 };
    const { tensor } = await decodeImage(new Uint8Array(png), spec);
    const plan = resizeCropPlan(w, h, 224, 224, 256);
    const browser = pixelsToTensor(resizeCropPixels(px, { width: w, height: h, channels: 3 }, plan), { width: 224, height: 224, channels: 3 }, spec);
    let sum = 0;
    for (let i = 0; i < tensor.data.length; i++) sum += Math.abs(tensor.data[i]! - browser.data[i]!);
    assert.ok(maxAbsDiff(tensor, browser) <= 2, `max difference ${maxAbsDiff(tensor, browser)} levels`);
    assert.ok(sum / tensor.data.length < 0.25, `mean difference ${sum / tensor.data.length} levels`);
  });
});

describe('decodeImage refuses bad input with ImageError', () => {
  it('truncated JPEG and PNG', async () => {
    await rejects(image('truncated.jpg'), 'corrupt', /^truncated\.jpg: corrupt or truncated image \(.*premature end/);
    await rejects(image('truncated.png'), 'corrupt', /^truncated\.png: corrupt or truncated image/);
  });

  it('a truncated JPEG decoded beside text files is corrupt every time (libvips shares its error text between threads)', async () => {
    // Cut inside the header (300 bytes: the header read fails) and inside the data (the pixel decode fails).
    const whole = readFileSync(image('orient-1.jpg'));
    const cuts = [whole.subarray(0, 300), image('truncated.jpg')];
    const kinds = new Map<string, number>();
    for (let round = 0; round < 150; round++) {
      await Promise.all([...cuts, image('not-an-image.jpg'), ...cuts, image('not-an-image.jpg')].map(async (input, i) => {
        const err = await decodeImage(input, raw(32, 48)).then(() => null, (e: unknown) => e);
        assert.ok(err instanceof ImageError, `input ${i}: expected ImageError, got ${String(err)}`);
        const key = `${i % 3 === 2 ? 'text' : 'cut'} ${err.kind}`;
        kinds.set(key, (kinds.get(key) ?? 0) + 1);
      }));
    }
    assert.deepEqual(Object.fromEntries(kinds), { 'cut corrupt': 600, 'text not-an-image': 300 });
  });

  it('text named .jpg, random bytes, empty file, missing file, a directory', async () => {
    await rejects(image('not-an-image.jpg'), 'not-an-image', /^not-an-image\.jpg: not an image \(unsupported or corrupt data\)$/);
    const noise = new Uint8Array(4096).map((_, i) => (i * 2654435761) >>> 24);
    await rejects(noise, 'not-an-image', /^image: not an image/);
    await rejects(noise, 'not-an-image', /^upload\.bin: not an image/, { name: 'upload.bin' });
    await rejects(image('empty.png'), 'empty', /^empty\.png: empty file \(0 bytes\)$/);
    await rejects(new Uint8Array(0), 'empty', /^image: empty file/);
    await rejects(image('missing.png'), 'not-found', /^missing\.png: file not found$/);
    await rejects(IMAGES, 'not-a-file', /^images: not a file/);
    const svg = new TextEncoder().encode('<svg xmlns="http://www.w3.org/2000/svg" width="48" height="32"><rect width="48" height="32" fill="red"/></svg>');
    await rejects(svg, 'not-an-image', /^image: unsupported format 'svg' \(use JPEG, PNG, WebP, GIF, AVIF or TIFF\)$/);
  });

  it('a bad spec is the caller\'s error (plain Error), checked before reading the file', async () => {
    await assert.rejects(decodeImage(image('missing.png'), { ...raw(32, 48), std: [1, 0, 1] }), (err: unknown) => {
      assert.ok(err instanceof Error && !(err instanceof ImageError));
      assert.match(err.message, /std must be finite and non-zero, got 0/);
      return true;
    });
  });

  it('decompression bombs and images over the pixel limit, from the header alone', async () => {
    await rejects(image('bomb-8000.png'), 'too-large', /^bomb-8000\.png: 8000x8000 = 64 Mpixels is over the 40 Mpixel limit$/);
    await rejects(image('bomb-30000.png'), 'too-large', /^bomb-30000\.png: 30000x30000 = 900 Mpixels is over the 40 Mpixel limit$/);
    await rejects(image('bomb-60000.jpg'), 'too-large', /60000x60000 = 3600 Mpixels is over the 40 Mpixel limit$/);
    await rejects(image('marker.png'), 'too-large', /48x32 = 0\.00154 Mpixels is over the 0\.001 Mpixel limit$/, { maxPixels: 1000 });
    await rejects(image('marker.png'), 'too-large', /48x32 = 0\.00154 Mpixels is over the 0\.00153 Mpixel limit$/, { maxPixels: 1535 });
    // When rounding would print the same number twice, the message falls back to whole pixels.
    await rejects(image('marker.png'), 'too-large', /48x32 = 1536 pixels is over the 1535\.9 pixel limit$/, { maxPixels: 1535.9 });
  });

  it('a 40000000x1 PNG (under the pixel limit, about a minute to decode) is refused from its header in well under a second', async () => {
    const png = grayPng(40_000_000, 1);
    assert.ok(png.length < 200_000, `${png.length} bytes`);
    const t0 = performance.now();
    await rejects(png, 'too-large', /^image: 40000000x1 has a side of 40000000 pixels, over the 32768-pixel limit$/);
    await rejects(grayPng(1, 40_000_000), 'too-large', /1x40000000 has a side of 40000000 pixels/);
    assert.ok(performance.now() - t0 < 5000, `took ${performance.now() - t0} ms`);
  });

  it('an image with a side of exactly 32768 pixels still decodes, in a few seconds', async () => {
    assert.equal(MAX_IMAGE_SIDE, 32768);
    const t0 = performance.now();
    const r = await decodeImage(grayPng(MAX_IMAGE_SIDE, 2), raw(32, 48));
    assert.equal(r.width, MAX_IMAGE_SIDE);
    assert.ok(performance.now() - t0 < 10_000, `took ${performance.now() - t0} ms`);
  });
});

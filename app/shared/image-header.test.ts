// Header sniffing against real files: sizes must match what sharp reads from the same bytes.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { readImageHeader } from './image-header';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const IMAGES = join(ROOT, 'src', 'testdata', 'images');
const FIXTURES = join(ROOT, 'e2e', 'fixtures');
const read = (p: string): Uint8Array => new Uint8Array(readFileSync(p));

describe('readImageHeader', () => {
  const files: [string, string][] = [
    [IMAGES, 'marker.png'], [IMAGES, 'marker.webp'], [IMAGES, 'marker.avif'], [IMAGES, 'marker.tiff'], [IMAGES, 'gray.png'],
    [IMAGES, 'rgb16.png'], [IMAGES, 'alpha.png'], [IMAGES, 'cmyk.jpg'], [IMAGES, 'animated.gif'], [IMAGES, 'orient-5.jpg'],
    [IMAGES, 'bomb-8000.png'], [IMAGES, 'bomb-30000.png'], [IMAGES, 'bomb-60000.jpg'],
    [FIXTURES, 'trouser.jpg'], [FIXTURES, 'tshirt.png'], [FIXTURES, 'sneaker.webp'], [FIXTURES, 'bag.gif'], [FIXTURES, 'dress-exif6.jpg'],
  ];
  for (const [dir, name] of files) {
    it(`reads ${name} like sharp does`, async () => {
      const bytes = read(join(dir, name));
      const h = readImageHeader(bytes);
      const m = await sharp(Buffer.from(bytes), { limitInputPixels: false }).metadata();
      assert.ok(h, `${name} recognised`);
      const sharpFormat = m.format === 'heif' ? 'avif' : m.format;
      assert.equal(h.format, sharpFormat);
      // Stored size (EXIF orientation not applied): the same for the pixel limit.
      assert.deepEqual([h.width, h.height], [m.width, m.height]);
      assert.equal(h.complete, true);
    });
  }
  it('sees truncated JPEG and PNG files', () => {
    assert.equal(readImageHeader(read(join(IMAGES, 'truncated.jpg')))?.complete, false);
    const png = readImageHeader(read(join(IMAGES, 'truncated.png')));
    assert.ok(png === null || png.complete === false);
  });
  it('knows VP8L (lossless) WebP', async () => {
    const bytes = new Uint8Array(await sharp({ create: { width: 37, height: 21, channels: 3, background: '#123456' } }).webp({ lossless: true }).toBuffer());
    assert.deepEqual(readImageHeader(bytes), { format: 'webp', width: 37, height: 21, complete: true });
  });
  it('returns null for what is not an image', () => {
    assert.equal(readImageHeader(read(join(IMAGES, 'not-an-image.jpg'))), null);
    assert.equal(readImageHeader(read(join(FIXTURES, 'notes.txt'))), null);
    assert.equal(readImageHeader(new Uint8Array(0)), null);
    assert.equal(readImageHeader(new TextEncoder().encode('<svg xmlns="http://www.w3.org/2000/svg"></svg>')), null);
  });
});

// One-off generator of the image fixtures in this folder (the outputs are committed; rerun only to
// change them):   node --import tsx src/testdata/images/make-fixtures.ts
//
// Most fixtures show the same 48x32 "marker" picture, so a test can check content after decoding:
// blue background, a 12x12 red square in the top-left corner and a 12x12 green one in the top-right.
// Two adjacent corners pin down every rotation and mirror, so the orient-K.jpg files (EXIF orientation
// K, pixels stored so that applying K shows the marker picture) tell all eight cases apart.
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { crc32, deflateSync } from 'node:zlib';
import sharp from 'sharp';

const here = dirname(fileURLToPath(import.meta.url));
const W = 48;
const H = 32;
const M = 12; // marker square size

const RED = [255, 0, 0] as const;
const GREEN = [0, 255, 0] as const;
const BLUE = [0, 0, 255] as const;

/** The marker picture as displayed, RGB HWC. */
function markerPixels(): Uint8Array {
  const px = new Uint8Array(W * H * 3);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const c = y < M && x < M ? RED : y < M && x >= W - M ? GREEN : BLUE;
      px.set(c, (y * W + x) * 3);
    }
  }
  return px;
}

/**
 * Where EXIF orientation K puts stored pixel (x, y) of a sw x sh image when displayed (TIFF/EXIF
 * spec: 2 mirror, 3 rotate 180, 4 flip, 5 transpose, 6 rotate 90 CW, 7 transverse, 8 rotate 90 CCW).
 */
function displayedAt(k: number, x: number, y: number, sw: number, sh: number): [number, number] {
  switch (k) {
    case 1: return [x, y];
    case 2: return [sw - 1 - x, y];
    case 3: return [sw - 1 - x, sh - 1 - y];
    case 4: return [x, sh - 1 - y];
    case 5: return [y, x];
    case 6: return [sh - 1 - y, x];
    case 7: return [sh - 1 - y, sw - 1 - x];
    case 8: return [y, sw - 1 - x];
    default: throw new Error(`orientation ${k}`);
  }
}

/** Stored pixels that display as the marker picture under orientation k. */
function storedForOrientation(k: number): { px: Uint8Array; width: number; height: number } {
  const display = markerPixels();
  const swap = k >= 5;
  const sw = swap ? H : W;
  const sh = swap ? W : H;
  const px = new Uint8Array(sw * sh * 3);
  for (let y = 0; y < sh; y++) {
    for (let x = 0; x < sw; x++) {
      const [dx, dy] = displayedAt(k, x, y, sw, sh);
      px.set(display.subarray((dy * W + dx) * 3, (dy * W + dx) * 3 + 3), (y * sw + x) * 3);
    }
  }
  return { px, width: sw, height: sh };
}

function pngChunk(type: string, data: Uint8Array): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, 'latin1');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), data])), 0);
  return Buffer.concat([head, data, crc]);
}

/** A 1-bit grayscale PNG of all-black rows; `rowsStored` rows of data (fewer than height = truncated). */
function blackPng(width: number, height: number, rowsStored: number): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 1; // bit depth
  ihdr[9] = 0; // grayscale
  const rowBytes = 1 + Math.ceil(width / 8); // filter byte + packed bits
  const idat = deflateSync(Buffer.alloc(rowBytes * rowsStored), { level: 9 });
  const signature = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  return Buffer.concat([signature, pngChunk('IHDR', ihdr), pngChunk('IDAT', idat), pngChunk('IEND', new Uint8Array(0))]);
}

/** Rewrite the frame size in a baseline JPEG's SOF0 marker. */
function withJpegSize(jpeg: Buffer, width: number, height: number): Buffer {
  const out = Buffer.from(jpeg);
  for (let i = 2; i < out.length - 9; ) {
    if (out[i] !== 0xff) throw new Error(`withJpegSize: no marker at ${i}`);
    const marker = out[i + 1]!;
    const len = out.readUInt16BE(i + 2);
    if (marker === 0xc0) {
      out.writeUInt16BE(height, i + 5);
      out.writeUInt16BE(width, i + 7);
      return out;
    }
    i += 2 + len;
  }
  throw new Error('withJpegSize: no SOF0 marker');
}

async function main(): Promise<void> {
  const files = new Map<string, Buffer>();
  const raw = { width: W, height: H, channels: 3 as const };
  const marker = () => sharp(markerPixels(), { raw });

  for (let k = 1; k <= 8; k++) {
    const s = storedForOrientation(k);
    const jpeg = await sharp(s.px, { raw: { width: s.width, height: s.height, channels: 3 } })
      .jpeg({ quality: 95, chromaSubsampling: '4:4:4' })
      .withMetadata({ orientation: k })
      .toBuffer();
    files.set(`orient-${k}.jpg`, jpeg);
  }

  // Alpha: left half opaque (200,100,50), right half fully transparent black, bottom 8 rows
  // half-transparent black. Flattened onto white these become (200,100,50), white and ~(128,128,128).
  {
    const px = new Uint8Array(32 * 32 * 4);
    for (let y = 0; y < 32; y++) {
      for (let x = 0; x < 32; x++) {
        const rgba = y >= 24 ? [0, 0, 0, 128] : x < 16 ? [200, 100, 50, 255] : [0, 0, 0, 0];
        px.set(rgba, (y * 32 + x) * 4);
      }
    }
    files.set('alpha.png', await sharp(px, { raw: { width: 32, height: 32, channels: 4 } }).png().toBuffer());
  }

  // 16-bit RGB: every pixel (0xC8C8, 0x6464, 0x3232) = (200, 100, 50) * 257.
  {
    const px = new Uint16Array(16 * 16 * 3);
    for (let i = 0; i < 16 * 16; i++) px.set([200 * 257, 100 * 257, 50 * 257], i * 3);
    const png = await sharp(px, { raw: { width: 16, height: 16, channels: 3 } }).toColourspace('rgb16').png().toBuffer();
    files.set('rgb16.png', png);
  }

  files.set('cmyk.jpg', await marker().toColourspace('cmyk').jpeg({ quality: 95, chromaSubsampling: '4:4:4' }).toBuffer());

  // Grayscale: left half 64, right half 192.
  {
    const px = new Uint8Array(32 * 32);
    for (let i = 0; i < px.length; i++) px[i] = i % 32 < 16 ? 64 : 192;
    files.set('gray.png', await sharp(px, { raw: { width: 32, height: 32, channels: 1 } }).toColourspace('b-w').png().toBuffer());
  }

  files.set('marker.png', await marker().png().toBuffer());
  files.set('marker.webp', await marker().webp({ lossless: true }).toBuffer());
  files.set('marker.avif', await marker().avif({ lossless: true }).toBuffer());
  files.set('marker.tiff', await marker().tiff({ compression: 'lzw' }).toBuffer());

  // Animated GIF, 2 frames stacked vertically: the marker picture first, then all-blue.
  {
    const frames = new Uint8Array(W * H * 3 * 2);
    frames.set(markerPixels(), 0);
    for (let i = 0; i < W * H; i++) frames.set(BLUE, W * H * 3 + i * 3);
    const gif = await sharp(frames, { raw: { width: W, height: H * 2, channels: 3, pageHeight: H } })
      .gif({ loop: 0, delay: [100, 100] })
      .toBuffer();
    files.set('animated.gif', gif);
  }

  // Broken and hostile files.
  const jpeg = files.get('orient-1.jpg')!;
  const png = files.get('marker.png')!;
  // Cut halfway through the entropy-coded scan, so the headers are whole and the pixels are not.
  const scanStart = jpeg.indexOf(Buffer.from([0xff, 0xda]));
  files.set('truncated.jpg', jpeg.subarray(0, Math.floor((scanStart + jpeg.length) / 2)));
  files.set('truncated.png', png.subarray(0, Math.floor(png.length / 2)));
  files.set('not-an-image.jpg', Buffer.from('This is a text file with a .jpg name.\n'));
  files.set('empty.png', Buffer.alloc(0));
  // 8000x8000 = 64 Mpixels, complete and valid, a few KB: decoding it would take 64 MB+.
  files.set('bomb-8000.png', blackPng(8000, 8000, 8000));
  // Header claims 30000x30000 = 900 Mpixels; only the first rows are stored (a full one is >100 KB).
  files.set('bomb-30000.png', blackPng(30000, 30000, 2000));
  // A real JPEG whose frame header claims 60000x60000.
  files.set('bomb-60000.jpg', withJpegSize(jpeg, 60000, 60000));

  for (const [name, bytes] of files) {
    writeFileSync(join(here, name), bytes);
    console.log(`${name.padEnd(20)} ${String(bytes.length).padStart(6)} bytes`);
  }
}

await main();

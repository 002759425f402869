// Reads an image's format and size from its header bytes, without decoding pixels: the browser path
// uses it to refuse decompression bombs before createImageBitmap allocates them, to name formats the
// browser cannot decode (TIFF), and to notice truncated files (which browsers decode half-grey).

import { imageSizeRefusal, MAX_IMAGE_SIDE, MAX_PIXELS } from '../../src/preprocess/image-limits';

export { imageSizeRefusal, MAX_PIXELS };

export type HeaderFormat = 'jpeg' | 'png' | 'gif' | 'webp' | 'avif' | 'heif' | 'tiff' | 'bmp';

export interface ImageHeader {
  readonly format: HeaderFormat;
  readonly width: number;
  readonly height: number;
  /** False when the file visibly ends early (JPEG without EOI, PNG without IEND, RIFF shorter than it says). */
  readonly complete: boolean;
}

const be16 = (b: Uint8Array, o: number): number => (b[o]! << 8) | b[o + 1]!;
const le16 = (b: Uint8Array, o: number): number => b[o]! | (b[o + 1]! << 8);
const be32 = (b: Uint8Array, o: number): number => ((b[o]! << 24) >>> 0) + (b[o + 1]! << 16) + (b[o + 2]! << 8) + b[o + 3]!;
const le32 = (b: Uint8Array, o: number): number => b[o]! + (b[o + 1]! << 8) + (b[o + 2]! << 16) + ((b[o + 3]! << 24) >>> 0);
const le24 = (b: Uint8Array, o: number): number => b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16);

function ascii(b: Uint8Array, o: number, n: number): string {
  let s = '';
  for (let i = 0; i < n && o + i < b.length; i++) s += String.fromCharCode(b[o + i]!);
  return s;
}

/** Last index of a byte pattern, searching back at most `window` bytes from the end. */
function lastIndexOf(b: Uint8Array, pattern: readonly number[], window = b.length): number {
  const stop = Math.max(0, b.length - window);
  for (let i = b.length - pattern.length; i >= stop; i--) {
    let hit = true;
    for (let k = 0; k < pattern.length && hit; k++) hit = b[i + k] === pattern[k];
    if (hit) return i;
  }
  return -1;
}

function png(b: Uint8Array): ImageHeader | null {
  if (b.length < 24 || ascii(b, 12, 4) !== 'IHDR') return null;
  const complete = lastIndexOf(b, [0x49, 0x45, 0x4e, 0x44], 64) >= 0; // 'IEND'
  return { format: 'png', width: be32(b, 16), height: be32(b, 20), complete };
}

function jpeg(b: Uint8Array): ImageHeader | null {
  let o = 2;
  while (o + 9 < b.length) {
    if (b[o] !== 0xff) return null;
    const marker = b[o + 1]!;
    if (marker === 0xff) { o++; continue; } // fill byte
    if (marker === 0xd8 || marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) { o += 2; continue; }
    const len = be16(b, o + 2);
    const isSof = marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc;
    if (isSof) {
      // Trailing bytes after EOI are common (camera extras), so search the whole file for the last EOI.
      const complete = lastIndexOf(b, [0xff, 0xd9]) > o;
      return { format: 'jpeg', width: be16(b, o + 7), height: be16(b, o + 5), complete };
    }
    if (len < 2) return null;
    o += 2 + len;
  }
  return null;
}

function webp(b: Uint8Array): ImageHeader | null {
  if (b.length < 30) return null;
  const complete = le32(b, 4) + 8 <= b.length;
  const chunk = ascii(b, 12, 4);
  if (chunk === 'VP8 ') return { format: 'webp', width: le16(b, 26) & 0x3fff, height: le16(b, 28) & 0x3fff, complete };
  if (chunk === 'VP8L') {
    const bits = le32(b, 21);
    return { format: 'webp', width: (bits & 0x3fff) + 1, height: ((bits >>> 14) & 0x3fff) + 1, complete };
  }
  if (chunk === 'VP8X') return { format: 'webp', width: le24(b, 24) + 1, height: le24(b, 27) + 1, complete };
  return null;
}

/** ISO-BMFF (AVIF/HEIF): the largest 'ispe' (image spatial extents) property is the primary image's. */
function heif(b: Uint8Array): ImageHeader | null {
  const brand = ascii(b, 8, 4);
  const format: HeaderFormat = brand === 'avif' || brand === 'avis' || ascii(b, 16, 64).includes('avif') ? 'avif' : 'heif';
  let width = 0;
  let height = 0;
  const limit = Math.min(b.length - 16, 1 << 20);
  for (let i = 0; i < limit; i++) {
    if (b[i] === 0x69 && b[i + 1] === 0x73 && b[i + 2] === 0x70 && b[i + 3] === 0x65) { // 'ispe'
      const w = be32(b, i + 8);
      const h = be32(b, i + 12);
      if (w * h > width * height) [width, height] = [w, h];
    }
  }
  return width > 0 && height > 0 ? { format, width, height, complete: true } : null;
}

function tiff(b: Uint8Array): ImageHeader | null {
  const little = b[0] === 0x49;
  const u16 = (o: number): number => (little ? le16(b, o) : be16(b, o));
  const u32 = (o: number): number => (little ? le32(b, o) : be32(b, o));
  const ifd = u32(4);
  if (ifd + 2 > b.length) return null;
  const n = u16(ifd);
  let width = 0;
  let height = 0;
  for (let i = 0; i < n; i++) {
    const e = ifd + 2 + i * 12;
    if (e + 12 > b.length) break;
    const tag = u16(e);
    const type = u16(e + 2);
    const value = type === 3 ? u16(e + 8) : u32(e + 8);
    if (tag === 256) width = value;
    if (tag === 257) height = value;
  }
  return width > 0 && height > 0 ? { format: 'tiff', width, height, complete: true } : null;
}

/** The header of an image file, or null when the bytes are not an image format we know. */
export function readImageHeader(b: Uint8Array): ImageHeader | null {
  if (b.length < 12) return null;
  if (b[0] === 0x89 && ascii(b, 1, 3) === 'PNG') return png(b);
  if (b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return jpeg(b);
  if (ascii(b, 0, 6) === 'GIF87a' || ascii(b, 0, 6) === 'GIF89a') return { format: 'gif', width: le16(b, 6), height: le16(b, 8), complete: true };
  if (ascii(b, 0, 4) === 'RIFF' && ascii(b, 8, 4) === 'WEBP') return webp(b);
  if (ascii(b, 4, 4) === 'ftyp') return heif(b);
  if ((b[0] === 0x49 && b[1] === 0x49 && b[2] === 42 && b[3] === 0) || (b[0] === 0x4d && b[1] === 0x4d && b[2] === 0 && b[3] === 42)) return tiff(b);
  if (b[0] === 0x42 && b[1] === 0x4d && b.length >= 26) return { format: 'bmp', width: le32(b, 18), height: Math.abs(le32(b, 22) | 0), complete: true };
  return null;
}

/**
 * Why an image with this header is refused before decoding (over the pixel limit, or a side over
 * MAX_IMAGE_SIDE), or null: the same rule as the sharp path, for the browser path to apply.
 */
export function headerSizeRefusal(h: ImageHeader, maxPixels = MAX_PIXELS): string | null {
  return imageSizeRefusal(h.width, h.height, maxPixels, MAX_IMAGE_SIDE);
}

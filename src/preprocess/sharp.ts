// Image bytes or a file to a model input tensor, in Node, with sharp (libvips). Untrusted input: every
// failure becomes an ImageError with the file's name and a plain reason; nothing else escapes.
//
// Steps, in order: read the header only and refuse images over the pixel limit (a decompression bomb
// never gets decoded; sharp's limitInputPixels repeats the check inside libvips) -> first frame of
// animations -> EXIF orientation -> alpha flattened onto white -> sRGB 8-bit (CMYK via its ICC
// profile, 16-bit scaled down) -> resize + centre crop per resizeCropPlan -> raw HWC pixels ->
// pixelsToTensor (which inverts a light-bordered image when spec.background is 'dark').
//
// Resize kernel: an antialiased triangle filter (bilinear, widened when shrinking, as PIL's BILINEAR
// that torchvision uses). Shrinking runs in libvips (sharp's 'linear' kernel, JPEG shrink-on-load off:
// its DCT-domain downscale is a different filter); it agrees with resizeCropPixels, the TypeScript
// version of the filter that the browser path can use, to within 1 level on typical images (a few
// levels on noisy ones: libvips box-shrinks large factors first). Enlarging (images smaller than the
// target) runs resizeCropPixels here too, because libvips's upsampling grid is offset from the
// pixel-centre grid PIL and canvases use; sources that small cost nothing to resize in TypeScript.
import { createRequire } from 'node:module';
import { stat } from 'node:fs/promises';
import { basename } from 'node:path';
import type { Metadata, OutputInfo } from 'sharp';
import { UserError } from '../errors';
import type { Tensor } from '../../kernels/core/tensor';
import { imageSizeRefusal, MAX_IMAGE_SIDE, MAX_PIXELS } from './image-limits';
import { checkPreprocessSpec, pixelsToTensor, resizeCropPixels, resizeCropPlan, type PreprocessSpec } from './normalize';

/**
 * sharp, required as the CommonJS package it is: Node's ESM loader would parse it (and what it requires)
 * to find its exports, about 10 MB of resident memory for the lexer's work in a process that classifies
 * one photo (measured: import 64-72 MB, require 59.5 MB, node alone 42 MB).
 */
export const sharp: typeof import('sharp').default = createRequire(import.meta.url)('sharp');

/** Default pixel limit (width x height of the stored image): 40 Mpixels; sides up to 32768 (image-limits.ts). */
export { MAX_PIXELS } from './image-limits';

/**
 * Raster formats we decode (sharp's names; AVIF is 'heif'). sharp also reads SVG and libvips's own
 * .v files: neither is a photo, and SVG rendering is attack surface an image classifier does not need.
 */
const FORMATS: ReadonlySet<string> = new Set(['jpeg', 'png', 'webp', 'gif', 'heif', 'tiff', 'jp2', 'jxl']);

export type ImageErrorKind = 'not-found' | 'not-a-file' | 'unreadable' | 'empty' | 'too-large' | 'not-an-image' | 'corrupt';

/** The one error decodeImage throws. `message` starts with the file's name; `kind` is for code. */
export class ImageError extends UserError {
  override readonly name = 'ImageError';
  constructor(
    readonly kind: ImageErrorKind,
    readonly source: string,
    reason: string,
    options?: { cause?: unknown },
  ) {
    super(`${source}: ${reason}`, options);
  }
}

export interface DecodeOptions {
  /** Refuse images with more pixels than this (default MAX_PIXELS); sides over MAX_IMAGE_SIDE always are. */
  maxPixels?: number;
  /** Name used in error messages; default the file's base name, or "image" for bytes. */
  name?: string;
}

export interface DecodedImage {
  tensor: Tensor;
  /** Size of the image as displayed (after EXIF orientation), before resizing. */
  width: number;
  height: number;
  /** sharp's format name ('jpeg', 'png', 'webp', 'gif', 'tiff', ...), 'avif' for AV1 in HEIF. */
  format: string;
}

/**
 * Map a sharp/libvips failure to a reason a user can act on. libvips keeps one error buffer for all its
 * threads, so the detail after sharp's own words can carry another file's message (a truncated JPEG decoded
 * beside a text file was reported as not an image about once in 600): sharp's "corrupt header" verdict
 * comes first, and with `headerRead` (the header already read as a supported image) a failure is never
 * "not an image".
 */
function sharpFailure(source: string, err: unknown, headerRead = false): ImageError {
  const text = err instanceof Error ? err.message : String(err);
  const corruptHeader = /^Input (file|buffer) has corrupt header/i.test(text);
  if (!headerRead && !corruptHeader && /unsupported image format|bad seek|not a known file format/i.test(text)) {
    return new ImageError('not-an-image', source, 'not an image (unsupported or corrupt data)', { cause: err });
  }
  if (/exceeds pixel limit/i.test(text)) {
    return new ImageError('too-large', source, `image is over the pixel limit (${text})`, { cause: err });
  }
  if (/input file is missing/i.test(text)) return new ImageError('not-found', source, 'file not found', { cause: err });
  const detail = text.split('\n')[0]!.trim();
  return new ImageError('corrupt', source, `corrupt or truncated image (${detail})`, { cause: err });
}

async function checkFile(path: string, source: string): Promise<void> {
  let info: Awaited<ReturnType<typeof stat>>;
  try {
    info = await stat(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') throw new ImageError('not-found', source, 'file not found', { cause: err });
    throw new ImageError('unreadable', source, `cannot read file (${code ?? String(err)})`, { cause: err });
  }
  if (!info.isFile()) throw new ImageError('not-a-file', source, 'not a file (a directory or device)');
  if (info.size === 0) throw new ImageError('empty', source, 'empty file (0 bytes)');
}

/**
 * Decode an image (bytes or a file path) to a [1, C, H, W] float32 tensor for a model with the given
 * preprocessing. Throws ImageError for anything that is not a decodable image within the pixel limit.
 */
export async function decodeImage(
  input: Uint8Array | string,
  spec: PreprocessSpec,
  opts: DecodeOptions = {},
): Promise<DecodedImage> {
  checkPreprocessSpec(spec); // a caller's mistake, not the image's: plain Error, before any I/O
  const maxPixels = opts.maxPixels ?? MAX_PIXELS;
  if (!(maxPixels > 0)) throw new Error(`decodeImage: maxPixels must be positive, got ${maxPixels}`);
  const source = opts.name ?? (typeof input === 'string' ? basename(input) : 'image');
  if (typeof input === 'string') await checkFile(input, source);
  else if (input.length === 0) throw new ImageError('empty', source, 'empty file (0 bytes)');
  // sharp wants a Buffer for bytes; this view shares the memory.
  const sharpInput = typeof input === 'string' ? input : Buffer.from(input.buffer, input.byteOffset, input.byteLength);

  // Header only: dimensions and orientation without decoding pixels.
  let meta: Metadata;
  try {
    meta = await sharp(sharpInput, { limitInputPixels: false, pages: 1 }).metadata();
  } catch (err) {
    throw sharpFailure(source, err);
  }
  if (!FORMATS.has(meta.format)) {
    throw new ImageError('not-an-image', source, `unsupported format '${meta.format}' (use JPEG, PNG, WebP, GIF, AVIF or TIFF)`);
  }
  const { width, height } = meta;
  if (!width || !height) throw new ImageError('not-an-image', source, 'not an image (no dimensions in its header)');
  // Both bounds from the header, before decoding: the pixel count and the longest side.
  const refusal = imageSizeRefusal(width, height, maxPixels, MAX_IMAGE_SIDE);
  if (refusal) throw new ImageError('too-large', source, refusal);
  const shown = meta.autoOrient ?? { width, height };
  const plan = resizeCropPlan(shown.width, shown.height, spec.width, spec.height, spec.resizeShorter);

  const enlarging = plan.resizeWidth > shown.width || plan.resizeHeight > shown.height;
  let data: Buffer;
  let info: OutputInfo;
  try {
    let pipeline = sharp(sharpInput, { limitInputPixels: Math.max(1, Math.floor(maxPixels)), failOn: 'truncated', pages: 1, page: 0 })
      .autoOrient()
      .flatten({ background: '#ffffff' })
      .toColourspace('srgb');
    if (!enlarging) {
      pipeline = pipeline
        .resize(plan.resizeWidth, plan.resizeHeight, { fit: 'fill', kernel: 'linear', fastShrinkOnLoad: false })
        .extract(plan.crop);
    }
    ({ data, info } = await pipeline.raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true }));
  } catch (err) {
    throw sharpFailure(source, err, true);
  }
  const channels = info.channels;
  if (channels !== 1 && channels !== 3 && channels !== 4) {
    throw new ImageError('corrupt', source, `decoder returned ${channels} channels, expected RGB`);
  }
  let pixels: Uint8Array | Uint8ClampedArray = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  if (enlarging) {
    if (info.width !== shown.width || info.height !== shown.height) {
      throw new ImageError('corrupt', source, `decoded ${info.width}x${info.height}, header said ${shown.width}x${shown.height}`);
    }
    pixels = resizeCropPixels(pixels, { width: info.width, height: info.height, channels }, plan);
  } else if (info.width !== spec.width || info.height !== spec.height) {
    throw new ImageError('corrupt', source, `decoder returned ${info.width}x${info.height}, expected ${spec.width}x${spec.height}`);
  }
  const tensor = pixelsToTensor(pixels, { width: spec.width, height: spec.height, channels }, spec);
  const format = meta.format === 'heif' && meta.compression === 'av1' ? 'avif' : String(meta.format);
  return { tensor, width: shown.width, height: shown.height, format };
}

/** decodeImage for a path, for call sites that only ever read files. */
export function decodeImageFile(path: string, spec: PreprocessSpec, opts: DecodeOptions = {}): Promise<DecodedImage> {
  return decodeImage(path, spec, opts);
}

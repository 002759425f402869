// Browser-side image decoding, standing in for sharp when the UI runs outside Electron. Same steps and the
// same resize filter as the sharp path: header check (format, pixel limit, truncation) before any pixels
// are allocated -> decode with EXIF orientation -> alpha flattened onto white -> resize + centre crop
// (resizeCropPixels, the TypeScript twin of the sharp kernel) -> normalised NCHW tensor (pixelsToTensor, which
// also inverts light-background photos for models trained on a dark one: spec.background, as in the sharp path).
import { flattenAlpha, pixelsToTensor, resizeCropPixels, resizeCropPlan, type PreprocessSpec } from '../../src/preprocess/normalize';
import { headerSizeRefusal, imageSizeRefusal, MAX_PIXELS, readImageHeader } from '../shared/image-header';
import { MAX_IMAGE_BYTES, type ErrorKind } from '../shared/ipc';
import type { TensorData } from './worker-protocol';

const THUMBNAIL_SIDE = 192;

export class DecodeFailure extends Error {
  constructor(readonly kind: ErrorKind, message: string) {
    super(message);
  }
}

export interface BrowserDecoded {
  readonly width: number;
  readonly height: number;
  readonly format: string;
  readonly tensors: TensorData[];
  readonly thumbnail?: Blob;
}


export async function decodeInBrowser(blob: Blob, name: string, specs: readonly PreprocessSpec[], withThumbnail: boolean,
  maxPixels = MAX_PIXELS): Promise<BrowserDecoded> {
  if (blob.size === 0) throw new DecodeFailure('empty', `${name}: empty file (0 bytes)`);
  if (blob.size > MAX_IMAGE_BYTES) throw new DecodeFailure('too-large', `${name}: ${blob.size} bytes is over the ${MAX_IMAGE_BYTES}-byte limit`);
  const bytes = new Uint8Array(await blob.arrayBuffer());
  const header = readImageHeader(bytes);
  if (!header) throw new DecodeFailure('not-an-image', `${name}: not an image (unsupported or corrupt data)`);
  if (header.format === 'tiff' || header.format === 'heif') {
    throw new DecodeFailure('not-an-image', `${name}: ${header.format.toUpperCase()} cannot be decoded in this browser (the desktop app reads it)`);
  }
  const refusal = headerSizeRefusal(header, maxPixels);
  if (refusal) throw new DecodeFailure('too-large', `${name}: ${refusal}`);
  if (!header.complete) throw new DecodeFailure('corrupt', `${name}: corrupt or truncated image (the file ends early)`);
  let bitmap: ImageBitmap;
  try {
    bitmap = await createImageBitmap(new Blob([bytes]), { imageOrientation: 'from-image', premultiplyAlpha: 'none' });
  } catch {
    throw new DecodeFailure('corrupt', `${name}: corrupt or truncated image (the browser could not decode it)`);
  }
  try {
    const w = bitmap.width;
    const h = bitmap.height;
    const decodedRefusal = imageSizeRefusal(w, h, maxPixels);
    if (decodedRefusal) throw new DecodeFailure('too-large', `${name}: ${decodedRefusal}`);
    const canvas = new OffscreenCanvas(w, h);
    const ctx = canvas.getContext('2d', { willReadFrequently: true });
    if (!ctx) throw new DecodeFailure('internal', `${name}: no 2D canvas available to read pixels`);
    ctx.drawImage(bitmap, 0, 0);
    const rgb = flattenAlpha(ctx.getImageData(0, 0, w, h).data);
    const tensors = specs.map((spec) => {
      const plan = resizeCropPlan(w, h, spec.width, spec.height, spec.resizeShorter);
      const px = resizeCropPixels(rgb, { width: w, height: h, channels: 3 }, plan);
      return pixelsToTensor(px, { width: spec.width, height: spec.height, channels: 3 }, spec);
    });
    let thumbnail: Blob | undefined;
    if (withThumbnail) {
      const scale = Math.min(1, THUMBNAIL_SIDE / Math.max(w, h));
      const tw = Math.max(1, Math.round(w * scale));
      const th = Math.max(1, Math.round(h * scale));
      const small = new OffscreenCanvas(tw, th);
      const sctx = small.getContext('2d');
      if (sctx) {
        sctx.imageSmoothingQuality = 'high';
        sctx.drawImage(bitmap, 0, 0, tw, th);
        thumbnail = await small.convertToBlob({ type: 'image/webp', quality: 0.82 });
      }
    }
    return { width: w, height: h, format: header.format, tensors, ...(thumbnail && { thumbnail }) };
  } finally {
    bitmap.close();
  }
}

// One image decode as the app needs it: sharp's preprocessing for a model (decodeImage) plus a small
// preview, with every failure turned into an AppError. Runs inside the decoder utility process; a plain
// async function so tests call it directly.
import { decodeImage, ImageError, MAX_PIXELS, sharp } from '../../src/preprocess/sharp';
import type { PreprocessSpec } from '../../src/preprocess/normalize';
import type { AppError, DecodedImageData, DecodeOptions } from '../shared/ipc';

export const THUMBNAIL_SIDE = 192;

export type DecodeInput = { readonly bytes: Uint8Array } | { readonly path: string };

export interface DecodeJob {
  readonly input: DecodeInput;
  readonly name: string;
  readonly spec: PreprocessSpec;
  readonly options: DecodeOptions;
  readonly maxPixels?: number;
}

export type DecodeOutcome = { readonly ok: true; readonly value: DecodedImageData } | { readonly ok: false; readonly error: AppError };

async function thumbnailOf(input: Uint8Array | string, maxPixels: number): Promise<Uint8Array> {
  const src = typeof input === 'string' ? input : Buffer.from(input.buffer, input.byteOffset, input.byteLength);
  const buf = await sharp(src, { limitInputPixels: Math.floor(maxPixels), pages: 1, page: 0 })
    .autoOrient()
    .resize(THUMBNAIL_SIDE, THUMBNAIL_SIDE, { fit: 'inside', withoutEnlargement: false, kernel: 'linear' })
    .webp({ quality: 82 })
    .toBuffer();
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
}

export async function runDecodeJob(job: DecodeJob): Promise<DecodeOutcome> {
  const input = 'bytes' in job.input ? job.input.bytes : job.input.path;
  const maxPixels = job.maxPixels ?? MAX_PIXELS;
  try {
    const decoded = await decodeImage(input, job.spec, { name: job.name, maxPixels });
    const thumbnail = job.options.thumbnail ? await thumbnailOf(input, maxPixels) : undefined;
    return {
      ok: true,
      value: {
        shape: decoded.tensor.shape,
        data: decoded.tensor.data,
        width: decoded.width,
        height: decoded.height,
        format: decoded.format,
        ...(thumbnail && { thumbnail, thumbnailType: 'image/webp' }),
      },
    };
  } catch (err) {
    if (err instanceof ImageError) return { ok: false, error: { kind: err.kind, message: err.message } };
    const text = err instanceof Error ? err.message : String(err);
    return { ok: false, error: { kind: 'corrupt', message: `${job.name}: ${text.split('\n')[0]}` } };
  }
}

// The preprocessing a model was trained with, from its metadata (ImageNet's when a file carries none).
import type { ModelInfo } from '../engine/session';
import { UserError } from '../errors';
import { datasetNamed, IMAGENET } from '../datasets';
import type { ModelMeta } from '../model-meta';
import type { PreprocessSpec } from './normalize';

/**
 * Whether the model was trained on objects over a dark background: its metadata's `background` when
 * present, else its training dataset (files written before the field existed, e.g. the shipped models).
 */
export function trainedOnDarkBackground(meta: ModelMeta | null): boolean {
  if (meta?.background !== undefined) return meta.background === 'dark';
  const dataset = meta?.training?.dataset;
  return typeof dataset === 'string' && datasetNamed(dataset)?.background === 'dark';
}

/** A model images cannot be fed to (not 1 or 3 input channels). */
class ImageInputError extends UserError {
  override name = 'ImageInputError';
}

export function preprocessSpecFor(info: ModelInfo): PreprocessSpec {
  const [c, h, w] = info.inputShape as [number, number, number];
  if (c !== 1 && c !== 3) throw new ImageInputError(`images need a 1- or 3-channel model, this one takes ${c} channels`);
  const meta = info.meta;
  const mean = meta ? [...meta.mean] : c === 3 ? [...IMAGENET.mean] : [0.5];
  const std = meta ? [...meta.std] : c === 3 ? [...IMAGENET.std] : [0.5];
  // ImageNet evaluation resizes the shorter side to 256 and centre-crops 224 (scaled for other sizes),
  // unless the model's metadata says its own resize (one that still covers the crop).
  const ownResize = meta?.resize !== undefined && meta.resize >= Math.max(h, w) ? meta.resize : undefined;
  const resizeShorter = ownResize ?? (h >= 160 ? Math.round((h * 256) / 224) : undefined);
  const spec: PreprocessSpec = { channels: c, height: h, width: w, mean, std, resizeShorter };
  // Users drop product photos (dark garment on white); Fashion-MNIST models learnt the opposite polarity.
  if (trainedOnDarkBackground(meta)) spec.background = 'dark';
  return spec;
}

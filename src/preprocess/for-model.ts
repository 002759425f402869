// The preprocessing a model was trained with, from its metadata (ImageNet's when a file carries none).
import type { ModelInfo } from '../engine/session';
import { IMAGENET_MEAN, IMAGENET_STD, type PreprocessSpec } from './normalize';

export function preprocessSpecFor(info: ModelInfo): PreprocessSpec {
  const [c, h, w] = info.inputShape as [number, number, number];
  if (c !== 1 && c !== 3) throw new Error(`images need a 1- or 3-channel model, this one takes ${c} channels`);
  const meta = info.meta;
  const mean = meta ? [...meta.mean] : c === 3 ? [...IMAGENET_MEAN] : [0.5];
  const std = meta ? [...meta.std] : c === 3 ? [...IMAGENET_STD] : [0.5];
  // ImageNet evaluation resizes the shorter side to 256 and centre-crops 224 (scaled for other sizes).
  const resizeShorter = h >= 160 ? Math.round((h * 256) / 224) : undefined;
  return { channels: c, height: h, width: w, mean, std, resizeShorter };
}

// Shared by preprocessing tests here and in app/: a spec that passes raw 0..255 values through.
import type { PreprocessSpec } from './normalize';

/** Raw 0..255 values out: scale 1, mean 0, std 1. */
export const rawSpec = (height: number, width: number, channels: 1 | 3 = 3): PreprocessSpec => ({
  channels, height, width, mean: Array<number>(channels).fill(0), std: Array<number>(channels).fill(1), scale: 1,
});

// "What the net sees": a model input tensor turned back into pixels, so the UI can show the image as the
// net gets it (resized, cropped, grayscale, inverted for nets trained on dark backgrounds) and draw class
// activation maps over it. Pure functions over typed arrays.

/**
 * Sample `n` of an NCHW input [N,C,H,W] (C = 1 or 3) as interleaved RGB bytes [H,W,3]: the normalisation
 * undone (x * std + mean, then * 255), gray replicated to three channels.
 */
export function inputToRgb(input: { shape: readonly number[]; data: Float32Array }, mean: readonly number[], std: readonly number[], n = 0): Uint8ClampedArray {
  const [batch, c, h, w] = input.shape as [number, number, number, number];
  if (input.shape.length !== 4 || (c !== 1 && c !== 3)) throw new Error(`input view: [${input.shape.join(',')}] is not a 1- or 3-channel image batch`);
  if (n < 0 || n >= batch) throw new Error(`input view: sample ${n} of a batch of ${batch}`);
  if (mean.length !== c || std.length !== c) throw new Error(`input view: ${c} channels need ${c} means and stds`);
  const plane = h * w;
  const out = new Uint8ClampedArray(plane * 3);
  for (let ch = 0; ch < 3; ch++) {
    const src = c === 1 ? 0 : ch;
    const base = (n * c + src) * plane;
    const s = std[src]! * 255;
    const m = mean[src]! * 255;
    for (let i = 0; i < plane; i++) out[i * 3 + ch] = input.data[base + i]! * s + m; // clamped store rounds
  }
  return out;
}

/** RGB bytes [h,w,3] enlarged by an integer factor, each pixel a factor x factor block (small inputs stay crisp). */
export function enlargeNearest(rgb: Uint8ClampedArray, h: number, w: number, factor: number): Uint8ClampedArray {
  if (!Number.isInteger(factor) || factor < 1) throw new Error(`enlarge: factor ${factor} is not a positive integer`);
  if (factor === 1) return rgb;
  const W = w * factor;
  const out = new Uint8ClampedArray(h * factor * W * 3);
  for (let y = 0; y < h * factor; y++) {
    const sy = Math.floor(y / factor);
    for (let x = 0; x < W; x++) {
      const s = (sy * w + Math.floor(x / factor)) * 3;
      const d = (y * W + x) * 3;
      out[d] = rgb[s]!;
      out[d + 1] = rgb[s + 1]!;
      out[d + 2] = rgb[s + 2]!;
    }
  }
  return out;
}

/** RGB bytes as opaque RGBA (what a canvas ImageData holds). */
export function rgbToRgba(rgb: Uint8ClampedArray | Uint8Array): Uint8ClampedArray {
  const n = rgb.length / 3;
  const out = new Uint8ClampedArray(n * 4);
  for (let i = 0; i < n; i++) {
    out[i * 4] = rgb[i * 3]!;
    out[i * 4 + 1] = rgb[i * 3 + 1]!;
    out[i * 4 + 2] = rgb[i * 3 + 2]!;
    out[i * 4 + 3] = 255;
  }
  return out;
}

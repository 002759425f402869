// Does an image look like what a net was trained on? For nets trained on Fashion-MNIST-like data (a light
// object, centred, on a plain black background, in gray), the input as the net gets it (resized, gray,
// inverted when its border was light) is compared with what every Fashion-MNIST test image satisfies; the
// original's colourfulness is reported beside. Predictions on inputs that fail mean little, however
// confident or unanimous they look. Pure functions over typed arrays.

/**
 * Fashion-MNIST's test images: of their four edges (mean of the outermost row or column), at most two are
 * brighter than 0.15 (trousers and dresses touch top and bottom), never three (none of the first 1000).
 */
const BRIGHT_EDGE = 0.25;
const MAX_BRIGHT_EDGES = 2;
/** ... and at least 13.9% of pixels below 0.1 (0.1st percentile; median 53%): the background. */
const MIN_BACKGROUND = 0.1;
const DARK = 0.1;
/** Hasler and Süsstrunk's colourfulness above this is "moderately colourful" or more (their scale: 33). */
const COLOURFUL = 33;

export interface InputFit {
  readonly fits: boolean;
  /** Plain-language reasons it does not fit (empty when it does). */
  readonly reasons: readonly string[];
  /** Mean of the input's four edges, 0..1 as the net sees them. */
  readonly border: number;
  /** Share of the input's pixels below 0.1: the background. */
  readonly background: number;
  /** Colourfulness of the original (Hasler and Süsstrunk 2003, 0 for gray), when an RGB view was given. */
  readonly colourfulness?: number;
}

interface Tensor4 {
  readonly shape: readonly number[];
  readonly data: Float32Array;
}

/**
 * Colourfulness M = sqrt(sd(rg)^2 + sd(yb)^2) + 0.3 sqrt(mean(rg)^2 + mean(yb)^2) of RGB values in 0..1
 * ([1,3,H,W]), on the 0..255 scale of the paper: 0 for gray, about 33 moderately and 59 highly colourful.
 */
export function colourfulness(rgb: Tensor4): number {
  const [, c, h, w] = rgb.shape as [number, number, number, number];
  if (rgb.shape.length !== 4 || c !== 3) throw new Error(`colourfulness: [${rgb.shape.join(',')}] is not an RGB image`);
  const n = h * w;
  let srg = 0, syb = 0, qrg = 0, qyb = 0;
  for (let i = 0; i < n; i++) {
    const r = rgb.data[i]! * 255, g = rgb.data[n + i]! * 255, b = rgb.data[2 * n + i]! * 255;
    const rg = r - g;
    const yb = 0.5 * (r + g) - b;
    srg += rg; syb += yb; qrg += rg * rg; qyb += yb * yb;
  }
  const mrg = srg / n, myb = syb / n;
  const vrg = Math.max(0, qrg / n - mrg * mrg), vyb = Math.max(0, qyb / n - myb * myb);
  return Math.sqrt(vrg + vyb) + 0.3 * Math.sqrt(mrg * mrg + myb * myb);
}

/**
 * Whether a 1-channel input [1,1,H,W] (normalised with mean/std, as the net gets it) looks like a
 * Fashion-MNIST image: a plain dark border and a dark background around the object. `rgb`, a small RGB view
 * of the original (values 0..1), adds its colourfulness to the reasons when it is colourful.
 */
export function darkBackgroundFit(input: Tensor4, mean: number, std: number, rgb?: Tensor4): InputFit {
  const [, c, h, w] = input.shape as [number, number, number, number];
  if (input.shape.length !== 4 || c !== 1) throw new Error(`input fit: [${input.shape.join(',')}] is not a 1-channel input`);
  const v = (i: number): number => input.data[i]! * std + mean;
  let dark = 0;
  for (let i = 0; i < h * w; i++) if (v(i) < DARK) dark++;
  const edge = (at: (k: number) => number, n: number): number => {
    let sum = 0;
    for (let k = 0; k < n; k++) sum += v(at(k));
    return sum / n;
  };
  const edges = [edge((k) => k, w), edge((k) => (h - 1) * w + k, w), edge((k) => k * w, h), edge((k) => k * w + w - 1, h)];
  const fit = { border: edges.reduce((a, b) => a + b, 0) / 4, background: dark / (h * w) };
  const reasons: string[] = [];
  if (edges.filter((e) => e > BRIGHT_EDGE).length > MAX_BRIGHT_EDGES) reasons.push('its edges are not a plain dark background');
  if (fit.background < MIN_BACKGROUND) reasons.push('almost none of it is background: the object does not stand alone');
  const colour = rgb ? colourfulness(rgb) : undefined;
  if (reasons.length > 0 && colour !== undefined && colour > COLOURFUL) reasons.unshift('it is a colour picture (the net sees it in gray)');
  return { fits: reasons.length === 0, reasons, ...fit, ...(colour !== undefined && { colourfulness: colour }) };
}

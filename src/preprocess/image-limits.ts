// How large an image we decode, judged from its header before any pixel is decoded, shared by the sharp
// path (src/preprocess/sharp.ts) and the browser path (through app/shared/image-header.ts).
//
// Two bounds: the pixel count (MAX_PIXELS, 40 Mpixels: a decompression bomb is refused before it
// allocates) and the longest side (MAX_IMAGE_SIDE, 32768 pixels: 1 x 40,000,000 is under the pixel limit
// but took about a minute to decode and resize, row by row). 32768 is also the largest canvas side
// Chromium draws and twice what WebP and JPEG can store; photos, scans and panoramas of up to 40 Mpixels
// fit well within it (a 32768 x 1220 panorama is at the pixel limit). With both, the work per image is
// bounded by the pixel count and by a side short enough that every resize step is a few seconds at most.

/** Images over this many pixels (width x height as stored) are refused before decoding. */
export const MAX_PIXELS = 40e6;

/** Images with a side longer than this are refused before decoding, whatever their pixel count. */
export const MAX_IMAGE_SIDE = 32768;

function formatMpixels(pixels: number): string {
  const mp = pixels / 1e6;
  return (mp < 10 ? mp.toPrecision(3) : mp.toFixed(1)).replace(/\.?0+$/, '');
}

/**
 * Why an image of this stored size is refused, or null: more than `maxPixels` pixels ("8000x8000 = 64
 * Mpixels is over the 40 Mpixel limit", in plain pixels when rounding would hide the difference), or a
 * side over `maxSide` ("1x40000000 has a side of 40000000 pixels, over the 32768-pixel limit").
 */
export function imageSizeRefusal(width: number, height: number, maxPixels = MAX_PIXELS, maxSide = MAX_IMAGE_SIDE): string | null {
  if (width * height > maxPixels) {
    const size = formatMpixels(width * height);
    const limit = formatMpixels(maxPixels);
    return size === limit
      ? `${width}x${height} = ${width * height} pixels is over the ${maxPixels} pixel limit`
      : `${width}x${height} = ${size} Mpixels is over the ${limit} Mpixel limit`;
  }
  if (width > maxSide || height > maxSide) {
    return `${width}x${height} has a side of ${Math.max(width, height)} pixels, over the ${maxSide}-pixel limit`;
  }
  return null;
}

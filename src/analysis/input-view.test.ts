import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { pixelsToTensor } from '../preprocess/normalize';
import { enlargeNearest, inputToRgb, rgbToRgba } from './input-view';

describe('input view', () => {
  it('undoes the normalisation of an RGB input exactly (to the byte)', () => {
    const px = new Uint8Array(4 * 3 * 3).map((_, i) => (i * 37) % 256);
    const spec = { channels: 3 as const, height: 3, width: 4, mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] };
    const t = pixelsToTensor(px, { height: 3, width: 4, channels: 3 }, spec);
    assert.deepEqual([...inputToRgb(t, spec.mean, spec.std)], [...px]);
  });

  it('shows a grayscale input as gray RGB, inverted as the net saw it', () => {
    // A light border: a Fashion-MNIST model's input is inverted (dark background, light object).
    const px = new Uint8Array(5 * 5).fill(250);
    px[12] = 10;
    const spec = { channels: 1 as const, height: 5, width: 5, mean: [0.2860], std: [0.3530], background: 'dark' as const };
    const rgb = inputToRgb(pixelsToTensor(px, { height: 5, width: 5, channels: 1 }, spec), spec.mean, spec.std);
    assert.deepEqual([...rgb.subarray(0, 3)], [5, 5, 5]);
    assert.deepEqual([...rgb.subarray(36, 39)], [245, 245, 245]);
  });

  it('enlarges by whole pixels and adds opaque alpha', () => {
    const rgb = new Uint8ClampedArray([1, 2, 3, 4, 5, 6]); // 1x2
    const big = enlargeNearest(rgb, 1, 2, 2);
    assert.deepEqual([...big], [1, 2, 3, 1, 2, 3, 4, 5, 6, 4, 5, 6, 1, 2, 3, 1, 2, 3, 4, 5, 6, 4, 5, 6]);
    assert.deepEqual([...rgbToRgba(rgb)], [1, 2, 3, 255, 4, 5, 6, 255]);
    assert.throws(() => inputToRgb({ shape: [1, 2, 2, 2], data: new Float32Array(8) }, [0, 0], [1, 1]), /not a 1- or 3-channel/);
  });
});

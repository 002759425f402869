import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FASHION_MNIST, IMAGENET } from '../datasets';
import { tensor } from '../../kernels/core/tensor';
import {
  batchTensors,
  borderLuma,
  flattenAlpha,
  invertsForSpec,
  pixelsToTensor,
  resizeCropPixels,
  resizeCropPlan,
  type PreprocessSpec,
} from './normalize';
import { rawSpec as raw } from './testing';

const close = (actual: number, expected: number, tol: number, what: string): void =>
  assert.ok(Math.abs(actual - expected) <= tol, `${what}: ${actual} is not within ${tol} of ${expected}`);


describe('resizeCropPlan', () => {
  it('matches torchvision Resize(256) + CenterCrop(224) on a 500x375 photo', () => {
    // torchvision: new_long = int(256 * 500 / 375) = 341; left = int(round((341 - 224) / 2)) = round(58.5) = 58.
    const p = resizeCropPlan(500, 375, 224, 224, 256);
    assert.equal(p.resizeWidth, 341);
    assert.equal(p.resizeHeight, 256);
    assert.deepEqual(p.crop, { left: 58, top: 16, width: 224, height: 224 });
  });

  it('rounds the crop offset half to even, as Python round()', () => {
    // 512x384 -> 341x256 (58.5 -> 58); 515x384 -> 343x256 ((343 - 224) / 2 = 59.5 -> 60).
    assert.equal(resizeCropPlan(512, 384, 224, 224, 256).crop.left, 58);
    assert.equal(resizeCropPlan(515, 384, 224, 224, 256).resizeWidth, 343);
    assert.equal(resizeCropPlan(515, 384, 224, 224, 256).crop.left, 60);
  });

  it('without resizeShorter, puts the shorter side on the target and crops the longer', () => {
    const land = resizeCropPlan(500, 375, 224, 224);
    assert.deepEqual([land.resizeWidth, land.resizeHeight], [298, 224]); // int(224 * 500 / 375) = 298
    assert.deepEqual(land.crop, { left: 37, top: 0, width: 224, height: 224 });
    const port = resizeCropPlan(375, 500, 224, 224);
    assert.deepEqual([port.resizeWidth, port.resizeHeight], [224, 298]);
    assert.deepEqual(port.crop, { left: 0, top: 37, width: 224, height: 224 });
    const square = resizeCropPlan(1000, 1000, 224, 224);
    assert.deepEqual([square.resizeWidth, square.resizeHeight, square.crop.left, square.crop.top], [224, 224, 0, 0]);
  });

  it('covers non-square targets and enlarges small images', () => {
    // A 32x48 portrait into a 48x32 landscape target: width must scale by 1.5, height follows (72).
    const p = resizeCropPlan(32, 48, 48, 32);
    assert.deepEqual([p.resizeWidth, p.resizeHeight], [48, 72]);
    assert.deepEqual(p.crop, { left: 0, top: 20, width: 48, height: 32 });
    const tiny = resizeCropPlan(10, 5, 224, 224);
    assert.deepEqual([tiny.resizeWidth, tiny.resizeHeight], [448, 224]);
    assert.equal(tiny.crop.left, 112);
  });

  it('gives the crop in source pixels for a canvas drawImage', () => {
    const p = resizeCropPlan(500, 375, 224, 224);
    close(p.source.x, (37 * 500) / 298, 1e-9, 'x');
    close(p.source.width, (224 * 500) / 298, 1e-9, 'width');
    assert.equal(p.source.y, 0);
    close(p.source.height, 375, 1e-9, 'height');
  });

  it('refuses sizes that are not positive integers and a resize smaller than the crop', () => {
    assert.throws(() => resizeCropPlan(0, 10, 224, 224), /source width must be a positive integer, got 0/);
    assert.throws(() => resizeCropPlan(10, 10, 22.5, 224), /target width must be a positive integer/);
    assert.throws(() => resizeCropPlan(500, 375, 224, 224, 200), /resized to 266x200 \(shorter side 200\) is smaller than the 224x224 crop/);
  });
});

describe('pixelsToTensor', () => {
  it('lays out NCHW and normalizes (p / 255 - mean) / std', () => {
    // 2x2 RGB, every byte distinct so a layout mistake shows.
    const px = new Uint8Array([10, 20, 30, 40, 50, 60, 70, 80, 90, 200, 210, 220]);
    const spec: PreprocessSpec = { channels: 3, height: 2, width: 2, mean: [...IMAGENET.mean], std: [...IMAGENET.std] };
    const t = pixelsToTensor(px, { height: 2, width: 2, channels: 3 }, spec);
    assert.deepEqual(t.shape, [1, 3, 2, 2]);
    for (let c = 0; c < 3; c++) {
      for (let i = 0; i < 4; i++) {
        const expected = (px[i * 3 + c]! / 255 - IMAGENET.mean[c]!) / IMAGENET.std[c]!;
        close(t.data[c * 4 + i]!, expected, 1e-6, `c=${c} i=${i}`);
      }
    }
  });

  it('honours a custom scale and ignores alpha', () => {
    const rgba = new Uint8Array([1, 2, 3, 0, 4, 5, 6, 255]);
    const t = pixelsToTensor(rgba, { height: 1, width: 2, channels: 4 }, { ...raw(1, 2), scale: 2, mean: [1, 1, 1] });
    assert.deepEqual([...t.data], [1, 7, 3, 9, 5, 11]);
  });

  it('uses BT.601 luma for 1-channel models and replicates gray for 3-channel ones', () => {
    const rgb = new Uint8Array([200, 100, 50, 255, 0, 0]);
    const gray = pixelsToTensor(rgb, { height: 1, width: 2, channels: 3 }, { ...raw(1, 2, 1), scale: 1 / 255, mean: [0.5], std: [0.5] });
    assert.deepEqual(gray.shape, [1, 1, 1, 2]);
    close(gray.data[0]!, ((0.299 * 200 + 0.587 * 100 + 0.114 * 50) / 255 - 0.5) / 0.5, 1e-6, 'luma of (200,100,50)');
    close(gray.data[1]!, (0.299 - 0.5) / 0.5, 1e-6, 'luma of red');
    const rep = pixelsToTensor(new Uint8Array([7, 9]), { height: 1, width: 2, channels: 1 }, raw(1, 2));
    assert.deepEqual([...rep.data], [7, 9, 7, 9, 7, 9]);
  });

  it('refuses mismatched sizes, lengths, mean/std and zero std', () => {
    const px = new Uint8Array(12);
    const shape = { height: 2, width: 2, channels: 3 as const };
    assert.throws(() => pixelsToTensor(px, shape, raw(3, 2)), /pixels are 2x2, the model wants 2x3/);
    assert.throws(() => pixelsToTensor(px.subarray(1), shape, raw(2, 2)), /11 bytes do not match 2x2x3 = 12/);
    assert.throws(() => pixelsToTensor(px, shape, { ...raw(2, 2), mean: [0] }), /mean \[0\] and std \[1, 1, 1\] need 3 values each/);
    assert.throws(() => pixelsToTensor(px, shape, { ...raw(2, 2), scale: NaN }), /scale must be finite and non-zero, got NaN/);
    assert.throws(() => pixelsToTensor(px, shape, { ...raw(2, 2), std: [1, 0, 1] }), /std must be finite and non-zero, got 0/);
  });
});

describe('flattenAlpha', () => {
  it('composites straight alpha over white', () => {
    const out = flattenAlpha(new Uint8Array([200, 100, 50, 255, 9, 9, 9, 0, 0, 0, 0, 128]));
    assert.deepEqual([...out], [200, 100, 50, 255, 255, 255, 127, 127, 127]);
  });
});

describe('resizeCropPixels', () => {
  const fullPlan = (w: number, h: number, dw: number, dh: number) => {
    const p = resizeCropPlan(w, h, dw, dh);
    return { ...p, resizeWidth: dw, resizeHeight: dh, crop: { left: 0, top: 0, width: dw, height: dh } };
  };

  it('is the identity at the same size', () => {
    const px = new Uint8Array(5 * 4 * 3).map((_, i) => (i * 37) % 256);
    assert.deepEqual([...resizeCropPixels(px, { width: 5, height: 4, channels: 3 }, fullPlan(5, 4, 5, 4))], [...px]);
  });

  it('shrinks with an antialiased triangle filter (hand-computed, as PIL BILINEAR)', () => {
    // 4 -> 2: output 0 centred on source 1.0, taps 0..2 weighted 0.75, 0.75, 0.25 (the left tap is clipped).
    const row = new Uint8Array([0, 100, 200, 250]);
    const out = resizeCropPixels(row, { width: 4, height: 1, channels: 1 }, fullPlan(4, 1, 2, 1));
    assert.deepEqual([...out], [Math.round(125 / 1.75), Math.round((25 + 150 + 187.5) / 1.75)]); // 71, 207
  });

  it('enlarges with pixel centres aligned', () => {
    // 4 -> 8: output i samples source (i + 0.5) / 2 - 0.5, clamped at the edges.
    const row = new Uint8Array([0, 100, 200, 250]);
    const out = resizeCropPixels(row, { width: 4, height: 1, channels: 1 }, fullPlan(4, 1, 8, 1));
    assert.deepEqual([...out], [0, 25, 75, 125, 175, 212, 238, 250]);
  });

  it('keeps a flat image flat and computes only the crop of the full resize', () => {
    const w = 37;
    const h = 23;
    const flat = new Uint8Array(w * h * 3).fill(77);
    const plan = resizeCropPlan(w, h, 16, 16);
    assert.ok(resizeCropPixels(flat, { width: w, height: h, channels: 3 }, plan).every((v) => v === 77));
    const px = new Uint8Array(w * h * 3).map((_, i) => (i * 7919) % 251);
    const cropped = resizeCropPixels(px, { width: w, height: h, channels: 3 }, plan);
    const full = resizeCropPixels(px, { width: w, height: h, channels: 3 }, fullPlan(w, h, plan.resizeWidth, plan.resizeHeight));
    for (let y = 0; y < 16; y++) {
      const at = ((y + plan.crop.top) * plan.resizeWidth + plan.crop.left) * 3;
      assert.deepEqual([...cropped.subarray(y * 48, y * 48 + 48)], [...full.subarray(at, at + 48)], `row ${y}`);
    }
  });
});

describe('batchTensors', () => {
  it('concatenates along N', () => {
    const a = tensor([1, 2, 1, 1], new Float32Array([1, 2]));
    const b = tensor([2, 2, 1, 1], new Float32Array([3, 4, 5, 6]));
    const t = batchTensors([a, b]);
    assert.deepEqual(t.shape, [3, 2, 1, 1]);
    assert.deepEqual([...t.data], [1, 2, 3, 4, 5, 6]);
  });

  it('refuses an empty list and mismatched shapes', () => {
    assert.throws(() => batchTensors([]), /no tensors/);
    assert.throws(
      () => batchTensors([tensor([1, 3, 2, 2]), tensor([1, 3, 2, 3])]),
      /tensor 1 has shape \[1,3,2,3\], expected \[N,3,2,2\]/,
    );
  });
});

/** A W x H gray image: `background` everywhere, `object` inside a box one pixel in from every edge. */
function framed(width: number, height: number, background: number, object: number): Uint8Array {
  const px = new Uint8Array(width * height).fill(background);
  for (let y = 1; y < height - 1; y++) px.fill(object, y * width + 1, (y + 1) * width - 1);
  return px;
}

describe('background polarity', () => {
  it('borderLuma averages only the outermost ring, in BT.601 luma on 0..1', () => {
    const gray = framed(5, 4, 200, 10);
    close(borderLuma(gray, { width: 5, height: 4, channels: 1 }), 200 / 255, 1e-12, 'uniform ring');
    // Ring of a 3x3 is 8 pixels: one of them 0, the rest 255; the centre (also 0) must not count.
    const ring = new Uint8Array(9).fill(255);
    ring[0] = 0;
    ring[4] = 0;
    close(borderLuma(ring, { width: 3, height: 3, channels: 1 }), 7 / 8, 1e-12, '3x3 ring');
    // RGBA: alpha ignored; pure green's luma is 0.587.
    const green = new Uint8Array([0, 255, 0, 0, 0, 255, 0, 0]);
    close(borderLuma(green, { width: 2, height: 1, channels: 4 }), 0.587, 1e-12, 'green');
    close(borderLuma(new Uint8Array([40, 80]), { width: 1, height: 2, channels: 1 }), 60 / 255, 1e-12, '1x2');
    assert.throws(() => borderLuma(new Uint8Array(5), { width: 2, height: 2, channels: 1 }), /5 bytes do not match 2x2x1 = 4/);
  });

  it("inverts a light-background image (255 - p) before normalising when background is 'dark'", () => {
    const shape = { width: 6, height: 5, channels: 1 } as const;
    const photo = framed(6, 5, 240, 30); // dark garment on a white backdrop
    const [mean, std] = [FASHION_MNIST.mean[0]!, FASHION_MNIST.std[0]!];
    const spec: PreprocessSpec = { channels: 1, height: 5, width: 6, mean: [mean], std: [std], background: 'dark' };
    assert.equal(invertsForSpec(photo, shape, spec), true);
    const t = pixelsToTensor(photo, shape, spec);
    for (let i = 0; i < photo.length; i++) {
      close(t.data[i]!, ((255 - photo[i]!) / 255 - mean) / std, 1e-5, `pixel ${i}`);
    }
    // The border becomes dark, the garment bright: the polarity the model was trained on.
    assert.ok(t.data[0]! < t.data[6 + 1]!, `border ${t.data[0]} should be below the object ${t.data[7]}`);
  });

  it('inverts RGB photos through their luma, for 1- and 3-channel models', () => {
    // A navy garment (30, 40, 120) on white, 4x4 with the garment in the middle 2x2.
    const rgb = new Uint8Array(4 * 4 * 3).fill(255);
    for (const i of [5, 6, 9, 10]) rgb.set([30, 40, 120], i * 3);
    const shape = { width: 4, height: 4, channels: 3 } as const;
    const gray = pixelsToTensor(rgb, shape, { ...raw(4, 4, 1), background: 'dark' });
    close(gray.data[0]!, 0, 1e-3, 'white border becomes black');
    close(gray.data[5]!, 255 - (0.299 * 30 + 0.587 * 40 + 0.114 * 120), 1e-3, 'navy luma inverted');
    const colour = pixelsToTensor(rgb, shape, { ...raw(4, 4, 3), background: 'dark' });
    assert.deepEqual([0, 1, 2].map((c) => colour.data[c * 16 + 5]), [225, 215, 135]);
    assert.deepEqual([0, 1, 2].map((c) => colour.data[c * 16]), [0, 0, 0]);
  });

  it("leaves dark-background images alone, and every image when background is unset", () => {
    const shape = { width: 6, height: 5, channels: 1 } as const;
    const dataset = framed(6, 5, 0, 220); // Fashion-MNIST polarity: bright garment on black
    const dark: PreprocessSpec = { ...raw(5, 6, 1), background: 'dark' };
    assert.equal(invertsForSpec(dataset, shape, dark), false);
    assert.deepEqual(Array.from(pixelsToTensor(dataset, shape, dark).data), Array.from(dataset));
    const photo = framed(6, 5, 240, 30);
    assert.equal(invertsForSpec(photo, shape, raw(5, 6, 1)), false);
    assert.deepEqual(Array.from(pixelsToTensor(photo, shape, raw(5, 6, 1)).data), Array.from(photo));
  });

  it('decides at a mean border luma of 0.5: a mid-gray border just above it inverts, just below does not', () => {
    const shape = { width: 3, height: 3, channels: 1 } as const;
    const dark: PreprocessSpec = { ...raw(3, 3, 1), background: 'dark' };
    assert.equal(invertsForSpec(framed(3, 3, 128, 0), shape, dark), true); // 128/255 = 0.502
    assert.equal(invertsForSpec(framed(3, 3, 127, 255), shape, dark), false); // 0.498
  });

  it('refuses a background other than dark', () => {
    const spec = { ...raw(1, 1, 1), background: 'light' } as unknown as PreprocessSpec;
    assert.throws(() => pixelsToTensor(new Uint8Array([0]), { width: 1, height: 1, channels: 1 }, spec), /background must be 'dark' or unset, got "light"/);
  });
});

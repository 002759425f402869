// What counts as "looks like Fashion-MNIST": every test image does, drawn garments on black do, colour
// pictures, plain fields and photos filling the frame do not.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { FASHION_MNIST } from '../datasets';
import { packageRoot } from '../models-dir';
import { decodeImage } from '../preprocess/sharp';
import { loadSplit } from '../train/data';
import { colourfulness, darkBackgroundFit } from './domain';

const root = packageRoot();
const [mean, std] = [FASHION_MNIST.mean[0]!, FASHION_MNIST.std[0]!];
const spec = { channels: 1 as const, height: 28, width: 28, mean: [mean], std: [std], background: 'dark' as const };
const probe = { channels: 3 as const, height: 32, width: 32, mean: [0, 0, 0], std: [1, 1, 1] };

async function fitOf(path: string) {
  const bytes = new Uint8Array(readFileSync(join(root, path)));
  return darkBackgroundFit((await decodeImage(bytes, spec)).tensor, mean, std, (await decodeImage(bytes, probe)).tensor);
}

describe('input fit for Fashion-MNIST nets', () => {
  it('passes every one of the first 1000 Fashion-MNIST test images', () => {
    const set = loadSplit(join(root, 'src/testdata/fashion-mnist'), 't10k', 10, 1000);
    for (let i = 0; i < set.count; i++) {
      const data = Float32Array.from(set.images.subarray(i * 784, (i + 1) * 784), (p) => (p / 255 - mean) / std);
      const fit = darkBackgroundFit({ shape: [1, 1, 28, 28], data }, mean, std);
      assert.ok(fit.fits, `test image ${i}: ${fit.reasons.join('; ')}`);
    }
  });

  it('passes garments drawn light on black, whatever their format', async () => {
    for (const f of ['trouser.jpg', 'tshirt.png', 'sneaker.webp', 'bag.gif', 'dress-exif6.jpg']) {
      const fit = await fitOf(`e2e/fixtures/${f}`);
      assert.ok(fit.fits, `${f}: ${fit.reasons.join('; ')}`);
      assert.equal(fit.colourfulness, 0);
    }
  });

  it('fails colour pictures, plain fields and pictures without a background, and says why', async () => {
    const marker = await fitOf('src/testdata/images/marker.png');
    assert.equal(marker.fits, false);
    assert.match(marker.reasons.join('; '), /colour picture.*; almost none of it is background/);
    const gray = await fitOf('src/testdata/images/gray.png');
    assert.equal(gray.fits, false);
    assert.ok(!gray.reasons.some((r) => /colour/.test(r)), 'a gray picture is not called colourful');
    for (const f of ['cmyk.jpg', 'alpha.png']) assert.equal((await fitOf(`src/testdata/images/${f}`)).fits, false, f);
  });

  it('measures colourfulness as Hasler and Süsstrunk do: 0 for gray, high for saturated colour', () => {
    const plane = (r: number, g: number, b: number) => ({ shape: [1, 3, 1, 2], data: new Float32Array([r, r, g, g, b, b]) });
    assert.equal(colourfulness(plane(0.5, 0.5, 0.5)), 0);
    assert.ok(colourfulness(plane(0, 0, 1)) > 59);
  });
});

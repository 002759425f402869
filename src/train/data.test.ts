// Fashion-MNIST loading (IDX, gzip, every malformed case), normalisation and the paper's augmentation, on
// the committed 1000-image test slice.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { FASHION_MNIST } from '../datasets';
import { seededRandom } from '../zoo/build';
import { encodeIdx, loadFashionMnist, loadSplit, parseIdx } from './data';
import { channelStats, DatasetError, fillBatch, type ImageSet, pixelStats, shuffled } from './image-set';

const SLICE = join(import.meta.dirname, '../testdata/fashion-mnist');
const tmp = mkdtempSync(join(tmpdir(), 'rl-data-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

function dirWith(files: Record<string, Uint8Array>): string {
  const d = mkdtempSync(join(tmp, 'd-'));
  for (const [name, bytes] of Object.entries(files)) writeFileSync(join(d, name), bytes);
  return d;
}

describe('IDX files', () => {
  it('round-trips, plain and gzipped', () => {
    const data = Uint8Array.from({ length: 2 * 3 * 4 }, (_, i) => i * 7);
    const idx = encodeIdx([2, 3, 4], data);
    for (const bytes of [idx, new Uint8Array(gzipSync(idx))]) {
      const r = parseIdx(bytes, 'x');
      assert.deepEqual(r.dims, [2, 3, 4]);
      assert.deepEqual([...r.data], [...data]);
    }
  });

  it('refuses bad magic, other data types, truncated headers and data, corrupt gzip', () => {
    const good = encodeIdx([2, 2], new Uint8Array(4));
    const cases: [Uint8Array, RegExp][] = [
      [new TextEncoder().encode('<html>not idx</html>'), /bad magic/],
      [Uint8Array.from([0, 0, 0x0d, 1, 0, 0, 0, 1, 0, 0, 0, 0]), /data type 0xd is not unsigned bytes/],
      [good.subarray(0, 6), /truncated IDX header/],
      [good.subarray(0, good.length - 1), /need 4 bytes of data, the file has 3/],
      [Uint8Array.from([...good, 9]), /need 4 bytes of data, the file has 5/],
      [Uint8Array.from([0x1f, 0x8b, 8, 0, 1, 2, 3]), /not a valid gzip file/],
      [Uint8Array.from([0, 0, 8, 0]), /rank 0/],
    ];
    for (const [bytes, re] of cases) assert.throws(() => parseIdx(bytes, 'f.idx'), (e: Error) => e instanceof DatasetError && re.test(e.message) && e.message.startsWith('f.idx'));
  });
});

describe('loading Fashion-MNIST', () => {
  it('reads the committed slice: 1000 images of 28x28, the real first labels and class counts', () => {
    const s = loadSplit(SLICE, 't10k', 10);
    assert.equal(s.count, 1000);
    assert.equal(s.rows, 28);
    assert.equal(s.cols, 28);
    // The first test images of Fashion-MNIST are an ankle boot, a pullover and two trousers.
    assert.deepEqual([...s.labels.subarray(0, 4)], [9, 2, 1, 1]);
    const counts = new Array<number>(10).fill(0);
    for (const l of s.labels) counts[l]!++;
    assert.deepEqual(counts, [107, 105, 111, 93, 115, 87, 97, 95, 95, 95]);
    const { mean, std } = pixelStats(s);
    // The slice's pixel statistics are close to the whole training set's (src/datasets.ts).
    assert.ok(Math.abs(mean - FASHION_MNIST.mean[0]!) < 0.01 && Math.abs(std - FASHION_MNIST.std[0]!) < 0.01, `mean ${mean}, std ${std}`);
    assert.equal(loadSplit(SLICE, 't10k', 10, 10).count, 10);
  });

  it('names the missing directory and files, and mismatched or out-of-range labels', () => {
    assert.throws(() => loadSplit(join(tmp, 'nope'), 't10k', 10), /dataset directory .*nope does not exist/);
    assert.throws(() => loadFashionMnist(SLICE), /no Fashion-MNIST in .*train-images-idx3-ubyte\[\.gz\] is missing.*dataset-fashion-mnist/);
    const imgs = encodeIdx([3, 2, 2], new Uint8Array(12));
    const mismatch = dirWith({ 't10k-images-idx3-ubyte': imgs, 't10k-labels-idx1-ubyte': encodeIdx([2], new Uint8Array(2)) });
    assert.throws(() => loadSplit(mismatch, 't10k', 10), /has 3 images but .* has 2 labels/);
    const badLabel = dirWith({ 't10k-images-idx3-ubyte': imgs, 't10k-labels-idx1-ubyte.gz': gzipSync(encodeIdx([3], Uint8Array.from([1, 12, 0]))) });
    assert.throws(() => loadSplit(badLabel, 't10k', 10), /label 12 of image 1 is not a class 0..9/);
    const flat = dirWith({ 't10k-images-idx3-ubyte': encodeIdx([12], new Uint8Array(12)), 't10k-labels-idx1-ubyte': encodeIdx([3], new Uint8Array(3)) });
    assert.throws(() => loadSplit(flat, 't10k', 10), /images must be \[N,rows,cols\], got \[12\]/);
  });

  it('refuses a FIFO, a link to /dev/zero or a directory in place of a data file, before reading it (no hang, no 2 GB read)', () => {
    const labels = encodeIdx([3], new Uint8Array(3));
    const fifoDir = dirWith({ 't10k-labels-idx1-ubyte': labels });
    execFileSync('mkfifo', [join(fifoDir, 't10k-images-idx3-ubyte')]);
    const zeroDir = dirWith({ 't10k-labels-idx1-ubyte': labels });
    symlinkSync('/dev/zero', join(zeroDir, 't10k-images-idx3-ubyte.gz'));
    const dirDir = dirWith({ 't10k-labels-idx1-ubyte': labels });
    mkdirSync(join(dirDir, 't10k-images-idx3-ubyte'));
    const t0 = performance.now();
    const refused = (re: RegExp) => (e: Error): boolean => e instanceof DatasetError && re.test(e.message);
    assert.throws(() => loadSplit(fifoDir, 't10k', 10), refused(/t10k-images-idx3-ubyte: not a regular file \(a FIFO/));
    assert.throws(() => loadSplit(zeroDir, 't10k', 10), refused(/t10k-images-idx3-ubyte\.gz: not a regular file \(a character device\)/));
    assert.throws(() => loadSplit(dirDir, 't10k', 10), refused(/t10k-images-idx3-ubyte: not a regular file \(a directory\)/));
    assert.ok(performance.now() - t0 < 2000);
  });
});

describe('batches: normalisation and augmentation', () => {
  const set = loadSplit(SLICE, 't10k', 10, 64);
  const mean = FASHION_MNIST.mean[0]!;
  const std = FASHION_MNIST.std[0]!;
  const H = 28;

  it('normalises (p/255 - mean) / std without augmentation', () => {
    const out = new Float32Array(2 * H * H);
    fillBatch(set, [5, 0], mean, std, out);
    for (const [b, idx] of [[0, 5], [1, 0]] as const) {
      for (let i = 0; i < H * H; i += 37) {
        assert.ok(Math.abs(out[b * H * H + i]! - (set.images[idx * H * H + i]! / 255 - mean) / std) < 1e-5);
      }
    }
  });

  it('pad-4 random crops and flips: every output is the image shifted by at most 4 pixels, maybe mirrored', () => {
    const rng = seededRandom(3);
    const n = 32;
    const out = new Float32Array(n * H * H);
    const idx = Array.from({ length: n }, (_, i) => i);
    fillBatch(set, idx, 0, 1 / 255, out, { spec: { pad: 4, flip: true }, rng });
    const seen = new Set<string>();
    for (let b = 0; b < n; b++) {
      const img = set.images.subarray(b * H * H, (b + 1) * H * H);
      const got = out.subarray(b * H * H, (b + 1) * H * H);
      const matches: string[] = [];
      for (const flip of [false, true]) for (let dy = -4; dy <= 4; dy++) for (let dx = -4; dx <= 4; dx++) {
        let ok = true;
        for (let y = 0; y < H && ok; y++) for (let x = 0; x < H && ok; x++) {
          const sy = y + dy;
          const sx = (flip ? H - 1 - x : x) + dx;
          const want = sy >= 0 && sy < H && sx >= 0 && sx < H ? img[sy * H + sx]! : 0;
          if (Math.abs(got[y * H + x]! - want) > 1e-3) ok = false;
        }
        if (ok) matches.push(`${flip},${dy},${dx}`);
      }
      assert.ok(matches.length > 0, `augmented image ${b} is no shift or flip of the original`);
      seen.add(matches[0]!);
    }
    // Random: the 32 images did not all get the same crop.
    assert.ok(seen.size > 10, `only ${seen.size} distinct crops`);
  });

  it('shuffles with a seed: a permutation, reproducible', () => {
    const a = shuffled(1000, seededRandom(9));
    const b = shuffled(1000, seededRandom(9));
    assert.deepEqual([...a], [...b]);
    assert.deepEqual([...a].sort((x, y) => x - y), Array.from({ length: 1000 }, (_, i) => i));
    assert.notDeepEqual([...a.subarray(0, 10)], [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });
});

describe('RGB sets', () => {
  // Two 4x4 RGB images, planar: image i, channel c, pixel p = 10 * (i + 1) + 20 * c + p.
  const H = 4;
  const images = Uint8Array.from({ length: 2 * 3 * 16 }, (_, j) => {
    const i = Math.floor(j / 48);
    const c = Math.floor((j % 48) / 16);
    return 10 * (i + 1) + 20 * c + (j % 16);
  });
  const set: ImageSet = { count: 2, channels: 3, rows: H, cols: H, images, labels: Uint16Array.from([0, 1]) };

  it('per-channel statistics and normalisation', () => {
    const { mean, std } = channelStats(set);
    for (let c = 0; c < 3; c++) {
      // Channel c holds 10(i+1) + 20c + p for i in 0,1 and p in 0..15: mean 15 + 20c + 7.5.
      assert.ok(Math.abs(mean[c]! - (22.5 + 20 * c) / 255) < 1e-9);
      const values = [0, 1].flatMap((i) => Array.from({ length: 16 }, (_, p) => 10 * (i + 1) + 20 * c + p));
      const m = values.reduce((a, b) => a + b, 0) / 32;
      const sd = Math.sqrt(values.reduce((a, b) => a + (b - m) ** 2, 0) / 32) / 255;
      assert.ok(Math.abs(std[c]! - sd) < 1e-9);
    }
    const out = new Float32Array(2 * 48);
    fillBatch(set, [1, 0], [0.1, 0.2, 0.3], [0.5, 0.25, 1], out);
    assert.ok(Math.abs(out[16 + 5]! - ((20 + 20 + 5) / 255 - 0.2) / 0.25) < 1e-5, 'image 1, channel 1, pixel 5');
    assert.ok(Math.abs(out[48 + 32 + 3]! - ((10 + 40 + 3) / 255 - 0.3) / 1) < 1e-5, 'image 0, channel 2, pixel 3');
  });

  it('crops and flips move all channels together; jitter scales brightness and contrast within its range', () => {
    const out = new Float32Array(48);
    fillBatch(set, [0], 0, 1 / 255, out, { spec: { pad: 1, flip: true }, rng: seededRandom(5) });
    // Whatever the shift, channel c is channel 0 plus 20 where both are inside the image.
    for (let p = 0; p < 16; p++) if (out[p]! > 0 && out[16 + p]! > 0) assert.ok(Math.abs(out[16 + p]! - out[p]! - 20) < 1e-3);
    const plain = new Float32Array(48);
    fillBatch(set, [0], 0, 1 / 255, plain);
    const seen = new Set<string>();
    for (let seed = 0; seed < 20; seed++) {
      const j = new Float32Array(48);
      fillBatch(set, [0], 0, 1 / 255, j, { spec: { pad: 0, flip: false, jitter: 0.2 }, rng: seededRandom(seed) });
      // Brightness and contrast only: order kept, values within 0.8 * 0.8 .. 1.2 * 1.2 of the spread around the mean.
      const ratio = (j[15]! - j[0]!) / (plain[15]! - plain[0]!);
      assert.ok(ratio > 0.8 * 0.8 - 1e-6 && ratio < 1.2 * 1.2 + 1e-6, `ratio ${ratio}`);
      seen.add(ratio.toFixed(4));
    }
    assert.ok(seen.size > 15, 'jitter draws new factors per image');
  });
});

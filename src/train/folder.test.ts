// The user's folders: the ImageFolder layout with every kind of mess real folders have (hidden and system
// files, text files, truncated and empty images, empty and single-image classes, a huge class, nested
// folders, files outside any class), each skipped and reported by kind, never a crash; fewer than two
// usable classes refused; the stratified, seeded split; RGB and grayscale decoding; the memory limit.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import sharp from 'sharp';
import { UserError } from '../errors';
import { DatasetError } from './image-set';
import { describeFolder, isIdxFolder, loadImageFolder, scanImageFolder } from './folder';
import { checkDatasetMemory, describeFolderCounts, skipSummary, stratifiedSplit } from './folder-layout';

const FIXTURE = join(import.meta.dirname, '../testdata/shapes');
const tmp = mkdtempSync(join(tmpdir(), 'rl-folder-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

/** A w x h image of one colour with a lighter square in a corner (so crops and channels can be checked). */
function image(format: 'png' | 'jpeg', rgb: [number, number, number], w = 40, h = 40): Promise<Buffer> {
  const px = Buffer.alloc(w * h * 3);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) for (let c = 0; c < 3; c++) px[(y * w + x) * 3 + c] = rgb[c]!;
  const s = sharp(px, { raw: { width: w, height: h, channels: 3 } });
  return format === 'png' ? s.png().toBuffer() : s.jpeg({ quality: 95 }).toBuffer();
}

function write(root: string, rel: string, bytes: Buffer | string): void {
  const p = join(root, rel);
  mkdirSync(join(p, '..'), { recursive: true });
  writeFileSync(p, bytes);
}

const messy = join(tmp, 'messy');

before(async () => {
  const red = await image('png', [200, 30, 30]);
  const blue = await image('jpeg', [30, 30, 200]);
  for (let i = 0; i < 6; i++) write(messy, `cats/cat${i}.png`, red);
  for (let i = 0; i < 5; i++) write(messy, `dogs/dog${i}.jpg`, blue);
  write(messy, 'cats/.DS_Store', 'junk');
  write(messy, 'cats/Thumbs.db', 'junk');
  write(messy, 'dogs/._dog0.jpg', 'AppleDouble');
  write(messy, 'cats/notes.txt', 'a text file among the images');
  write(messy, 'cats/empty.png', '');
  write(messy, 'dogs/truncated.jpg', blue.subarray(0, Math.floor(blue.length / 2)));
  write(messy, 'cats/nested/deeper/cat-deep.png', red);
  write(messy, 'README.txt', 'files outside any class folder');
  mkdirSync(join(messy, 'empty-class'));
  write(messy, 'only-text/readme.md', '# not an image');
  write(messy, 'one/single.png', await image('png', [30, 200, 30]));
  // A link back up the tree must not loop.
  symlinkSync(join(messy, 'cats'), join(messy, 'cats', 'nested', 'loop'));
});

describe('scanning a messy folder', () => {
  it('finds the classes (sorted), every file of each class, nested ones too, and skips hidden files and files outside classes', () => {
    const s = scanImageFolder(messy);
    assert.deepEqual(s.classes, ['cats', 'dogs', 'empty-class', 'one', 'only-text']);
    assert.equal(s.layout, 'split');
    const cats = s.train.filter((f) => f.label === 0).map((f) => f.rel);
    assert.ok(cats.includes(join('cats', 'nested', 'deeper', 'cat-deep.png')));
    assert.equal(cats.length, 6 + 3);
    const kinds = (k: string): string[] => s.skips.filter((x) => x.kind === k).map((x) => x.path);
    assert.deepEqual(kinds('hidden').sort(), [join('cats', '.DS_Store'), join('cats', 'Thumbs.db'), join('dogs', '._dog0.jpg')].sort());
    assert.deepEqual(kinds('outside-class'), ['README.txt']);
    assert.equal(kinds('too-deep').length, 1, 'the link loop is cut once');
  });

  it('decodes what it can, reports each kind of skip in one line, and leaves classes without images out', async () => {
    const d = await loadImageFolder(messy, { channels: 3, size: 16, valFraction: 0.2, seed: 1 });
    assert.deepEqual(d.classes, ['cats', 'dogs', 'one']);
    const lines = skipSummary(d.skips);
    const find = (re: RegExp): string => {
      const l = lines.find((x) => re.test(x));
      assert.ok(l, `no line matching ${re} in:\n${lines.join('\n')}`);
      return l;
    };
    assert.match(find(/hidden/), /^skipped 3 files: hidden or system files \(/);
    assert.match(find(/outside/), /^skipped 1 file: files outside any class folder \(README\.txt\)/);
    assert.match(find(/not images/), /^skipped 2 files: not images \(.*notes\.txt.*readme\.md|^skipped 2 files: not images \(.*readme\.md.*notes\.txt/);
    assert.match(find(/corrupt/), /^skipped 1 file: corrupt or truncated images \(dogs\/truncated\.jpg\)/);
    assert.match(find(/empty files/), /^skipped 1 file: empty files \(0 bytes\) \(cats\/empty\.png\)/);
    assert.match(find(/class folders without/), /^skipped 2 class folders without a usable image \(classes left out\): empty-class, only-text$/);
    // One line per kind.
    assert.equal(new Set(lines.map((l) => l.replace(/\(.*$/, ''))).size, lines.length);
    // cats: 7 images (6 + nested), 20% held out = 1; dogs: 5, 1 held out; one: a single image, kept for training.
    assert.equal(d.train.count + d.val.count, 7 + 5 + 1);
    assert.equal(d.val.count, 2);
    const text = describeFolder(messy, d).join('\n');
    assert.match(text, /3 classes, 11 training images \(cats 6, dogs 4, one 1\)/);
    assert.match(text, /note: 1 class has a single image \(one\)/);
    assert.match(text, /decoded in [\d.]+ s to 3x16x16 \(RGB\): 0\.0 MB in memory/);
  });

  it('refuses fewer than two usable classes in one line, as a UserError', async () => {
    const one = join(tmp, 'one-class');
    write(one, 'cats/a.png', await image('png', [1, 2, 3]));
    write(one, 'dogs/notes.txt', 'no images here');
    mkdirSync(join(one, 'birds'));
    await assert.rejects(loadImageFolder(one, { channels: 3, size: 16 }), (e: Error) => {
      assert.ok(e instanceof DatasetError && e instanceof UserError);
      assert.match(e.message, /only one class \('cats'\) has usable images; a classifier needs at least 2/);
      assert.ok(!e.message.includes('\n'));
      return true;
    });
    const none = join(tmp, 'no-class');
    write(none, 'a/x.txt', 'text');
    write(none, 'b/y.txt', 'text');
    await assert.rejects(loadImageFolder(none, { channels: 3, size: 16 }), /no class has usable images/);
    const flat = join(tmp, 'flat');
    write(flat, 'x.png', await image('png', [1, 2, 3]));
    await assert.rejects(loadImageFolder(flat, { channels: 3, size: 16 }), /no class folders with files/);
    await assert.rejects(loadImageFolder(join(tmp, 'missing'), { channels: 3, size: 16 }), /dataset directory .*missing does not exist/);
  });

  it('scans a class of 10,000 images, and says when classes are unbalanced', () => {
    const big = join(tmp, 'big');
    mkdirSync(join(big, 'many'), { recursive: true });
    mkdirSync(join(big, 'few'), { recursive: true });
    for (let i = 0; i < 10000; i++) writeFileSync(join(big, 'many', `${i}.png`), '');
    for (let i = 0; i < 20; i++) writeFileSync(join(big, 'few', `${i}.png`), '');
    const s = scanImageFolder(big);
    assert.equal(s.train.length, 10020);
    const labels = s.train.map((f) => f.label);
    const lines = describeFolderCounts('big', s.classes, labels, 'split');
    assert.match(lines.join('\n'), /note: classes are unbalanced \(many has 10000 training images, few 20\)/);
    assert.equal(checkDatasetMemory(10020, 3, 32), 10020 * 3 * 32 * 32);
  });

  it('refuses a data set over the memory limit before decoding, saying how much it needs', async () => {
    assert.throws(() => checkDatasetMemory(300000, 3, 64), /300000 images at 3x64x64 need 3\.43 GB in memory, over the 2\.00 GB limit/);
    await assert.rejects(loadImageFolder(messy, { channels: 3, size: 64, maxBytes: 1000 }), /need .* in memory, over the .* limit: use a smaller --size/);
  });
});

describe('splits', () => {
  it('the folder\'s own train/ and val/ (classes only in val/ are reported and left out)', async () => {
    const s = scanImageFolder(FIXTURE);
    assert.equal(s.layout, 'given');
    assert.equal(s.valDir, 'val');
    assert.deepEqual(s.classes, ['disc', 'ring', 'square', 'triangle']);
    assert.equal(s.train.length, 48);
    assert.equal(s.val.length, 16);
    const extra = join(tmp, 'given');
    write(extra, 'train/a/1.png', await image('png', [10, 10, 10]));
    write(extra, 'train/b/1.png', await image('png', [200, 200, 200]));
    write(extra, 'test/a/2.png', await image('png', [10, 10, 10]));
    write(extra, 'test/zebra/3.png', await image('png', [10, 10, 10]));
    const d = await loadImageFolder(extra, { channels: 3, size: 8 });
    assert.equal(d.split, 'validation: test/ (1 images)');
    assert.match(skipSummary(d.skips).join('\n'), /skipped 1 validation class folders with no training folder \(classes left out\): test\/zebra/);
  });

  it('stratified and seeded: 20% of each class (at least one, never all), the same for the same seed', () => {
    const labels = [...new Array<number>(50).fill(0), ...new Array<number>(10).fill(1), 2, 3, 3];
    const a = stratifiedSplit(labels, 4, 0.2, 1);
    const b = stratifiedSplit(labels, 4, 0.2, 1);
    const c = stratifiedSplit(labels, 4, 0.2, 2);
    assert.deepEqual(a, b);
    assert.notDeepEqual(a.val, c.val);
    const count = (ix: number[], k: number): number => ix.filter((i) => labels[i] === k).length;
    assert.deepEqual([0, 1, 2, 3].map((k) => count(a.val, k)), [10, 2, 0, 1]);
    assert.deepEqual([0, 1, 2, 3].map((k) => count(a.train, k)), [40, 8, 1, 1]);
    assert.deepEqual([...a.train, ...a.val].sort((x, y) => x - y), labels.map((_, i) => i));
    assert.deepEqual(stratifiedSplit(labels, 4, 0, 1).val, []);
  });
});

describe('decoding', () => {
  it('RGB: planar channels, the colours kept; gray: one BT.601 luma plane', async () => {
    const rgb = await loadImageFolder(messy, { channels: 3, size: 8, valFraction: 0 });
    assert.equal(rgb.train.channels, 3);
    const cat = rgb.trainPaths.findIndex((p) => p.startsWith('cats'));
    const plane = 64;
    const px = (c: number): number => rgb.train.images[(cat * 3 + c) * plane + 10]!;
    assert.deepEqual([px(0), px(1), px(2)], [200, 30, 30]);
    const gray = await loadImageFolder(messy, { channels: 1, size: 28, valFraction: 0 });
    assert.equal(gray.train.channels, 1);
    assert.equal(gray.train.rows, 28);
    const g = gray.train.images[gray.trainPaths.findIndex((p) => p.startsWith('cats')) * 784 + 100]!;
    assert.equal(g, Math.round(0.299 * 200 + 0.587 * 30 + 0.114 * 30));
  });

  it('the committed fixture: 4 classes of 32x32 JPEGs, 12 training and 4 validation images each', async () => {
    const d = await loadImageFolder(FIXTURE, { channels: 3, size: 32 });
    assert.equal(d.train.count, 48);
    assert.equal(d.val.count, 16);
    assert.equal(d.skips.length, 0);
    assert.equal(d.valPaths[0], join('val', 'disc', 'disc-0000.jpg'));
  });

  it('tells IDX folders from image folders by content', () => {
    assert.equal(isIdxFolder(join(import.meta.dirname, '../testdata/fashion-mnist')), true);
    assert.equal(isIdxFolder(FIXTURE), false);
    const renamed = join(tmp, 'renamed-idx');
    write(renamed, 'images.bin', Buffer.from([0, 0, 8, 3, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 7]));
    assert.equal(isIdxFolder(renamed), true);
  });
});

// The ImageFolder rules on a list of paths (what a drop or a folder picker gives the app) agree with the
// CLI's disk walk, and skip what it skips.
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, it } from 'node:test';
import { scanImageFolder } from './folder';
import { checkDatasetMemory, scanPaths, skipSummary, splitRoot } from './folder-layout';

const FIXTURE = join(import.meta.dirname, '../testdata/shapes');

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).map((e) => relative(dir, join(e.parentPath, e.name)));
}

describe('scanPaths', () => {
  it('finds the same classes, split and files as the disk walk (train/ + val/)', () => {
    const disk = scanImageFolder(FIXTURE);
    const paths = scanPaths('shapes', filesUnder(FIXTURE).reverse());
    assert.deepEqual(paths.classes, disk.classes);
    assert.equal(paths.layout, 'given');
    assert.equal(paths.valDir, disk.valDir);
    assert.deepEqual(paths.train.map((f) => [f.rel, f.label]), disk.train.map((f) => [f.rel, f.label]));
    assert.deepEqual(paths.val.map((f) => [f.rel, f.label]), disk.val.map((f) => [f.rel, f.label]));
  });

  it('takes class folders at the top without train/ as one folder to split', () => {
    const s = scanPaths('pets', ['dog/b.png', 'cat/x/a.png', 'dog/a.png', 'cat/z.jpg']);
    assert.equal(s.layout, 'split');
    assert.equal(s.hasTrainDir, false);
    assert.deepEqual(s.classes, ['cat', 'dog']);
    assert.deepEqual(s.train.map((f) => [f.rel, f.label]), [['cat/x/a.png', 0], ['cat/z.jpg', 0], ['dog/a.png', 1], ['dog/b.png', 1]]);
  });

  it('skips hidden files and folders, files outside a class, and validation classes without training images', () => {
    const s = scanPaths('d', [
      'train/cat/a.png', 'train/dog/a.png', 'train/.DS_Store', 'train/cat/.hidden/x.png', 'train/cat/.hidden/y.png', 'readme.txt',
      'train/loose.png', 'val/cat/b.png', 'val/bird/c.png', 'val/bird/d.png', 'Thumbs.db',
    ]);
    assert.deepEqual(s.classes, ['cat', 'dog']);
    assert.deepEqual(s.val.map((f) => f.rel), ['val/cat/b.png']);
    assert.deepEqual(skipSummary(s.skips), [
      'skipped 3 files: hidden or system files (Thumbs.db, train/.DS_Store, train/cat/.hidden)',
      'skipped 2 files: files outside any class folder (readme.txt, train/loose.png)',
      'skipped 1 validation class folders with no training folder (classes left out): val/bird',
    ]);
  });
});

describe('splitRoot', () => {
  it('names the dropped folder and gives paths below it', () => {
    assert.deepEqual(splitRoot(['shapes/disc/1.png', 'shapes/ring/2.png']), { name: 'shapes', rels: ['disc/1.png', 'ring/2.png'] });
  });

  it('keeps several dropped class folders as the data set', () => {
    assert.deepEqual(splitRoot(['disc/1.png', 'ring/2.png']), { name: 'dropped folders', rels: ['disc/1.png', 'ring/2.png'] });
  });
});

describe('checkDatasetMemory', () => {
  it('says how much the decoded images take, and refuses over a limit with the caller\'s advice', () => {
    assert.equal(checkDatasetMemory(1000, 3, 32, 384 * 1024 ** 2, 'choose a smaller input size'), 1000 * 3 * 32 * 32);
    assert.throws(() => checkDatasetMemory(40000, 3, 64, 384 * 1024 ** 2, 'choose a smaller input size'),
      /^DatasetError: 40000 images at 3x64x64 need 468\.8 MB in memory, over the 384\.0 MB limit: choose a smaller input size$/);
  });
});

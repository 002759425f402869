// The user's own labelled images on disk: a folder in the ImageFolder layout (torchvision's datasets.ImageFolder,
// Create ML): one subfolder per class, its name the label, images anywhere below it. DIR/train/ with
// DIR/val/ (or DIR/test/) gives the split; otherwise a seeded, stratified share of each class is held out.
//
// Real folders are messy, and one bad file never stops a run: hidden and system files, files outside a
// class folder, files that are not images, empty, truncated or corrupt images, images over the pixel
// limit and class folders without a usable image are all skipped and counted, one summary line per kind
// (skipSummary). Fewer than two usable classes is refused as a DatasetError. Images go through the one
// preprocessing path (src/preprocess/sharp.ts: orientation, alpha, colour space, shorter side resized,
// centre crop) and are kept as uint8 CHW planes (ImageSet), under a memory limit said up front. The rules
// themselves (skips, split, usable classes, memory) are folder-layout.ts's, shared with the app.
import { closeSync, type Dirent, existsSync, openSync, readdirSync, readSync, realpathSync, statSync } from 'node:fs';
import { basename, join, relative } from 'node:path';
import { decodeImage, ImageError } from '../preprocess/sharp';
import {
  assembleFolder, checkDatasetMemory, decodeSkipKind, describeFolderCounts, type FolderFile, type FolderScan, isHidden, MAX_CLASSES, MAX_DEPTH,
  mapFiles, mib, rawSpec, type Skip, type SkipKind, skipSummary, toSet, VAL_DIR_NAMES, type DecodedFolder,
} from './folder-layout';
import { DatasetError, } from './image-set';

/** Images decoded at once (sharp runs them on libuv's threads). */
const DECODE_CONCURRENCY = 8;

function dirOf(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

function entries(dir: string, root: string, skips: Skip[]): Dirent[] {
  try {
    return readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  } catch (e) {
    skips.push({ kind: 'unreadable', path: relative(root, dir) || '.', reason: (e as NodeJS.ErrnoException).code ?? String(e) });
    return [];
  }
}

/** Every non-hidden file below `dir` (sorted, depth-first), following links but never a folder twice. */
function filesBelow(dir: string, root: string, skips: Skip[], depth = 0, seen = new Set<string>()): string[] {
  let real: string;
  try {
    real = realpathSync(dir);
  } catch {
    return [];
  }
  if (depth > MAX_DEPTH || seen.has(real)) {
    skips.push({ kind: 'too-deep', path: relative(root, dir) });
    return [];
  }
  seen.add(real);
  const out: string[] = [];
  for (const e of entries(dir, root, skips)) {
    const p = join(dir, e.name);
    if (isHidden(e.name)) {
      skips.push({ kind: 'hidden', path: relative(root, p) });
      continue;
    }
    // Only links need a stat to tell folders from files.
    if (e.isDirectory() || (e.isSymbolicLink() && dirOf(p))) out.push(...filesBelow(p, root, skips, depth + 1, seen));
    else out.push(p);
  }
  seen.delete(real);
  return out;
}

/** Class folders of `dir` and the files directly in it (which belong to no class). */
function classFolders(dir: string, root: string, skips: Skip[]): { name: string; path: string }[] {
  const out: { name: string; path: string }[] = [];
  for (const e of entries(dir, root, skips)) {
    const p = join(dir, e.name);
    if (isHidden(e.name)) skips.push({ kind: 'hidden', path: relative(root, p) });
    else if (e.isDirectory() || (e.isSymbolicLink() && dirOf(p))) out.push({ name: e.name, path: p });
    else skips.push({ kind: 'outside-class', path: relative(root, p) });
  }
  return out;
}

/** Whether a folder holds Fashion-MNIST-style IDX files (by name or by their first bytes), not class folders. */
export function isIdxFolder(dir: string): boolean {
  if (!dirOf(dir)) return false;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (!e.isFile() && !e.isSymbolicLink()) continue;
    if (/-idx[1-4]-ubyte(\.gz)?$/.test(e.name)) return true;
    const head = Buffer.alloc(4);
    let fd: number | undefined;
    try {
      fd = openSync(join(dir, e.name), 'r');
      if (readSync(fd, head, 0, 4, 0) === 4 && head[0] === 0 && head[1] === 0 && head[2] === 0x08 && head[3]! >= 1 && head[3]! <= 4) return true;
    } catch {
      // unreadable: not ours to judge here
    } finally {
      if (fd !== undefined) closeSync(fd);
    }
  }
  return false;
}

/**
 * Lists a folder's classes and image files (no decoding yet). DIR/train/ (with DIR/val/ or DIR/test/)
 * is the given split; anything else in DIR is then ignored and reported.
 */
export function scanImageFolder(dir: string): FolderScan {
  if (!existsSync(dir) || !dirOf(dir)) throw new DatasetError(`dataset directory ${dir} does not exist`);
  const skips: Skip[] = [];
  const trainDir = join(dir, 'train');
  const valName = VAL_DIR_NAMES.find((n) => dirOf(join(dir, n)));
  const given = dirOf(trainDir);
  const trainClasses = classFolders(given ? trainDir : dir, dir, skips);
  if (given) {
    for (const e of entries(dir, dir, [])) {
      if (e.name !== 'train' && e.name !== valName && !isHidden(e.name)) skips.push({ kind: 'outside-class', path: e.name });
    }
  }
  const classes = trainClasses.map((c) => c.name);
  if (classes.length > MAX_CLASSES) throw new DatasetError(`${dir}: ${classes.length} class folders, more than the ${MAX_CLASSES} a model here can have`);
  const train: FolderFile[] = [];
  trainClasses.forEach((c, label) => {
    for (const path of filesBelow(c.path, dir, skips)) train.push({ path, rel: relative(dir, path), label });
  });
  const val: FolderFile[] = [];
  if (given && valName) {
    for (const c of classFolders(join(dir, valName), dir, skips)) {
      const label = classes.indexOf(c.name);
      if (label < 0) {
        skips.push({ kind: 'class-not-in-train', path: relative(dir, c.path) });
        continue;
      }
      for (const path of filesBelow(c.path, dir, skips)) val.push({ path, rel: relative(dir, path), label });
    }
  }
  return { root: dir, classes, layout: given && valName ? 'given' : 'split', hasTrainDir: given, valDir: given ? valName : undefined, train, val, skips };
}


export interface FolderLoadOptions {
  /** 1 (grayscale) or 3 (RGB). */
  readonly channels: 1 | 3;
  /** Height and width of the images kept. */
  readonly size: number;
  /** Share of each class held out when the folder has no val/ (or test/). Default 0.2. */
  readonly valFraction?: number;
  readonly seed?: number;
  readonly maxBytes?: number;
  /** Called now and then while decoding (done, total). */
  readonly progress?: (done: number, total: number) => void;
}

/**
 * Runs `work` on every file, DECODE_CONCURRENCY at a time; an ImageError becomes a skip of its kind,
 * anything else propagates. Results are in file order (null for skipped files).
 */
export function mapImages<T>(
  files: readonly FolderFile[], work: (f: FolderFile) => Promise<T>, skips: Skip[], progress?: (done: number, total: number) => void,
): Promise<(T | null)[]> {
  const skipOf = (e: unknown): SkipKind | null => (e instanceof ImageError ? decodeSkipKind(e.kind) : null);
  return mapFiles(files, work, skipOf, skips, { concurrency: DECODE_CONCURRENCY, ...(progress && { progress }) });
}

/**
 * Decodes a folder into training and validation sets (uint8, CHW), split as the folder says or
 * stratified. Refuses fewer than two usable classes, and more decoded pixels than the memory limit.
 */
export async function loadImageFolder(dir: string, opts: FolderLoadOptions): Promise<DecodedFolder> {
  const t0 = performance.now();
  const scan = scanImageFolder(dir);
  const { channels, size } = opts;
  if (!(Number.isInteger(size) && size >= 8 && size <= 64)) throw new DatasetError(`image size ${size} is not 8..64`);
  const skips = [...scan.skips];
  const all = [...scan.train, ...scan.val];
  if (all.length === 0) throw new DatasetError(`${dir}: no class folders with files (expected DIR/<class>/<image>, or DIR/train/<class>/ and DIR/val/<class>/)`);
  checkDatasetMemory(all.length, channels, size, opts.maxBytes);
  const spec = rawSpec(channels, size);
  const decoded = await mapImages(all, async (f) => {
    const { tensor } = await decodeImage(f.path, spec, { name: f.rel });
    const px = new Uint8Array(tensor.data.length);
    for (let i = 0; i < px.length; i++) px[i] = Math.min(255, Math.max(0, Math.round(tensor.data[i]!)));
    return px;
  }, skips, opts.progress);
  const a = assembleFolder(scan, decoded, skips, opts.valFraction ?? 0.2, opts.seed ?? 1);
  const trainSet = toSet(a.train.items, a.train.labels, channels, size);
  const valSet = toSet(a.val.items, a.val.labels, channels, size);
  return {
    classes: a.classes, train: trainSet, val: valSet, trainPaths: a.train.paths, valPaths: a.val.paths, skips: a.skips, split: a.split,
    bytes: trainSet.images.length + valSet.images.length, seconds: (performance.now() - t0) / 1000,
  };
}

/** The log lines describing a decoded folder: classes, counts, split, memory, skips, imbalance. */
export function describeFolder(dir: string, d: DecodedFolder): string[] {
  const [first, ...notes] = describeFolderCounts(basename(dir), d.classes, d.train.labels, d.split);
  return [
    first!,
    `decoded in ${d.seconds.toFixed(1)} s to ${d.train.channels}x${d.train.rows}x${d.train.cols} (${d.train.channels === 1 ? 'grayscale' : 'RGB'}): ${mib(d.bytes)} in memory`,
    ...skipSummary(d.skips),
    ...notes,
  ];
}

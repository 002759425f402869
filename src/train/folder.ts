// The user's own labelled images: a folder in the ImageFolder layout (torchvision's datasets.ImageFolder,
// Create ML): one subfolder per class, its name the label, images anywhere below it. DIR/train/ with
// DIR/val/ (or DIR/test/) gives the split; otherwise a seeded, stratified share of each class is held out.
//
// Real folders are messy, and one bad file never stops a run: hidden and system files, files outside a
// class folder, files that are not images, empty, truncated or corrupt images, images over the pixel
// limit and class folders without a usable image are all skipped and counted, one summary line per kind
// (skipSummary). Fewer than two usable classes is refused as a DatasetError. Images go through the one
// preprocessing path (src/preprocess/sharp.ts: orientation, alpha, colour space, shorter side resized,
// centre crop) and are kept as uint8 CHW planes (ImageSet), under a memory limit said up front.
import { closeSync, type Dirent, existsSync, openSync, readdirSync, readSync, realpathSync, statSync } from 'node:fs';
import { basename, join, relative } from 'node:path';
import type { PreprocessSpec } from '../preprocess/normalize';
import { decodeImage, ImageError, type ImageErrorKind } from '../preprocess/sharp';
import { seededRandom } from '../random';
import { DatasetError, type ImageSet } from './data';

/** Largest decoded data set kept in memory (uint8 pixels): 2 GiB. */
const MAX_DATASET_BYTES = 2 * 1024 ** 3;
/** Largest number of classes (labels are stored as uint16). */
const MAX_CLASSES = 1000;
/** Deepest nesting below a class folder that is searched (also stops symbolic-link loops). */
const MAX_DEPTH = 8;
/** Images decoded at once (sharp runs them on libuv's threads). */
const DECODE_CONCURRENCY = 8;

export type SkipKind =
  | 'hidden' | 'outside-class' | 'not-an-image' | 'corrupt' | 'empty' | 'too-large' | 'unreadable' | 'too-deep'
  | 'empty-class' | 'class-not-in-train';

/** What each kind of skip means, as the summary line says it. */
const SKIP_TEXT: Readonly<Record<SkipKind, string>> = {
  hidden: 'hidden or system files',
  'outside-class': 'files outside any class folder',
  'not-an-image': 'not images',
  corrupt: 'corrupt or truncated images',
  empty: 'empty files (0 bytes)',
  'too-large': 'images over the pixel limit',
  unreadable: 'unreadable files',
  'too-deep': `folders nested more than ${MAX_DEPTH} levels deep (or a link loop)`,
  'empty-class': 'class folders without a usable image (classes left out)',
  'class-not-in-train': 'validation class folders with no training folder (classes left out)',
};

export interface Skip {
  readonly kind: SkipKind;
  /** Relative to the data set's folder. */
  readonly path: string;
  readonly reason?: string;
}

/** One summary line per kind of skip: count, what, up to three examples. */
export function skipSummary(skips: readonly Skip[]): string[] {
  const byKind = new Map<SkipKind, Skip[]>();
  for (const s of skips) byKind.set(s.kind, [...(byKind.get(s.kind) ?? []), s]);
  return [...byKind].map(([kind, list]) => {
    const examples = list.slice(0, 3).map((s) => s.path).join(', ');
    const more = list.length > 3 ? `, ... ${list.length - 3} more` : '';
    const what = kind === 'empty-class' || kind === 'class-not-in-train' ? 'skipped' : `skipped ${list.length} file${list.length > 1 ? 's' : ''}:`;
    return kind === 'empty-class' || kind === 'class-not-in-train'
      ? `${what} ${list.length} ${SKIP_TEXT[kind]}: ${examples}${more}`
      : `${what} ${SKIP_TEXT[kind]} (${examples}${more})`;
  });
}

export interface FolderFile {
  /** Absolute (as given) path. */
  readonly path: string;
  /** Relative to the data set's folder, for reports. */
  readonly rel: string;
  readonly label: number;
}

export interface FolderScan {
  readonly root: string;
  /** The class names (subfolder names, sorted as torchvision's find_classes sorts them). */
  readonly classes: readonly string[];
  /** 'given': DIR/train + DIR/val (or test); 'split': one folder to split. */
  readonly layout: 'given' | 'split';
  /** The validation folder's name when given. */
  readonly valDir?: string;
  readonly train: readonly FolderFile[];
  /** Empty for layout 'split'. */
  readonly val: readonly FolderFile[];
  readonly skips: readonly Skip[];
}

const SYSTEM_FILES = new Set(['thumbs.db', 'desktop.ini', 'icon\r']);
const isHidden = (name: string): boolean => name.startsWith('.') || SYSTEM_FILES.has(name.toLowerCase());

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
  const valName = ['val', 'test', 'valid', 'validation'].find((n) => dirOf(join(dir, n)));
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
  return { root: dir, classes, layout: given && valName ? 'given' : 'split', valDir: given ? valName : undefined, train, val, skips };
}

export interface DecodedFolder {
  /** The usable classes, in label order. */
  readonly classes: readonly string[];
  readonly train: ImageSet;
  readonly val: ImageSet;
  /** Relative paths of the images, in set order. */
  readonly trainPaths: readonly string[];
  readonly valPaths: readonly string[];
  readonly skips: readonly Skip[];
  /** How the validation images were chosen, for the log. */
  readonly split: string;
  readonly bytes: number;
  readonly seconds: number;
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

const DECODE_SKIP: Readonly<Record<ImageErrorKind, SkipKind>> = {
  'not-found': 'unreadable', 'not-a-file': 'not-an-image', unreadable: 'unreadable', empty: 'empty', 'too-large': 'too-large',
  'not-an-image': 'not-an-image', corrupt: 'corrupt',
};

/**
 * Runs `work` on every file, DECODE_CONCURRENCY at a time; an ImageError becomes a skip of its kind,
 * anything else propagates. Results are in file order (null for skipped files).
 */
export async function mapImages<T>(
  files: readonly FolderFile[], work: (f: FolderFile) => Promise<T>, skips: Skip[], progress?: (done: number, total: number) => void,
): Promise<(T | null)[]> {
  const out: (T | null)[] = new Array<T | null>(files.length).fill(null);
  let next = 0;
  let done = 0;
  let lastReport = performance.now();
  const errors: Skip[][] = files.map(() => []);
  const worker = async (): Promise<void> => {
    while (next < files.length) {
      const i = next++;
      const f = files[i]!;
      try {
        out[i] = await work(f);
      } catch (e) {
        if (!(e instanceof ImageError)) throw e;
        errors[i]!.push({ kind: DECODE_SKIP[e.kind], path: f.rel, reason: e.message });
      }
      done++;
      if (progress && performance.now() - lastReport > 10000) {
        lastReport = performance.now();
        progress(done, files.length);
      }
    }
  };
  await Promise.all(Array.from({ length: DECODE_CONCURRENCY }, worker));
  for (const e of errors) skips.push(...e);
  return out;
}

/** The spec that decodes to raw 0..255 values (no normalisation): what the in-memory sets keep. */
function rawSpec(channels: 1 | 3, size: number): PreprocessSpec {
  return { channels, height: size, width: size, mean: new Array<number>(channels).fill(0), std: new Array<number>(channels).fill(1), scale: 1 };
}

/**
 * Indices of each class's items held out for validation: round(fraction x n) of a class's n items, at
 * least one when the class has two or more (and never all of them), chosen by a seeded shuffle.
 */
export function stratifiedSplit(labels: ArrayLike<number>, classes: number, fraction: number, seed: number): { train: number[]; val: number[] } {
  const rng = seededRandom(seed * 7919 + 17);
  const byClass: number[][] = Array.from({ length: classes }, () => []);
  for (let i = 0; i < labels.length; i++) byClass[labels[i]!]!.push(i);
  const train: number[] = [];
  const val: number[] = [];
  for (const items of byClass) {
    for (let i = items.length - 1; i > 0; i--) {
      const j = Math.floor(rng.uniform() * (i + 1));
      [items[i], items[j]] = [items[j]!, items[i]!];
    }
    const n = items.length;
    const k = fraction <= 0 || n < 2 ? 0 : Math.min(n - 1, Math.max(1, Math.round(fraction * n)));
    val.push(...items.slice(0, k));
    train.push(...items.slice(k));
  }
  const byIndex = (a: number, b: number): number => a - b;
  return { train: train.sort(byIndex), val: val.sort(byIndex) };
}

function toSet(pixels: readonly Uint8Array[], labels: readonly number[], channels: number, size: number): ImageSet {
  const per = channels * size * size;
  const images = new Uint8Array(pixels.length * per);
  pixels.forEach((p, i) => images.set(p, i * per));
  return { count: pixels.length, channels, rows: size, cols: size, images, labels: Uint16Array.from(labels) };
}

function mib(bytes: number): string {
  return bytes >= 1024 ** 3 ? `${(bytes / 1024 ** 3).toFixed(2)} GB` : `${(bytes / 1024 ** 2).toFixed(1)} MB`;
}

/** Memory the decoded images of a scan need, refused (DatasetError) over the limit before anything is decoded. */
export function checkDatasetMemory(files: number, channels: number, size: number, maxBytes = MAX_DATASET_BYTES): number {
  const bytes = files * channels * size * size;
  if (bytes > maxBytes) {
    throw new DatasetError(`${files} images at ${channels}x${size}x${size} need ${mib(bytes)} in memory, over the ${mib(maxBytes)} limit: use a smaller --size or fewer images`);
  }
  return bytes;
}

/** Items of one split with their labels and relative paths, in order. */
export interface SplitItems<T> {
  readonly items: T[];
  readonly labels: number[];
  readonly paths: string[];
}

export interface AssembledFolder<T> {
  readonly classes: readonly string[];
  readonly train: SplitItems<T>;
  readonly val: SplitItems<T>;
  readonly skips: readonly Skip[];
  readonly split: string;
}

/**
 * From a scan and what became of each of its files (train files first, then val files; null for a
 * skipped one): the usable classes (at least one training item; fewer than two is refused), and the
 * split the folder gives or a stratified, seeded one.
 */
export function assembleFolder<T>(scan: FolderScan, done: readonly (T | null)[], skipsSoFar: readonly Skip[], valFraction: number, seed: number): AssembledFolder<T> {
  const skips = [...skipsSoFar];
  const nTrain = scan.train.length;
  const counts = new Array<number>(scan.classes.length).fill(0);
  for (let i = 0; i < nTrain; i++) if (done[i]) counts[scan.train[i]!.label]!++;
  const remap = new Map<number, number>();
  scan.classes.forEach((c, k) => {
    if (counts[k]! > 0) remap.set(k, remap.size);
    else skips.push({ kind: 'empty-class', path: scan.valDir !== undefined || existsSync(join(scan.root, 'train')) ? join('train', c) : c });
  });
  const classes = scan.classes.filter((_, k) => remap.has(k));
  if (classes.length < 2) {
    throw new DatasetError(`${scan.root}: ${classes.length === 0 ? 'no class has' : `only one class ('${classes[0]}') has`} usable images; ` +
      'a classifier needs at least 2 (one subfolder of images per class)');
  }
  const pick = (files: readonly FolderFile[], offset: number): SplitItems<T> => {
    const out: SplitItems<T> = { items: [], labels: [], paths: [] };
    files.forEach((f, i) => {
      const d = done[offset + i];
      const label = remap.get(f.label);
      if (d === null || d === undefined || label === undefined) return;
      out.items.push(d);
      out.labels.push(label);
      out.paths.push(f.rel);
    });
    return out;
  };
  const train = pick(scan.train, 0);
  if (scan.layout === 'given') {
    const val = pick(scan.val, nTrain);
    return { classes, train, val, skips, split: `validation: ${scan.valDir}/ (${val.items.length} images)` };
  }
  const s = stratifiedSplit(train.labels, classes.length, valFraction, seed);
  const sub = (ix: number[]): SplitItems<T> => ({ items: ix.map((i) => train.items[i]!), labels: ix.map((i) => train.labels[i]!), paths: ix.map((i) => train.paths[i]!) });
  const given = existsSync(join(scan.root, 'train')) ? ' (train/ has no val/ or test/ beside it)' : '';
  const val = sub(s.val);
  return {
    classes, train: sub(s.train), val, skips,
    split: `validation: ${Math.round(100 * valFraction)}% of each class held out, seed ${seed}${given} (${val.items.length} images)`,
  };
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

/** The log lines on a folder's classes: counts, split, imbalance, single-image classes. */
export function describeFolderCounts(dir: string, classes: readonly string[], trainLabels: ArrayLike<number>, split: string): string[] {
  const perClass = new Array<number>(classes.length).fill(0);
  for (let i = 0; i < trainLabels.length; i++) perClass[trainLabels[i]!]!++;
  const lines = [`${basename(dir)}: ${classes.length} classes, ${trainLabels.length} training images (${classes.map((c, k) => `${c} ${perClass[k]}`).join(', ')}); ${split}`];
  const most = Math.max(...perClass);
  const least = Math.min(...perClass);
  if (least > 0 && most >= 10 * least) {
    lines.push(`note: classes are unbalanced (${classes[perClass.indexOf(most)]} has ${most} training images, ${classes[perClass.indexOf(least)]} ${least}): accuracy favours the large ones; per-class recall shows it`);
  }
  const single = classes.filter((_, k) => perClass[k] === 1);
  if (single.length > 0) lines.push(`note: ${single.length} class${single.length > 1 ? 'es have' : ' has'} a single image (${single.slice(0, 3).join(', ')}): too few to learn from, and none held out for validation`);
  return lines;
}

/** The log lines describing a decoded folder: classes, counts, split, memory, skips, imbalance. */
export function describeFolder(dir: string, d: DecodedFolder): string[] {
  const [first, ...notes] = describeFolderCounts(dir, d.classes, d.train.labels, d.split);
  return [
    first!,
    `decoded in ${d.seconds.toFixed(1)} s to ${d.train.channels}x${d.train.rows}x${d.train.cols} (${d.train.channels === 1 ? 'grayscale' : 'RGB'}): ${mib(d.bytes)} in memory`,
    ...skipSummary(d.skips),
    ...notes,
  ];
}

// The ImageFolder layout as rules, apart from any file system: what is skipped and how skips are summed
// up, the names of the split's folders, the stratified split, which classes are usable (at least two),
// the memory the decoded images take. Pure: the CLI (folder.ts walks the disk) and the app (files from a
// drop or a folder picker) share it.
import type { PreprocessSpec } from '../preprocess/normalize';
import { seededRandom } from '../random';
import { DatasetError, type ImageSet } from './image-set';

/** Largest decoded data set kept in memory (uint8 pixels) by the CLI: 2 GiB. */
const MAX_DATASET_BYTES = 2 * 1024 ** 3;
/** Largest number of classes (labels are stored as uint16). */
export const MAX_CLASSES = 1000;

/** Deepest nesting below a class folder that is searched (also stops symbolic-link loops). */
export const MAX_DEPTH = 8;

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


/** The skip a decoder's error kind (src/preprocess/sharp.ts's ImageErrorKind, the app's decoders' kinds) stands for. */
export function decodeSkipKind(kind: string): SkipKind | null {
  const map: Record<string, SkipKind> = {
    'not-found': 'unreadable', 'not-a-file': 'not-an-image', unreadable: 'unreadable', empty: 'empty', 'too-large': 'too-large',
    'not-an-image': 'not-an-image', corrupt: 'corrupt',
  };
  return map[kind] ?? null;
}

/**
 * Runs `work` on every file, `concurrency` at a time; an error `skipOf` names becomes a skip of that kind,
 * anything else propagates. Results are in file order (null for skipped files); `progress` is called at
 * most every `progressMs` (default 10 s).
 */
export async function mapFiles<T>(
  files: readonly FolderFile[], work: (f: FolderFile) => Promise<T>, skipOf: (e: unknown) => SkipKind | null, skips: Skip[],
  opts: { readonly concurrency: number; readonly progress?: (done: number, total: number) => void; readonly progressMs?: number },
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
        const kind = skipOf(e);
        if (kind === null) throw e;
        errors[i]!.push({ kind, path: f.rel, reason: (e as Error).message });
      }
      done++;
      if (opts.progress && performance.now() - lastReport > (opts.progressMs ?? 10000)) {
        lastReport = performance.now();
        opts.progress(done, files.length);
      }
    }
  };
  await Promise.all(Array.from({ length: opts.concurrency }, worker));
  for (const e of errors) skips.push(...e);
  return out;
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
  /** Whether DIR/train/ exists (with or without a validation folder beside it). */
  readonly hasTrainDir: boolean;
  /** The validation folder's name when given. */
  readonly valDir?: string;
  readonly train: readonly FolderFile[];
  /** Empty for layout 'split'. */
  readonly val: readonly FolderFile[];
  readonly skips: readonly Skip[];
}


const SYSTEM_FILES = new Set(['thumbs.db', 'desktop.ini', 'icon\r']);
/** What the split's validation folder may be called, beside DIR/train/ (the first found is used). */
export const VAL_DIR_NAMES = ['val', 'test', 'valid', 'validation'] as const;

export const isHidden = (name: string): boolean => name.startsWith('.') || SYSTEM_FILES.has(name.toLowerCase());


/** The spec that decodes to raw 0..255 values (no normalisation): what the in-memory sets keep. */
export function rawSpec(channels: 1 | 3, size: number): PreprocessSpec {
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

/** One split's decoded images as an ImageSet; `alloc` makes its pixel array (the app shares it with its workers). */
export function toSet(
  pixels: readonly Uint8Array[], labels: readonly number[], channels: number, size: number, alloc = (bytes: number): Uint8Array => new Uint8Array(bytes),
): ImageSet {
  const per = channels * size * size;
  const images = alloc(pixels.length * per);
  pixels.forEach((p, i) => images.set(p, i * per));
  return { count: pixels.length, channels, rows: size, cols: size, images, labels: Uint16Array.from(labels) };
}

export function mib(bytes: number): string {
  return bytes >= 1024 ** 3 ? `${(bytes / 1024 ** 3).toFixed(2)} GB` : `${(bytes / 1024 ** 2).toFixed(1)} MB`;
}

/** Memory the decoded images of a scan need, refused (DatasetError) over the limit before anything is decoded. */
export function checkDatasetMemory(files: number, channels: number, size: number, maxBytes = MAX_DATASET_BYTES, hint = 'use a smaller --size or fewer images'): number {
  const bytes = files * channels * size * size;
  if (bytes > maxBytes) {
    throw new DatasetError(`${files} images at ${channels}x${size}x${size} need ${mib(bytes)} in memory, over the ${mib(maxBytes)} limit: ${hint}`);
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
    else skips.push({ kind: 'empty-class', path: scan.hasTrainDir ? `train/${c}` : c });
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
  const given = scan.hasTrainDir ? ' (train/ has no val/ or test/ beside it)' : '';
  const val = sub(s.val);
  return {
    classes, train: sub(s.train), val, skips,
    split: `validation: ${Math.round(100 * valFraction)}% of each class held out, seed ${seed}${given} (${val.items.length} images)`,
  };
}


/** The log lines on a folder's classes: counts, split, imbalance, single-image classes. */
export function describeFolderCounts(name: string, classes: readonly string[], trainLabels: ArrayLike<number>, split: string): string[] {
  const perClass = new Array<number>(classes.length).fill(0);
  for (let i = 0; i < trainLabels.length; i++) perClass[trainLabels[i]!]!++;
  const lines = [`${name}: ${classes.length} classes, ${trainLabels.length} training images (${classes.map((c, k) => `${c} ${perClass[k]}`).join(', ')}); ${split}`];
  const most = Math.max(...perClass);
  const least = Math.min(...perClass);
  if (least > 0 && most >= 10 * least) {
    lines.push(`note: classes are unbalanced (${classes[perClass.indexOf(most)]} has ${most} training images, ${classes[perClass.indexOf(least)]} ${least}): accuracy favours the large ones; per-class recall shows it`);
  }
  const single = classes.filter((_, k) => perClass[k] === 1);
  if (single.length > 0) lines.push(`note: ${single.length} class${single.length > 1 ? 'es have' : ' has'} a single image (${single.slice(0, 3).join(', ')}): too few to learn from, and none held out for validation`);
  return lines;
}

/**
 * The folder's name and its files' paths below it. A drop of one folder gives 'shapes/...' for every
 * file; several class folders dropped together have no common first segment and form the data set
 * themselves.
 */
export function splitRoot(paths: readonly string[]): { name: string; rels: string[] } {
  const first = paths.map((p) => p.split('/').filter((s) => s.length > 0));
  const root = first[0]?.[0];
  const common = root !== undefined && first.every((p) => p.length > 1 && p[0] === root);
  return { name: common ? root : 'dropped folders', rels: first.map((p) => (common ? p.slice(1) : p).join('/')) };
}

/** Path segments compared one by one, as a depth-first walk of sorted folders meets the files. */
function bySegments(a: readonly string[], b: readonly string[]): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return a[i]! < b[i]! ? -1 : 1;
  return a.length - b.length;
}

/**
 * The same scan as the CLI's disk walk (folder.ts), from a list of file paths relative to the data set's
 * folder ('train/cat/1.png', 'cat/1.png'): what a drop or a folder picker gives. `path` of each file is
 * its relative path. Hidden files and folders, files outside a class folder, folders nested too deep and
 * validation classes without a training folder are skipped as the disk walk skips them.
 */
export function scanPaths(root: string, paths: readonly string[]): FolderScan {
  const skips: Skip[] = [];
  const once = new Set<string>();
  const skipOnce = (kind: SkipKind, path: string): void => {
    if (once.has(`${kind}:${path}`)) return;
    once.add(`${kind}:${path}`);
    skips.push({ kind, path });
  };
  const visible: string[][] = [];
  for (const p of [...paths].map((q) => q.split('/').filter((s) => s.length > 0)).sort(bySegments)) {
    const hidden = p.findIndex(isHidden);
    if (hidden >= 0) skipOnce('hidden', p.slice(0, hidden + 1).join('/'));
    else if (p.length > 0) visible.push(p);
  }
  const given = visible.some((p) => p[0] === 'train' && p.length >= 3);
  const valName = given ? VAL_DIR_NAMES.find((n) => visible.some((p) => p[0] === n && p.length >= 2)) : undefined;
  const train: FolderFile[] = [];
  const val: FolderFile[] = [];
  const classes: string[] = [];
  const valFiles: string[][] = [];
  for (const p of visible) {
    const inBase = given ? (p[0] === 'train' ? p.slice(1) : p[0] === valName ? null : undefined) : p;
    if (inBase === undefined) skipOnce('outside-class', p[0]!);
    else if (inBase === null) valFiles.push(p);
    else if (inBase.length < 2) skipOnce('outside-class', p.join('/'));
    else if (inBase.length - 2 > MAX_DEPTH) skipOnce('too-deep', p.slice(0, p.length - inBase.length + 2 + MAX_DEPTH).join('/'));
    else {
      if (!classes.includes(inBase[0]!)) classes.push(inBase[0]!);
      train.push({ path: p.join('/'), rel: p.join('/'), label: classes.indexOf(inBase[0]!) });
    }
  }
  if (classes.length > MAX_CLASSES) throw new DatasetError(`${root}: ${classes.length} class folders, more than the ${MAX_CLASSES} a model here can have`);
  for (const p of valFiles) {
    const label = classes.indexOf(p[1]!);
    if (p.length < 3) skipOnce('outside-class', p.join('/'));
    else if (label < 0) skipOnce('class-not-in-train', p.slice(0, 2).join('/'));
    else if (p.length - 3 > MAX_DEPTH) skipOnce('too-deep', p.slice(0, 3 + MAX_DEPTH).join('/'));
    else val.push({ path: p.join('/'), rel: p.join('/'), label });
  }
  return { root, classes, layout: given && valName ? 'given' : 'split', hasTrainDir: given, valDir: valName, train, val, skips };
}

/** A folder decoded for training: by `resnet train` (sharp) or by the app's Train view (the host's decoder). */
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

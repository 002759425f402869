// A training folder in the app: the files of a drop or a folder picker (paths relative to the dropped
// folder), scanned with the CLI's ImageFolder rules (src/train/folder-layout.ts), decoded through the
// host's one preprocessing path (the browser decoder on the web, sharp in Electron) into uint8 CHW sets.
import { assembleFolder, checkDatasetMemory, decodeSkipKind, mapFiles, rawSpec, scanPaths, splitRoot, type DecodedFolder, type SkipKind, toSet } from '../../src/train/folder-layout';
import { type Host, HostError } from './host';

/** A file of the dropped or picked folder, with its path below that folder's parent ('shapes/disc/1.png'). */
export interface FolderEntry {
  readonly path: string;
  readonly file: File;
}

/**
 * Decoded images the app keeps: 384 MiB. In a cross-origin isolated page (the app's, for the wasm engine's
 * threads) they sit in a SharedArrayBuffer that both training workers read, so the page holds them once;
 * elsewhere each worker gets its own copy.
 */
const APP_MAX_DATASET_BYTES = 384 * 1024 ** 2;

/** Images decoded at once (the browser host has one decoder worker; Electron one utility process). */
const DECODE_CONCURRENCY = 4;

export interface TrainingFolder extends DecodedFolder {
  /** The folder's name (the first path segment of what was dropped). */
  readonly name: string;
}

export interface DecodeChoice {
  readonly channels: 1 | 3;
  readonly size: number;
  readonly valFraction: number;
  readonly seed: number;
}

/**
 * Scans and decodes a folder; refuses (DatasetError, one line) fewer than two usable classes and more
 * decoded pixels than the limit, before decoding anything. Files that do not decode are skipped by kind.
 */
export async function loadTrainingFolder(
  host: Host, entries: readonly FolderEntry[], choice: DecodeChoice, progress: (done: number, total: number) => void,
  maxBytes = APP_MAX_DATASET_BYTES,
): Promise<TrainingFolder> {
  const t0 = performance.now();
  const { name, rels } = splitRoot(entries.map((e) => e.path));
  const byRel = new Map(rels.map((r, i) => [r, entries[i]!.file]));
  const scan = scanPaths(name, rels);
  const all = [...scan.train, ...scan.val];
  const { channels, size } = choice;
  checkDatasetMemory(all.length, channels, size, maxBytes, 'choose a smaller input size, or train on fewer images');
  const skips = [...scan.skips];
  const spec = rawSpec(channels, size);
  // A decoder that crashed or hung on a file (Electron restarts it) skips that file as corrupt.
  const skipOf = (e: unknown): SkipKind | null => (!(e instanceof HostError) ? null
    : e.kind === 'decoder-crashed' || e.kind === 'timeout' ? 'corrupt' : decodeSkipKind(e.kind));
  const decoded = await mapFiles(all, async (f) => {
    const file = byRel.get(f.rel)!;
    const { tensors } = await host.decode({ name: f.rel, size: file.size, file }, [spec], false);
    const data = tensors[0]!.data;
    const px = new Uint8Array(data.length);
    for (let i = 0; i < px.length; i++) px[i] = Math.min(255, Math.max(0, Math.round(data[i]!)));
    return px;
  }, skipOf, skips, { concurrency: DECODE_CONCURRENCY, progress, progressMs: 100 });
  const a = assembleFolder(scan, decoded, skips, choice.valFraction, choice.seed);
  const alloc = (bytes: number): Uint8Array => (globalThis.crossOriginIsolated ? new Uint8Array(new SharedArrayBuffer(bytes)) : new Uint8Array(bytes));
  const train = toSet(a.train.items, a.train.labels, channels, size, alloc);
  const val = toSet(a.val.items, a.val.labels, channels, size, alloc);
  return {
    name, classes: a.classes, train, val, trainPaths: a.train.paths, valPaths: a.val.paths, skips: a.skips, split: a.split,
    bytes: train.images.length + val.images.length, seconds: (performance.now() - t0) / 1000,
  };
}

// The contract between the renderer and the Electron main process: one channel per message, the
// preload's typed API, and the validators main runs on every argument before acting on it. Pure
// TypeScript (no Node, no DOM), so main, preload and renderer share one definition.
import type { PreprocessSpec } from '../../src/preprocess/normalize';

export const CHANNELS = {
  openImages: 'images:open-dialog',
  openFolder: 'images:open-folder-dialog',
  openModel: 'model:open-dialog',
  decodeImageBytes: 'image:decode-bytes',
  decodeImagePath: 'image:decode-path',
  saveCsv: 'results:save-csv',
  /** main -> renderer only */
  menuCommand: 'menu:command',
} as const;

export type InvokeChannel = Exclude<(typeof CHANNELS)[keyof typeof CHANNELS], typeof CHANNELS.menuCommand>;

const MENU_COMMANDS = ['open-images', 'open-folder', 'open-model', 'save-csv'] as const;
export type MenuCommand = (typeof MENU_COMMANDS)[number];

/** Largest image file the app accepts (bytes over IPC or read from disk). */
export const MAX_IMAGE_BYTES = 256 * 1024 * 1024;
/** Largest model file (matches the ONNX reader's limit). */
export const MAX_MODEL_BYTES = 2 ** 30;
/** Largest CSV the renderer may ask main to write. */
const MAX_CSV_CHARS = 64 * 1024 * 1024;
/** Largest model input side we preprocess for. */
const MAX_INPUT_SIDE = 4096;
const MAX_NAME_CHARS = 255;
const MAX_PATH_CHARS = 4096;

export type ErrorKind =
  | 'bad-request' | 'forbidden' | 'not-found' | 'not-a-file' | 'unreadable' | 'empty' | 'too-large'
  | 'not-an-image' | 'corrupt' | 'decoder-crashed' | 'timeout' | 'cancelled' | 'internal';

export interface AppError {
  readonly kind: ErrorKind;
  readonly message: string;
}

/** Every invoke returns this: errors travel as data (Electron would otherwise wrap thrown ones in noise). */
export type IpcResult<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: AppError };

export const ok = <T>(value: T): IpcResult<T> => ({ ok: true, value });
export const fail = (kind: ErrorKind, message: string): IpcResult<never> => ({ ok: false, error: { kind, message } });

/** An image file main has let the renderer see (from a dialog): decoding it by path is allowed. */
export interface ImageRef {
  readonly path: string;
  readonly name: string;
  readonly size: number;
}

export interface ModelFile {
  readonly name: string;
  readonly bytes: Uint8Array;
}

export interface DecodeOptions {
  /** Also return a small WebP preview (EXIF orientation applied). */
  readonly thumbnail: boolean;
}

export interface DecodedImageData {
  /** [1,C,H,W] float32, preprocessed for the spec it was asked for. */
  readonly shape: readonly number[];
  readonly data: Float32Array;
  /** Displayed size (after EXIF orientation), before resizing. */
  readonly width: number;
  readonly height: number;
  readonly format: string;
  readonly thumbnail?: Uint8Array;
  readonly thumbnailType?: string;
}

export interface SaveResult {
  /** Where the file went, or null when the user cancelled the dialog. */
  readonly path: string | null;
}

/** What the preload exposes as window.resnetLab: one method per message. */
export interface ResnetLabApi {
  readonly platform: string;
  openImages(): Promise<IpcResult<ImageRef[]>>;
  openFolder(): Promise<IpcResult<ImageRef[]>>;
  openModel(): Promise<IpcResult<ModelFile | null>>;
  decodeImageBytes(bytes: Uint8Array, name: string, spec: PreprocessSpec, opts: DecodeOptions): Promise<IpcResult<DecodedImageData>>;
  decodeImagePath(path: string, spec: PreprocessSpec, opts: DecodeOptions): Promise<IpcResult<DecodedImageData>>;
  saveCsv(text: string, suggestedName: string): Promise<IpcResult<SaveResult>>;
  /** Subscribe to File-menu commands; returns an unsubscribe function. */
  onMenuCommand(listener: (command: MenuCommand) => void): () => void;
}

// ---------------------------------------------------------------------------------------------
// Validation. Main treats every argument as hostile: exact types, sizes, and no extra arguments.

export class IpcArgumentError extends Error {
  override readonly name = 'IpcArgumentError';
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v) as unknown;
  return proto === Object.prototype || proto === null;
}

function onlyKeys(o: Record<string, unknown>, allowed: readonly string[], what: string): void {
  for (const k of Object.keys(o)) {
    if (!allowed.includes(k)) throw new IpcArgumentError(`${what}: unexpected field '${k}'`);
  }
}

export function expectArgCount(args: readonly unknown[], n: number, channel: string): void {
  if (args.length !== n) throw new IpcArgumentError(`${channel}: expected ${n} argument(s), got ${args.length}`);
}

/** A display name: a short string without control characters or path separators. */
export function parseName(v: unknown, what = 'name'): string {
  if (typeof v !== 'string') throw new IpcArgumentError(`${what} must be a string, got ${typeof v}`);
  if (v.length === 0 || v.length > MAX_NAME_CHARS) throw new IpcArgumentError(`${what} must have 1..${MAX_NAME_CHARS} characters, got ${v.length}`);
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it refuses
  if (/[\u0000-\u001f\u007f/\\]/.test(v)) throw new IpcArgumentError(`${what} contains control characters or path separators`);
  return v;
}

export function parseBytes(v: unknown, max: number, what = 'bytes'): Uint8Array {
  if (!(v instanceof Uint8Array)) throw new IpcArgumentError(`${what} must be a Uint8Array`);
  if (v.byteLength > max) throw new IpcArgumentError(`${what}: ${v.byteLength} bytes is over the ${max}-byte limit`);
  return v;
}

/** An absolute path string (the policy check on where it points happens separately). */
export function parsePathArg(v: unknown, what = 'path'): string {
  if (typeof v !== 'string') throw new IpcArgumentError(`${what} must be a string, got ${typeof v}`);
  if (v.length === 0 || v.length > MAX_PATH_CHARS) throw new IpcArgumentError(`${what} must have 1..${MAX_PATH_CHARS} characters`);
  if (v.includes('\0')) throw new IpcArgumentError(`${what} contains a NUL character`);
  const absolute = v.startsWith('/') || /^[A-Za-z]:[\\/]/.test(v) || v.startsWith('\\\\');
  if (!absolute) throw new IpcArgumentError(`${what} must be absolute, got '${v.slice(0, 80)}'`);
  return v;
}

function finiteArray(v: unknown, len: number, what: string): number[] {
  if (!Array.isArray(v) || v.length !== len || !v.every((x) => typeof x === 'number' && Number.isFinite(x))) {
    throw new IpcArgumentError(`${what} must be ${len} finite numbers`);
  }
  return v as number[];
}

function intIn(v: unknown, lo: number, hi: number, what: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < lo || v > hi) {
    throw new IpcArgumentError(`${what} must be an integer in ${lo}..${hi}, got ${String(v)}`);
  }
  return v;
}

export function parsePreprocessSpec(v: unknown): PreprocessSpec {
  if (!isPlainObject(v)) throw new IpcArgumentError('spec must be an object');
  onlyKeys(v, ['channels', 'height', 'width', 'mean', 'std', 'scale', 'resizeShorter', 'background'], 'spec');
  const channels = v['channels'];
  if (channels !== 1 && channels !== 3) throw new IpcArgumentError(`spec.channels must be 1 or 3, got ${String(channels)}`);
  const height = intIn(v['height'], 1, MAX_INPUT_SIDE, 'spec.height');
  const width = intIn(v['width'], 1, MAX_INPUT_SIDE, 'spec.width');
  const mean = finiteArray(v['mean'], channels, 'spec.mean');
  const std = finiteArray(v['std'], channels, 'spec.std');
  if (std.some((s) => s === 0)) throw new IpcArgumentError('spec.std must not contain 0');
  const spec: PreprocessSpec = { channels, height, width, mean: [...mean], std: [...std] };
  if (v['scale'] !== undefined) {
    const s = v['scale'];
    if (typeof s !== 'number' || !Number.isFinite(s) || s === 0) throw new IpcArgumentError('spec.scale must be a finite non-zero number');
    spec.scale = s;
  }
  if (v['resizeShorter'] !== undefined) spec.resizeShorter = intIn(v['resizeShorter'], 1, 2 * MAX_INPUT_SIDE, 'spec.resizeShorter');
  if (v['background'] !== undefined) {
    if (v['background'] !== 'dark') throw new IpcArgumentError(`spec.background must be 'dark' or absent, got ${JSON.stringify(v['background'])}`);
    spec.background = 'dark';
  }
  return spec;
}

export function parseDecodeOptions(v: unknown): DecodeOptions {
  if (!isPlainObject(v)) throw new IpcArgumentError('options must be an object');
  onlyKeys(v, ['thumbnail'], 'options');
  if (typeof v['thumbnail'] !== 'boolean') throw new IpcArgumentError('options.thumbnail must be a boolean');
  return { thumbnail: v['thumbnail'] };
}

export function parseCsvText(v: unknown): string {
  if (typeof v !== 'string') throw new IpcArgumentError(`text must be a string, got ${typeof v}`);
  if (v.length > MAX_CSV_CHARS) throw new IpcArgumentError(`text: ${v.length} characters is over the ${MAX_CSV_CHARS} limit`);
  return v;
}

export function parseCsvFileName(v: unknown): string {
  const name = parseName(v, 'file name');
  return name.toLowerCase().endsWith('.csv') ? name : `${name}.csv`;
}

export function isMenuCommand(v: unknown): v is MenuCommand {
  return typeof v === 'string' && (MENU_COMMANDS as readonly string[]).includes(v);
}

// The platform behind the UI, as Netron splits desktop and browser: the renderer talks only to a Host.
// ElectronHost reaches main through the preload (sharp decoding in a utility process, native dialogs);
// BrowserHost decodes in a worker with createImageBitmap and uses file inputs and downloads.
import type { PreprocessSpec } from '../../src/preprocess/normalize';
import type { ErrorKind, MenuCommand } from '../shared/ipc';
import type { TensorData } from './worker-protocol';

/** An image the user gave us: a File (drop, paste, browser picker) or a path main handed out. */
export interface HostImage {
  readonly name: string;
  readonly size: number;
  readonly file?: File;
  readonly path?: string;
}

export interface DecodedImage {
  readonly width: number;
  readonly height: number;
  readonly format: string;
  /** One [1,C,H,W] tensor per spec asked for, same order. */
  readonly tensors: readonly TensorData[];
  readonly thumbnail?: Blob;
}

export class HostError extends Error {
  override readonly name = 'HostError';
  constructor(readonly kind: ErrorKind, message: string) {
    super(message);
  }
}

export interface Host {
  readonly kind: 'electron' | 'browser';
  /** For the status line: which decoder runs. */
  readonly decoderName: string;
  decode(image: HostImage, specs: readonly PreprocessSpec[], withThumbnail: boolean): Promise<DecodedImage>;
  pickImages(): Promise<HostImage[]>;
  pickFolder(): Promise<HostImage[]>;
  pickModel(): Promise<{ name: string; bytes: Uint8Array } | null>;
  /** Saves text as a CSV file; resolves to a description of where it went, or null if cancelled. */
  saveCsv(text: string, suggestedName: string): Promise<string | null>;
  onMenuCommand(listener: (command: MenuCommand) => void): void;
}

/** A file name safe to send to main (which refuses separators, control characters and long names). */
export function safeName(name: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it removes
  const cleaned = name.replace(/[\u0000-\u001f\u007f/\\]/g, '_').slice(0, 200);
  return cleaned.length > 0 ? cleaned : 'image';
}

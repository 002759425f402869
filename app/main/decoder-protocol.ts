// Messages between main and the image-decoder process (an Electron utilityProcess; a Node child process
// in tests). Requests carry an id; every reply names the id it answers.
import type { PreprocessSpec } from '../../src/preprocess/normalize';
import type { DecodeOptions } from '../shared/ipc';
import type { DecodeInput, DecodeOutcome } from './decode-job';

export interface DecoderRequest {
  readonly id: number;
  readonly input: DecodeInput;
  readonly name: string;
  readonly spec: PreprocessSpec;
  readonly options: DecodeOptions;
  readonly maxPixels?: number;
}

export interface DecoderReply {
  readonly id: number;
  readonly outcome: DecodeOutcome;
}

export function isDecoderReply(v: unknown): v is DecoderReply {
  return typeof v === 'object' && v !== null && typeof (v as { id?: unknown }).id === 'number'
    && typeof (v as { outcome?: unknown }).outcome === 'object';
}

// Browser host's decoder worker: images are decoded and resized here, off the UI thread.
import type { PreprocessSpec } from '../../src/preprocess/normalize';
import { decodeInBrowser, DecodeFailure } from './browser-decode';

export interface DecodeWorkerRequest {
  readonly id: number;
  readonly blob: Blob;
  readonly name: string;
  readonly specs: readonly PreprocessSpec[];
  readonly thumbnail: boolean;
}

self.onmessage = async (e: MessageEvent<DecodeWorkerRequest>): Promise<void> => {
  const { id, blob, name, specs, thumbnail } = e.data;
  try {
    const value = await decodeInBrowser(blob, name, specs, thumbnail);
    self.postMessage({ id, ok: true, value }, { transfer: value.tensors.map((t) => t.data.buffer) });
  } catch (err) {
    const error = err instanceof DecodeFailure
      ? { kind: err.kind, message: err.message }
      : { kind: 'corrupt', message: `${name}: ${err instanceof Error ? err.message : String(err)}` };
    self.postMessage({ id, ok: false, error });
  }
};

// Host for any Chromium (`npm run web`): a decoder worker, file inputs for pickers, a download for CSV.
import type { PreprocessSpec } from '../../src/preprocess/normalize';
import type { AppError, MenuCommand } from '../shared/ipc';
import type { BrowserDecoded } from './browser-decode';
import type { DecodeWorkerRequest } from './decode-worker';
import { downloadBlob, pickFiles } from './file-input';
import { type DecodedImage, type Host, HostError, type HostImage } from './host';

type Reply = { id: number; ok: true; value: BrowserDecoded } | { id: number; ok: false; error: AppError };

const IMAGE_ACCEPT = 'image/*,.jpg,.jpeg,.png,.webp,.gif,.avif,.tif,.tiff';
/** ONNX models and PyTorch checkpoints (told apart by content once picked). */
const MODEL_ACCEPT = '.onnx,.pth,.pt,.tar,.safetensors,.ckpt,.bin';
const IMAGE_NAME = /\.(jpe?g|png|webp|gif|avif|tiff?|bmp|jxl|jp2|heic|heif)$/i;

export class BrowserHost implements Host {
  readonly kind = 'browser' as const;
  readonly decoderName = 'browser decoder (createImageBitmap)';
  private worker: Worker | undefined;
  private nextId = 1;
  private readonly pending = new Map<number, (r: Reply) => void>();

  private ensureWorker(): Worker {
    if (this.worker) return this.worker;
    const w = new Worker(new URL('./decode-worker.js', import.meta.url), { type: 'module', name: 'decoder' });
    w.onmessage = (e: MessageEvent<Reply>) => {
      const cb = this.pending.get(e.data.id);
      this.pending.delete(e.data.id);
      cb?.(e.data);
    };
    w.onerror = (e) => {
      e.preventDefault();
      // A decoder that died takes its requests with it; the next decode starts a new one.
      for (const [id, cb] of this.pending) cb({ id, ok: false, error: { kind: 'decoder-crashed', message: `the image decoder stopped (${e.message || 'unknown error'})` } });
      this.pending.clear();
      w.terminate();
      if (this.worker === w) this.worker = undefined;
    };
    this.worker = w;
    return w;
  }

  async decode(image: HostImage, specs: readonly PreprocessSpec[], withThumbnail: boolean): Promise<DecodedImage> {
    if (!image.file) throw new HostError('bad-request', `${image.name}: no file data to decode`);
    const id = this.nextId++;
    const worker = this.ensureWorker();
    const reply = await new Promise<Reply>((resolve) => {
      this.pending.set(id, resolve);
      const req: DecodeWorkerRequest = { id, blob: image.file!, name: image.name, specs: [...specs], thumbnail: withThumbnail };
      worker.postMessage(req);
    });
    if (!reply.ok) throw new HostError(reply.error.kind, reply.error.message);
    return reply.value;
  }

  async pickImages(): Promise<HostImage[]> {
    const files = await pickFiles({ accept: IMAGE_ACCEPT, multiple: true });
    return files.map((file) => ({ name: file.name, size: file.size, file }));
  }

  async pickFolder(): Promise<HostImage[]> {
    const files = await pickFiles({ directory: true, multiple: true });
    return files
      .filter((f) => IMAGE_NAME.test(f.name) && !f.webkitRelativePath.split('/').some((p) => p.startsWith('.')))
      .sort((a, b) => (a.webkitRelativePath < b.webkitRelativePath ? -1 : 1))
      .map((file) => ({ name: file.name, size: file.size, file }));
  }

  async pickModel(): Promise<{ name: string; bytes: Uint8Array } | null> {
    const [file] = await pickFiles({ accept: MODEL_ACCEPT });
    if (!file) return null;
    return { name: file.name, bytes: new Uint8Array(await file.arrayBuffer()) };
  }

  async saveCsv(text: string, suggestedName: string): Promise<string | null> {
    downloadBlob(new Blob([text], { type: 'text/csv' }), suggestedName);
    return `downloaded as ${suggestedName}`;
  }

  onMenuCommand(_listener: (command: MenuCommand) => void): void {
    // No native menu in a browser: the toolbar buttons do the same.
  }
}

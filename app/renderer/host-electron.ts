// Host inside Electron: everything goes through the preload's typed API (window.resnetLab). Images are
// decoded by sharp in main's utility process; dialogs are native.
import type { PreprocessSpec } from '../../src/preprocess/normalize';
import type { IpcResult, MenuCommand, ResnetLabApi } from '../shared/ipc';
import { type DecodedImage, type Host, HostError, type HostImage, safeName } from './host';
import type { TensorData } from './worker-protocol';

function unwrap<T>(r: IpcResult<T>): T {
  if (!r.ok) throw new HostError(r.error.kind, r.error.message);
  return r.value;
}

export class ElectronHost implements Host {
  readonly kind = 'electron' as const;
  readonly decoderName = 'sharp (utility process)';

  constructor(private readonly api: ResnetLabApi) {}

  async decode(image: HostImage, specs: readonly PreprocessSpec[], withThumbnail: boolean): Promise<DecodedImage> {
    const bytes = image.file ? new Uint8Array(await image.file.arrayBuffer()) : undefined;
    if (!bytes && !image.path) throw new HostError('bad-request', `${image.name}: no file data to decode`);
    const tensors: TensorData[] = [];
    let first: { width: number; height: number; format: string; thumbnail?: Blob } | undefined;
    for (const [i, spec] of specs.entries()) {
      const opts = { thumbnail: withThumbnail && i === 0 };
      const r = unwrap(bytes
        ? await this.api.decodeImageBytes(bytes, safeName(image.name), spec, opts)
        : await this.api.decodeImagePath(image.path!, spec, opts));
      tensors.push({ shape: r.shape, data: r.data });
      if (i === 0) {
        first = {
          width: r.width, height: r.height, format: r.format,
          ...(r.thumbnail && { thumbnail: new Blob([r.thumbnail as Uint8Array<ArrayBuffer>], { type: r.thumbnailType ?? 'image/webp' }) }),
        };
      }
    }
    if (!first) throw new HostError('bad-request', `${image.name}: no model input to decode for`);
    return { ...first, tensors };
  }

  async pickImages(): Promise<HostImage[]> {
    return unwrap(await this.api.openImages()).map((r) => ({ name: r.name, size: r.size, path: r.path }));
  }

  async pickFolder(): Promise<HostImage[]> {
    return unwrap(await this.api.openFolder()).map((r) => ({ name: r.name, size: r.size, path: r.path }));
  }

  async pickModel(): Promise<{ name: string; bytes: Uint8Array } | null> {
    return unwrap(await this.api.openModel());
  }

  async saveCsv(text: string, suggestedName: string): Promise<string | null> {
    const r = unwrap(await this.api.saveCsv(text, suggestedName));
    return r.path === null ? null : `saved to ${r.path}`;
  }

  onMenuCommand(listener: (command: MenuCommand) => void): void {
    this.api.onMenuCommand(listener);
  }
}

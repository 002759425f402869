// Files dropped on the window (walking dropped folders) or pasted. What each file is comes from its first
// bytes (app/shared/file-kind.ts), not its name: images join the list, a model file (ONNX or a PyTorch
// checkpoint) goes to the side question (model-dialog.ts), the side it was dropped on preferred.
import { type FileKind, SNIFF_BYTES, sniffFileKind } from '../shared/file-kind';
import type { HostImage } from './host';
import type { FolderEntry } from './train-data';
import type { SlotId } from './worker-protocol';

export interface DropHandlers {
  offerModel(file: File, kind: Exclude<FileKind, 'image'>, preferred?: SlotId): void;
  addImages(images: readonly HostImage[]): void;
  showError(title: string, message: string): void;
  /** Where a drop goes now: the Train view takes whole folders (with their paths) while it is shown. */
  trainingFolder?(): ((entries: readonly FolderEntry[]) => void) | null;
}

/**
 * Dropped folders are walked this deep and this far for the image list; a training folder goes deeper and
 * keeps its hidden files (its scan counts them as skipped; hidden folders are never walked).
 */
const LIST_WALK = { depth: 4, files: 5000, hiddenFiles: false };
const TRAIN_WALK = { depth: 12, files: 100_000, hiddenFiles: true };

/** Listens for drags, drops and pastes on the window; `overlay` is shown while files are dragged over it. */
export function installDropAndPaste(overlay: HTMLElement, on: DropHandlers): void {
  let depth = 0;
  const hasFiles = (e: DragEvent): boolean => [...(e.dataTransfer?.types ?? [])].includes('Files');
  window.addEventListener('dragenter', (e) => {
    if (!hasFiles(e)) return;
    e.preventDefault();
    depth++;
    overlay.classList.add('visible');
  });
  window.addEventListener('dragleave', () => {
    depth = Math.max(0, depth - 1);
    if (depth === 0) overlay.classList.remove('visible');
  });
  // Without preventDefault on dragover, Chromium would navigate to the dropped file.
  window.addEventListener('dragover', (e) => {
    e.preventDefault();
    if (e.dataTransfer) e.dataTransfer.dropEffect = 'copy';
  });
  window.addEventListener('drop', (e) => {
    e.preventDefault();
    depth = 0;
    overlay.classList.remove('visible');
    const target = (e.target as Element | null)?.closest?.('[data-testid^="slot-"]');
    const id = target?.getAttribute('data-testid');
    const slot: SlotId | undefined = id === 'slot-b' ? 'b' : id === 'slot-a' ? 'a' : undefined;
    const train = on.trainingFolder?.();
    if (train) void entriesFromDrop(e.dataTransfer, TRAIN_WALK).then(train);
    else void entriesFromDrop(e.dataTransfer, LIST_WALK).then((entries) => acceptFiles(entries.map((x) => x.file), on, slot));
  });
  document.addEventListener('paste', (e) => {
    const files = [...(e.clipboardData?.files ?? [])];
    if (files.length === 0) return;
    e.preventDefault();
    void acceptFiles(files.map((f, i) => (f.name && f.name !== 'image.png' ? f : new File([f], `pasted-${Date.now()}-${i + 1}.${(f.type.split('/')[1] ?? 'png')}`, { type: f.type }))), on);
  });
}

/** Files of a drop with their paths ('folder/sub/name.png'), walking dropped folders (sorted). */
async function entriesFromDrop(dt: DataTransfer | null, limit: typeof LIST_WALK): Promise<FolderEntry[]> {
  if (!dt) return [];
  const entries = [...dt.items].map((it) => it.webkitGetAsEntry?.()).filter((x): x is FileSystemEntry => !!x);
  if (entries.length === 0) return [...dt.files].map((file) => ({ path: file.name, file }));
  const out: FolderEntry[] = [];
  const walk = async (entry: FileSystemEntry, depth: number): Promise<void> => {
    if ((entry.name.startsWith('.') && !(entry.isFile && limit.hiddenFiles)) || out.length >= limit.files) return;
    if (entry.isFile) {
      const file = await new Promise<File>((res, rej) => (entry as FileSystemFileEntry).file(res, rej));
      out.push({ path: entry.fullPath.replace(/^\//, ''), file });
    } else if (entry.isDirectory && depth < limit.depth) {
      const reader = (entry as FileSystemDirectoryEntry).createReader();
      const children: FileSystemEntry[] = [];
      for (;;) {
        const batch = await new Promise<FileSystemEntry[]>((res, rej) => reader.readEntries(res, rej));
        if (batch.length === 0) break;
        children.push(...batch);
      }
      children.sort((p, q) => (p.name < q.name ? -1 : 1));
      for (const c of children) await walk(c, depth + 1);
    }
  };
  for (const e of entries) await walk(e, 0);
  return out;
}

/** A file's kind from its first bytes (a file that cannot be read counts as an image: its decoder reports it). */
async function kindOf(file: File): Promise<FileKind> {
  try {
    const head = new Uint8Array(await file.slice(0, SNIFF_BYTES).arrayBuffer());
    return sniffFileKind(head, file.size, file.name);
  } catch {
    return 'image';
  }
}

/** Images to the list, one model file to the side question (more than one: the first, and an error). */
export async function acceptFiles(files: readonly File[], on: DropHandlers, preferred?: SlotId): Promise<void> {
  const kinds = await Promise.all(files.map(kindOf));
  const models = files.flatMap((f, i) => (kinds[i] === 'image' ? [] : [{ file: f, kind: kinds[i] as Exclude<FileKind, 'image'> }]));
  const images = files.filter((_, i) => kinds[i] === 'image');
  if (models.length > 1) on.showError('One model at a time:', `${models.length} model files were given; opening ${models[0]!.file.name}`);
  on.addImages(images.map((file) => ({ name: file.name, size: file.size, file })));
  const model = models[0];
  if (model) on.offerModel(model.file, model.kind, preferred);
}

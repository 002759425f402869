// Files dropped on the window (walking dropped folders) or pasted: .onnx files open as a model (into the
// slot they were dropped on), everything else is added as images.
import { messageOf } from './context';
import type { HostImage } from './host';
import type { SlotId } from './worker-protocol';

export interface DropHandlers {
  openModel(slot: SlotId, name: string, bytes: Uint8Array): void;
  addImages(images: readonly HostImage[]): void;
  showError(title: string, message: string): void;
}

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
    const slot: SlotId = target?.getAttribute('data-testid') === 'slot-b' ? 'b' : 'a';
    void filesFromDrop(e.dataTransfer).then((files) => acceptFiles(files, slot, on));
  });
  document.addEventListener('paste', (e) => {
    const files = [...(e.clipboardData?.files ?? [])];
    if (files.length === 0) return;
    e.preventDefault();
    acceptFiles(files.map((f, i) => (f.name && f.name !== 'image.png' ? f : new File([f], `pasted-${Date.now()}-${i + 1}.${(f.type.split('/')[1] ?? 'png')}`, { type: f.type }))), 'a', on);
  });
}

/** Files of a drop, walking dropped folders (sorted, hidden entries skipped). */
async function filesFromDrop(dt: DataTransfer | null): Promise<File[]> {
  if (!dt) return [];
  const entries = [...dt.items].map((it) => it.webkitGetAsEntry?.()).filter((x): x is FileSystemEntry => !!x);
  if (entries.length === 0) return [...dt.files];
  const out: File[] = [];
  const walk = async (entry: FileSystemEntry, depth: number): Promise<void> => {
    if (entry.name.startsWith('.') || out.length >= 5000) return;
    if (entry.isFile) {
      out.push(await new Promise<File>((res, rej) => (entry as FileSystemFileEntry).file(res, rej)));
    } else if (entry.isDirectory && depth < 4) {
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

function acceptFiles(files: readonly File[], slot: SlotId, on: DropHandlers): void {
  const models = files.filter((f) => f.name.toLowerCase().endsWith('.onnx'));
  const images = files.filter((f) => !f.name.toLowerCase().endsWith('.onnx'));
  if (models.length > 1) on.showError('One model at a time:', `dropped ${models.length} .onnx files; opening ${models[0]!.name}`);
  const model = models[0];
  if (model) {
    void model.arrayBuffer().then(
      (buf) => on.openModel(slot, model.name, new Uint8Array(buf)),
      (e: unknown) => on.showError(`Could not read ${model.name}:`, messageOf(e)),
    );
  }
  on.addImages(images.map((file) => ({ name: file.name, size: file.size, file })));
}

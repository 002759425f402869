// File inputs and downloads, the page's own ways in and out for files: the browser host's pickers and
// saves, and the Train view's folder picker and model saves in either host (Electron shows its save dialog
// for a download).

/** Opens a file input and resolves with the picked files ([] on cancel). */
export function pickFiles(opts: { accept?: string; multiple?: boolean; directory?: boolean }): Promise<File[]> {
  return new Promise((resolve) => {
    const input = document.createElement('input');
    input.type = 'file';
    if (opts.accept) input.accept = opts.accept;
    input.multiple = opts.multiple ?? false;
    if (opts.directory) input.webkitdirectory = true;
    input.hidden = true;
    input.dataset['testid'] = 'file-input';
    document.body.append(input);
    const done = (files: File[]): void => {
      input.remove();
      resolve(files);
    };
    input.addEventListener('change', () => done([...(input.files ?? [])]));
    input.addEventListener('cancel', () => done([]));
    input.click();
  });
}

/** Saves a blob through the browser's download (a save dialog in Electron). */
export function downloadBlob(blob: Blob, name: string): void {
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  a.hidden = true;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

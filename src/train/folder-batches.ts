// Running a model over a folder's images: `resnet eval` scores them, transfer mode takes their features.
import { tensor } from '../../kernels/core/tensor';
import type { RunResult, Session } from '../engine/session';
import type { PreprocessSpec } from '../preprocess/normalize';
import { decodeImage } from '../preprocess/sharp';
import { mapImages } from './folder';
import type { FolderFile, Skip } from './folder-layout';

/**
 * Decodes `files` `chunk` at a time through the model's preprocessing and runs each chunk as one batch.
 * Files that fail to decode become `skips`; `take` gets each batch's result and, per batch row, the index of
 * its file in `files`.
 */
export async function runOnFolderImages(
  session: Session, files: readonly FolderFile[], spec: PreprocessSpec, skips: Skip[], chunk: number,
  take: (result: RunResult, fileIndex: readonly number[]) => void,
): Promise<void> {
  const per = spec.channels * spec.height * spec.width;
  for (let start = 0; start < files.length; start += chunk) {
    const part = files.slice(start, start + chunk);
    const decoded = await mapImages(part, async (f) => (await decodeImage(f.path, spec, { name: f.rel })).tensor.data, skips);
    const ok = decoded.flatMap((d, i) => (d ? [i] : []));
    if (ok.length === 0) continue;
    const batch = new Float32Array(ok.length * per);
    ok.forEach((i, j) => batch.set(decoded[i]!, j * per));
    const result = await session.run(tensor([ok.length, spec.channels, spec.height, spec.width], batch));
    take(result, ok.map((i) => start + i));
  }
}

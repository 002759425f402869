// Resolving a model argument: a zoo name (its shipped trained file if there is one, else seeded weights)
// or an ONNX file on disk.
import { existsSync } from 'node:fs';
import { shippedModelPath } from '../models-dir';
import { serializeOnnx } from '../onnx/write';
import { MAX_MODEL_BYTES } from '../onnx/read';
import { type FileSource, openRegularFile, readRegularFile } from '../read-file';
import { buildModel } from '../zoo/build';
import { isZooName, zooSpec, type ShortcutOption } from '../zoo/spec';
import { CliError } from './args';
import { checkpointOnnxBytes, isCheckpointFile } from './import';

export function readModelFile(path: string): Uint8Array {
  return readRegularFile(path, { maxBytes: MAX_MODEL_BYTES });
}

/**
 * modelBytes, but an ONNX file on disk is opened, not read: the engine reads each layer's weights from it
 * as it packs that layer, so the file is never held whole (close it when done).
 */
export function modelSource(arg: string, opts: ZooOptions = {}): { model: Uint8Array | FileSource; close(): void } {
  if (isZooName(arg) || !existsSync(arg) || isCheckpointFile(arg)) return { model: modelBytes(arg, opts), close: () => {} };
  const file = openRegularFile(arg, { maxBytes: MAX_MODEL_BYTES });
  return { model: file, close: () => file.close() };
}

export interface ZooOptions {
  readonly shortcut?: ShortcutOption;
  readonly bottleneckStride?: '1x1' | '3x3';
}

/** ONNX bytes for NAME (zoo), FILE.onnx, or a PyTorch checkpoint (told by content, converted in memory). */
export function modelBytes(arg: string, opts: ZooOptions = {}): Uint8Array {
  if (isZooName(arg)) {
    const custom = opts.shortcut !== undefined || opts.bottleneckStride !== undefined;
    const shipped = custom ? undefined : shippedModelPath(arg);
    if (shipped) return readModelFile(shipped);
    const spec = { ...zooSpec(arg), ...opts };
    return serializeOnnx(buildModel(spec, { name: arg }));
  }
  if (!arg.endsWith('.onnx') && !existsSync(arg)) throw new CliError(`unknown model '${arg}': give a zoo name (see 'resnet models'), an .onnx file or a PyTorch checkpoint`);
  if (existsSync(arg) && isCheckpointFile(arg)) return checkpointOnnxBytes(arg);
  return readModelFile(arg);
}

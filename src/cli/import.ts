// `resnet import`: a torchvision-style ResNet checkpoint (torch.save zip or legacy, safetensors) to an
// ONNX file with its metadata; and the same conversion in memory for `--model FILE.pth` elsewhere.
import { closeSync, openSync, readSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import { compileGraph } from '../engine/compile';
import { type ImportedModel, importCheckpoint, ImportError, isCheckpoint, parseLabels, torchvisionName } from '../import/index';
import { formatCount } from '../format';
import { serializeOnnx } from '../onnx/write';
import { checkRegularFile, readRegularFile } from '../read-file';
import { writeUserFile } from '../write-file';
import { CliError, parse } from './args';
import type { CliIO } from './command';

export const IMPORT_USAGE = 'resnet import FILE --out MODEL.onnx [--arch NAME] [--labels imagenet|FILE] [--name NAME]';

/** Largest checkpoint read (Node reads no file over 2 GiB at once; wide_resnet101_2 with SGD state is ~1 GB). */
const MAX_CHECKPOINT_BYTES = 2 ** 31 - 1;
const MAX_LABELS_BYTES = 16 * 1024 * 1024;


/** Whether a file on disk is a checkpoint we import, by its first bytes (its name does not matter). */
export function isCheckpointFile(path: string): boolean {
  const size = checkRegularFile(path, { maxBytes: MAX_CHECKPOINT_BYTES });
  const head = new Uint8Array(16);
  const fd = openSync(path, 'r');
  try {
    return isCheckpoint(head.subarray(0, readSync(fd, head, 0, head.length, 0)), size);
  } finally {
    closeSync(fd);
  }
}

function stem(path: string): string {
  return basename(path).replace(/(\.pth\.tar|\.tar|\.pth|\.pt|\.safetensors|\.bin|\.ckpt)$/i, '') || 'model';
}

/** ONNX bytes of a checkpoint file, converted in memory (for `classify --model FILE.pth` and the like). */
export function checkpointOnnxBytes(path: string): Uint8Array {
  const bytes = readRegularFile(path, { maxBytes: MAX_CHECKPOINT_BYTES });
  const m = importCheckpoint(bytes, { name: stem(path), source: basename(path) });
  return serializeOnnx(m.graph, { docString: docString(m, basename(path)) });
}

function docString(m: ImportedModel, file: string): string {
  return `${m.archName} imported by resnet-lab from ${file} (${m.format})`;
}


export async function cmdImport(argv: readonly string[], io: CliIO): Promise<void> {
  const { values, positionals } = parse(argv, {
    out: { type: 'string' }, arch: { type: 'string' }, labels: { type: 'string' }, name: { type: 'string' },
  });
  if (positionals.length !== 1) throw new CliError(`import takes one checkpoint: ${IMPORT_USAGE}`);
  const file = positionals[0]!;
  const out = (values['out'] as string | undefined) ?? `${stem(file)}.onnx`;
  if (resolve(out) === resolve(file)) throw new CliError(`--out ${out} would overwrite the checkpoint`);
  const labelsArg = values['labels'] as string | undefined;
  let labels: 'imagenet' | string[] | undefined;
  if (labelsArg === 'imagenet') labels = 'imagenet';
  else if (labelsArg !== undefined) labels = parseLabels(new TextDecoder().decode(readRegularFile(labelsArg, { maxBytes: MAX_LABELS_BYTES })));

  const t0 = performance.now();
  const bytes = readRegularFile(file, { maxBytes: MAX_CHECKPOINT_BYTES });
  if (!isCheckpoint(bytes)) {
    throw new ImportError(`${file}: not a PyTorch checkpoint (neither a torch.save zip, a legacy torch.save pickle, nor safetensors)`);
  }
  const m = importCheckpoint(bytes, {
    arch: values['arch'] as string | undefined,
    name: (values['name'] as string | undefined) ?? stem(file),
    labels,
    source: basename(file),
  });
  const plan = compileGraph(m.graph); // also proves our engine runs what we write
  const onnx = serializeOnnx(m.graph, { docString: docString(m, basename(file)) });
  writeUserFile(out, onnx);
  const seconds = (performance.now() - t0) / 1000;

  const where = [m.entry && `under '${m.entry}'`, m.dataParallel && `'module.' prefix removed`].filter(Boolean).join(', ');
  const ignored = m.ignored.length ? ` (${m.ignored.length} num_batches_tracked ignored)` : '';
  io.out(`read ${basename(file)}: ${m.format}, ${m.tensorsUsed} tensors (${m.dtypes.join(', ')})${where ? `, ${where}` : ''}${ignored}`);
  const a = m.arch;
  const [c, h, w] = plan.values[plan.input]!.shape;
  const arch = torchvisionName(a) ? `${m.archName} (${a.block} blocks ${a.stages.join('-')})` : `${m.archName} (no torchvision name)`;
  io.out(`architecture: ${arch}, ${a.classes} classes, input ${c}x${h}x${w}`);
  const labelText = m.labels === 'imagenet' ? 'ImageNet-1k' : m.labels === 'given' ? `${a.classes} from ${labelsArg}` : `none (classes are numbered 0-${a.classes - 1})`;
  io.out(`labels: ${labelText}; preprocessing: resize 256, centre crop 224, ${c === 3 ? 'ImageNet mean/std' : 'mean/std 0.5'}`);
  const params = plan.stats.reduce((s, l) => s + l.params, 0);
  const macs = plan.stats.reduce((s, l) => s + l.macs, 0);
  io.out(`wrote ${out} (${(onnx.length / 1e6).toFixed(1)} MB, ${formatCount(params)} parameters, ${formatCount(macs)} multiply-adds) in ${seconds.toFixed(1)} s`);
}

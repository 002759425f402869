// PyTorch checkpoints of torchvision-style ResNets -> our Graph (then ONNX, the one format on disk).
// Pure functions over bytes: no file system, so the app can use them as well as the CLI.
//
//   readStateDict     bytes -> format, name -> tensor (torch.save zip / legacy, safetensors; wrappers and
//                     DataParallel's 'module.' undone)
//   inferResnetArch   names and shapes -> block kind, blocks per stage, widths, classes
//   importCheckpoint  both, then the zoo builder with the checkpoint as its weight source
import type { Graph } from '../graph/ir';
import imagenetLabels from '../../models/labels/imagenet.json';
import { buildModel, type WeightSource } from '../zoo/build';
import { type CheckpointFormat, readStateDict, sniffCheckpoint, type StateDict } from './checkpoint';
import { ImportError } from './error';
import { archSpec, describeArch, inferResnetArch, namedArch, type ResnetArch } from './resnet-arch';
import { shapeStr, tensorToFloat32 } from './tensor';

export { ImportError } from './error';
export type { CheckpointFormat, StateDict } from './checkpoint';
export { archSpec, inferResnetArch, torchvisionName, type ResnetArch } from './resnet-arch';

/** torchvision's ImageNet evaluation: shorter side to 256, centre crop 224. */
const IMAGENET_INPUT_SIZE = 224;
const IMAGENET_RESIZE = 256;

/** Buffers torchvision's BatchNorm keeps that inference does not use. */
const UNUSED_BUFFER = /(^|\.)num_batches_tracked$/;

export interface ImportOptions {
  /** A torchvision ResNet name; the weights must fit it exactly. Default: read from the weights. */
  readonly arch?: string;
  /** The model's name (metadata and graph). Default: the architecture's. */
  readonly name?: string;
  /** Class names: 'imagenet' (needs 1000 classes) or one per class. Default: ImageNet's for 1000 classes, else numbered. */
  readonly labels?: 'imagenet' | readonly string[];
  /** Square input side. Default 224, torchvision's; tests use less (the nets are fully convolutional). */
  readonly inputSize?: number;
  /** Where the bytes came from (a file name), recorded in the metadata. */
  readonly source?: string;
}

export interface ImportedModel {
  readonly graph: Graph;
  readonly format: CheckpointFormat;
  readonly arch: ResnetArch;
  /** torchvision's name for the architecture, or a description of it. */
  readonly archName: string;
  /** The entry of a wrapped checkpoint the weights came from ('state_dict', 'model'), or '' for a bare one. */
  readonly entry: string;
  readonly dataParallel: boolean;
  /** Tensors read into the model, and their dtypes as stored. */
  readonly tensorsUsed: number;
  readonly dtypes: readonly string[];
  /** Tensors of the state dict the model does not use (BatchNorm's num_batches_tracked). */
  readonly ignored: readonly string[];
  readonly labels: 'imagenet' | 'given' | 'numbered';
}

/** Whether the bytes (or the first 16 bytes of a file of fileSize) are a checkpoint this module reads: by content, not by name. */
export function isCheckpoint(bytes: Uint8Array, fileSize = bytes.length): boolean {
  return sniffCheckpoint(bytes, fileSize) !== undefined;
}

export function importCheckpoint(bytes: Uint8Array, opts: ImportOptions = {}): ImportedModel {
  return importStateDict(readStateDict(bytes), opts);
}

/** A state dict already read: its architecture, then the zoo builder with it as the weight source. */
export function importStateDict(sd: StateDict, opts: ImportOptions = {}): ImportedModel {
  const shapes = new Map([...sd.tensors].map(([k, t]) => [k, t.shape] as const));
  const arch = opts.arch === undefined
    ? inferResnetArch(shapes)
    : namedArch(opts.arch, shapes.get('fc.weight')?.[0] ?? 1000, shapes.get('conv1.weight')?.[1] ?? 3);
  const archName = opts.arch ?? describeArch(arch);

  const used = new Set<string>();
  const dtypes = new Set<string>();
  const weights: WeightSource = (key, dims) => {
    const t = sd.tensors.get(key);
    if (!t) throw new ImportError(`missing '${key}': ${archName} needs a ${shapeStr(dims)} tensor there`);
    if (t.shape.length !== dims.length || t.shape.some((d, i) => d !== dims[i])) {
      throw new ImportError(`'${key}' has shape ${shapeStr(t.shape)}, where ${archName} needs ${shapeStr(dims)}`);
    }
    used.add(key);
    dtypes.add(t.dtype);
    return tensorToFloat32(t, `'${key}'`);
  };

  const { labels, kind } = resolveLabels(opts.labels, arch.classes);
  const inputSize = opts.inputSize ?? IMAGENET_INPUT_SIZE;
  const name = opts.name ?? (archName.startsWith('ResNet with') ? 'resnet' : archName);
  const source = opts.source === undefined ? undefined : `${opts.source} (${sd.format}, ${archName})`;
  const graph = buildModel(archSpec(arch, inputSize), {
    name,
    weights,
    meta: {
      labels,
      trained: true,
      ...(inputSize === IMAGENET_INPUT_SIZE && { resize: IMAGENET_RESIZE }),
      ...(source !== undefined && { source }),
    },
  });

  const unused = [...sd.tensors.keys()].filter((k) => !used.has(k));
  const unexpected = unused.filter((k) => !UNUSED_BUFFER.test(k));
  if (unexpected.length > 0) {
    const first = unexpected[0]!;
    const more = unexpected.length > 1 ? ` (and ${unexpected.length - 1} more)` : '';
    throw new ImportError(`unexpected '${first}' ${shapeStr(sd.tensors.get(first)!.shape)}${more}: ${archName} has no such parameter`);
  }
  return {
    graph, format: sd.format, arch, archName, entry: sd.entry, dataParallel: sd.dataParallel,
    tensorsUsed: used.size, dtypes: [...dtypes], ignored: unused, labels: kind,
  };
}

function resolveLabels(
  labels: ImportOptions['labels'], classes: number,
): { labels: readonly string[]; kind: ImportedModel['labels'] } {
  if (labels === 'imagenet' || (labels === undefined && classes === imagenetLabels.length)) {
    if (classes !== imagenetLabels.length) {
      throw new ImportError(`ImageNet labels need ${imagenetLabels.length} classes, the checkpoint's classifier has ${classes}`);
    }
    return { labels: imagenetLabels, kind: 'imagenet' };
  }
  if (labels === undefined) return { labels: [], kind: 'numbered' };
  if (labels.length !== classes) throw new ImportError(`${labels.length} labels given for the checkpoint's ${classes} classes`);
  return { labels, kind: 'given' };
}

/** Class names from a labels file: a JSON array of strings, or one name per line. */
export function parseLabels(text: string): string[] {
  const trimmed = text.replace(/^\uFEFF/, '').trim();
  if (trimmed.startsWith('[')) {
    let v: unknown;
    try {
      v = JSON.parse(trimmed);
    } catch (e) {
      throw new ImportError(`the labels file looks like JSON but does not parse (${e instanceof Error ? e.message : String(e)})`);
    }
    if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) throw new ImportError('the labels file is JSON but not an array of strings');
    return v;
  }
  const lines = trimmed.split(/\r?\n/).map((l) => l.trim());
  if (lines.some((l) => l === '')) throw new ImportError('the labels file has an empty line: give one class name per line');
  return lines;
}

// From a file's bytes to a state dict (parameter name -> tensor), whatever the container: the format is
// told by content, never by extension, and the state dict is found where training scripts put it.
import { ImportError } from './error';
import { isPyDict, type PyDict } from './pickle';
import { readSafetensors, safetensorsHeaderLength } from './safetensors';
import { type CheckpointTensor, isCheckpointTensor } from './tensor';
import { readTorchLegacy, readTorchZip, type TorchFormat } from './torch-file';

export type CheckpointFormat = TorchFormat | 'safetensors';

/** Where wrapped checkpoints keep the model's weights (the ImageNet example: 'state_dict'; others: 'model'). */
const WRAPPER_KEYS = ['state_dict', 'model', 'model_state_dict'] as const;

/** nn.DataParallel / DistributedDataParallel prefix every key with this. */
const DATA_PARALLEL_PREFIX = 'module.';

/**
 * The checkpoint format of a file by its first bytes: a zip's local-header magic, a pickle's PROTO opcode
 * (torch.save's legacy format starts with one), or a safetensors header length followed by '{'.
 * Undefined for anything else (ONNX files among them: a ModelProto starts with 0x08). Given only the
 * start of a file (16 bytes are enough), pass the file's size.
 */
export function sniffCheckpoint(bytes: Uint8Array, fileSize = bytes.length): CheckpointFormat | undefined {
  if (bytes[0] === 0x50 && bytes[1] === 0x4b && (bytes[2] === 0x03 || bytes[2] === 0x05) && (bytes[3] === 0x04 || bytes[3] === 0x06)) {
    return 'torch.save zip';
  }
  if (bytes[0] === 0x80 && bytes[1] !== undefined && bytes[1] >= 2 && bytes[1] <= 5) return 'torch.save legacy';
  if (safetensorsHeaderLength(bytes, fileSize) !== undefined) return 'safetensors';
  return undefined;
}

export interface StateDict {
  readonly format: CheckpointFormat;
  /** Parameter and buffer names (DataParallel's 'module.' removed) -> tensors, in file order. */
  readonly tensors: ReadonlyMap<string, CheckpointTensor>;
  /** The entry of a wrapped checkpoint the weights came from ('state_dict', 'model'), or '' for a bare one. */
  readonly entry: string;
  /** Whether every key had DataParallel's 'module.' prefix (now removed). */
  readonly dataParallel: boolean;
}

export function readStateDict(bytes: Uint8Array): StateDict {
  const format = sniffCheckpoint(bytes);
  if (format === undefined) {
    throw new ImportError('not a PyTorch checkpoint: neither a torch.save zip, a legacy torch.save pickle, nor safetensors');
  }
  if (format === 'safetensors') return withoutDataParallelPrefix(format, readSafetensors(bytes), '');
  const root = format === 'torch.save zip' ? readTorchZip(bytes) : readTorchLegacy(bytes);
  const { dict, entry } = findStateDict(root);
  const tensors = new Map<string, CheckpointTensor>();
  for (const [k, v] of dict) {
    // A state dict holds tensors only; anything else under it (rare: extra state) is not a weight.
    if (typeof k === 'string' && isCheckpointTensor(v)) tensors.set(k, v);
  }
  return withoutDataParallelPrefix(format, tensors, entry);
}

function tensorCount(d: PyDict): number {
  let n = 0;
  for (const v of d.values()) if (isCheckpointTensor(v)) n++;
  return n;
}

/** A bare state dict, or the one under a wrapper key of a training checkpoint ({epoch, optimizer, ...}). */
function findStateDict(root: unknown): { dict: PyDict; entry: string } {
  if (!isPyDict(root)) throw new ImportError(`the checkpoint holds ${describe(root)}, not a dict of tensors (a state dict)`);
  // Wrappers first: a training checkpoint may hold stray tensors of its own (e.g. 'best_acc1') at the top.
  // A bare state dict cannot be mistaken for one: its values are tensors, never dicts.
  for (const key of WRAPPER_KEYS) {
    const inner = root.get(key);
    if (isPyDict(inner) && tensorCount(inner) > 0) return { dict: inner, entry: key };
  }
  if (tensorCount(root) > 0) return { dict: root, entry: '' };
  const keys = [...root.keys()].slice(0, 8).map((k) => String(k));
  throw new ImportError(`no state dict in the checkpoint: it is a dict with keys ${keys.join(', ') || '(none)'}, and none of ${WRAPPER_KEYS.join(', ')} holds tensors`);
}

function withoutDataParallelPrefix(format: CheckpointFormat, tensors: Map<string, CheckpointTensor>, entry: string): StateDict {
  const keys = [...tensors.keys()];
  if (keys.length === 0) throw new ImportError('the checkpoint has no tensors');
  if (!keys.every((k) => k.startsWith(DATA_PARALLEL_PREFIX))) return { format, tensors, entry, dataParallel: false };
  const stripped = new Map<string, CheckpointTensor>();
  for (const [k, v] of tensors) stripped.set(k.slice(DATA_PARALLEL_PREFIX.length), v);
  return { format, tensors: stripped, entry, dataParallel: true };
}

function describe(v: unknown): string {
  if (v === null) return 'None';
  if (isCheckpointTensor(v)) return 'a single tensor';
  if (Array.isArray(v)) return 'a list';
  return `a ${typeof v}`;
}

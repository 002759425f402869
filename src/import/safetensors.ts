// .safetensors: an 8-byte little-endian header length N, N bytes of JSON
// ({"name": {"dtype": "F32", "shape": [...], "data_offsets": [begin, end]}, "__metadata__": {...}}), then
// the tensors' little-endian, contiguous bytes, with offsets relative to the end of the header. Every
// offset is checked against the file and every byte count against dtype x shape before any use.
import { ImportError } from './error';
import { type CheckpointTensor, contiguousStrides, ELEMENT_BYTES, numel, shapeStr, type TensorStorage } from './tensor';

/** The safetensors library's own limit on the JSON header. */
const MAX_SAFETENSORS_HEADER = 100_000_000;

/** safetensors dtype names -> PyTorch's. */
const DTYPES: Readonly<Record<string, string>> = {
  F64: 'float64', F32: 'float32', F16: 'float16', BF16: 'bfloat16', I64: 'int64', I32: 'int32', I16: 'int16',
  I8: 'int8', U8: 'uint8', BOOL: 'bool', C64: 'complex64',
};
/** Dtypes the format defines that we do not convert: named as they are in errors. */
const OTHER_DTYPES: Readonly<Record<string, number>> = {
  U16: 2, U32: 4, U64: 8, F8_E4M3: 1, F8_E5M2: 1, F8_E8M0: 1, F6_E2M3: 1, F6_E3M2: 1, F4: 1,
};

/**
 * The header length a safetensors file starts with, when its first bytes look like one (for sniffing):
 * a length that fits the file, then '{'. `fileSize` is the whole file's when `head` is only its start.
 */
export function safetensorsHeaderLength(head: Uint8Array, fileSize = head.length): number | undefined {
  if (head.length < 9 || fileSize < 10) return undefined;
  const n = new DataView(head.buffer, head.byteOffset, 8).getBigUint64(0, true);
  if (n < 2n || n > BigInt(Math.min(MAX_SAFETENSORS_HEADER, fileSize - 8))) return undefined;
  return head[8] === 0x7b /* '{' */ ? Number(n) : undefined;
}

export function readSafetensors(bytes: Uint8Array): Map<string, CheckpointTensor> {
  if (bytes.length < 8) throw new ImportError(`the safetensors file is ${bytes.length} bytes, too short for its header length`);
  const declared = new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true);
  if (declared > BigInt(bytes.length - 8)) {
    throw new ImportError(`the safetensors header declares ${declared} bytes, but the file has ${bytes.length - 8} after the length`);
  }
  if (declared > BigInt(MAX_SAFETENSORS_HEADER)) throw new ImportError(`the safetensors header is ${declared} bytes, over the limit of ${MAX_SAFETENSORS_HEADER}`);
  const headerLength = Number(declared);
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + headerLength)));
  } catch (e) {
    throw new ImportError(`the safetensors header is not valid JSON (${e instanceof Error ? e.message : String(e)})`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) throw new ImportError('the safetensors header is not a JSON object');
  const data = bytes.subarray(8 + headerLength);
  const out = new Map<string, CheckpointTensor>();
  for (const [name, entry] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    out.set(name, tensorEntry(name, entry, data));
  }
  return out;
}

function tensorEntry(name: string, entry: unknown, data: Uint8Array): CheckpointTensor {
  const where = `safetensors tensor '${name}'`;
  if (typeof entry !== 'object' || entry === null) throw new ImportError(`${where} is not an object`);
  const { dtype, shape, data_offsets: offsets } = entry as Record<string, unknown>;
  if (typeof dtype !== 'string') throw new ImportError(`${where} has no dtype`);
  const isInts = (v: unknown, len?: number): v is number[] =>
    Array.isArray(v) && v.every((x) => Number.isSafeInteger(x) && x >= 0) && (len === undefined || v.length === len);
  if (!isInts(shape)) throw new ImportError(`${where}: shape ${JSON.stringify(shape)} is not a list of non-negative integers`);
  if (!isInts(offsets, 2) || offsets[0]! > offsets[1]!) throw new ImportError(`${where}: data_offsets ${JSON.stringify(offsets)} are not [begin, end]`);
  const [begin, end] = offsets as [number, number];
  if (end > data.length) {
    throw new ImportError(`${where}: data_offsets [${begin}, ${end}] reach past the ${data.length} data bytes of the file`);
  }
  const torchDtype = DTYPES[dtype];
  const size = torchDtype ? ELEMENT_BYTES[torchDtype]! : OTHER_DTYPES[dtype];
  if (size === undefined) throw new ImportError(`${where} has dtype '${dtype}', which is not a safetensors dtype we know`);
  const nbytes = numel(shape) * size;
  if (end - begin !== nbytes) {
    throw new ImportError(`${where}: ${dtype} ${shapeStr(shape)} is ${nbytes} bytes, but data_offsets [${begin}, ${end}] hold ${end - begin}`);
  }
  const bytes = data.subarray(begin, end);
  const storage: TensorStorage = { bigEndian: false, bytes: () => bytes };
  return { dtype: torchDtype ?? dtype, shape, strides: contiguousStrides(shape), offset: 0, storage };
}

// Training checkpoints: everything needed to continue after an interrupt (recipe, epochs done, history,
// parameters, running statistics, momentum), written atomically (temp file, then rename) so a crash while
// writing leaves the previous checkpoint intact, and checked on load so a damaged one is never resumed.
//
// Layout (RLCKPT02): "RLCKPT02", u32 little-endian header length, u32 little-endian CRC-32 of everything
// after it (header, padding, floats), header JSON (UTF-8), zero padding to 4 bytes, then float32
// little-endian: parameters, states, velocity.
//
// On load: the CRC must match (a flipped bit anywhere is refused), the header must be an object with
// sizes that match the file, epochsDone an integer from 0 to the recipe's epochs with one history
// record per epoch done, and every parameter, state and velocity finite. Checkpoints of the first
// layout (RLCKPT01) have no checksum: a corrupt one cannot be told from a good one (a flipped bit in a
// weight stays finite), so they are refused with a message saying so rather than resumed unverified.
import { UserError } from '../errors';
import { FileReadError, readRegularFile } from '../read-file';

const MAGIC = 'RLCKPT02';
const OLD_MAGIC = 'RLCKPT01';
/** Bytes before the header JSON: magic, header length, CRC-32. */
const PREFIX = 16;

export interface CheckpointHeader<R, H> {
  readonly recipe: R;
  readonly epochsDone: number;
  readonly history: readonly H[];
  readonly paramCount: number;
  readonly stateCount: number;
}

export interface Checkpoint<R, H> extends CheckpointHeader<R, H> {
  readonly params: Float32Array;
  readonly states: Float32Array;
  readonly velocity: Float32Array;
}

/** A checkpoint we will not resume: `message` is one line naming the file and what is wrong. */
export class CheckpointError extends UserError {
  override name = 'CheckpointError';
}

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/** CRC-32 (IEEE 802.3, as zlib and PNG compute it). */
export function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) c = CRC_TABLE[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

export function encodeCheckpoint<R, H>(c: Checkpoint<R, H>): Uint8Array {
  if (c.params.length !== c.paramCount || c.velocity.length !== c.paramCount || c.states.length !== c.stateCount) {
    throw new CheckpointError(`checkpoint: ${c.params.length} params / ${c.velocity.length} velocities / ${c.states.length} states do not match the header (${c.paramCount}, ${c.stateCount})`);
  }
  const header: CheckpointHeader<R, H> = {
    recipe: c.recipe, epochsDone: c.epochsDone, history: c.history, paramCount: c.paramCount, stateCount: c.stateCount,
  };
  const json = new TextEncoder().encode(JSON.stringify(header));
  const start = Math.ceil((PREFIX + json.length) / 4) * 4;
  const floats = 2 * c.paramCount + c.stateCount;
  const out = new Uint8Array(start + 4 * floats);
  out.set(new TextEncoder().encode(MAGIC), 0);
  const view = new DataView(out.buffer);
  view.setUint32(8, json.length, true);
  out.set(json, PREFIX);
  const f = new Float32Array(out.buffer, start, floats);
  f.set(c.params, 0);
  f.set(c.states, c.paramCount);
  f.set(c.velocity, c.paramCount + c.stateCount);
  view.setUint32(12, crc32(out.subarray(PREFIX)), true);
  return out;
}

/** Index and value of the first non-finite entry, and how many there are. */
function nonFinite(f: Float32Array): { first: number; value: number; count: number } | null {
  let first = -1;
  let count = 0;
  for (let i = 0; i < f.length; i++) {
    if (!Number.isFinite(f[i]!)) {
      if (first < 0) first = i;
      count++;
    }
  }
  return first < 0 ? null : { first, value: f[first]!, count };
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Header fields in range: throws CheckpointError naming the first that is not. */
function checkHeader(h: unknown, what: string): asserts h is CheckpointHeader<unknown, unknown> {
  const bad = (msg: string): never => {
    throw new CheckpointError(`${what}: ${msg}`);
  };
  if (!isObject(h)) return bad(`checkpoint header is ${h === null ? 'null' : Array.isArray(h) ? 'an array' : typeof h}, not an object`);
  const { paramCount, stateCount, epochsDone, history, recipe } = h;
  if (!Number.isSafeInteger(paramCount) || !Number.isSafeInteger(stateCount) || (paramCount as number) < 0 || (stateCount as number) < 0) {
    return bad('bad sizes in the checkpoint header');
  }
  if (!isObject(recipe)) return bad('the checkpoint has no recipe');
  const epochs = recipe['epochs'];
  if (epochs !== undefined && !(Number.isSafeInteger(epochs) && (epochs as number) >= 1)) return bad(`the recipe's epochs (${JSON.stringify(epochs)}) is not a positive integer`);
  if (typeof epochsDone !== 'number' || !Number.isSafeInteger(epochsDone) || epochsDone < 0 || (epochs !== undefined && epochsDone > (epochs as number))) {
    return bad(`epochsDone ${JSON.stringify(epochsDone)} is not an integer from 0 to ${epochs === undefined ? 'the recipe\'s epochs' : `the recipe's ${epochs} epochs`}`);
  }
  if (!Array.isArray(history) || history.length !== epochsDone) {
    return bad(`the history has ${Array.isArray(history) ? `${history.length} records` : 'no records'}, epochsDone says ${epochsDone}`);
  }
  history.forEach((r, i) => {
    if (!isObject(r) || !Object.values(r).every((v) => typeof v === 'number' && Number.isFinite(v))) bad(`history record ${i + 1} is not a record of finite numbers`);
    if (r['epoch'] !== undefined && r['epoch'] !== i + 1) bad(`history record ${i + 1} says epoch ${JSON.stringify(r['epoch'])}`);
  });
}

export function decodeCheckpoint<R, H>(bytes: Uint8Array, what: string): Checkpoint<R, H> {
  const magic = bytes.length >= 8 ? new TextDecoder().decode(bytes.subarray(0, 8)) : '';
  if (magic === OLD_MAGIC) {
    throw new CheckpointError(`${what}: written by an older resnet-lab, without a checksum, so it cannot be verified and is not resumed; move it away (or choose another --out) to train from scratch`);
  }
  if (bytes.length < PREFIX || magic !== MAGIC) throw new CheckpointError(`${what}: not a resnet-lab checkpoint`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const len = view.getUint32(8, true);
  if (PREFIX + len > bytes.length) throw new CheckpointError(`${what}: truncated checkpoint header`);
  const stored = view.getUint32(12, true);
  const actual = crc32(bytes.subarray(PREFIX));
  if (stored !== actual) {
    throw new CheckpointError(`${what}: checksum mismatch (CRC-32 ${hex(actual)}, the file says ${hex(stored)}): the checkpoint is corrupt or truncated`);
  }
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(PREFIX, PREFIX + len)));
  } catch {
    throw new CheckpointError(`${what}: checkpoint header is not valid JSON`);
  }
  checkHeader(header, what);
  const { paramCount, stateCount } = header;
  const start = Math.ceil((PREFIX + len) / 4) * 4;
  const floats = 2 * paramCount + stateCount;
  if (bytes.length !== start + 4 * floats) throw new CheckpointError(`${what}: checkpoint has ${bytes.length} bytes, its header needs ${start + 4 * floats}`);
  // Copy to an aligned buffer (the file's bytes may sit at any offset).
  const f = new Float32Array(floats);
  new Uint8Array(f.buffer).set(bytes.subarray(start));
  const parts = { params: f.subarray(0, paramCount), states: f.subarray(paramCount, paramCount + stateCount), velocity: f.subarray(paramCount + stateCount) };
  for (const [name, data] of Object.entries(parts)) {
    const nf = nonFinite(data);
    if (nf) throw new CheckpointError(`${what}: ${nf.count} of its ${data.length} ${name} are not finite (${name} ${nf.first} is ${nf.value}): training diverged or the file is corrupt`);
  }
  return { ...(header as CheckpointHeader<R, H>), ...parts };
}

const hex = (n: number): string => n.toString(16).padStart(8, '0');

/** Largest checkpoint we read (resnet110's is 14 MB). */
const MAX_CHECKPOINT_BYTES = 512 * 2 ** 20;

/**
 * The checkpoint at `path`, or null when there is none. Anything else than a regular file within
 * MAX_CHECKPOINT_BYTES (a FIFO, a link to /dev/zero...) is a CheckpointError, refused before reading.
 */
export function readCheckpoint<R, H>(path: string): Checkpoint<R, H> | null {
  let bytes: Uint8Array;
  try {
    bytes = readRegularFile(path, { maxBytes: MAX_CHECKPOINT_BYTES });
  } catch (e) {
    if (e instanceof FileReadError && e.kind === 'not-found') return null;
    if (e instanceof FileReadError) throw new CheckpointError(e.message, { cause: e });
    throw e;
  }
  return decodeCheckpoint<R, H>(bytes, path);
}

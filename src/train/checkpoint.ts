// Training checkpoints: everything needed to continue after an interrupt (recipe, epochs done, history,
// parameters, running statistics, momentum), written atomically (temp file, then rename) so a crash while
// writing leaves the previous checkpoint intact.
//
// Layout: "RLCKPT01", u32 little-endian header length, header JSON (UTF-8), zero padding to 4 bytes, then
// float32 little-endian: parameters, states, velocity.
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { UserError } from '../errors';

const MAGIC = 'RLCKPT01';

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

export class CheckpointError extends UserError {
  override name = 'CheckpointError';
}

/** Writes `bytes` to `path` via a temporary file and a rename (atomic on POSIX file systems). */
export function writeAtomic(path: string, bytes: Uint8Array | string): void {
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, bytes);
  renameSync(tmp, path);
}

export function encodeCheckpoint<R, H>(c: Checkpoint<R, H>): Uint8Array {
  if (c.params.length !== c.paramCount || c.velocity.length !== c.paramCount || c.states.length !== c.stateCount) {
    throw new CheckpointError(`checkpoint: ${c.params.length} params / ${c.velocity.length} velocities / ${c.states.length} states do not match the header (${c.paramCount}, ${c.stateCount})`);
  }
  const header: CheckpointHeader<R, H> = {
    recipe: c.recipe, epochsDone: c.epochsDone, history: c.history, paramCount: c.paramCount, stateCount: c.stateCount,
  };
  const json = new TextEncoder().encode(JSON.stringify(header));
  const start = Math.ceil((12 + json.length) / 4) * 4;
  const floats = 2 * c.paramCount + c.stateCount;
  const out = new Uint8Array(start + 4 * floats);
  out.set(new TextEncoder().encode(MAGIC), 0);
  new DataView(out.buffer).setUint32(8, json.length, true);
  out.set(json, 12);
  const f = new Float32Array(out.buffer, start, floats);
  f.set(c.params, 0);
  f.set(c.states, c.paramCount);
  f.set(c.velocity, c.paramCount + c.stateCount);
  return out;
}

export function decodeCheckpoint<R, H>(bytes: Uint8Array, what: string): Checkpoint<R, H> {
  if (bytes.length < 12 || new TextDecoder().decode(bytes.subarray(0, 8)) !== MAGIC) throw new CheckpointError(`${what}: not a resnet-lab checkpoint`);
  const len = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(8, true);
  if (12 + len > bytes.length) throw new CheckpointError(`${what}: truncated checkpoint header`);
  let header: CheckpointHeader<R, H>;
  try {
    header = JSON.parse(new TextDecoder().decode(bytes.subarray(12, 12 + len))) as CheckpointHeader<R, H>;
  } catch {
    throw new CheckpointError(`${what}: checkpoint header is not valid JSON`);
  }
  const { paramCount, stateCount } = header;
  if (!Number.isInteger(paramCount) || !Number.isInteger(stateCount) || paramCount < 0 || stateCount < 0) throw new CheckpointError(`${what}: bad sizes in the checkpoint header`);
  const start = Math.ceil((12 + len) / 4) * 4;
  const floats = 2 * paramCount + stateCount;
  if (bytes.length !== start + 4 * floats) throw new CheckpointError(`${what}: checkpoint has ${bytes.length} bytes, its header needs ${start + 4 * floats}`);
  // Copy to an aligned buffer (the file's bytes may sit at any offset).
  const f = new Float32Array(floats);
  new Uint8Array(f.buffer).set(bytes.subarray(start));
  return {
    ...header,
    params: f.subarray(0, paramCount),
    states: f.subarray(paramCount, paramCount + stateCount),
    velocity: f.subarray(paramCount + stateCount),
  };
}

export function readCheckpoint<R, H>(path: string): Checkpoint<R, H> | null {
  if (!existsSync(path)) return null;
  return decodeCheckpoint<R, H>(new Uint8Array(readFileSync(path)), path);
}

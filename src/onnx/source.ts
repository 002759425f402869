// Reading an ONNX model without holding its weights: a ByteSource reads any range of the file when asked (a
// file on disk, read piece by piece, or bytes in memory), and modelSkeleton copies out everything but the
// large raw_data of the graph's initializers, noting where each of those is. The reader decodes the
// skeleton (a few hundred kB for a ResNet-50 of 100 MB) and reads each initializer's bytes when the engine
// packs that layer. Anything unusual in the file's framing makes modelSkeleton give up (undefined), and the
// reader then reads the whole file and checks it as it always has, so every refusal says what it always said.

/** Bytes by range: a file read piece by piece, or bytes in memory. */
export interface ByteSource {
  readonly byteLength: number;
  /** `length` bytes from `offset` (within byteLength): a view or a fresh copy, either may come back. */
  read(offset: number, length: number): Uint8Array;
  /** dst.length bytes from `offset` into dst (where the source can do that without a buffer of its own). */
  readInto?(offset: number, dst: Uint8Array): void;
}

/** A ByteSource over bytes in memory (reads are views). */
export function memorySource(bytes: Uint8Array): ByteSource {
  return {
    byteLength: bytes.length,
    read: (offset, length) => bytes.subarray(offset, offset + length),
    readInto: (offset, dst) => dst.set(bytes.subarray(offset, offset + dst.length)),
  };
}

/** The whole of a source. */
export function readAll(src: ByteSource): Uint8Array {
  return src.read(0, src.byteLength);
}

/** Where an initializer's raw_data is in the source. */
export interface RawRef {
  readonly offset: number;
  readonly length: number;
}

export interface Skeleton {
  /** The ModelProto without the large raw_data fields of its graph's initializers. */
  readonly bytes: Uint8Array;
  /** For each initializer of the graph, in order: where its raw_data is, or undefined when it stayed in `bytes`. */
  readonly raw: readonly (RawRef | undefined)[];
}

/** raw_data shorter than this stays in the skeleton. */
const MIN_LEFT_BYTES = 4096;
/** Bytes read at a time while walking the framing. */
const WINDOW = 1 << 13;

/** Field numbers of onnx.proto: ModelProto.graph, GraphProto.initializer, TensorProto.raw_data. */
const MODEL_GRAPH = 7;
const GRAPH_INITIALIZER = 5;
const TENSOR_RAW_DATA = 9;

class Unusual extends Error {}

/** Reads the source through a window, so walking the framing reads only the framing (and what is copied). */
class Cursor {
  private buf: Uint8Array = new Uint8Array(0);
  private at = 0;

  constructor(private readonly src: ByteSource) {}

  byte(pos: number): number {
    if (pos < this.at || pos >= this.at + this.buf.length) {
      if (pos >= this.src.byteLength) throw new Unusual();
      this.buf = this.src.read(pos, Math.min(WINDOW, this.src.byteLength - pos));
      this.at = pos;
    }
    return this.buf[pos - this.at]!;
  }

  bytes(pos: number, length: number): Uint8Array {
    if (pos >= this.at && pos + length <= this.at + this.buf.length) return this.buf.subarray(pos - this.at, pos - this.at + length);
    return this.src.read(pos, length);
  }
}

interface Field {
  readonly field: number;
  readonly wire: number;
  /** Where the field's tag starts, where its value (after a length prefix) starts, where it ends. */
  readonly start: number;
  readonly value: number;
  readonly end: number;
}

/**
 * The fields of the message in [start, end), with the wire check's rules (wire-check.ts): tags and lengths
 * varints of at most 5 bytes, lengths within the message, no field 0, no groups. Anything else: Unusual.
 */
function* fields(c: Cursor, start: number, end: number): Generator<Field> {
  let pos = start;
  const varint = (maxBytes: number): number => {
    let value = 0;
    let scale = 1;
    for (let i = 0; ; i++) {
      if (pos >= end || i >= maxBytes) throw new Unusual();
      const b = c.byte(pos++);
      value += (b & 0x7f) * scale;
      scale *= 128;
      if (b < 0x80) return value;
    }
  };
  while (pos < end) {
    const at = pos;
    const tag = varint(5);
    const field = Math.floor(tag / 8);
    const wire = tag & 7;
    if (field === 0) throw new Unusual();
    let value = pos;
    if (wire === 0) varint(10);
    else if (wire === 1) pos += 8;
    else if (wire === 5) pos += 4;
    else if (wire === 2) {
      const len = varint(5);
      value = pos;
      if (len > end - pos) throw new Unusual();
      pos += len;
    } else throw new Unusual();
    if (pos > end) throw new Unusual();
    yield { field, wire, start: at, value, end: pos };
  }
}

function varintBytes(v: number): number[] {
  const out: number[] = [];
  while (v >= 0x80) {
    out.push((v % 0x80) | 0x80);
    v = Math.floor(v / 0x80);
  }
  out.push(v);
  return out;
}

/** A message being rebuilt: its parts in order and their total length. */
class Parts {
  readonly list: Uint8Array[] = [];
  length = 0;

  add(b: Uint8Array): void {
    this.list.push(b);
    this.length += b.length;
  }

  /** A length-delimited field holding `inner`. */
  addMessage(field: number, inner: Parts): void {
    this.add(Uint8Array.from([...varintBytes(field * 8 + 2), ...varintBytes(inner.length)]));
    for (const p of inner.list) this.add(p);
  }
}

function tensorSkeleton(c: Cursor, f: Field): { parts: Parts; raw: RawRef | undefined } {
  const parts = new Parts();
  let raw: RawRef | undefined;
  let rawFields = 0;
  for (const t of fields(c, f.value, f.end)) {
    if (t.field === TENSOR_RAW_DATA) {
      // protobufjs keeps the last of repeated raw_data fields and reads any wire type as bytes: not ours to mimic.
      if (++rawFields > 1 || t.wire !== 2) throw new Unusual();
      if (t.end - t.value >= MIN_LEFT_BYTES) {
        raw = { offset: t.value, length: t.end - t.value };
        continue;
      }
    }
    parts.add(c.bytes(t.start, t.end - t.start));
  }
  return { parts, raw };
}

function graphSkeleton(c: Cursor, f: Field): { parts: Parts; raw: (RawRef | undefined)[] } {
  const parts = new Parts();
  const raw: (RawRef | undefined)[] = [];
  for (const g of fields(c, f.value, f.end)) {
    if (g.field === GRAPH_INITIALIZER && g.wire === 2) {
      const t = tensorSkeleton(c, g);
      parts.addMessage(GRAPH_INITIALIZER, t.parts);
      raw.push(t.raw);
    } else {
      if (g.field === GRAPH_INITIALIZER) throw new Unusual();
      parts.add(c.bytes(g.start, g.end - g.start));
    }
  }
  return { parts, raw };
}

/** The model without its initializers' large raw_data, or undefined if its framing is anything but plain. */
export function modelSkeleton(src: ByteSource): Skeleton | undefined {
  const c = new Cursor(src);
  try {
    const parts = new Parts();
    let raw: (RawRef | undefined)[] = [];
    let graphs = 0;
    for (const f of fields(c, 0, src.byteLength)) {
      if (f.field === MODEL_GRAPH) {
        // protobufjs keeps the last graph field where protobuf would merge them: left to the whole-file path.
        if (++graphs > 1 || f.wire !== 2) throw new Unusual();
        const g = graphSkeleton(c, f);
        parts.addMessage(MODEL_GRAPH, g.parts);
        raw = g.raw;
      } else {
        parts.add(c.bytes(f.start, f.end - f.start));
      }
    }
    const bytes = new Uint8Array(parts.length);
    let at = 0;
    for (const p of parts.list) {
      bytes.set(p, at);
      at += p.length;
    }
    return { bytes, raw };
  } catch (e) {
    if (e instanceof Unusual) return undefined;
    throw e;
  }
}

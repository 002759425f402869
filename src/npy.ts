// NumPy .npy files <-> Tensor. Pure (no Node imports): the renderer reads them too.
//
// Format (numpy/lib/format.py, NEP 1): magic "\x93NUMPY", major and minor version bytes, header length
// (uint16 LE in v1, uint32 LE in v2/v3), then a Python dict literal
// {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), } padded with spaces and a newline so the
// data starts on a 64-byte boundary (older writers: 16). v1/v2 headers are latin-1, v3 UTF-8.
import { UserError } from './errors';
import { tensor, shapeStr, type Tensor } from '../kernels/core/tensor';

export class NpyError extends UserError {
  override readonly name = 'NpyError';
}

/** Largest .npy file a caller should read for parseNpy (the CLI's --input): 1 GiB of data. */
export const MAX_NPY_BYTES = 2 ** 30;

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY
const ALIGN = 64;
/** numpy leaves room for the first axis to grow to this many digits when it writes a header. */
const GROWTH_AXIS_MAX_DIGITS = 21;

/** Little-endian dtypes we read, with their item size. */
const DTYPES = { '<f4': 4, '<f8': 8, '<i4': 4, '<i8': 8 } as const;
type Dtype = keyof typeof DTYPES;

interface NpyHeader {
  descr: string;
  fortranOrder: boolean;
  shape: number[];
}

// --- header parsing: the small subset of Python literal syntax numpy writes ---

type PyValue = string | boolean | number | PyValue[] | { tuple: PyValue[] };

class HeaderParser {
  private pos = 0;
  constructor(private readonly text: string) {}

  private fail(what: string): never {
    throw new NpyError(`npy: bad header at character ${this.pos} (${what}): ${JSON.stringify(this.text.trim())}`);
  }

  private skipSpace(): void {
    while (this.pos < this.text.length && /\s/.test(this.text[this.pos]!)) this.pos++;
  }

  private peek(): string {
    this.skipSpace();
    return this.text[this.pos] ?? '';
  }

  private expect(ch: string): void {
    if (this.peek() !== ch) this.fail(`expected '${ch}'`);
    this.pos++;
  }

  private string(): string {
    const quote = this.peek();
    if (quote !== "'" && quote !== '"') this.fail('expected a string');
    const end = this.text.indexOf(quote, this.pos + 1);
    if (end < 0) this.fail('unterminated string');
    const s = this.text.slice(this.pos + 1, end);
    this.pos = end + 1;
    return s;
  }

  private value(): PyValue {
    const c = this.peek();
    if (c === "'" || c === '"') return this.string();
    if (c === '(' || c === '[') return this.sequence(c === '(' ? ')' : ']');
    const m = /^(True|False|-?\d+L?)/.exec(this.text.slice(this.pos));
    if (!m) this.fail('expected a string, bool, integer, tuple or list');
    this.pos += m[0].length;
    if (m[0] === 'True') return true;
    if (m[0] === 'False') return false;
    return Number(m[0].replace('L', '')); // Python 2 numpy wrote longs as "3L"
  }

  private sequence(close: string): PyValue {
    this.pos++;
    const items: PyValue[] = [];
    while (this.peek() !== close) {
      items.push(this.value());
      if (this.peek() === ',') this.pos++;
      else if (this.peek() !== close) this.fail(`expected ',' or '${close}'`);
    }
    this.pos++;
    return close === ']' ? items : { tuple: items };
  }

  dict(): Map<string, PyValue> {
    const out = new Map<string, PyValue>();
    this.expect('{');
    while (this.peek() !== '}') {
      const key = this.string();
      this.expect(':');
      if (out.has(key)) this.fail(`duplicate key '${key}'`);
      out.set(key, this.value());
      if (this.peek() === ',') this.pos++;
      else if (this.peek() !== '}') this.fail("expected ',' or '}'");
    }
    this.pos++;
    if (this.peek() !== '') this.fail('text after the dict');
    return out;
  }
}

function parseHeader(text: string): NpyHeader {
  const dict = new HeaderParser(text).dict();
  const keys = [...dict.keys()].sort().join(', ');
  if (keys !== 'descr, fortran_order, shape') {
    throw new NpyError(`npy: header keys are [${keys}], expected [descr, fortran_order, shape]`);
  }
  const descr = dict.get('descr');
  const fortran = dict.get('fortran_order');
  const shape = dict.get('shape');
  if (typeof descr !== 'string') {
    throw new NpyError('npy: structured dtypes (a list descr) are not supported; save a plain float32 array');
  }
  if (typeof fortran !== 'boolean') throw new NpyError(`npy: fortran_order must be True or False`);
  if (typeof shape !== 'object' || Array.isArray(shape) || !shape.tuple.every((d) => typeof d === 'number')) {
    throw new NpyError('npy: shape must be a tuple of integers');
  }
  const dims = shape.tuple as number[];
  for (const d of dims) {
    if (!Number.isSafeInteger(d) || d < 0) throw new NpyError(`npy: bad dimension ${d} in shape (${dims.join(', ')})`);
  }
  return { descr, fortranOrder: fortran, shape: dims };
}

function checkDtype(descr: string): Dtype {
  if (descr in DTYPES) return descr as Dtype;
  const supported = Object.keys(DTYPES).join(', ');
  if (/^>/.test(descr)) {
    throw new NpyError(`npy: big-endian data ('${descr}') is not supported; save with arr.astype('<${descr.slice(1)}')`);
  }
  throw new NpyError(`npy: dtype '${descr}' is not supported (supported: ${supported})`);
}

const littleEndianHost = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

function decodeData(bytes: Uint8Array, dtype: Dtype, count: number): Float32Array {
  const itemSize = DTYPES[dtype];
  // A copy of the data bytes: aligned for typed-array views whatever the header length was.
  const copy = bytes.slice(0, count * itemSize);
  if (littleEndianHost) {
    switch (dtype) {
      case '<f4': return new Float32Array(copy.buffer, 0, count);
      case '<f8': return Float32Array.from(new Float64Array(copy.buffer, 0, count));
      case '<i4': return Float32Array.from(new Int32Array(copy.buffer, 0, count));
      case '<i8': {
        const src = new BigInt64Array(copy.buffer, 0, count);
        const out = new Float32Array(count);
        for (let i = 0; i < count; i++) out[i] = Number(src[i]!);
        return out;
      }
    }
  }
  const view = new DataView(copy.buffer);
  const out = new Float32Array(count);
  for (let i = 0; i < count; i++) {
    const at = i * itemSize;
    out[i] =
      dtype === '<f4' ? view.getFloat32(at, true)
      : dtype === '<f8' ? view.getFloat64(at, true)
      : dtype === '<i4' ? view.getInt32(at, true)
      : Number(view.getBigInt64(at, true));
  }
  return out;
}

/**
 * Parse a .npy file (versions 1.0, 2.0, 3.0) holding a C-order little-endian float32, float64, int32
 * or int64 array into a float32 tensor. 64-bit values are rounded to float32.
 */
export function parseNpy(bytes: Uint8Array): Tensor {
  if (bytes.length < 10 || MAGIC.some((b, i) => bytes[i] !== b)) {
    throw new NpyError(`npy: not a .npy file (no \\x93NUMPY magic in the first ${Math.min(bytes.length, 6)} bytes)`);
  }
  const major = bytes[6]!;
  const minor = bytes[7]!;
  if (major < 1 || major > 3 || minor !== 0) throw new NpyError(`npy: unsupported format version ${major}.${minor}`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const lengthBytes = major === 1 ? 2 : 4;
  if (bytes.length < 8 + lengthBytes) throw new NpyError(`npy: file ends inside the header length (${bytes.length} bytes)`);
  const headerLen = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  const dataStart = 8 + lengthBytes + headerLen;
  if (dataStart > bytes.length) {
    throw new NpyError(`npy: header claims ${headerLen} bytes but the file has only ${bytes.length - 8 - lengthBytes} after the prefix`);
  }
  const headerBytes = bytes.subarray(8 + lengthBytes, dataStart);
  let text: string;
  try {
    text = new TextDecoder(major === 3 ? 'utf-8' : 'latin1', { fatal: major === 3 }).decode(headerBytes);
  } catch {
    throw new NpyError('npy: the version 3.0 header is not valid UTF-8');
  }
  const header = parseHeader(text);
  const dtype = checkDtype(header.descr);
  if (header.fortranOrder) {
    throw new NpyError(
      `npy: fortran_order True arrays are not supported (shape ${shapeStr(header.shape)}); save np.ascontiguousarray(arr)`,
    );
  }
  let count = 1;
  for (const d of header.shape) count *= d;
  const need = count * DTYPES[dtype];
  const have = bytes.length - dataStart;
  if (!Number.isSafeInteger(need) || have !== need) {
    throw new NpyError(
      `npy: shape ${shapeStr(header.shape)} of ${dtype} needs ${need} data bytes, the file has ${have}` +
        (have < need ? ' (truncated)' : ''),
    );
  }
  return tensor(header.shape, decodeData(bytes.subarray(dataStart), dtype, count));
}

/** Python's repr of a shape tuple: (), (3,), (2, 3). */
function shapeRepr(shape: readonly number[]): string {
  return shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
}

/** A version 1.0 '<f4' .npy file, byte for byte what numpy's np.save writes for the same array. */
export function serializeNpy(t: Tensor): Uint8Array {
  let count = 1;
  for (const d of t.shape) {
    if (!Number.isSafeInteger(d) || d < 0) throw new NpyError(`serializeNpy: bad dimension ${d} in shape ${shapeStr(t.shape)}`);
    count *= d;
  }
  if (count !== t.data.length) {
    throw new NpyError(`serializeNpy: shape ${shapeStr(t.shape)} needs ${count} values, data has ${t.data.length}`);
  }
  let dict = `{'descr': '<f4', 'fortran_order': False, 'shape': ${shapeRepr(t.shape)}, }`;
  if (t.shape.length > 0) dict += ' '.repeat(GROWTH_AXIS_MAX_DIGITS - String(t.shape[0]).length);
  // 6 magic + 2 version + 2 length bytes; the header ends with '\n'.
  const pad = ALIGN - ((10 + dict.length + 1) % ALIGN);
  const header = `${dict + ' '.repeat(pad)}\n`;
  if (header.length > 0xffff) throw new NpyError(`serializeNpy: header of ${header.length} bytes is too long for version 1.0`);
  const out = new Uint8Array(10 + header.length + count * 4);
  out.set(MAGIC, 0);
  out[6] = 1;
  out[7] = 0;
  const view = new DataView(out.buffer);
  view.setUint16(8, header.length, true);
  for (let i = 0; i < header.length; i++) out[10 + i] = header.charCodeAt(i);
  const dataStart = 10 + header.length;
  if (littleEndianHost) out.set(new Uint8Array(t.data.buffer, t.data.byteOffset, count * 4), dataStart);
  else for (let i = 0; i < count; i++) view.setFloat32(dataStart + i * 4, t.data[i]!, true);
  return out;
}

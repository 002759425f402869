// A restricted unpickler: the idea of torch.load(weights_only=True), in TypeScript. It interprets only the
// opcodes torch.save's pickles use (protocol 2, plus what protocol 4 adds when a user asks for it) and never
// looks a name up by itself: every GLOBAL goes to the caller's resolver, which knows a short whitelist and
// refuses the rest by name, and every REDUCE / NEWOBJ / BUILD goes to the caller's hooks. Nothing in the
// file can make it run code. It is iterative (no recursion), and every length it reads is checked against
// the bytes that are left, so a hostile file ends in one ImportError.
import { ImportError } from './error';

/** A Python tuple (lists are plain arrays: APPEND is allowed on lists only, as in torch's unpickler). */
export class PyTuple {
  constructor(readonly items: readonly unknown[]) {}
}

/** A dict or OrderedDict: insertion order kept, keys compared as JS values (str and int keys in practice). */
export type PyDict = Map<unknown, unknown>;

export function isPyDict(v: unknown): v is PyDict {
  return v instanceof Map;
}

export interface UnpickleHooks {
  /** GLOBAL / STACK_GLOBAL: what a whitelisted name stands for; must throw ImportError for any other. */
  resolveGlobal(module: string, name: string): unknown;
  /** REDUCE: `callable(*args)`, where callable came from resolveGlobal. */
  reduce(callable: unknown, args: readonly unknown[]): unknown;
  /** NEWOBJ: `cls.__new__(cls, *args)`. */
  newObject(cls: unknown, args: readonly unknown[]): unknown;
  /** BUILD: `obj.__setstate__(state)`; returns the object that replaces obj on the stack. */
  build(obj: unknown, state: unknown): unknown;
  /** BINPERSID: torch.save's storages are persistent ids (tuples starting with 'storage'). */
  persistentLoad(pid: unknown): unknown;
}

export interface UnpickleResult {
  readonly value: unknown;
  /** Offset just past the STOP opcode: the legacy format puts further pickles and raw data after it. */
  readonly end: number;
}

// Opcode bytes (CPython's Lib/pickle.py names).
const OP = {
  MARK: 0x28, STOP: 0x2e, POP: 0x30, POP_MARK: 0x31, BINFLOAT: 0x47, BININT: 0x4a, BININT1: 0x4b,
  BININT2: 0x4d, NONE: 0x4e, BINPERSID: 0x51, REDUCE: 0x52, SHORT_BINSTRING: 0x55, BINUNICODE: 0x58,
  EMPTY_LIST: 0x5d, APPEND: 0x61, BUILD: 0x62, GLOBAL: 0x63, APPENDS: 0x65, BINGET: 0x68, LONG_BINGET: 0x6a,
  BINPUT: 0x71, LONG_BINPUT: 0x72, SETITEM: 0x73, TUPLE: 0x74, SETITEMS: 0x75, EMPTY_DICT: 0x7d,
  EMPTY_TUPLE: 0x29, BINBYTES: 0x42, SHORT_BINBYTES: 0x43,
  PROTO: 0x80, NEWOBJ: 0x81, TUPLE1: 0x85, TUPLE2: 0x86, TUPLE3: 0x87, NEWTRUE: 0x88, NEWFALSE: 0x89,
  LONG1: 0x8a, SHORT_BINUNICODE: 0x8c, BINUNICODE8: 0x8d, BINBYTES8: 0x8e, EMPTY_SET: 0x8f, ADDITEMS: 0x90,
  STACK_GLOBAL: 0x93, MEMOIZE: 0x94, FRAME: 0x95,
} as const;

/** Names of opcodes we know but refuse, so the error says which one a file used. */
const REFUSED_OPS: ReadonlyMap<number, string> = new Map([
  [0x32, 'DUP'], [0x46, 'FLOAT'], [0x49, 'INT'], [0x4c, 'LONG'], [0x50, 'PERSID'], [0x53, 'STRING'], [0x54, 'BINSTRING'],
  [0x56, 'UNICODE'], [0x64, 'DICT'], [0x67, 'GET'], [0x69, 'INST'], [0x6c, 'LIST'], [0x6f, 'OBJ'], [0x70, 'PUT'],
  [0x82, 'EXT1'], [0x83, 'EXT2'], [0x84, 'EXT4'], [0x8b, 'LONG4'], [0x91, 'FROZENSET'], [0x92, 'NEWOBJ_EX'],
  [0x96, 'BYTEARRAY8'], [0x97, 'NEXT_BUFFER'], [0x98, 'READONLY_BUFFER'],
]);

const MAX_GLOBAL_NAME = 512;
const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Unpickles one pickle starting at `start`. `what` names the pickle in errors (e.g. "data.pkl").
 */
export function unpickle(bytes: Uint8Array, hooks: UnpickleHooks, what: string, start = 0): UnpickleResult {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let pos = start;
  let opAt = start;
  let stack: unknown[] = [];
  const marks: unknown[][] = [];
  const memo = new Map<number, unknown>();

  const fail = (msg: string): never => {
    throw new ImportError(`${what}: ${msg} (at byte ${opAt})`);
  };
  const need = (n: number): void => {
    if (n > bytes.length - pos) fail(`the pickle is truncated (an opcode needs ${n} more bytes, ${bytes.length - pos} are left)`);
  };
  const u8 = (): number => {
    need(1);
    return bytes[pos++]!;
  };
  const u16 = (): number => {
    need(2);
    const v = view.getUint16(pos, true);
    pos += 2;
    return v;
  };
  const u32 = (): number => {
    need(4);
    const v = view.getUint32(pos, true);
    pos += 4;
    return v;
  };
  const i32 = (): number => {
    need(4);
    const v = view.getInt32(pos, true);
    pos += 4;
    return v;
  };
  const u64 = (): number => {
    need(8);
    const v = view.getBigUint64(pos, true);
    pos += 8;
    // Lengths past the file end are caught by take(); this only keeps the number exact.
    return v > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(v);
  };
  const take = (n: number): Uint8Array => {
    need(n);
    const out = bytes.subarray(pos, pos + n);
    pos += n;
    return out;
  };
  const text = (b: Uint8Array): string => {
    try {
      return utf8.decode(b);
    } catch {
      return fail('a string is not valid UTF-8');
    }
  };
  const line = (): string => {
    const end = bytes.indexOf(0x0a, pos);
    if (end < 0 || end - pos > MAX_GLOBAL_NAME) fail('a GLOBAL name is not terminated by a newline');
    const s = text(bytes.subarray(pos, end));
    pos = end + 1;
    return s;
  };
  const pop = (): unknown => {
    if (stack.length === 0) fail('the stack is empty (corrupt pickle)');
    return stack.pop();
  };
  const top = (): unknown => {
    if (stack.length === 0) fail('the stack is empty (corrupt pickle)');
    return stack[stack.length - 1];
  };
  const popMark = (): unknown[] => {
    const items = stack;
    const outer = marks.pop();
    if (outer === undefined) fail('no MARK to pop to (corrupt pickle)');
    stack = outer!;
    return items;
  };
  const memoGet = (i: number): unknown => {
    if (!memo.has(i)) fail(`memo entry ${i} is read before it is written (corrupt pickle)`);
    return memo.get(i);
  };
  const setItem = (d: unknown, k: unknown, v: unknown): void => {
    if (!isPyDict(d)) fail('SETITEM on something that is not a dict');
    (d as PyDict).set(k, v);
  };
  const signedLE = (b: Uint8Array): number | bigint => {
    let v = 0n;
    for (let i = b.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]!);
    if (b.length > 0 && b[b.length - 1]! & 0x80) v -= 1n << BigInt(8 * b.length);
    return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
  };

  for (;;) {
    opAt = pos;
    const op = u8();
    switch (op) {
      case OP.PROTO: {
        const version = u8();
        if (version > 5) fail(`pickle protocol ${version} is newer than any Python writes`);
        break;
      }
      case OP.FRAME:
        u64(); // Framing only groups opcodes for buffered reading; we have the whole file.
        break;
      case OP.STOP:
        if (marks.length !== 0) fail('STOP inside an open MARK (corrupt pickle)');
        return { value: pop(), end: pos };
      case OP.MARK:
        marks.push(stack);
        stack = [];
        break;
      case OP.POP:
        pop();
        break;
      case OP.POP_MARK:
        popMark();
        break;
      case OP.EMPTY_DICT:
        stack.push(new Map());
        break;
      case OP.EMPTY_LIST:
        stack.push([]);
        break;
      case OP.EMPTY_TUPLE:
        stack.push(new PyTuple([]));
        break;
      case OP.EMPTY_SET:
        stack.push(new Set());
        break;
      case OP.NONE:
        stack.push(null);
        break;
      case OP.NEWTRUE:
        stack.push(true);
        break;
      case OP.NEWFALSE:
        stack.push(false);
        break;
      case OP.BININT:
        stack.push(i32());
        break;
      case OP.BININT1:
        stack.push(u8());
        break;
      case OP.BININT2:
        stack.push(u16());
        break;
      case OP.LONG1:
        stack.push(signedLE(take(u8())));
        break;
      case OP.BINFLOAT: {
        need(8);
        stack.push(view.getFloat64(pos, false)); // big-endian, unlike everything else in a pickle
        pos += 8;
        break;
      }
      case OP.BINUNICODE:
        stack.push(text(take(u32())));
        break;
      case OP.SHORT_BINUNICODE:
        stack.push(text(take(u8())));
        break;
      case OP.BINUNICODE8:
        stack.push(text(take(u64())));
        break;
      case OP.SHORT_BINSTRING:
        // Python 2 str: only ASCII names and tags in practice (e.g. 'storage', 'cpu').
        stack.push(String.fromCharCode(...take(u8())));
        break;
      case OP.BINBYTES:
        stack.push(take(u32()));
        break;
      case OP.SHORT_BINBYTES:
        stack.push(take(u8()));
        break;
      case OP.BINBYTES8:
        stack.push(take(u64()));
        break;
      case OP.TUPLE: {
        // Pop first: popMark() replaces `stack`, which `stack.push(...)` would have read beforehand.
        const items = popMark();
        stack.push(new PyTuple(items));
        break;
      }
      case OP.TUPLE1: {
        const a = pop();
        stack.push(new PyTuple([a]));
        break;
      }
      case OP.TUPLE2: {
        const b = pop(), a = pop();
        stack.push(new PyTuple([a, b]));
        break;
      }
      case OP.TUPLE3: {
        const c = pop(), b = pop(), a = pop();
        stack.push(new PyTuple([a, b, c]));
        break;
      }
      case OP.APPEND: {
        const item = pop();
        const list = top();
        if (!Array.isArray(list)) fail('APPEND to something that is not a list');
        (list as unknown[]).push(item);
        break;
      }
      case OP.APPENDS: {
        const items = popMark();
        const list = top();
        if (!Array.isArray(list)) fail('APPENDS to something that is not a list');
        for (const x of items) (list as unknown[]).push(x);
        break;
      }
      case OP.ADDITEMS: {
        const items = popMark();
        const set = top();
        if (!(set instanceof Set)) fail('ADDITEMS to something that is not a set');
        for (const x of items) (set as Set<unknown>).add(x);
        break;
      }
      case OP.SETITEM: {
        const v = pop(), k = pop();
        setItem(top(), k, v);
        break;
      }
      case OP.SETITEMS: {
        const items = popMark();
        if (items.length % 2 !== 0) fail('SETITEMS with an odd number of items');
        const d = top();
        for (let i = 0; i < items.length; i += 2) setItem(d, items[i], items[i + 1]);
        break;
      }
      case OP.BINPUT:
        memo.set(u8(), top());
        break;
      case OP.LONG_BINPUT:
        memo.set(u32(), top());
        break;
      case OP.MEMOIZE:
        memo.set(memo.size, top());
        break;
      case OP.BINGET:
        stack.push(memoGet(u8()));
        break;
      case OP.LONG_BINGET:
        stack.push(memoGet(u32()));
        break;
      case OP.GLOBAL: {
        const module = line();
        const name = line();
        stack.push(hooks.resolveGlobal(module, name));
        break;
      }
      case OP.STACK_GLOBAL: {
        const name = pop(), module = pop();
        if (typeof module !== 'string' || typeof name !== 'string') fail('STACK_GLOBAL needs two strings');
        stack.push(hooks.resolveGlobal(module as string, name as string));
        break;
      }
      case OP.REDUCE: {
        const args = pop();
        const fn = pop();
        if (!(args instanceof PyTuple)) fail('REDUCE arguments are not a tuple');
        stack.push(hooks.reduce(fn, (args as PyTuple).items));
        break;
      }
      case OP.NEWOBJ: {
        const args = pop();
        const cls = pop();
        if (!(args instanceof PyTuple)) fail('NEWOBJ arguments are not a tuple');
        stack.push(hooks.newObject(cls, (args as PyTuple).items));
        break;
      }
      case OP.BUILD: {
        const state = pop();
        const obj = pop();
        stack.push(hooks.build(obj, state));
        break;
      }
      case OP.BINPERSID:
        stack.push(hooks.persistentLoad(pop()));
        break;
      default: {
        const name = REFUSED_OPS.get(op);
        fail(name
          ? `opcode ${name} is not one torch.save writes, and a weights-only load does not interpret it`
          : `byte 0x${op.toString(16).padStart(2, '0')} is not a pickle opcode (corrupt or not a pickle)`);
      }
    }
  }
}

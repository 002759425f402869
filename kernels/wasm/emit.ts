// A small WebAssembly binary emitter: just what our generated kernels use (core i32/f32 ops, a few f64 ones, structured
// control flow, a shared imported memory, a function table, SIMD 0xFD ops incl. relaxed madd, and the
// 0xFE atomics for the thread barrier). Kernels are written as TypeScript that calls these methods, so the
// engine needs no toolchain and no committed binary: the module is generated at load time. Every opcode
// is a FuncBuilder method; loops and other code-gen helpers are in builders.ts.

import { wasm } from './wasm-api';

export const I32 = 0x7f;
export const I64 = 0x7e;
export const F32 = 0x7d;
export const F64 = 0x7c;
export const V128 = 0x7b;
export type ValType = typeof I32 | typeof I64 | typeof F32 | typeof F64 | typeof V128;

/** Appends bytes with the encodings the binary format uses (LEB128 integers, little-endian floats). */
export class ByteWriter {
  readonly bytes: number[] = [];

  byte(b: number): this {
    this.bytes.push(b & 0xff);
    return this;
  }

  raw(bs: ArrayLike<number>): this {
    for (let i = 0; i < bs.length; i++) this.bytes.push(bs[i]! & 0xff);
    return this;
  }

  /** Unsigned LEB128 (up to 32 bits). */
  u32(v: number): this {
    if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new Error(`u32 LEB128: ${v} out of range`);
    do {
      let b = v & 0x7f;
      v = Math.floor(v / 128);
      if (v !== 0) b |= 0x80;
      this.bytes.push(b);
    } while (v !== 0);
    return this;
  }

  /** Signed LEB128; numbers up to 2^53 are exact (enough for i32 and our i64 constants). */
  s64(v: number): this {
    if (!Number.isInteger(v)) throw new Error(`signed LEB128: ${v} is not an integer`);
    for (;;) {
      const b = ((v % 128) + 128) % 128;
      v = Math.floor(v / 128);
      const signBitSet = (b & 0x40) !== 0;
      if ((v === 0 && !signBitSet) || (v === -1 && signBitSet)) {
        this.bytes.push(b);
        return this;
      }
      this.bytes.push(b | 0x80);
    }
  }

  f32(v: number): this {
    const buf = new Uint8Array(new Float32Array([v]).buffer);
    return this.raw(buf);
  }

  name(s: string): this {
    const utf8 = new TextEncoder().encode(s);
    return this.u32(utf8.length).raw(utf8);
  }

  /** A length-prefixed vector of already-encoded items. */
  vec(items: readonly (readonly number[])[]): this {
    this.u32(items.length);
    for (const it of items) this.raw(it);
    return this;
  }
}

export interface Local {
  readonly index: number;
  readonly type: ValType;
}

/** Block type of structured control flow: empty, or one result. */
type BlockType = 'void' | ValType;

/**
 * One function body. Methods append one instruction each (a stack machine), named after the wasm text
 * format. Memory accesses take a byte offset immediate; alignment hints are the natural ones.
 */
export class FuncBuilder {
  readonly code = new ByteWriter();
  private readonly extraLocals: ValType[] = [];
  readonly params: readonly Local[];

  constructor(
    readonly name: string,
    paramTypes: readonly ValType[],
    readonly results: readonly ValType[],
  ) {
    this.params = paramTypes.map((type, index) => ({ index, type }));
  }

  local(type: ValType): Local {
    const l = { index: this.params.length + this.extraLocals.length, type };
    this.extraLocals.push(type);
    return l;
  }

  /** The body as the code section wants it: size-prefixed, locals run-length encoded, `end` appended. */
  encode(): number[] {
    const body = new ByteWriter();
    const runs: [number, ValType][] = [];
    for (const t of this.extraLocals) {
      const last = runs[runs.length - 1];
      if (last && last[1] === t) last[0]++;
      else runs.push([1, t]);
    }
    body.u32(runs.length);
    for (const [n, t] of runs) body.u32(n).byte(t);
    body.raw(this.code.bytes).byte(0x0b);
    const out = new ByteWriter();
    out.u32(body.bytes.length).raw(body.bytes);
    return out.bytes;
  }

  private op(b: number): this {
    this.code.byte(b);
    return this;
  }

  private simd(sub: number): this {
    this.code.byte(0xfd).u32(sub);
    return this;
  }

  private mem(alignLog2: number, offset: number): this {
    this.code.u32(alignLog2).u32(offset);
    return this;
  }

  private blockType(t: BlockType): void {
    this.code.byte(t === 'void' ? 0x40 : t);
  }

  // control
  block(t: BlockType = 'void'): this { this.op(0x02); this.blockType(t); return this; }
  loop(t: BlockType = 'void'): this { this.op(0x03); this.blockType(t); return this; }
  if(t: BlockType = 'void'): this { this.op(0x04); this.blockType(t); return this; }
  else(): this { return this.op(0x05); }
  end(): this { return this.op(0x0b); }
  br(depth: number): this { this.op(0x0c); this.code.u32(depth); return this; }
  brIf(depth: number): this { this.op(0x0d); this.code.u32(depth); return this; }
  return(): this { return this.op(0x0f); }
  unreachable(): this { return this.op(0x00); }
  call(funcIndex: number): this { this.op(0x10); this.code.u32(funcIndex); return this; }
  callIndirect(typeIndex: number): this { this.op(0x11); this.code.u32(typeIndex).u32(0); return this; }
  drop(): this { return this.op(0x1a); }
  select(): this { return this.op(0x1b); }

  // locals
  get(l: Local): this { this.op(0x20); this.code.u32(l.index); return this; }
  set(l: Local): this { this.op(0x21); this.code.u32(l.index); return this; }
  tee(l: Local): this { this.op(0x22); this.code.u32(l.index); return this; }

  // memory
  i32Load(offset = 0): this { return this.op(0x28).mem(2, offset); }
  f32Load(offset = 0): this { return this.op(0x2a).mem(2, offset); }
  i32Store(offset = 0): this { return this.op(0x36).mem(2, offset); }
  f32Store(offset = 0): this { return this.op(0x38).mem(2, offset); }

  // constants
  i32Const(v: number): this { this.op(0x41); this.code.s64(v | 0); return this; }
  i64Const(v: number): this { this.op(0x42); this.code.s64(v); return this; }
  f32Const(v: number): this { this.op(0x43); this.code.f32(v); return this; }

  // i32 arithmetic and comparisons
  i32Eqz(): this { return this.op(0x45); }
  i32Eq(): this { return this.op(0x46); }
  i32Ne(): this { return this.op(0x47); }
  i32LtS(): this { return this.op(0x48); }
  i32LtU(): this { return this.op(0x49); }
  i32GtS(): this { return this.op(0x4a); }
  i32GtU(): this { return this.op(0x4b); }
  i32LeS(): this { return this.op(0x4c); }
  i32GeS(): this { return this.op(0x4e); }
  i32GeU(): this { return this.op(0x4f); }
  i32Add(): this { return this.op(0x6a); }
  i32Sub(): this { return this.op(0x6b); }
  i32Mul(): this { return this.op(0x6c); }
  i32DivS(): this { return this.op(0x6d); }
  i32DivU(): this { return this.op(0x6e); }
  i32RemU(): this { return this.op(0x70); }
  i32And(): this { return this.op(0x71); }
  i32Or(): this { return this.op(0x72); }
  i32Shl(): this { return this.op(0x74); }
  i32ShrU(): this { return this.op(0x76); }

  // f32 scalar
  f32Add(): this { return this.op(0x92); }
  f32Sub(): this { return this.op(0x93); }
  f32Mul(): this { return this.op(0x94); }
  f32Div(): this { return this.op(0x95); }
  f32Max(): this { return this.op(0x97); }
  f32Gt(): this { return this.op(0x5e); }
  f32ConvertI32U(): this { return this.op(0xb3); }
  f32DemoteF64(): this { return this.op(0xb6); }

  // f64 scalar (only where float32 sums would lose too much: long reductions)
  f64Add(): this { return this.op(0xa0); }
  f64PromoteF32(): this { return this.op(0xbb); }

  // SIMD (0xFD prefix)
  v128Load(offset = 0): this { return this.simd(0x00).mem(4, offset); }
  v128Load32Splat(offset = 0): this { return this.simd(0x09).mem(2, offset); }
  v128Store(offset = 0): this { return this.simd(0x0b).mem(4, offset); }
  v128Load32Zero(offset = 0): this { return this.simd(0x5c).mem(2, offset); }
  v128Store32Lane(lane: number, offset = 0): this { this.simd(0x5a).mem(2, offset); this.code.byte(lane); return this; }
  v128Store64Lane(lane: number, offset = 0): this { this.simd(0x5b).mem(3, offset); this.code.byte(lane); return this; }
  v128Const0(): this { this.simd(0x0c); this.code.raw(new Array<number>(16).fill(0)); return this; }
  f32x4Splat(): this { return this.simd(0x13); }
  /** i8x16.shuffle by 32-bit lanes: lane i of the result is lane lanes[i] of (a, b) (0-3 from a, 4-7 from b). */
  i32x4Shuffle(lanes: readonly [number, number, number, number]): this {
    this.simd(0x0d);
    this.code.raw(lanes.flatMap((l) => [4 * l, 4 * l + 1, 4 * l + 2, 4 * l + 3]));
    return this;
  }
  f32x4ExtractLane(lane: number): this { this.simd(0x1f); this.code.byte(lane); return this; }
  f32x4ReplaceLane(lane: number): this { this.simd(0x20); this.code.byte(lane); return this; }
  f32x4Add(): this { return this.simd(0xe4); }
  f32x4Sub(): this { return this.simd(0xe5); }
  f32x4Neg(): this { return this.simd(0xe1); }
  f32x4Mul(): this { return this.simd(0xe6); }
  f32x4Div(): this { return this.simd(0xe7); }
  /** Lane-wise a > b: all ones where true. */
  f32x4Gt(): this { return this.simd(0x44); }
  v128And(): this { return this.simd(0x4e); }
  /** pmax(a, b) = a < b ? b : a: one maxps on x86 (plain max has NaN fix-ups). */
  f32x4Pmax(): this { return this.simd(0xeb); }
  /** Relaxed SIMD: a*b+c, fused where the hardware has FMA. */
  f32x4RelaxedMadd(): this { return this.simd(0x105); }

  /**
   * The one multiply-add every kernel uses: dest = a * b + c (c defaults to dest), as f32x4.relaxed_madd when
   * `relaxed` (only where the runtime validates it, see relaxedSimdSupported), else f32x4.mul + f32x4.add.
   */
  madd(relaxed: boolean, a: Local, b: Local, dest: Local, c: Local = dest): this {
    if (relaxed) return this.get(a).get(b).get(c).f32x4RelaxedMadd().set(dest);
    return this.get(a).get(b).f32x4Mul().get(c).f32x4Add().set(dest);
  }

  // atomics (0xFE prefix); memory must be shared
  atomicNotify(offset = 0): this { this.code.byte(0xfe).u32(0x00); return this.mem(2, offset); }
  atomicWait32(offset = 0): this { this.code.byte(0xfe).u32(0x01); return this.mem(2, offset); }
  atomicFence(): this { this.code.byte(0xfe).u32(0x03).byte(0x00); return this; }
  i32AtomicLoad(offset = 0): this { this.code.byte(0xfe).u32(0x10); return this.mem(2, offset); }
  i32AtomicStore(offset = 0): this { this.code.byte(0xfe).u32(0x17); return this.mem(2, offset); }
  i32AtomicRmwAdd(offset = 0): this { this.code.byte(0xfe).u32(0x1e); return this.mem(2, offset); }
  /** [addr, expected, replacement] -> old value. */
  i32AtomicCmpxchg(offset = 0): this { this.code.byte(0xfe).u32(0x48); return this.mem(2, offset); }
}

interface FuncImport {
  readonly module: string;
  readonly name: string;
  readonly typeIndex: number;
}

/** A module: an imported (optionally shared) memory, imported and defined functions, one funcref table. */
export class ModuleBuilder {
  private readonly types: number[][] = [];
  private readonly funcImports: FuncImport[] = [];
  private readonly funcs: { builder: FuncBuilder; typeIndex: number }[] = [];
  private readonly exportsList: { name: string; funcIndex: number }[] = [];
  private tableFuncs: number[] = [];
  private memory: { module: string; name: string; minPages: number; maxPages: number; shared: boolean } | null = null;

  /** Index of a function type, deduplicated. */
  typeIndex(params: readonly ValType[], results: readonly ValType[]): number {
    const enc = new ByteWriter().byte(0x60).u32(params.length).raw(params).u32(results.length).raw(results).bytes;
    const key = enc.join(',');
    const found = this.types.findIndex((t) => t.join(',') === key);
    if (found >= 0) return found;
    this.types.push(enc);
    return this.types.length - 1;
  }

  importMemory(module: string, name: string, minPages: number, maxPages: number, shared: boolean): void {
    this.memory = { module, name, minPages, maxPages, shared };
  }

  /** Imported functions come first in the function index space: import them all before adding any. */
  importFunc(module: string, name: string, params: readonly ValType[], results: readonly ValType[]): number {
    if (this.funcs.length > 0) throw new Error(`importFunc ${module}.${name}: import before defining functions`);
    this.funcImports.push({ module, name, typeIndex: this.typeIndex(params, results) });
    return this.funcImports.length - 1;
  }

  /** Declares a function and returns its builder; its index is known at once so bodies can call each other. */
  func(name: string, params: readonly ValType[], results: readonly ValType[] = []): { f: FuncBuilder; index: number } {
    const builder = new FuncBuilder(name, params, results);
    this.funcs.push({ builder, typeIndex: this.typeIndex(params, results) });
    return { f: builder, index: this.funcImports.length + this.funcs.length - 1 };
  }

  export(name: string, funcIndex: number): void {
    this.exportsList.push({ name, funcIndex });
  }

  /** Table 0 holds these functions at indices 0..n-1 (for call_indirect). */
  setTable(funcIndices: readonly number[]): void {
    this.tableFuncs = [...funcIndices];
  }

  toBytes(): Uint8Array {
    const out = new ByteWriter().raw([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]);
    const section = (id: number, content: ByteWriter): void => {
      out.byte(id).u32(content.bytes.length).raw(content.bytes);
    };
    section(1, new ByteWriter().vec(this.types));

    const imports: number[][] = [];
    if (this.memory) {
      const m = this.memory;
      const w = new ByteWriter().name(m.module).name(m.name).byte(0x02);
      w.byte(m.shared ? 0x03 : 0x01).u32(m.minPages).u32(m.maxPages);
      imports.push(w.bytes);
    }
    for (const fi of this.funcImports) imports.push(new ByteWriter().name(fi.module).name(fi.name).byte(0x00).u32(fi.typeIndex).bytes);
    section(2, new ByteWriter().vec(imports));

    section(3, new ByteWriter().vec(this.funcs.map((fn) => new ByteWriter().u32(fn.typeIndex).bytes)));
    if (this.tableFuncs.length > 0) {
      const n = this.tableFuncs.length;
      section(4, new ByteWriter().u32(1).byte(0x70).byte(0x01).u32(n).u32(n));
    }
    section(7, new ByteWriter().vec(this.exportsList.map((e) => new ByteWriter().name(e.name).byte(0x00).u32(e.funcIndex).bytes)));
    if (this.tableFuncs.length > 0) {
      const elem = new ByteWriter().u32(1).u32(0).byte(0x41).s64(0).byte(0x0b).u32(this.tableFuncs.length);
      for (const fi of this.tableFuncs) elem.u32(fi);
      section(9, elem);
    }
    section(10, new ByteWriter().vec(this.funcs.map((fn) => fn.builder.encode())));
    return new Uint8Array(out.bytes);
  }
}

/** Whether this runtime validates a module using f32x4.relaxed_madd (Chromium yes; Node 20 only behind a flag). */
export function relaxedSimdSupported(): boolean {
  const m = new ModuleBuilder();
  const { f, index } = m.func('probe', [], [V128]);
  f.v128Const0().v128Const0().v128Const0().f32x4RelaxedMadd();
  m.export('probe', index);
  return wasm.validate(m.toBytes());
}

/** Whether this runtime validates plain 128-bit SIMD. */
export function simdSupported(): boolean {
  const m = new ModuleBuilder();
  const { f, index } = m.func('probe', [], [V128]);
  f.v128Const0().v128Const0().f32x4Add();
  m.export('probe', index);
  return wasm.validate(m.toBytes());
}

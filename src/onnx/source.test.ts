// Reading models without copying or holding their weights: initializers are views of the file's bytes when
// aligned and computed (copied) at each read when not; a model read by range (a file on disk) leaves its
// large raw_data in the file until it is read, and gives exactly what reading the whole file gives, errors
// included (fuzzed files too).
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { type Graph, type IrTensor, WRITE_INTO, type WritesInto } from '../graph/ir';
import { compileGraph } from '../engine/compile';
import { writerOf } from '../engine/plan';
import { loadModel } from '../engine/session';
import { openRegularFile } from '../read-file';
import { buildModel } from '../zoo/build';
import { zooSpec } from '../zoo/spec';
import { caseSeed, mutateModel } from './fuzz';
import { onnx } from './proto';
import { MAX_MODEL_BYTES, parseOnnx } from './read';
import { type ByteSource, memorySource, modelSkeleton } from './source';
import { serializeOnnx } from './write';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Whether the tensor's data is computed when read (a getter) rather than held. */
const computed = (t: IrTensor): boolean => Object.getOwnPropertyDescriptor(t, 'data')?.get !== undefined;

/** The bytes shifted by `by` inside a larger buffer (every initializer's alignment changes). */
function shifted(bytes: Uint8Array, by: number): Uint8Array {
  const b = new Uint8Array(bytes.length + by);
  b.set(bytes, by);
  return b.subarray(by);
}

/** A source that counts what is read from it. */
function counting(bytes: Uint8Array): ByteSource & { bytesRead: number } {
  const s = {
    byteLength: bytes.length,
    bytesRead: 0,
    read(offset: number, length: number): Uint8Array {
      s.bytesRead += length;
      return bytes.slice(offset, offset + length);
    },
  };
  return s;
}

function sameGraph(a: Graph, b: Graph, what: string): void {
  assert.deepEqual({ ...b, initializers: undefined }, { ...a, initializers: undefined }, what);
  assert.deepEqual([...b.initializers.keys()], [...a.initializers.keys()], what);
  for (const [name, t] of a.initializers) {
    const u = b.initializers.get(name)!;
    assert.equal(u.dtype, t.dtype, `${what}: ${name}`);
    assert.deepEqual(u.dims, t.dims, `${what}: ${name}`);
    assert.deepEqual(u.data, t.data, `${what}: ${name}`);
  }
}

const resnet20 = (): Uint8Array => new Uint8Array(readFileSync(join(ROOT, 'models', 'resnet20.onnx')));

describe('initializers as views of the file', () => {
  const bytes = serializeOnnx(buildModel(zooSpec('resnet20'), { name: 'r20' }));

  it('aligned float initializers are views of the bytes (no copy), misaligned ones are copied when read, with the same values', () => {
    for (const by of [0, 1, 2, 3]) {
      const b = shifted(bytes, by);
      const g = parseOnnx(b);
      let views = 0;
      let copies = 0;
      for (const t of g.initializers.values()) {
        if (t.dtype !== 'float32') continue;
        if (computed(t)) {
          copies++;
          // A fresh, aligned array at every read.
          assert.notEqual(t.data.buffer, b.buffer);
          assert.notEqual(t.data, t.data);
        } else {
          views++;
          assert.equal(t.data.buffer, b.buffer, 'an aligned initializer is a view of the file bytes');
        }
      }
      assert.ok(views > 0 && copies > 0, `shift ${by}: ${views} views, ${copies} copies`);
      sameGraph(parseOnnx(bytes), g, `shift ${by}`);
    }
  });

  it('a model read by range reads only its framing, then each initializer when its data is read', () => {
    const src = counting(bytes);
    const g = parseOnnx(src);
    assert.ok(src.bytesRead < bytes.length / 2, `read ${src.bytesRead} of ${bytes.length} bytes to parse`);
    // The large ones stay in the file (small ones come with the framing, views or copies of it).
    const big = [...g.initializers.values()].filter((t) => computed(t) && t.dims.reduce((p, q) => p * q, 1) * 4 >= 4096);
    assert.ok(big.length > 10, `${big.length} initializers left in the file`);
    const before = src.bytesRead;
    const t = big[0]!;
    const d = t.data;
    assert.equal(d.length, t.dims.reduce((p, q) => p * q, 1));
    assert.equal(src.bytesRead - before, d.byteLength, 'reading the data read its bytes, once');
    sameGraph(parseOnnx(bytes), g, 'read by range');
  });

  it('weights left in the file are also written straight into a given array, folded ones too, with the same values', () => {
    const g = parseOnnx(memorySource(bytes));
    const left = [...g.initializers.values()].filter((t) => computed(t) && t.dims.reduce((p, q) => p * q, 1) * 4 >= 4096);
    for (const t of left.slice(0, 5)) {
      const dst = new Float32Array(t.data.length);
      (t as WritesInto)[WRITE_INTO]!(dst);
      assert.deepEqual(dst, t.data);
    }
    const plan = compileGraph(g);
    const convs = plan.steps.filter((s) => s.kind === 'conv');
    assert.ok(convs.length > 10);
    for (const s of convs) {
      const write = writerOf(s.weight);
      assert.ok(write, `${s.name}: its folded weights can be written into an array`);
      const dst = new Float32Array(s.weight.data.length);
      write(dst);
      assert.deepEqual(dst, s.weight.data, s.name);
    }
  });

  it('odd initializers read by range: DOUBLE, INT32 and INT64 raw_data are converted as from bytes; small ones stay in the framing', () => {
    const model = onnx.ModelProto.decode(bytes);
    const init = model.graph!.initializer!;
    const n = 2000;
    const doubles = Float64Array.from({ length: n }, (_, i) => Math.sin(i) * 1e3);
    const ints = Int32Array.from({ length: n }, (_, i) => i * 7 - 5000);
    // Extra initializers nothing reads (their values are converted all the same).
    init.push(onnx.TensorProto.create({ name: 'extra_double', dims: [n], dataType: 11, rawData: new Uint8Array(doubles.buffer) }));
    init.push(onnx.TensorProto.create({ name: 'extra_int32', dims: [n], dataType: 6, rawData: new Uint8Array(ints.buffer) }));
    const odd = onnx.ModelProto.encode(model).finish();
    const src = memorySource(odd);
    const sk = modelSkeleton(src)!;
    assert.ok(sk.raw.some((r) => r === undefined) && sk.raw.some((r) => r !== undefined));
    const g = parseOnnx(src);
    assert.deepEqual(g.initializers.get('extra_double')!.data, Float32Array.from(doubles));
    assert.deepEqual(g.initializers.get('extra_int32')!.data, BigInt64Array.from(ints, (v) => BigInt(v)));
    sameGraph(parseOnnx(odd), g, 'odd initializers');
  });

  it('external data is refused the same way read by range', () => {
    const model = onnx.ModelProto.decode(bytes);
    const w = model.graph!.initializer![0]!;
    w.externalData = [onnx.StringStringEntryProto.create({ key: 'location', value: 'weights.bin' })];
    const ext = onnx.ModelProto.encode(model).finish();
    assert.throws(() => parseOnnx(ext), /external data is not supported .*'weights.bin'/);
    assert.throws(() => parseOnnx(memorySource(ext)), /external data is not supported .*'weights.bin'/);
  });

  it('the size limit holds before anything is read', () => {
    const src = counting(new Uint8Array(16));
    Object.defineProperty(src, 'byteLength', { value: MAX_MODEL_BYTES + 1 });
    assert.throws(() => parseOnnx(src), /over the limit/);
    assert.equal(src.bytesRead, 0);
  });
});

describe('reading by range gives what reading the whole file gives', () => {
  it('300 fuzzed mutants of resnet20: the same graph, or the same refusal', () => {
    const base = resnet20();
    let parsed = 0;
    for (let i = 0; i < 300; i++) {
      const m = mutateModel(base, caseSeed(7, i));
      const outcome = (input: Uint8Array | ByteSource): Graph | string => {
        try {
          return parseOnnx(input);
        } catch (e) {
          return `${(e as Error).name}: ${(e as Error).message}`;
        }
      };
      const whole = outcome(m.bytes);
      const byRange = outcome(memorySource(m.bytes));
      const what = `case ${i} (${m.mutations.join('; ')})`;
      if (typeof whole === 'string' || typeof byRange === 'string') {
        assert.equal(byRange, whole, what);
      } else {
        sameGraph(whole, byRange, what);
        parsed++;
      }
    }
    assert.ok(parsed > 30, `${parsed} mutants parsed`);
  });

  it('a session on a file read by range gives the same outputs as on its bytes (wasm and ts)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'source-test-'));
    try {
      const bytes = serializeOnnx(buildModel(zooSpec('resnet20'), { name: 'r20' }));
      const path = join(dir, 'r20.onnx');
      writeFileSync(path, bytes);
      const x = { shape: [2, 3, 32, 32], data: Float32Array.from({ length: 2 * 3 * 32 * 32 }, (_, i) => Math.sin(i * 0.37)) };
      for (const engine of ['wasm', 'ts'] as const) {
        const a = await loadModel(bytes, { engine, threads: 2 });
        const file = openRegularFile(path, { maxBytes: MAX_MODEL_BYTES });
        const b = await loadModel(file, { engine, threads: 2 });
        try {
          const [ra, rb] = [await a.run(x), await b.run(x)];
          assert.deepEqual(rb.output.data, ra.output.data, engine);
        } finally {
          await a.dispose();
          await b.dispose();
          file.close();
        }
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

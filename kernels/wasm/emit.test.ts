// The WebAssembly emitter: its encodings, a generated module that validates and computes, the feature
// probes, and the SIMD peak micro-benchmark built with it.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ByteWriter, I32, ModuleBuilder, relaxedSimdSupported, simdSupported } from './emit';
import { measureSimdPeak } from './peak';
import { wasm } from './wasm-api';

describe('emit', () => {
  test('LEB128 encodings match the spec examples', () => {
    assert.deepEqual(new ByteWriter().u32(624485).bytes, [0xe5, 0x8e, 0x26]);
    assert.deepEqual(new ByteWriter().u32(127).bytes, [0x7f]);
    assert.deepEqual(new ByteWriter().u32(128).bytes, [0x80, 0x01]);
    assert.deepEqual(new ByteWriter().s64(-123456).bytes, [0xc0, 0xbb, 0x78]);
    assert.deepEqual(new ByteWriter().s64(-1).bytes, [0x7f]);
    assert.deepEqual(new ByteWriter().s64(64).bytes, [0xc0, 0x00]);
    assert.throws(() => new ByteWriter().u32(-1), /out of range/);
  });

  test('a generated module validates and computes', () => {
    const m = new ModuleBuilder();
    const { f, index } = m.func('mulAdd', [I32, I32], [I32]);
    const [a, b] = f.params as [{ index: number; type: typeof I32 }, { index: number; type: typeof I32 }];
    f.get(a).get(b).i32Mul().i32Const(-5).i32Add();
    m.export('mulAdd', index);
    const bytes = m.toBytes();
    assert.ok(wasm.validate(bytes));
    const inst = new wasm.Instance(new wasm.Module(bytes), {});
    assert.equal((inst.exports['mulAdd'] as (x: number, y: number) => number)(6, 7), 37);
  });

  test('SIMD is available and the relaxed-SIMD probe answers', () => {
    assert.ok(simdSupported());
    assert.equal(typeof relaxedSimdSupported(), 'boolean');
  });
});

test('the SIMD peak micro-benchmark reports a positive rate', () => {
  const r = measureSimdPeak(false, 20);
  assert.ok(r.gflopsPerCore > 0.1, `peak ${r.gflopsPerCore} GFLOPS`);
});



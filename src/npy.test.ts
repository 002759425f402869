import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { NpyError, parseNpy, serializeNpy } from './npy';
import { seededRandom } from './random';
import { tensor } from '../kernels/core/tensor';

// Files written by numpy 2.4.6, base64. Regenerate with, e.g.:
//   python3 -c "import numpy as np, io, base64; b = io.BytesIO();
//     np.save(b, np.arange(6, dtype='<f4').reshape(2, 3) * 0.5 - 1); print(base64.b64encode(b.getvalue()).decode())"
// (v2/v3 with np.lib.format.write_array(b, a, version=(2, 0)).)
const NUMPY = {
  // np.arange(6, dtype='<f4').reshape(2, 3) * 0.5 - 1
  f4_2x3: 'k05VTVBZAQB2AHsnZGVzY3InOiAnPGY0JywgJ2ZvcnRyYW5fb3JkZXInOiBGYWxzZSwgJ3NoYXBlJzogKDIsIDMpLCB9ICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAoAAIC/AAAAvwAAAAAAAAA/AACAPwAAwD8=',
  // np.array([0.1, -2.5, 1e10], dtype='<f8')
  f8_3: 'k05VTVBZAQB2AHsnZGVzY3InOiAnPGY4JywgJ2ZvcnRyYW5fb3JkZXInOiBGYWxzZSwgJ3NoYXBlJzogKDMsKSwgfSAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAqamZmZmZm5PwAAAAAAAATAAAAAIF+gAkI=',
  // np.array([[1, -2], [3, 2**40]], dtype='<i8')
  i8_2x2: 'k05VTVBZAQB2AHsnZGVzY3InOiAnPGk4JywgJ2ZvcnRyYW5fb3JkZXInOiBGYWxzZSwgJ3NoYXBlJzogKDIsIDIpLCB9ICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAoBAAAAAAAAAP7/////////AwAAAAAAAAAAAAAAAAEAAA==',
  // np.array([-1, 0, 1, 2147483647], dtype='<i4')
  i4_4: 'k05VTVBZAQB2AHsnZGVzY3InOiAnPGk0JywgJ2ZvcnRyYW5fb3JkZXInOiBGYWxzZSwgJ3NoYXBlJzogKDQsKSwgfSAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAr/////AAAAAAEAAAD///9/',
  // np.float32(3.5)
  f4_scalar: 'k05VTVBZAQB2AHsnZGVzY3InOiAnPGY0JywgJ2ZvcnRyYW5fb3JkZXInOiBGYWxzZSwgJ3NoYXBlJzogKCksIH0gICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAoAAGBA',
  // np.zeros((0, 3), dtype='<f4')
  f4_0x3: 'k05VTVBZAQB2AHsnZGVzY3InOiAnPGY0JywgJ2ZvcnRyYW5fb3JkZXInOiBGYWxzZSwgJ3NoYXBlJzogKDAsIDMpLCB9ICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAo=',
  // np.array([1, 2, 3], dtype='<f4'), format versions 2.0 and 3.0
  f4_v2: 'k05VTVBZAgB0AAAAeydkZXNjcic6ICc8ZjQnLCAnZm9ydHJhbl9vcmRlcic6IEZhbHNlLCAnc2hhcGUnOiAoMywpLCB9ICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAoAAIA/AAAAQAAAQEA=',
  f4_v3: 'k05VTVBZAwB0AAAAeydkZXNjcic6ICc8ZjQnLCAnZm9ydHJhbl9vcmRlcic6IEZhbHNlLCAnc2hhcGUnOiAoMywpLCB9ICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAoAAIA/AAAAQAAAQEA=',
  // np.asfortranarray(np.arange(6, dtype='<f4').reshape(2, 3))
  f4_fortran: 'k05VTVBZAQB2AHsnZGVzY3InOiAnPGY0JywgJ2ZvcnRyYW5fb3JkZXInOiBUcnVlLCAnc2hhcGUnOiAoMiwgMyksIH0gICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAoAAAAAAABAQAAAgD8AAIBAAAAAQAAAoEA=',
  // np.arange(3, dtype='>f4')
  f4_bigendian: 'k05VTVBZAQB2AHsnZGVzY3InOiAnPmY0JywgJ2ZvcnRyYW5fb3JkZXInOiBGYWxzZSwgJ3NoYXBlJzogKDMsKSwgfSAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAoAAAAAP4AAAEAAAAA=',
  // np.arange(3, dtype='u1')
  u1: 'k05VTVBZAQB2AHsnZGVzY3InOiAnfHUxJywgJ2ZvcnRyYW5fb3JkZXInOiBGYWxzZSwgJ3NoYXBlJzogKDMsKSwgfSAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAoAAQI=',
  // np.zeros(2, dtype=[('a', '<f4'), ('b', '<i4')])
  structured: 'k05VTVBZAQB2AHsnZGVzY3InOiBbKCdhJywgJzxmNCcpLCAoJ2InLCAnPGk0JyldLCAnZm9ydHJhbl9vcmRlcic6IEZhbHNlLCAnc2hhcGUnOiAoMiwpLCB9ICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAoAAAAAAAAAAAAAAAAAAAAA',
  // np.linspace(-1, 1, 60, dtype='<f4').reshape(1, 3, 4, 5)
  f4_1x3x4x5: 'k05VTVBZAQB2AHsnZGVzY3InOiAnPGY0JywgJ2ZvcnRyYW5fb3JkZXInOiBGYWxzZSwgJ3NoYXBlJzogKDEsIDMsIDQsIDUpLCB9ICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAoAAIC/cVJ3v+Kkbr9S92W/w0ldvzScVL+l7ku/FkFDv4eTOr/35TG/aDgpv9mKIL9K3Re/uy8PvyuCBr84qfu+Gk7qvvzy2L7dl8e+vzy2vqHhpL6ChpO+ZCuCvougYb5O6j6+ETQcvqn78r0wj629bEVQvfPYirzz2Io8bEVQPTCPrT2p+/I9ETQcPk7qPj6LoGE+ZCuCPoKGkz6h4aQ+vzy2Pt2Xxz788tg+Gk7qPjip+z4rggY/uy8PP0rdFz/ZiiA/aDgpP/flMT+Hkzo/FkFDP6XuSz80nFQ/w0ldP1L3ZT/ipG4/cVJ3PwAAgD8=',
} as const;

const bytesOf = (name: keyof typeof NUMPY): Uint8Array => new Uint8Array(Buffer.from(NUMPY[name], 'base64'));

/** A v1.0 file with a hand-written header (padded to 64 bytes) and raw data bytes. */
function npyWithHeader(dict: string, data: Uint8Array = new Uint8Array(0)): Uint8Array {
  const pad = 64 - ((10 + dict.length + 1) % 64);
  const header = `${dict + ' '.repeat(pad)}\n`;
  const out = new Uint8Array(10 + header.length + data.length);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0], 0);
  new DataView(out.buffer).setUint16(8, header.length, true);
  out.set(new TextEncoder().encode(header), 10);
  out.set(data, 10 + header.length);
  return out;
}

function throwsNpy(fn: () => unknown, pattern: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof NpyError, `expected NpyError, got ${String(err)}`);
    assert.match(err.message, pattern);
    return true;
  });
}

describe('parseNpy on files numpy wrote', () => {
  it('reads float32 with shape and values', () => {
    const t = parseNpy(bytesOf('f4_2x3'));
    assert.deepEqual(t.shape, [2, 3]);
    assert.deepEqual([...t.data], [-1, -0.5, 0, 0.5, 1, 1.5]);
  });

  it('reads a 4-D NCHW tensor', () => {
    const t = parseNpy(bytesOf('f4_1x3x4x5'));
    assert.deepEqual(t.shape, [1, 3, 4, 5]);
    assert.equal(t.data[0], -1);
    assert.equal(t.data[59], 1);
    for (let i = 0; i < 60; i++) assert.ok(Math.abs(t.data[i]! - (-1 + (2 * i) / 59)) < 1e-7, `element ${i}`);
  });

  it('converts float64, int64 and int32 to float32', () => {
    const f8 = parseNpy(bytesOf('f8_3'));
    assert.deepEqual(f8.shape, [3]);
    assert.deepEqual([...f8.data], [Math.fround(0.1), -2.5, Math.fround(1e10)]);
    const i8 = parseNpy(bytesOf('i8_2x2'));
    assert.deepEqual(i8.shape, [2, 2]);
    assert.deepEqual([...i8.data], [1, -2, 3, 2 ** 40]);
    const i4 = parseNpy(bytesOf('i4_4'));
    assert.deepEqual([...i4.data], [-1, 0, 1, Math.fround(2147483647)]);
  });

  it('reads scalars, empty arrays and format versions 2.0 and 3.0', () => {
    const s = parseNpy(bytesOf('f4_scalar'));
    assert.deepEqual(s.shape, []);
    assert.deepEqual([...s.data], [3.5]);
    const e = parseNpy(bytesOf('f4_0x3'));
    assert.deepEqual(e.shape, [0, 3]);
    assert.equal(e.data.length, 0);
    for (const v of ['f4_v2', 'f4_v3'] as const) {
      const t = parseNpy(bytesOf(v));
      assert.deepEqual(t.shape, [3], v);
      assert.deepEqual([...t.data], [1, 2, 3], v);
    }
  });

  it('reads from a view at an odd offset of a larger buffer', () => {
    const file = bytesOf('f4_2x3');
    const big = new Uint8Array(file.length + 3);
    big.set(file, 1);
    assert.deepEqual([...parseNpy(big.subarray(1, 1 + file.length)).data], [-1, -0.5, 0, 0.5, 1, 1.5]);
  });

  it('accepts headers numpy would read: other key order, double quotes, Python 2 longs', () => {
    const data = new Uint8Array(new Float32Array([1, 2, 3, 4, 5, 6]).buffer);
    const t = parseNpy(npyWithHeader(`{"shape": (2L, 3L), "fortran_order": False, "descr": "<f4"}`, data));
    assert.deepEqual(t.shape, [2, 3]);
    assert.deepEqual([...t.data], [1, 2, 3, 4, 5, 6]);
  });
});

describe('parseNpy refuses bad files with NpyError', () => {
  it('Fortran order, big-endian, other dtypes, structured dtypes', () => {
    throwsNpy(() => parseNpy(bytesOf('f4_fortran')), /fortran_order True .*shape \[2,3\]/);
    throwsNpy(() => parseNpy(bytesOf('f4_bigendian')), /big-endian data \('>f4'\)/);
    throwsNpy(() => parseNpy(bytesOf('u1')), /dtype '\|u1' is not supported \(supported: <f4, <f8, <i4, <i8\)/);
    throwsNpy(() => parseNpy(bytesOf('structured')), /structured dtypes/);
  });

  it('wrong magic, empty input, unknown version', () => {
    throwsNpy(() => parseNpy(new Uint8Array(0)), /not a \.npy file/);
    throwsNpy(() => parseNpy(new TextEncoder().encode('<html><body>not numpy</body></html>')), /not a \.npy file/);
    const v9 = bytesOf('f4_2x3');
    v9[6] = 9;
    throwsNpy(() => parseNpy(v9), /unsupported format version 9\.0/);
  });

  it('truncated data, extra data, truncated header', () => {
    const file = bytesOf('f4_2x3');
    throwsNpy(() => parseNpy(file.subarray(0, file.length - 1)), /shape \[2,3\] of <f4 needs 24 data bytes, the file has 23 \(truncated\)/);
    const longer = new Uint8Array(file.length + 4);
    longer.set(file);
    throwsNpy(() => parseNpy(longer), /needs 24 data bytes, the file has 28/);
    throwsNpy(() => parseNpy(file.subarray(0, 60)), /header claims 118 bytes/);
    throwsNpy(() => parseNpy(file.subarray(0, 9)), /not a \.npy file|header length/);
  });

  it('bad header dicts', () => {
    throwsNpy(() => parseNpy(npyWithHeader(`{'descr': '<f4', 'shape': (2,), }`)), /header keys are \[descr, shape\]/);
    throwsNpy(
      () => parseNpy(npyWithHeader(`{'descr': '<f4', 'fortran_order': False, 'shape': (2,), 'x': 1}`)),
      /header keys are \[descr, fortran_order, shape, x\]/,
    );
    throwsNpy(() => parseNpy(npyWithHeader(`{'descr': '<f4', 'fortran_order': False, 'shape': (2, -3), }`)), /bad dimension -3/);
    throwsNpy(() => parseNpy(npyWithHeader(`{'descr': '<f4', 'fortran_order': False, 'shape': 6, }`)), /shape must be a tuple/);
    throwsNpy(() => parseNpy(npyWithHeader(`{'descr': '<f4', 'fortran_order': 0, 'shape': (6,), }`)), /fortran_order must be True or False/);
    throwsNpy(() => parseNpy(npyWithHeader(`{'descr': '<f4', 'fortran_order': False, 'shape': (6,`)), /bad header/);
    throwsNpy(() => parseNpy(npyWithHeader(`import os; os.system('x')`)), /bad header/);
  });

  it('shapes claiming more data than any file has', () => {
    // 2^62 elements: refused by the length check before anything is allocated.
    const huge = npyWithHeader(`{'descr': '<f4', 'fortran_order': False, 'shape': (4611686018427387904,), }`);
    throwsNpy(() => parseNpy(huge), /bad dimension|needs/);
    const big = npyWithHeader(`{'descr': '<f4', 'fortran_order': False, 'shape': (100000, 100000), }`);
    throwsNpy(() => parseNpy(big), /shape \[100000,100000\] of <f4 needs 40000000000 data bytes, the file has 0 \(truncated\)/);
  });
});

describe('serializeNpy', () => {
  it('writes exactly the bytes numpy writes (header, padding, data)', () => {
    for (const name of ['f4_2x3', 'f4_1x3x4x5', 'f4_scalar', 'f4_0x3'] as const) {
      const file = bytesOf(name);
      assert.deepEqual(serializeNpy(parseNpy(file)), file, name);
    }
  });

  it('round-trips shapes and values, data starting on a 64-byte boundary', () => {
    const values = new Float32Array([0, -0, 1.5, -3.25e-8, 65504, Infinity, -Infinity, NaN]);
    for (const shape of [[8], [2, 4], [1, 2, 2, 2], [2, 2, 2, 1, 1]]) {
      const bytes = serializeNpy(tensor(shape, values));
      const headerLen = new DataView(bytes.buffer).getUint16(8, true);
      assert.equal((10 + headerLen) % 64, 0, `alignment for ${shape}`);
      const back = parseNpy(bytes);
      assert.deepEqual(back.shape, shape);
      assert.deepEqual(new Uint8Array(back.data.buffer), new Uint8Array(values.buffer), `bits for ${shape}`);
    }
  });

  it('refuses a tensor whose data does not match its shape', () => {
    throwsNpy(() => serializeNpy({ shape: [2, 3], data: new Float32Array(5) }), /shape \[2,3\] needs 6 values, data has 5/);
  });

  it('2000 seeded mutations of real files (bit flips, overwritten bytes, cuts, shape digits): a tensor or an NpyError, never another error', () => {
    const r = seededRandom(14).uniform;
    const int = (n: number): number => Math.floor(r() * n);
    const files = Object.values(NUMPY).map((b64) => Uint8Array.from(Buffer.from(b64, 'base64')));
    let refused = 0;
    for (let k = 0; k < 2000; k++) {
      let b = files[k % files.length]!.slice();
      const kind = k % 4;
      if (kind === 0) for (let f = 0; f < 1 + int(4); f++) b[int(b.length)]! ^= 1 << int(8);
      else if (kind === 1) b[int(b.length)] = int(256);
      else if (kind === 2) b = b.subarray(0, int(b.length));
      else {
        // A digit of the header (the shape, the header length) replaced: shapes claiming huge sizes.
        const digits = [...b.subarray(0, 128).keys()].filter((i) => b[i]! >= 0x30 && b[i]! <= 0x39);
        if (digits.length > 0) b[digits[int(digits.length)]!] = 0x30 + int(10);
      }
      try {
        const t = parseNpy(b);
        assert.equal(t.data.length, t.shape.reduce((a, d) => a * d, 1));
      } catch (e) {
        assert.ok(e instanceof NpyError, `mutation ${k}: ${String(e)}`);
        assert.doesNotMatch(e.message, /\n/);
        refused++;
      }
    }
    assert.ok(refused > 500, `${refused} refused`);
  });
});

// The transpose kernel against the definition, on shapes with and without 4x4 blocks, edges on either side,
// leading dimensions wider than the matrix, and the values around the destination left alone.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ModuleBuilder } from './emit';
import { wasm } from './wasm-api';
import { emitX32Transpose } from './x32-transpose';

test('transpose: dst[c][r] = src[r][c] for every shape, nothing written outside the matrix', () => {
  const m = new ModuleBuilder();
  m.importMemory('env', 'memory', 1, 1, false);
  m.export('transpose', emitX32Transpose(m));
  const memory = new wasm.Memory({ initial: 1, maximum: 1 });
  const transpose = new wasm.Instance(new wasm.Module(m.toBytes()), { env: { memory } }).exports['transpose'] as (...a: number[]) => void;
  const f = new Float32Array(memory.buffer);
  const SRC = 16, DST = 4096;
  for (const [rows, cols, lds, ldd] of [[4, 4, 4, 4], [1, 1, 1, 1], [3, 5, 7, 3], [8, 12, 13, 9], [16, 64, 80, 16], [6, 7, 7, 6], [5, 4, 4, 5]] as const) {
    f.fill(-1);
    for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) f[SRC + r * lds + c] = r * 1000 + c;
    transpose(SRC * 4, lds, DST * 4, ldd, rows, cols);
    for (let c = 0; c < cols; c++) {
      for (let r = 0; r < ldd; r++) {
        assert.equal(f[DST + c * ldd + r], r < rows ? r * 1000 + c : -1, `${rows}x${cols} (lds ${lds}, ldd ${ldd}): dst[${c}][${r}]`);
      }
    }
    assert.equal(f[DST - 1], -1);
    assert.equal(f[DST + cols * ldd], -1);
  }
});

// The training Winograd transforms built from interpolation points: the textbook F(2x2) and F(4x4) come out
// (up to the sign of a row), and every point set gives exact 1-D correlations in float64.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { WINOGRAD_F2X2_3X3, WINOGRAD_F4X4_3X3, type WinogradTransform } from './winograd-3x3';
import { WINOGRAD_F4X4_3X3_TRAIN, winogradFromPoints } from './winograd-3x3-train';

/**
 * Same transform up to a sign per point: a row of B^T can change sign with the same row of G (a finite point)
 * or with A^T's last column (infinity); the products are what counts.
 */
function assertSameUpToSigns(got: WinogradTransform, want: WinogradTransform): void {
  assert.equal(got.m, want.m);
  const alpha = got.m + 2;
  for (let j = 0; j < alpha; j++) {
    const row = got.bt[j]!, first = row.findIndex((v) => v !== 0);
    const sign = Math.sign(row[first]!) * Math.sign(want.bt[j]![first]!);
    assert.deepEqual(row.map((v) => v * sign + 0), want.bt[j]!.map((v) => v + 0), `B^T row ${j}`);
    const gSign = j < alpha - 1 ? sign : 1, atSign = j < alpha - 1 ? 1 : sign;
    got.g[j]!.forEach((v, k) => assert.ok(Math.abs(v * gSign - want.g[j]![k]!) < 1e-15, `G row ${j}`));
    got.at.forEach((r, i) => assert.equal(r[j]! * atSign + 0, want.at[i]![j]! + 0, `A^T column ${j}`));
  }
}

test('winogradFromPoints gives Lavin & Gray F(2x2) and F(4x4) from 0, +-1 (, +-2)', () => {
  assertSameUpToSigns(winogradFromPoints([0, 1, -1]), WINOGRAD_F2X2_3X3);
  assertSameUpToSigns(winogradFromPoints([0, 1, -1, 2, -2]), WINOGRAD_F4X4_3X3);
});

test('every point set computes the 1-D correlation y_i = sum_k g_k d_(i+k) exactly (float64)', () => {
  let seed = 7;
  const rnd = (): number => { seed = (seed * 16807) % 2147483647; return seed / 2147483647 - 0.5; };
  for (const tr of [winogradFromPoints([0, 1, -1]), WINOGRAD_F4X4_3X3_TRAIN, winogradFromPoints([0, 1, -1, 2, -2]),
    winogradFromPoints([0, 1, -1, 0.5, -0.5, 2, -2])]) {
    const alpha = tr.m + 2;
    for (let trial = 0; trial < 20; trial++) {
      const d = Array.from({ length: alpha }, rnd), g = Array.from({ length: 3 }, rnd);
      const gg = tr.g.map((row) => row.reduce((s, v, k) => s + v * g[k]!, 0));
      const dd = tr.bt.map((row) => row.reduce((s, v, k) => s + v * d[k]!, 0));
      tr.at.forEach((row, i) => {
        const y = row.reduce((s, v, j) => s + v * gg[j]! * dd[j]!, 0);
        const want = g.reduce((s, v, k) => s + v * d[i + k]!, 0);
        assert.ok(Math.abs(y - want) < 1e-12, `F(${tr.m}) y[${i}] = ${y}, want ${want}`);
      });
    }
  }
});

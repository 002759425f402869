// Shared by the kernel tests: seeded random tensors, a magnitude-relative comparison, and the per-backend loop.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { getKernel, registeredBackends } from '../registry';
import type { BackendName, KernelSignatures, OpName } from '../types';
import { shapeStr, tensor, type Tensor } from '../core/tensor';
import { seededRandom } from '../../src/random';

/** Seeded uniform numbers in [0, 1), so a failing case can be reproduced. */
export const rng = (seed: number): (() => number) => seededRandom(seed).uniform;

export function randomTensor(shape: readonly number[], next: () => number, scale = 1): Tensor {
  const t = tensor(shape);
  for (let i = 0; i < t.data.length; i++) t.data[i] = (next() * 2 - 1) * scale;
  return t;
}

/** Integer in [lo, hi]. */
export function randInt(next: () => number, lo: number, hi: number): number {
  return lo + Math.floor(next() * (hi - lo + 1));
}

/** Same shape, and every element within 1e-4 * max|want| + 1e-5 (NaN must match NaN, infinities must match). */
export function assertClose(got: Tensor, want: Tensor, what: string, rtol = 1e-4, atol = 1e-5): void {
  assert.equal(shapeStr(got.shape), shapeStr(want.shape), `${what}: shape`);
  assert.equal(got.data.length, want.data.length, `${what}: data length`);
  let scale = 0;
  for (const v of want.data) if (Number.isFinite(v)) scale = Math.max(scale, Math.abs(v));
  const tol = rtol * scale + atol;
  for (let i = 0; i < want.data.length; i++) {
    const g = got.data[i]!;
    const w = want.data[i]!;
    if (Number.isNaN(w) || !Number.isFinite(w)) {
      assert.ok(Object.is(g, w) || (Number.isNaN(g) && Number.isNaN(w)), `${what}: element ${i} is ${g}, expected ${w}`);
    } else if (!(Math.abs(g - w) <= tol)) {
      assert.fail(`${what}: element ${i} of ${shapeStr(want.shape)} is ${g}, expected ${w} (tolerance ${tol.toExponential(2)})`);
    }
  }
}

/**
 * Runs `body` once per backend that registered `op`, inside describe('<op> [<backend>]'). Written once, so a
 * new backend registering the same ops is tested by the same code. No backend at all is itself a failure.
 */
export function forEachBackend<K extends OpName>(op: K, body: (kernel: KernelSignatures[K], backend: BackendName) => void): void {
  const backends = registeredBackends(op);
  if (backends.length === 0) {
    test(`${op} has at least one backend`, () => assert.fail(`no backend registered ${op}`));
    return;
  }
  for (const backend of backends) describe(`${op} [${backend}]`, () => body(getKernel(backend, op), backend));
}

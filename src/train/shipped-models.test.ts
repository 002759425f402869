// Each shipped Fashion-MNIST model, on the committed 1000-image test slice, on both engines, against the
// accuracy its model card states (within 1 point). Skipped for models not shipped yet.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parseMeta } from '../model-meta';
import { parseOnnx } from '../onnx/read';
import type { EvalReport } from './cli';
import { evaluateInWorker } from './eval-worker';
import { SLICE_ACCURACY_RE, SLICE_DIR } from './model-card';

const ROOT = join(import.meta.dirname, '../..');
const SHIPPED = ['plain20', 'resnet20', 'plain56', 'resnet56'];

/** Runs jobs with at most `limit` at a time (each is a worker thread). */
async function pool<T>(jobs: (() => Promise<T>)[], limit: number): Promise<T[]> {
  const out: T[] = new Array<T>(jobs.length);
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(limit, jobs.length) }, async () => {
    while (next < jobs.length) {
      const i = next++;
      out[i] = await jobs[i]!();
    }
  }));
  return out;
}

describe('shipped models on the 1000-image Fashion-MNIST slice', () => {
  const present = SHIPPED.filter((n) => existsSync(join(ROOT, 'models', `${n}.onnx`)));
  const missing = SHIPPED.filter((n) => !present.includes(n));
  for (const name of missing) it(`${name}`, { skip: `models/${name}.onnx is not shipped yet` }, () => {});
  if (present.length === 0) return;

  it(`${present.join(', ')}: ts and ort-wasm accuracy within 1 point of the model card`, async () => {
    const engines = ['ts', 'ort-wasm'] as const;
    const jobs = present.flatMap((name) => engines.map((engine) => async (): Promise<[string, string, EvalReport]> => {
      const bytes = new Uint8Array(readFileSync(join(ROOT, 'models', `${name}.onnx`)));
      return [name, engine, await evaluateInWorker(bytes, join(ROOT, SLICE_DIR), engine)];
    }));
    const results = await pool(jobs, Math.max(1, availableParallelism()));
    for (const [name, engine, r] of results) {
      const card = readFileSync(join(ROOT, 'models', 'cards', `${name}.md`), 'utf8');
      const m = SLICE_ACCURACY_RE.exec(card);
      assert.ok(m, `models/cards/${name}.md states no accuracy on the 1000-image slice`);
      const stated = Number(m[1]) / 100;
      assert.equal(r.images, 1000);
      assert.ok(Math.abs(r.accuracy - stated) <= 0.01, `${name} on ${engine}: ${(100 * r.accuracy).toFixed(2)}% on the slice, its card says ${m[1]}%`);
    }
    for (const name of present) {
      const meta = parseMeta(parseOnnx(new Uint8Array(readFileSync(join(ROOT, 'models', `${name}.onnx`)))).metadata);
      assert.ok(meta?.trained, `${name}: metadata says untrained`);
      assert.deepEqual(meta.input, [1, 28, 28]);
      assert.equal(meta.labels[0], 'T-shirt/top');
    }
  });
});

// Each shipped Fashion-MNIST model, on the committed 1000-image test slice, on our engines and ONNX Runtime,
// against the accuracy its model card states (within 1 point); and the four nets' training records against
// the bars they ship for: one recipe, resnet20 at least 91%, resnet56 at least resnet20, and Figure 6's
// degradation (plain56 ends with a higher training error than plain20) and its cure (resnet56 lower than
// plain56). Skipped for models not shipped yet.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parseMeta } from '../model-meta';
import { parseOnnx } from '../onnx/read';
import type { EvalReport } from './evaluate';
import { evaluateInWorker } from './eval-worker';
import { parseSidecar } from '../sidecar';
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

  it(`${present.join(', ')}: wasm, ts and ort-wasm accuracy within 1 point of the model card`, async () => {
    const engines = ['wasm', 'ts', 'ort-wasm'] as const;
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

  it('one recipe for the four; resnet20 >= 91%, resnet56 >= resnet20; plain56 trains worse than plain20, resnet56 better than plain56', { skip: missing.length > 0 && `needs all four (missing ${missing.join(', ')})` }, () => {
    const car = Object.fromEntries(SHIPPED.map((n) => [n, parseSidecar(JSON.parse(readFileSync(join(ROOT, 'models', `${n}.json`), 'utf8')), `models/${n}.json`)]));
    const accuracy = (n: string): number => car[n]!.evaluation!.testSet.accuracy;
    const finalTrainError = (n: string): number => car[n]!.history.at(-1)!.trainError;
    const { model: _m, init: _i, ...recipe } = car['resnet20']!.recipe;
    for (const n of SHIPPED) {
      const { model, init, ...r } = car[n]!.recipe;
      assert.equal(model, n);
      assert.deepEqual(r, recipe, `${n} was trained with another recipe`);
      // The residual-branch rule of the initialisation changes nothing in a plain net.
      assert.match(init, /^He normal \(fan-in\), zoo seed/);
      assert.equal(car[n]!.history.length, recipe.epochs, `${n} did not finish its epochs`);
    }
    assert.ok(accuracy('resnet20') >= 0.91, `resnet20: ${accuracy('resnet20')}`);
    assert.ok(accuracy('resnet56') >= accuracy('resnet20'), `resnet56 ${accuracy('resnet56')} < resnet20 ${accuracy('resnet20')}`);
    assert.ok(finalTrainError('plain56') > finalTrainError('plain20'), `no degradation: plain56 ${finalTrainError('plain56')}, plain20 ${finalTrainError('plain20')}`);
    assert.ok(finalTrainError('resnet56') < finalTrainError('plain56'), `resnet56 ${finalTrainError('resnet56')} >= plain56 ${finalTrainError('plain56')}`);
  });
});

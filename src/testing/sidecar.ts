// Test fixtures: a complete, valid sidecar (src/sidecar.ts) for a Fashion-MNIST model, with the given
// per-epoch errors. Shared by unit tests and the e2e tests.
import { FASHION_MNIST } from '../datasets';
import type { EpochRecord, Recipe, Sidecar } from '../sidecar';

export function fixtureRecipe(model: string, epochs: number): Recipe {
  return {
    model, shortcut: 'A', dataset: FASHION_MNIST.name, epochs, batch: 128, lr: 0.1, lrSteps: 'divide by 10 at 50% and 75% of the steps',
    warmupSteps: 0, momentum: 0.9, weightDecay: 1e-4, augment: { pad: 4, flip: true }, init: 'test fixture', seed: 1,
    trainImages: 1000, testImages: 100, mean: FASHION_MNIST.mean[0]!, std: FASHION_MNIST.std[0]!,
  };
}

/** Epoch records 1..n from [trainError, testError] pairs. */
export function fixtureHistory(errors: readonly (readonly [number, number])[]): EpochRecord[] {
  return errors.map(([trainError, testError], i) => ({
    epoch: i + 1, lr: 0.1, trainLoss: 1, trainError, testLoss: 1, testError, seconds: 1, imagesPerSecond: 100, threads: 1,
  }));
}

export function fixtureSidecar(name: string, errors: readonly (readonly [number, number])[]): Sidecar {
  const history = fixtureHistory(errors);
  const last = history.at(-1);
  return {
    name, input: [FASHION_MNIST.channels, FASHION_MNIST.size, FASHION_MNIST.size], mean: [...FASHION_MNIST.mean], std: [...FASHION_MNIST.std],
    labels: FASHION_MNIST.labels, trained: true,
    training: { dataset: FASHION_MNIST.name, epochs: history.length, recipe: 'test fixture', testAccuracy: last ? 1 - last.testError : 0 },
    file: `${name}.onnx`, bytes: 1, sha256: '0'.repeat(64), recipe: fixtureRecipe(name, history.length), history,
  };
}

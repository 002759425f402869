// The Train view's choices and arithmetic, kept pure: the depths and input sizes offered, the batch a
// folder gets and the race's time estimate.
import { estimateSeconds, FOLDER_RECIPE } from '../../src/train/net-trainer';

/** The paper's CIFAR depths (6n + 2) offered for the race. */
export const DEPTHS = [20, 32, 44, 56] as const;
export type Depth = (typeof DEPTHS)[number];

/** Input sizes offered: the recipe's 32 (RGB) and 28 (grayscale) among smaller and larger ones, up to 64. */
export const SIZES = [16, 24, 28, 32, 40, 48, 56, 64] as const;

/**
 * The batch for a folder of `trainImages`: the folder recipe's 64, but at least four steps an epoch on a
 * small folder (batch norm needs two images or more).
 */
export function trainBatch(trainImages: number): number {
  return Math.max(2, Math.min(FOLDER_RECIPE.batch, Math.floor(trainImages / 4)));
}

export interface MeasuredNet {
  readonly secondsPerStep: number;
  readonly stepsPerEpoch: number;
  readonly batch: number;
}

/**
 * Seconds the race takes: the nets train at once (a worker each), so the slower one's time, each with
 * its validation passes, from steps timed while both ran.
 */
export function raceSeconds(nets: readonly MeasuredNet[], epochs: number, valImages: number): number {
  return Math.max(0, ...nets.map((n) => estimateSeconds(n.secondsPerStep, n.stepsPerEpoch, epochs, valImages, n.batch)));
}

// SGD with momentum and weight decay, and the paper's learning-rate schedule.

export interface SgdConfig {
  readonly momentum: number;
  readonly weightDecay: number;
}

/** The paper's (section 4.2): momentum 0.9, weight decay 1e-4. */
export const PAPER_SGD: SgdConfig = { momentum: 0.9, weightDecay: 1e-4 };

/**
 * One step over flat parameter vectors, as PyTorch's SGD does it:
 *   v = momentum * v + (g + weightDecay * w);  w = w - lr * v
 * Every parameter decays, batch norm's and biases included (torch-reference.py's SGD does the same).
 */
export function sgdStep(w: Float32Array, g: ArrayLike<number>, v: Float32Array, lr: number, cfg: SgdConfig): void {
  if (g.length !== w.length || v.length !== w.length) throw new Error(`sgdStep: ${w.length} weights, ${g.length} gradients, ${v.length} velocities`);
  const { momentum, weightDecay } = cfg;
  for (let i = 0; i < w.length; i++) {
    const vi = momentum * v[i]! + g[i]! + weightDecay * w[i]!;
    v[i] = vi;
    w[i] = w[i]! - lr * vi;
  }
}

/**
 * The paper divides the learning rate by 10 at 32k and 48k of 64k iterations: at 50% and 75% of training.
 * Scaled to our run: `step` of `totalSteps`. An optional warm-up (the paper's 110-layer net used 0.01
 * until training error fell below 80%) runs the first `warmupSteps` at a tenth of the base rate.
 */
export function paperLearningRate(base: number, step: number, totalSteps: number, warmupSteps = 0): number {
  if (step < warmupSteps) return base / 10;
  const f = step / totalSteps;
  if (f >= 0.75) return base / 100;
  if (f >= 0.5) return base / 10;
  return base;
}

/**
 * Cosine decay to 0 over the run (Loshchilov & Hutter 2017) after a linear warm-up: step s < warmupSteps
 * runs at base * (s + 1) / warmupSteps, later steps at base * (1 + cos(pi * t)) / 2 with t the share of
 * the remaining steps done. Short runs on small data sets reach better accuracy with it than with steps.
 */
export function cosineLearningRate(base: number, step: number, totalSteps: number, warmupSteps = 0): number {
  if (step < warmupSteps) return (base * (step + 1)) / warmupSteps;
  const t = (step - warmupSteps) / Math.max(1, totalSteps - warmupSteps);
  return (base * (1 + Math.cos(Math.PI * Math.min(1, t)))) / 2;
}

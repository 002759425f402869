// Gradients of a training net in the calling thread: one forward/backward (or an inference pass) at given
// parameters. Pure: engine.ts spreads it over Node worker threads for the CLI; the app's training worker
// (a Web Worker per net) runs it as it is.
import type { TrainNet } from './net';

export interface StepOutput {
  /** Mean loss and correct count over the whole batch. */
  readonly loss: number;
  readonly correct: number;
  /** Gradient of the mean loss, flat over the parameters. */
  readonly grads: Float32Array;
  /** Batch-norm running statistics after this step. */
  readonly states: Float32Array;
  /** Wall milliseconds of each shard's forward and backward in its thread, in shard order. */
  readonly shardMs: readonly number[];
}

export interface GradientEngine {
  readonly threads: number;
  readonly paramCount: number;
  readonly stateCount: number;
  /** One forward/backward at parameters `theta` and running statistics `states` on n NCHW samples. */
  step(theta: Float32Array, states: Float32Array, images: Float32Array, labels: Int32Array, n: number): Promise<StepOutput>;
  /** Inference-mode logits [n, classes]. */
  predict(theta: Float32Array, states: Float32Array, images: Float32Array, n: number): Promise<Float32Array>;
  close(): Promise<void>;
}

export type Request =
  | { type: 'step'; theta: Float32Array; states: Float32Array; images: Float32Array; labels: Int32Array; n: number }
  | { type: 'predict'; theta: Float32Array; states: Float32Array; images: Float32Array; n: number };

export type Reply =
  | { type: 'step'; loss: number; correct: number; grads: Float32Array; states: Float32Array; ms: number }
  | { type: 'predict'; logits: Float32Array }
  | { type: 'error'; message: string };

/** One shard's work on a net in this thread. */
export function runLocal(net: TrainNet, req: Request): Reply {
  net.setParams(req.theta);
  net.setStates(req.states);
  if (req.type === 'predict') {
    net.forward(req.images, req.n, false);
    return { type: 'predict', logits: net.logitsRows() };
  }
  const t0 = performance.now();
  net.forward(req.images, req.n, true);
  const r = net.lossAndBackward(req.labels);
  const ms = performance.now() - t0;
  return { type: 'step', loss: r.loss, correct: r.correct, grads: net.getGrads(), states: net.getStates(), ms };
}

/** The engine of one thread: every step and prediction on `net` here. */
export function localEngine(net: TrainNet): GradientEngine {
  const reply = <T extends Reply['type']>(r: Reply, type: T): Extract<Reply, { type: T }> => {
    if (r.type !== type) throw new Error(`training: expected a ${type} result, got ${r.type}`);
    return r as Extract<Reply, { type: T }>;
  };
  return {
    threads: 1, paramCount: net.paramCount, stateCount: net.stateCount,
    async step(theta, states, images, labels, n) {
      const r = reply(runLocal(net, { type: 'step', theta, states, images, labels, n }), 'step');
      return { loss: r.loss, correct: r.correct, grads: r.grads, states: r.states, shardMs: [r.ms] };
    },
    async predict(theta, states, images, n) {
      return reply(runLocal(net, { type: 'predict', theta, states, images, n }), 'predict').logits;
    },
    async close() {},
  };
}

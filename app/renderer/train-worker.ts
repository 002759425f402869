// A training worker: one net of the race (plainN or resnetN) on our WebAssembly training kernels, with
// src/train's NetTrainer as the CLI uses it, on one thread. It yields between steps, so pause and resume
// arrive while it trains; cancel terminates it.
import { localEngine } from '../../src/train/local-engine';
import {
  buildTrainNet, estimateSeconds, freshStart, makeRecipe, NetTrainer, type RecipeInput, sidecarOf, type TrainData, type TrainerStart, trainSpec,
} from '../../src/train/net-trainer';
import type { ModelSpec } from '../../src/zoo/spec';
import type { TrainReply, TrainRequest } from './train-protocol';

/** Progress messages at most this often. */
const PROGRESS_MS = 500;

interface Prepared {
  readonly model: string;
  readonly input: RecipeInput;
  readonly data: TrainData;
  readonly spec: ModelSpec;
  readonly make: (epochs: number) => NetTrainer;
}

let prepared: Prepared | null = null;
let paused: { promise: Promise<void>; resume: () => void } | null = null;

const post = (m: TrainReply, transfer: Transferable[] = []): void => self.postMessage(m, { transfer });

function prepare(model: string, input: RecipeInput, data: TrainData): Prepared {
  const spec = trainSpec(model, input.shortcut, data);
  const first = makeRecipe(model, input, spec, data);
  const { net } = buildTrainNet(spec, first, first.batch);
  const engine = localEngine(net);
  // Timing steps leaves the weights as they are; the start is kept apart from the net's own buffers.
  const start: TrainerStart = freshStart(net);
  const make = (epochs: number): NetTrainer => new NetTrainer(makeRecipe(model, { ...input, epochs }, spec, data), spec, data, net, engine, {
    ...start, theta: start.theta.slice(), states: start.states.slice(), velocity: new Float32Array(start.theta.length),
  });
  return { model, input, data, spec, make };
}

const tick = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 0));

async function train(p: Prepared, epochs: number): Promise<void> {
  const t = p.make(epochs);
  const steps = t.stepsPerEpoch;
  let last = 0;
  for (let epoch = 0; epoch < epochs; epoch++) {
    t.beginEpoch(epoch);
    for (let s = 0; s < steps; s++) {
      await tick();
      if (paused) await paused.promise;
      await t.step(epoch, s);
      const now = performance.now();
      if (now - last > PROGRESS_MS || s === steps - 1) {
        last = now;
        const left = t.secondsLeft(epoch, s) + estimateSeconds(t.secondsPerStep, 0, epochs - epoch, p.data.test.count, t.recipe.batch);
        post({ type: 'progress', epoch, step: s, ...t.running(), secondsPerStep: t.secondsPerStep, secondsLeft: left });
      }
    }
    post({ type: 'epoch', record: await t.evaluateEpoch(epoch) });
  }
  const exp = await t.exportModel();
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', exp.bytes as Uint8Array<ArrayBuffer>));
  const sha256 = [...digest].map((b) => b.toString(16).padStart(2, '0')).join('');
  post({ type: 'done', onnx: exp.bytes, sidecar: sidecarOf(exp, t.recipe, t.history, sha256, true), report: exp.report }, [exp.bytes.buffer]);
}

self.onmessage = async (e: MessageEvent<TrainRequest>): Promise<void> => {
  const m = e.data;
  try {
    if (m.type === 'prepare') {
      prepared = prepare(m.model, m.input, m.data);
      post({ type: 'built' });
    } else if (m.type === 'measure') {
      if (!prepared) throw new Error('training worker: measure before prepare');
      const t = prepared.make(prepared.input.epochs);
      const secondsPerStep = await t.timeSteps(2);
      post({
        type: 'prepared', model: prepared.model, secondsPerStep, stepsPerEpoch: t.stepsPerEpoch, batch: t.recipe.batch, params: t.net.paramCount,
        macsPerImage: t.net.macsPerSample,
      });
    } else if (m.type === 'train') {
      if (!prepared) throw new Error('training worker: train before prepare');
      await train(prepared, m.epochs);
    } else if (m.type === 'pause') {
      if (!paused) {
        let resume = (): void => {};
        const promise = new Promise<void>((r) => { resume = r; });
        paused = { promise, resume };
      }
    } else if (m.type === 'resume') {
      paused?.resume();
      paused = null;
    }
  } catch (err) {
    post({ type: 'error', message: err instanceof Error ? err.message : String(err) });
  }
};

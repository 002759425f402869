// Messages between the Train view and its training workers (train-worker.ts): one worker per net, so
// the plain net and its residual twin train side by side on two cores.
import type { Sidecar, EpochRecord } from '../../src/sidecar';
import type { ClassReport } from '../../src/train/metrics';
import type { RecipeInput, TrainData } from '../../src/train/net-trainer';

export type TrainRequest =
  /** Build the net on the data (answered by 'built'). */
  | { readonly type: 'prepare'; readonly model: string; readonly input: RecipeInput; readonly data: TrainData }
  /** Time two steps (the estimate), as `resnet train` does before it starts; sent to both nets at once. */
  | { readonly type: 'measure' }
  /** Train the prepared net from its initial weights for `epochs` epochs. */
  | { readonly type: 'train'; readonly epochs: number }
  | { readonly type: 'pause' }
  | { readonly type: 'resume' };

export type TrainReply =
  | { readonly type: 'built' }
  | {
    readonly type: 'prepared'; readonly model: string; readonly secondsPerStep: number; readonly stepsPerEpoch: number; readonly batch: number;
    readonly params: number; readonly macsPerImage: number;
  }
  /** After a step (at most a few a second): the epoch's running training loss and error. */
  | {
    readonly type: 'progress'; readonly epoch: number; readonly step: number; readonly loss: number; readonly error: number;
    readonly secondsPerStep: number; readonly secondsLeft: number;
  }
  | { readonly type: 'epoch'; readonly record: EpochRecord }
  /** The trained model: the ONNX bytes (labels and preprocessing inside) and its sidecar. */
  | { readonly type: 'done'; readonly onnx: Uint8Array; readonly sidecar: Sidecar; readonly report: ClassReport }
  | { readonly type: 'error'; readonly message: string };

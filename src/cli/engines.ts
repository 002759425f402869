// What the CLI's model-running commands share: the engines a terminal can use, the default thread count,
// and the note that untrained weights give meaningless predictions.
import { availableParallelism } from 'node:os';
import { ENGINES, type EngineName, type ModelInfo } from '../engine/session';
import type { CliIO } from './command';

/** Every engine but WebGPU, which Node has not got. */
export const CLI_ENGINES = ENGINES.filter((e) => e !== 'ort-webgpu');
export const DEFAULT_ENGINE: EngineName = 'wasm';

export function defaultThreads(): number {
  return Math.max(1, availableParallelism());
}

export function untrainedNote(info: ModelInfo, io: CliIO): void {
  if (!info.trained) io.err(`note: ${info.name} has untrained (seeded random) weights: its predictions mean nothing`);
}

// Messages between the fuzz harness and its worker thread.
import type { Judged } from './judge';

export interface CaseRequest {
  readonly index: number;
  readonly seed: number;
  readonly only?: readonly string[];
}

export interface CaseResponse {
  readonly index: number;
  readonly mutations: readonly string[];
  /** Size of the mutated model in bytes. */
  readonly bytes: number;
  readonly judged?: Judged;
  /** The harness itself failed (a bug in the mutator or judge, not a model verdict). */
  readonly crash?: string;
}

// What the parts of the app's controller (model slots, image runs) share: the state, the host, the
// inference worker, the work queue and the ways to show progress, errors and a new state.
import type { Host } from './host';
import type { AppState } from './state';
import type { Task } from './task-queue';
import type { InferenceClient } from './worker-client';

export interface AppContext {
  readonly host: Host;
  readonly inference: InferenceClient;
  readonly state: AppState;
  /** Redraws on the next animation frame. */
  render(): void;
  /** A problem for the errors area: a title, one plain sentence, optionally the technical detail and the file it is about. */
  showError(title: string, message: string, opts?: { detail?: string; subject?: string }): void;
  setBusy(text: string | null, fraction?: number): void;
  enqueue(label: string, run: (t: Task) => Promise<void>): void;
  /** Puts the pair and engine menus in line with the state. */
  syncSelects(): void;
  /** Files from a picker, a drop or a paste: images to the list, a model file to the side question. */
  acceptFiles(files: readonly File[]): void;
}

export function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

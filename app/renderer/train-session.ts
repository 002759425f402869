// The Train view's controller: the folder (scanned and decoded at the chosen size), the race's two
// training workers (plainN and resnetN, one Web Worker each, so both cores train), their estimate,
// progress, pause/resume/cancel and results. Plain state for train-view.ts to draw; `changed` asks for a
// redraw. Bad input (a folder with fewer than two classes, too much memory) leaves the last good folder.
import type { EpochRecord, Sidecar } from '../../src/sidecar';
import type { ClassReport } from '../../src/train/metrics';
import type { RecipeInput, TrainData } from '../../src/train/net-trainer';
import { FOLDER_RECIPE } from '../../src/train/net-trainer';
import { messageOf } from './context';
import type { Host } from './host';
import { type FolderEntry, loadTrainingFolder, type TrainingFolder } from './train-data';
import { type Depth, type MeasuredNet, raceSeconds, trainBatch } from '../shared/train-plan';
import type { TrainReply, TrainRequest } from './train-protocol';

export type Family = 'plain' | 'residual';
export const FAMILIES: readonly Family[] = ['plain', 'residual'];

export interface TrainSettings {
  depth: Depth;
  size: number;
  gray: boolean;
  epochs: number;
}

export interface NetRun {
  readonly model: string;
  built?: boolean;
  measured?: MeasuredNet & { readonly params: number; readonly macsPerImage: number };
  history: EpochRecord[];
  /** The running epoch: step done, running loss and error, seconds left for this net. */
  progress?: { epoch: number; step: number; loss: number; error: number; secondsLeft: number };
  result?: { readonly onnx: Uint8Array; readonly sidecar: Sidecar; readonly report: ClassReport };
}

export type Phase = 'empty' | 'loading' | 'measuring' | 'ready' | 'training' | 'paused' | 'done';

export interface TrainState {
  phase: Phase;
  settings: TrainSettings;
  folder: TrainingFolder | null;
  loading: { done: number; total: number } | null;
  nets: Record<Family, NetRun> | null;
  /** The last problem, in one line (bad folder, memory, a worker's failure). */
  error: string | null;
  startedAt: number | null;
  /** Seconds the race took, and what was estimated before it started. */
  took: { seconds: number; estimated: number | null } | null;
}

const modelOf = (family: Family, depth: Depth): string => `${family === 'plain' ? 'plain' : 'resnet'}${depth}`;

export class TrainSession {
  readonly state: TrainState = {
    phase: 'empty', settings: { depth: 20, size: FOLDER_RECIPE.size, gray: false, epochs: FOLDER_RECIPE.epochs },
    folder: null, loading: null, nets: null, error: null, startedAt: null, took: null,
  };
  private entries: readonly FolderEntry[] = [];
  private workers: Partial<Record<Family, Worker>> = {};
  /** Bumped whenever the folder or the nets change: replies of older workers are ignored. */
  private generation = 0;
  /** "Train again": start as soon as the fresh workers are timed. */
  private startWhenMeasured = false;

  constructor(private readonly host: Host, private readonly changed: () => void) {}

  get busy(): boolean {
    return this.state.phase === 'loading' || this.state.phase === 'measuring' || this.state.phase === 'training' || this.state.phase === 'paused';
  }

  /** A dropped or picked folder: decoded at the current settings; on failure the previous folder stays. */
  async setFolder(entries: readonly FolderEntry[]): Promise<void> {
    if (entries.length === 0) return;
    await this.decode(entries);
  }

  /** New settings: the size or colour re-decode the folder, the depth re-measures, epochs only re-estimate. */
  async changeSettings(next: Partial<TrainSettings>): Promise<void> {
    const before = this.state.settings;
    this.state.settings = { ...before, ...next };
    const s = this.state.settings;
    if (this.entries.length > 0 && (s.size !== before.size || s.gray !== before.gray)) {
      // A size the folder cannot take (memory) puts the settings back with the folder.
      if (!(await this.decode(this.entries))) {
        this.state.settings = before;
        this.changed();
      }
    }
    else if (this.state.folder && s.depth !== before.depth) this.measure();
    else this.changed();
  }

  /** Decodes a folder at the current settings; false (with the message shown) if it was refused. */
  private async decode(entries: readonly FolderEntry[]): Promise<boolean> {
    const st = this.state;
    // The last good folder, its workers and results stay until the new one has decoded.
    const keep = { folder: st.folder, phase: st.phase };
    st.phase = 'loading';
    st.error = null;
    st.loading = { done: 0, total: entries.length };
    this.changed();
    try {
      const s = st.settings;
      const folder = await loadTrainingFolder(this.host, entries, { channels: s.gray ? 1 : 3, size: s.size, valFraction: FOLDER_RECIPE.valFraction, seed: 1 }, (done, total) => {
        st.loading = { done, total };
        this.changed();
      });
      st.folder = folder;
      this.entries = entries;
      st.loading = null;
      this.measure();
      return true;
    } catch (e) {
      // Bad input leaves the view as it was.
      st.loading = null;
      st.error = messageOf(e);
      st.folder = keep.folder;
      st.phase = keep.phase;
      this.changed();
      return false;
    }
  }

  /** Starts both workers on the folder and, once both nets are built, times two steps of each at once (as they will train). */
  private measure(): void {
    const folder = this.state.folder;
    if (!folder) return;
    this.stopWorkers();
    const gen = ++this.generation;
    const { depth, epochs } = this.state.settings;
    const st = this.state;
    st.nets = { plain: { model: modelOf('plain', depth), history: [] }, residual: { model: modelOf('residual', depth), history: [] } };
    st.phase = 'measuring';
    st.startedAt = null;
    st.took = null;
    const data: TrainData = { kind: 'folder', name: folder.name, train: folder.train, test: folder.val, labels: folder.classes, testPaths: folder.valPaths };
    for (const family of FAMILIES) {
      const run = st.nets[family];
      const input: RecipeInput = { model: run.model, epochs, batch: trainBatch(folder.train.count), lr: FOLDER_RECIPE.lr, seed: 1 };
      const w = new Worker(new URL('./train-worker.js', import.meta.url), { type: 'module', name: `train ${run.model}` });
      w.onmessage = (e: MessageEvent<TrainReply>) => {
        if (gen === this.generation) this.onReply(family, e.data);
      };
      w.onerror = (e) => {
        e.preventDefault();
        if (gen === this.generation) this.fail(`training ${run.model} stopped: ${e.message || 'the worker failed'}`);
      };
      this.workers[family] = w;
      this.send(family, { type: 'prepare', model: run.model, input, data });
    }
    this.changed();
  }

  private send(family: Family, m: TrainRequest): void {
    this.workers[family]?.postMessage(m);
  }

  private onReply(family: Family, m: TrainReply): void {
    const st = this.state;
    const run = st.nets?.[family];
    if (!run) return;
    if (m.type === 'built') {
      // Both nets are timed together, once both are built: the estimate is of the two sharing the cores.
      run.built = true;
      if (FAMILIES.every((f) => st.nets?.[f].built)) for (const f of FAMILIES) this.send(f, { type: 'measure' });
    } else if (m.type === 'prepared') {
      run.measured = { secondsPerStep: m.secondsPerStep, stepsPerEpoch: m.stepsPerEpoch, batch: m.batch, params: m.params, macsPerImage: m.macsPerImage };
      if (st.phase === 'measuring' && FAMILIES.every((f) => st.nets?.[f].measured)) {
        st.phase = 'ready';
        if (this.startWhenMeasured) {
          this.startWhenMeasured = false;
          this.start();
          return;
        }
      }
    } else if (m.type === 'progress') {
      run.progress = { epoch: m.epoch, step: m.step, loss: m.loss, error: m.error, secondsLeft: m.secondsLeft };
    } else if (m.type === 'epoch') {
      run.history = [...run.history, m.record];
    } else if (m.type === 'done') {
      run.result = { onnx: m.onnx, sidecar: m.sidecar, report: m.report };
      run.progress = undefined;
      this.workers[family]?.terminate();
      delete this.workers[family];
      if (FAMILIES.every((f) => st.nets?.[f].result)) {
        st.phase = 'done';
        st.took = { seconds: (performance.now() - (st.startedAt ?? performance.now())) / 1000, estimated: this.estimateSeconds() };
      }
    } else {
      this.fail(`training ${run.model} failed: ${m.message}`);
      return;
    }
    this.changed();
  }

  /** A worker failed: both stop, the message stays, and the folder gets fresh workers for another start. */
  private fail(message: string): void {
    this.stopWorkers();
    this.generation++;
    this.startWhenMeasured = false;
    const st = this.state;
    st.error = message;
    if (st.folder) this.measure();
    else {
      st.phase = 'empty';
      st.nets = null;
      this.changed();
    }
  }

  /** The estimate before starting: the slower net's steps and validation passes. */
  estimateSeconds(): number | null {
    const nets = this.state.nets;
    const folder = this.state.folder;
    if (!nets || !folder || !nets.plain.measured || !nets.residual.measured) return null;
    return raceSeconds([nets.plain.measured, nets.residual.measured], this.state.settings.epochs, folder.val.count);
  }

  start(): void {
    const st = this.state;
    if (st.phase !== 'ready' && st.phase !== 'done') return;
    if (st.phase === 'done') {
      // Again from the start: new workers (the finished ones were closed), timed, then started.
      this.startWhenMeasured = true;
      this.measure();
      return;
    }
    st.phase = 'training';
    st.error = null;
    st.startedAt = performance.now();
    for (const f of FAMILIES) this.send(f, { type: 'train', epochs: st.settings.epochs });
    this.changed();
  }

  pause(): void {
    if (this.state.phase !== 'training') return;
    for (const f of FAMILIES) this.send(f, { type: 'pause' });
    this.state.phase = 'paused';
    this.changed();
  }

  resume(): void {
    if (this.state.phase !== 'paused') return;
    for (const f of FAMILIES) this.send(f, { type: 'resume' });
    this.state.phase = 'training';
    this.changed();
  }

  /** Stops training (the workers are terminated); the folder stays, measured again for another start. */
  cancel(): void {
    if (this.state.phase !== 'training' && this.state.phase !== 'paused' && this.state.phase !== 'measuring') return;
    this.startWhenMeasured = false;
    this.measure();
  }

  private stopWorkers(): void {
    for (const f of FAMILIES) this.workers[f]?.terminate();
    this.workers = {};
  }
}

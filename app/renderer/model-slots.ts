// The two model slots: loading a pair (or a user's file into one slot) on an engine, keeping the last
// pair that loaded fine ("committed") and putting it back after a failed load or a cancel.
import { labelsFor, type ModelSource, type PairChoice, sourceName, zooTwin } from '../shared/catalogue';
import { type AppContext, messageOf } from './context';
import { askPlacement } from './model-dialog';
import { explainProblem } from '../shared/explain';
import { SNIFF_BYTES, sniffFileKind } from '../shared/file-kind';
import { SLOTS, type SlotState, slotTitle } from './state';
import { CancelledError } from './worker-client';
import { engineLabel, type SlotId } from './worker-protocol';

/** The pair key of a pair the user made by opening a file. */
export const CUSTOM_PAIR = 'custom';

interface Committed {
  readonly a: SlotState;
  readonly b: SlotState;
  readonly pairKey: string;
  readonly engine: string;
}

/** What the image side does once models change. */
export interface AfterLoad {
  /** Re-run every image; `fromEngine` (the engine before a switch) enables the top-1 check. */
  rerunAll(fromEngine?: string): void;
  /** Classify the images still waiting. */
  classifyPending(): void;
}

export function slotsFor(pair: PairChoice): Record<SlotId, SlotState> {
  const mk = (source: ModelSource, role: SlotState['role']): SlotState => ({ source, role, status: 'loading', labels: [] });
  return { a: mk(pair.plain, 'plain'), b: mk(pair.residual, 'residual') };
}

export class ModelSlots {
  /** The last models that loaded fine, reloaded after a cancel. */
  private committed: Committed;

  constructor(private readonly ctx: AppContext, private readonly after: AfterLoad) {
    const { slots, pairKey, engine } = ctx.state;
    this.committed = { a: slots.a, b: slots.b, pairKey, engine };
  }

  /**
   * Loads slots (on `engine`; only slot `only` when given); on success they become the committed pair and
   * all images re-run (or only the pending ones, `rerun` false), unless `then` starts another load (it
   * answers true), which re-runs them once it is done.
   */
  load(next: Record<SlotId, SlotState>, pairKey: string, engine: string, label: string, opts: { rerun?: boolean; only?: SlotId; then?: () => boolean } = {}): void {
    const { ctx } = this;
    const { rerun = true, only } = opts;
    ctx.enqueue(label, async (task) => {
      const state = ctx.state;
      const before = this.committed;
      state.slots = { a: { ...next.a }, b: { ...next.b } };
      state.pairKey = pairKey;
      state.engine = engine;
      ctx.syncSelects();
      const slots = only ? [only] : SLOTS;
      try {
        for (const [i, slot] of slots.entries()) {
          const st = state.slots[slot];
          st.status = 'loading';
          st.message = `Loading ${sourceName(st.source)}…`;
          ctx.render();
          const r = await ctx.inference.load(slot, st.source, engine, (text, f) => {
            st.message = text;
            ctx.setBusy(`${label}: ${text}`, (i + (f ?? 0)) / slots.length);
          });
          Object.assign(st, {
            status: 'ready', info: r.info, labels: labelsFor(r.info), engine: r.engine, loadMs: r.loadMs, warmupMs: r.warmupMs, message: undefined,
            imported: r.imported, cam: r.cam,
          } satisfies Partial<SlotState>);
          ctx.render();
        }
      } catch (e) {
        if (e instanceof CancelledError || task.cancelled) throw e;
        const failed = slots.find((s) => state.slots[s].status === 'loading');
        const source = failed ? state.slots[failed].source : undefined;
        const name = source ? sourceName(source) : 'the model';
        const message = messageOf(e);
        const raw = message.startsWith(`${name}: `) ? message.slice(name.length + 2) : message;
        // In words, with the reader's own message behind a disclosure.
        const kind = source?.kind !== 'file' ? 'model' : sniffFileKind(source.bytes.subarray(0, SNIFF_BYTES), source.bytes.byteLength, name) === 'checkpoint' ? 'checkpoint' : 'onnx';
        const { summary, detail } = explainProblem(raw, kind);
        const verb = source?.kind === 'file' ? 'open' : 'load';
        ctx.showError(`Could not ${verb} ${name}${engine !== before.engine ? ` on ${engineLabel(engine)}` : ''}:`, summary, { detail, subject: name });
        // The worker swaps a slot's session only after a successful load, so slots that did load now hold
        // the new model: put the last good pair back everywhere.
        const changed = slots.some((s) => state.slots[s].status === 'ready');
        this.restoreCommitted();
        if (changed) this.reloadCommitted();
        ctx.render();
        return;
      }
      this.committed = { a: state.slots.a, b: state.slots.b, pairKey, engine };
      state.notice = `Loaded ${slotTitle(state.slots.a)} and ${slotTitle(state.slots.b)} on ${engineLabel(engine)}.`;
      ctx.render();
      if (opts.then?.()) return;
      if (rerun) this.after.rerunAll(engine !== before.engine && before.a.status === 'ready' ? before.engine : undefined);
      else this.after.classifyPending();
    });
  }

  reloadCommitted(): void {
    const { a, b, pairKey, engine } = this.committed;
    this.load({ a: { ...a, status: 'loading' }, b: { ...b, status: 'loading' } }, pairKey, engine, 'Reloading models', { rerun: false });
  }

  /** Shows the last good models again (those with a session as ready, the others as not loaded). */
  restoreCommitted(): void {
    const state = this.ctx.state;
    const back = (s: SlotState): SlotState => (s.info ? { ...s, status: 'ready', message: undefined } : { ...s, status: 'unloaded', message: 'Not loaded.' });
    state.slots = { a: back(this.committed.a), b: back(this.committed.b) };
    state.pairKey = this.committed.pairKey;
    state.engine = this.committed.engine;
    this.ctx.syncSelects();
  }

  /** After the worker was stopped mid-request every session went with it: reload the last good pair. */
  reloadAfterLostSessions(): void {
    const state = this.ctx.state;
    state.slots = { a: { ...this.committed.a, status: 'unloaded' }, b: { ...this.committed.b, status: 'unloaded' } };
    state.pairKey = this.committed.pairKey;
    state.engine = this.committed.engine;
    this.ctx.syncSelects();
    this.reloadCommitted();
  }

  choosePair(key: string): void {
    const pair = this.ctx.state.pairs.find((p) => p.key === key);
    if (!pair) return;
    this.load(slotsFor(pair), pair.key, this.ctx.state.engine, `Loading ${pair.label}`);
  }

  chooseEngine(engine: string): void {
    const state = this.ctx.state;
    if (engine === state.engine) return;
    const next = { a: { ...state.slots.a, status: 'loading' as const }, b: { ...state.slots.b, status: 'loading' as const } };
    this.load(next, state.pairKey, engine, `Switching to ${engineLabel(engine)}`);
  }

  /** The model picker, then the side question; `preferred` is the side whose button was used. */
  async pickModel(preferred?: SlotId): Promise<void> {
    try {
      const file = await this.ctx.host.pickModel();
      if (file) await this.offerModel(file.name, file.bytes.byteLength, kindOfBytes(file.bytes, file.name), async () => file.bytes, preferred);
    } catch (e) {
      this.ctx.showError('Could not open the model:', messageOf(e));
    }
  }

  /**
   * A model file the user gave (picked, dropped or pasted): asks which side it goes to and what the other
   * side shows, then reads and loads it. Cancelling the question changes nothing.
   */
  async offerModel(name: string, size: number, kind: 'onnx' | 'checkpoint', read: () => Promise<Uint8Array>, preferred?: SlotId): Promise<void> {
    const { slots } = this.ctx.state;
    const answer = await askPlacement({ name, size, kind, preferred, current: { a: slotTitle(slots.a), b: slotTitle(slots.b) } });
    if (!answer) return;
    let bytes: Uint8Array;
    try {
      bytes = await read();
    } catch (e) {
      this.ctx.showError(`Could not read ${name}:`, messageOf(e), { subject: name });
      return;
    }
    this.openModelFile(answer.slot, name, bytes, answer.twin);
  }

  /** Loads a file into `slot`; with `twin`, then its zoo twin (if the zoo has one) into the other slot. */
  openModelFile(slot: SlotId, name: string, bytes: Uint8Array, twin = false): void {
    const next = { ...this.ctx.state.slots };
    next[slot] = { source: { kind: 'file', name, bytes }, role: 'custom', status: 'loading', labels: [] };
    const then = twin ? () => this.loadTwin(slot) : undefined;
    this.load(next, CUSTOM_PAIR, this.ctx.state.engine, `Opening ${name}`, { only: slot, ...(then && { then }) });
  }

  /** A plain net and its residual twin the user trained (the Train view), as the pair: plain left, residual right. */
  openPair(plain: { name: string; bytes: Uint8Array }, residual: { name: string; bytes: Uint8Array }): void {
    const slot = (m: { name: string; bytes: Uint8Array }, role: SlotState['role']): SlotState => ({ source: { kind: 'file', ...m }, role, status: 'loading', labels: [] });
    this.load({ a: slot(plain, 'plain'), b: slot(residual, 'residual') }, CUSTOM_PAIR, this.ctx.state.engine, `Opening ${plain.name} and ${residual.name}`);
  }

  /** The zoo twin of the model in `of` into the other slot, or a notice that the zoo has none. */
  private loadTwin(of: SlotId): boolean {
    const state = this.ctx.state;
    const info = state.slots[of].info;
    const other: SlotId = of === 'a' ? 'b' : 'a';
    const twin = info ? zooTwin(info) : null;
    if (!twin) {
      state.notice = `The zoo has no twin for ${slotTitle(state.slots[of])} (its depth or input size is not one of the zoo's); the other side is unchanged.`;
      this.ctx.render();
      return false;
    }
    const next = { ...state.slots };
    next[other] = { source: twin.source, role: twin.residual ? 'residual' : 'plain', status: 'loading', labels: [] };
    this.load(next, CUSTOM_PAIR, state.engine, `Loading the zoo twin ${twin.source.name}`, { only: other });
    return true;
  }
}

/** Checkpoint or ONNX, by content (a picked file whose content is neither is tried as ONNX, whose reader says what is wrong). */
function kindOfBytes(bytes: Uint8Array, name: string): 'onnx' | 'checkpoint' {
  return sniffFileKind(bytes.subarray(0, SNIFF_BYTES), bytes.byteLength, name) === 'checkpoint' ? 'checkpoint' : 'onnx';
}

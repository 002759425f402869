// The app's controller: owns the state, runs one piece of work at a time (load, classify, layer
// responses) through the inference worker and the host's decoder, shows progress, and cancels by
// terminating the worker and reloading the last good models.
import { topK } from '../../src/engine/classify';
import { preprocessSpecFor } from '../../src/preprocess/for-model';
import type { PreprocessSpec } from '../../src/preprocess/normalize';
import {
  defaultPair, labelsFor, pairChoices, parseManifest, sourceKey, sourceName, type Manifest, type ModelSource, type PairChoice, trainedRuns,
} from '../shared/catalogue';
import type { MenuCommand } from '../shared/ipc';
import { toCsv } from '../shared/results';
import { h, setChildren } from './dom';
import { type Host, HostError, type HostImage } from './host';
import { type AppState, type ImageItem, SLOTS, type SlotState } from './state';
import {
  renderCompare, renderEnv, renderErrors, renderFigure6, renderFigure7, renderImageList, renderTable, slotTitle, verdictOf, type ViewHandlers,
} from './views';
import { CancelledError, InferenceClient, WorkerRequestError } from './worker-client';
import { engineLabel, type SlotId } from './worker-protocol';

interface Task {
  readonly label: string;
  cancelled: boolean;
}

const CUSTOM_PAIR = 'custom';
/** Engine the app starts on: ours, the fast WebAssembly one. */
const DEFAULT_ENGINE = 'wasm';

function specKey(spec: PreprocessSpec): string {
  return JSON.stringify(spec);
}

function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

export class App {
  private readonly inference = new InferenceClient();
  private state!: AppState;
  private manifest: Manifest = { models: [] };
  /** The last models that loaded fine, reloaded after a cancel. */
  private committed!: { a: SlotState; b: SlotState; pairKey: string; engine: string };
  private readonly queue: { task: Task; run: (t: Task) => Promise<void> }[] = [];
  private current: Task | null = null;
  private nextImageId = 1;
  private nextErrorId = 1;
  private renderPending = false;

  // Long-lived elements.
  private readonly pairSelect = h('select', { id: 'pair', 'aria-label': 'Model pair', 'data-testid': 'pair-select' });
  private readonly engineSelect = h('select', { id: 'engine', 'aria-label': 'Engine', 'data-testid': 'engine-select' });
  private readonly engineNote = h('span', { class: 'engine-note', 'data-testid': 'engine-note' });
  private readonly statusText = h('span', { class: 'status-text', 'data-testid': 'status' });
  private readonly progress = h('progress', { max: 1, 'aria-label': 'Progress', 'data-testid': 'progress' });
  private readonly cancelButton = h('button', { type: 'button', class: 'small danger', 'data-testid': 'cancel' }, 'Cancel');
  private readonly envText = h('span', { class: 'env', 'data-testid': 'env' });
  private readonly errorsBox = h('div', { 'aria-live': 'assertive' });
  private readonly listBox = h('div', { class: 'list-box' });
  private readonly compareBox = h('div', {});
  private readonly fig7Box = h('div', {});
  private readonly fig6Box = h('div', {});
  private readonly tableBox = h('div', {});
  private readonly dropOverlay = h('div', { class: 'drop-overlay', 'aria-hidden': 'true' }, h('p', {}, 'Drop images, folders or an .onnx model'));

  private readonly handlers: ViewHandlers = {
    select: (id) => this.select(id),
    openModelInto: (slot) => void this.pickModel(slot),
    reload: () => this.reloadCommitted(),
    dismissError: (id) => {
      this.state.errors = this.state.errors.filter((e) => e.id !== id);
      this.render();
    },
    setShowSteps: (open) => {
      if (this.state.showSteps === open) return; // re-created <details> report their initial state too
      this.state.showSteps = open;
      this.render();
    },
    setSortStds: (sorted) => {
      this.state.sortStds = sorted;
      this.render();
    },
    saveCsv: () => void this.saveCsv(),
    rerun: () => this.rerunAll(),
    clearImages: () => this.clearImages(),
    openImages: () => void this.pickImages(),
  };

  constructor(private readonly host: Host, private readonly root: HTMLElement) {}

  async start(): Promise<void> {
    this.manifest = await this.fetchManifest();
    const pairs = pairChoices(this.manifest);
    const pair = defaultPair(pairs);
    this.state = {
      pairs, pairKey: pair.key, engines: [], engine: DEFAULT_ENGINE,
      slots: this.slotsFor(pair), images: [], selectedId: null, errors: [], busy: null, notice: null, engineCheck: null,
      sortStds: false, showSteps: false, env: { crossOriginIsolated: self.crossOriginIsolated, cores: navigator.hardwareConcurrency, decoder: this.host.decoderName },
    };
    this.committed = { a: this.state.slots.a, b: this.state.slots.b, pairKey: pair.key, engine: DEFAULT_ENGINE };
    this.buildLayout();
    this.fillPairSelect();
    this.render();
    this.enqueue('Checking engines', async () => {
      const probe = await this.inference.probe();
      this.state.engines = [...probe.engines];
      this.state.env = { ...this.state.env, crossOriginIsolated: probe.crossOriginIsolated, ...(probe.gpuAdapter && { gpu: probe.gpuAdapter }) };
      this.fillEngineSelect();
    });
    this.loadSlots(this.state.slots, pair.key, DEFAULT_ENGINE, 'Loading models');
  }

  private async fetchManifest(): Promise<Manifest> {
    try {
      const res = await fetch(new URL('models/manifest.json', document.baseURI));
      return res.ok ? parseManifest(await res.json()) : { models: [] };
    } catch {
      return { models: [] };
    }
  }

  private slotsFor(pair: PairChoice): Record<SlotId, SlotState> {
    const mk = (source: ModelSource, role: SlotState['role']): SlotState => ({ source, role, status: 'loading', labels: [] });
    return { a: mk(pair.plain, 'plain'), b: mk(pair.residual, 'residual') };
  }

  // ---------------------------------------------------------------------------------------------
  // Layout and rendering

  private buildLayout(): void {
    const button = (label: string, testid: string, onClick: () => void, extra: Record<string, string> = {}): HTMLButtonElement =>
      h('button', { type: 'button', 'data-testid': testid, onclick: onClick, ...extra }, label);
    this.pairSelect.addEventListener('change', () => this.choosePair(this.pairSelect.value));
    this.engineSelect.addEventListener('change', () => this.chooseEngine(this.engineSelect.value));
    this.cancelButton.addEventListener('click', () => this.cancel());
    const header = h('header', { class: 'topbar' },
      h('div', { class: 'brand' }, h('span', { class: 'logo', 'aria-hidden': 'true' }, 'R'), h('div', {}, h('h1', {}, 'resnet-lab'), h('p', {}, 'plain vs residual'))),
      h('div', { class: 'controls' },
        h('label', { class: 'control' }, h('span', {}, 'Models'), this.pairSelect),
        h('label', { class: 'control' }, h('span', {}, 'Engine'), this.engineSelect),
        this.engineNote),
      h('div', { class: 'toolbar' },
        button('Open images…', 'open-images', () => void this.pickImages(), { class: 'primary' }),
        button('Open folder…', 'open-folder', () => void this.pickFolder()),
        button('Open ONNX…', 'open-model', () => void this.pickModel('a'))));
    const statusBar = h('div', { class: 'statusbar' }, h('div', { class: 'status-main', role: 'status', 'aria-live': 'polite' }, this.statusText), this.progress, this.cancelButton, this.envText);
    const dropZone = h('div', { class: 'dropzone', 'data-testid': 'dropzone', tabindex: 0, role: 'button', 'aria-label': 'Drop images here or press to open images' },
      h('strong', {}, 'Drop images here'),
      h('span', {}, 'JPEG · PNG · WebP · GIF · AVIF · TIFF'),
      h('span', { class: 'muted' }, 'or a folder, an .onnx model, or paste'));
    dropZone.addEventListener('click', () => void this.pickImages());
    dropZone.addEventListener('keydown', (e) => {
      if (e.key === 'Enter' || e.key === ' ') {
        e.preventDefault();
        void this.pickImages();
      }
    });
    const main = h('main', { class: 'layout' },
      h('aside', { class: 'sidebar', 'aria-label': 'Images' }, dropZone, this.listBox),
      h('div', { class: 'content' }, this.errorsBox, this.compareBox, h('div', { class: 'figures' }, this.fig7Box, this.fig6Box), this.tableBox));
    setChildren(this.root, header, statusBar, main, this.dropOverlay);
    this.installDropAndPaste();
    this.host.onMenuCommand((c) => this.onMenu(c));
  }

  private fillPairSelect(): void {
    const groups = new Map<string, PairChoice[]>();
    for (const p of this.state.pairs) groups.set(p.group, [...(groups.get(p.group) ?? []), p]);
    const opts: HTMLElement[] = [];
    if (this.state.pairKey === CUSTOM_PAIR) {
      opts.push(h('option', { value: CUSTOM_PAIR }, `Custom: ${slotTitle(this.state.slots.a)} / ${slotTitle(this.state.slots.b)}`));
    }
    for (const [group, pairs] of groups) {
      opts.push(h('optgroup', { label: group }, pairs.map((p) => h('option', { value: p.key }, p.label))));
    }
    setChildren(this.pairSelect, opts);
    this.pairSelect.value = this.state.pairKey;
  }

  private fillEngineSelect(): void {
    setChildren(this.engineSelect, this.state.engines.map((e) =>
      h('option', { value: e.name, disabled: !e.available }, e.available ? engineLabel(e.name) : `${engineLabel(e.name)} (unavailable)`)));
    this.engineSelect.value = this.state.engine;
    const missing = this.state.engines.filter((e) => !e.available);
    this.engineNote.textContent = missing.map((e) => `${engineLabel(e.name)}: ${e.reason ?? 'unavailable'}`).join('; ');
  }

  private render(): void {
    if (this.renderPending) return;
    this.renderPending = true;
    requestAnimationFrame(() => {
      this.renderPending = false;
      this.renderNow();
    });
  }

  private renderNow(): void {
    const s = this.state;
    setChildren(this.errorsBox, renderErrors(s, this.handlers));
    setChildren(this.listBox, renderImageList(s, this.handlers));
    setChildren(this.compareBox, renderCompare(s, this.handlers));
    setChildren(this.fig7Box, renderFigure7(s, this.handlers));
    setChildren(this.fig6Box, renderFigure6(trainedRuns(this.manifest), s));
    setChildren(this.tableBox, renderTable(s, this.handlers));
    const busy = s.busy;
    this.statusText.textContent = busy ? busy.text : (s.notice ?? 'Ready');
    this.root.dataset['busy'] = busy ? 'true' : 'false';
    this.progress.hidden = !busy;
    if (busy?.fraction !== undefined) this.progress.value = busy.fraction;
    else this.progress.removeAttribute('value');
    this.cancelButton.hidden = !busy;
    this.envText.textContent = renderEnv(s);
    this.engineSelect.disabled = s.engines.length === 0;
  }

  private showError(title: string, message: string): void {
    this.state.errors = [...this.state.errors.slice(-7), { id: this.nextErrorId++, title, message }];
    this.render();
  }

  private setBusy(text: string | null, fraction?: number): void {
    this.state.busy = text === null ? null : { text, ...(fraction !== undefined && { fraction }) };
    this.render();
  }

  // ---------------------------------------------------------------------------------------------
  // Work queue: one task at a time; cancel stops the current one and drops the queued ones.

  private enqueue(label: string, run: (t: Task) => Promise<void>): void {
    this.queue.push({ task: { label, cancelled: false }, run });
    if (!this.current) void this.pump();
  }

  private async pump(): Promise<void> {
    while (this.queue.length > 0) {
      const { task, run } = this.queue.shift()!;
      this.current = task;
      this.setBusy(task.label);
      try {
        await run(task);
      } catch (e) {
        if (!(e instanceof CancelledError) && !task.cancelled) this.showError(`${task.label} failed:`, messageOf(e));
      }
      this.current = null;
    }
    this.setBusy(null);
  }

  private cancel(): void {
    const task = this.current;
    if (!task) return;
    task.cancelled = true;
    this.queue.length = 0;
    const lostSessions = this.inference.busy;
    if (lostSessions) this.inference.cancel();
    for (const img of this.state.images) if (img.status === 'pending' || img.status === 'working') img.status = 'cancelled';
    this.state.notice = `Cancelled: ${task.label.toLowerCase()}.`;
    if (lostSessions) {
      // The worker was stopped mid-request, so every session went with it: reload the last good pair.
      this.state.slots = { a: { ...this.committed.a, status: 'unloaded' }, b: { ...this.committed.b, status: 'unloaded' } };
      this.state.pairKey = this.committed.pairKey;
      this.state.engine = this.committed.engine;
      this.fillPairSelect();
      this.engineSelect.value = this.state.engine;
      this.reloadCommitted();
    } else if (SLOTS.some((s) => this.state.slots[s].status === 'loading')) {
      // A load that was still queued was dropped: show the last good models again.
      this.restoreCommitted();
    }
    this.render();
  }

  private reloadCommitted(): void {
    const { a, b, pairKey, engine } = this.committed;
    this.loadSlots({ a: { ...a, status: 'loading' }, b: { ...b, status: 'loading' } }, pairKey, engine, 'Reloading models', false);
  }

  // ---------------------------------------------------------------------------------------------
  // Models and engines

  /** Loads slots (on `engine`); on success they become the committed pair and all images re-run. */
  private loadSlots(next: Record<SlotId, SlotState>, pairKey: string, engine: string, label: string, rerun = true, only?: SlotId): void {
    this.enqueue(label, async (task) => {
      const before = this.committed;
      this.state.slots = { a: { ...next.a }, b: { ...next.b } };
      this.state.pairKey = pairKey;
      this.state.engine = engine;
      this.fillPairSelect();
      this.engineSelect.value = engine;
      const slots = only ? [only] : SLOTS;
      try {
        for (const [i, slot] of slots.entries()) {
          const st = this.state.slots[slot];
          st.status = 'loading';
          st.message = `Loading ${sourceName(st.source)}…`;
          this.render();
          const r = await this.inference.load(slot, st.source, engine, (text, f) => {
            st.message = text;
            this.setBusy(`${label}: ${text}`, (i + (f ?? 0)) / slots.length);
          });
          Object.assign(st, {
            status: 'ready', info: r.info, labels: labelsFor(r.info), engine: r.engine, loadMs: r.loadMs, warmupMs: r.warmupMs, message: undefined,
          } satisfies Partial<SlotState>);
          this.render();
        }
      } catch (e) {
        if (e instanceof CancelledError || task.cancelled) throw e;
        const failed = slots.find((s) => this.state.slots[s].status === 'loading');
        const name = failed ? sourceName(this.state.slots[failed].source) : 'the model';
        const message = messageOf(e);
        this.showError(`Could not load ${name}${engine !== before.engine ? ` on ${engineLabel(engine)}` : ''}:`,
          message.startsWith(`${name}: `) ? message.slice(name.length + 2) : message);
        // The worker swaps a slot's session only after a successful load, so slots that did load now hold
        // the new model: put the last good pair back everywhere.
        const changed = slots.some((s) => this.state.slots[s].status === 'ready');
        this.restoreCommitted();
        if (changed) this.reloadCommitted();
        this.render();
        return;
      }
      this.committed = { a: this.state.slots.a, b: this.state.slots.b, pairKey, engine };
      this.state.notice = `Loaded ${slotTitle(this.state.slots.a)} and ${slotTitle(this.state.slots.b)} on ${engineLabel(engine)}.`;
      this.render();
      if (rerun) this.rerunAll(engine !== before.engine && before.a.status === 'ready' ? before.engine : undefined);
      else this.classifyPending();
    });
  }

  private restoreCommitted(): void {
    const back = (s: SlotState): SlotState => (s.info ? { ...s, status: 'ready', message: undefined } : { ...s, status: 'unloaded', message: 'Not loaded.' });
    this.state.slots = { a: back(this.committed.a), b: back(this.committed.b) };
    this.state.pairKey = this.committed.pairKey;
    this.state.engine = this.committed.engine;
    this.fillPairSelect();
    this.engineSelect.value = this.state.engine;
  }

  private choosePair(key: string): void {
    const pair = this.state.pairs.find((p) => p.key === key);
    if (!pair) return;
    this.loadSlots(this.slotsFor(pair), pair.key, this.state.engine, `Loading ${pair.label}`);
  }

  private chooseEngine(engine: string): void {
    if (engine === this.state.engine) return;
    const next = { a: { ...this.state.slots.a, status: 'loading' as const }, b: { ...this.state.slots.b, status: 'loading' as const } };
    this.loadSlots(next, this.state.pairKey, engine, `Switching to ${engineLabel(engine)}`);
  }

  private async pickModel(slot: SlotId): Promise<void> {
    try {
      const file = await this.host.pickModel();
      if (file) this.openModelFile(slot, file.name, file.bytes);
    } catch (e) {
      this.showError('Could not open the model:', messageOf(e));
    }
  }

  private openModelFile(slot: SlotId, name: string, bytes: Uint8Array): void {
    const next = { ...this.state.slots };
    next[slot] = { source: { kind: 'file', name, bytes }, role: 'custom', status: 'loading', labels: [] };
    this.loadSlots(next, CUSTOM_PAIR, this.state.engine, `Opening ${name}`, true, slot);
  }

  // ---------------------------------------------------------------------------------------------
  // Images

  private async pickImages(): Promise<void> {
    try {
      this.addImages(await this.host.pickImages());
    } catch (e) {
      this.showError('Could not open images:', messageOf(e));
    }
  }

  private async pickFolder(): Promise<void> {
    try {
      const images = await this.host.pickFolder();
      if (images.length === 0) this.state.notice = 'No images found in that folder.';
      this.addImages(images);
    } catch (e) {
      this.showError('Could not open the folder:', messageOf(e));
    }
  }

  private addImages(images: readonly HostImage[]): void {
    if (images.length === 0) return;
    const items: ImageItem[] = images.map((image) => ({
      id: this.nextImageId++, image, status: 'pending', tensors: new Map(), results: {}, stds: {},
    }));
    this.state.images = [...this.state.images, ...items];
    this.state.selectedId = items[0]!.id;
    this.state.engineCheck = null;
    this.render();
    this.classifyPending();
  }

  private clearImages(): void {
    for (const img of this.state.images) if (img.thumbUrl) URL.revokeObjectURL(img.thumbUrl);
    this.state.images = [];
    this.state.selectedId = null;
    this.state.engineCheck = null;
    this.render();
  }

  private select(id: number): void {
    this.state.selectedId = id;
    this.render();
    this.ensureStds();
  }

  /** Re-runs every readable image (after a model or engine change); `fromEngine` enables the top-1 check. */
  private rerunAll(fromEngine?: string): void {
    const before = new Map(this.state.images.map((img) => [img.id, { a: img.results.a?.top[0], b: img.results.b?.top[0] }]));
    for (const img of this.state.images) {
      if (img.status === 'error' && img.error?.kind !== 'decoder-crashed') continue;
      img.status = 'pending';
      img.results = {};
    }
    this.state.engineCheck = null;
    this.render();
    this.classifyPending(fromEngine ? { engine: fromEngine, before } : undefined);
  }

  private classifyPending(check?: { engine: string; before: Map<number, { a?: { index: number; label: string }; b?: { index: number; label: string } }> }): void {
    if (!this.state.images.some((i) => i.status === 'pending')) return;
    this.enqueue('Classifying', async (task) => {
      const todo = this.state.images.filter((i) => i.status === 'pending');
      for (const [n, img] of todo.entries()) {
        if (task.cancelled) return;
        if (img.status !== 'pending') continue;
        this.setBusy(todo.length > 1 ? `Classifying ${n + 1} of ${todo.length}: ${img.image.name}` : `Classifying ${img.image.name}`, n / todo.length);
        await this.classify(img);
        this.render();
      }
      if (check) this.finishEngineCheck(check.engine, check.before);
      this.ensureStds();
    });
  }

  private async classify(img: ImageItem): Promise<void> {
    img.status = 'working';
    const ready = SLOTS.filter((s) => this.state.slots[s].status === 'ready' && this.state.slots[s].info);
    if (ready.length === 0) {
      img.status = 'pending';
      return;
    }
    const specs = new Map<SlotId, PreprocessSpec>();
    try {
      for (const s of ready) specs.set(s, preprocessSpecFor(this.state.slots[s].info!));
    } catch (e) {
      img.status = 'error';
      img.error = { kind: 'bad-request', message: `${img.image.name}: ${messageOf(e)}` };
      return;
    }
    const missing = [...new Map([...specs.values()].map((sp) => [specKey(sp), sp])).values()].filter((sp) => !img.tensors.has(specKey(sp)));
    if (missing.length > 0) {
      try {
        const d = await this.host.decode(img.image, missing, !img.thumbUrl);
        missing.forEach((sp, i) => img.tensors.set(specKey(sp), d.tensors[i]!));
        img.width = d.width;
        img.height = d.height;
        img.format = d.format;
        if (d.thumbnail && !img.thumbUrl) img.thumbUrl = URL.createObjectURL(d.thumbnail);
      } catch (e) {
        img.status = 'error';
        img.error = e instanceof HostError ? { kind: e.kind, message: e.message } : { kind: 'internal', message: `${img.image.name}: ${messageOf(e)}` };
        this.showError('Could not read an image:', img.error.message);
        return;
      }
    }
    for (const s of ready) {
      const slot = this.state.slots[s];
      const r = await this.inference.run(s, img.tensors.get(specKey(specs.get(s)!))!);
      const probs = { shape: [1, r.probs.length], data: r.probs };
      img.results[s] = { top: topK(probs, 0, 5, slot.labels), ms: r.ms, runs: r.runs, engine: slot.engine ?? this.state.engine, steps: r.steps };
    }
    img.status = 'done';
    this.releaseOldTensors();
  }

  /**
   * Keeps model inputs only for the most recent images (an ImageNet-size input is 600 KB): older ones are
   * decoded again if they are needed (re-runs, Figure 7), from the file the user gave.
   */
  private releaseOldTensors(): void {
    const keep = 64;
    const done = this.state.images.filter((i) => i.tensors.size > 0);
    for (const img of done.slice(0, Math.max(0, done.length - keep))) {
      if (img.id !== this.state.selectedId) img.tensors.clear();
    }
  }

  private finishEngineCheck(from: string, before: Map<number, { a?: { index: number; label: string }; b?: { index: number; label: string } }>): void {
    let compared = 0;
    let same = 0;
    const differences: string[] = [];
    for (const img of this.state.images) {
      const prev = before.get(img.id);
      for (const s of SLOTS) {
        const p = prev?.[s];
        const now = img.results[s]?.top[0];
        if (!p || !now) continue;
        compared++;
        if (p.index === now.index) same++;
        else differences.push(`${img.image.name} (${slotTitle(this.state.slots[s])}: ${p.label} → ${now.label})`);
      }
    }
    this.state.engineCheck = compared > 0 ? { from, to: this.state.engine, compared, same, differences } : null;
    this.render();
  }

  /** Figure 7 for the selected image, computed once per image and model pair. */
  private ensureStds(): void {
    const img = this.state.images.find((i) => i.id === this.state.selectedId);
    if (!img || img.status !== 'done') return;
    const need = SLOTS.filter((s) => this.state.slots[s].status === 'ready' && img.stds[s]?.key !== sourceKey(this.state.slots[s].source));
    if (need.length === 0) return;
    this.enqueue('Computing layer responses', async (task) => {
      for (const s of need) {
        if (task.cancelled) return;
        const slot = this.state.slots[s];
        if (slot.status !== 'ready' || !slot.info) continue;
        const spec = preprocessSpecFor(slot.info);
        let tensor = img.tensors.get(specKey(spec));
        if (!tensor) {
          // Dropped to save memory in a big batch: decode again.
          tensor = (await this.host.decode(img.image, [spec], false)).tensors[0]!;
          img.tensors.set(specKey(spec), tensor);
        }
        const r = await this.inference.layerStds(s, tensor);
        img.stds[s] = { key: sourceKey(slot.source), layers: r.layers };
        this.render();
      }
    });
  }

  // ---------------------------------------------------------------------------------------------
  // CSV, menu, drop and paste

  private async saveCsv(): Promise<void> {
    const a = slotTitle(this.state.slots.a);
    const b = slotTitle(this.state.slots.b);
    const header = ['image', 'width', 'height', 'format', 'engine',
      `${a} top-1`, `${a} probability`, `${a} ms`, `${b} top-1`, `${b} probability`, `${b} ms`, 'agree', 'error'];
    const rows = this.state.images.map((img) => {
      const ra = img.results.a;
      const rb = img.results.b;
      return [img.image.name, img.width, img.height, img.format, ra?.engine ?? rb?.engine,
        ra?.top[0]?.label, ra ? Number(ra.top[0]!.probability.toFixed(6)) : undefined, ra ? Number(ra.ms.toFixed(3)) : undefined,
        rb?.top[0]?.label, rb ? Number(rb.top[0]!.probability.toFixed(6)) : undefined, rb ? Number(rb.ms.toFixed(3)) : undefined,
        verdictOf(this.state, img) ?? undefined, img.error?.message];
    });
    try {
      const where = await this.host.saveCsv(toCsv(header, rows), 'resnet-lab-results.csv');
      if (where) this.state.notice = `Results ${where}.`;
      this.render();
    } catch (e) {
      this.showError('Could not save the CSV:', messageOf(e));
    }
  }

  private onMenu(command: MenuCommand): void {
    if (command === 'open-images') void this.pickImages();
    else if (command === 'open-folder') void this.pickFolder();
    else if (command === 'open-model') void this.pickModel('a');
    else void this.saveCsv();
  }

  private installDropAndPaste(): void {
    let depth = 0;
    const hasFiles = (e: DragEvent): boolean => [...(e.dataTransfer?.types ?? [])].includes('Files');
    window.addEventListener('dragenter', (e) => {
      if (!hasFiles(e)) return;
      e.preventDefault();
      depth++;
      this.dropOverlay.classList.add('visible');
    });
    window.addEventListener('dragleave', () => {
      depth = Math.max(0, depth - 1);
      if (depth === 0) this.dropOverlay.classList.remove('visible');
    });
    // Without preventDefault on dragover, Chromium would navigate to the dropped file.
    window.addEventListener('dragover', (e) => {
      e.preventDefault();
      if (e.dataTransfer) e.dataTransfer.dropEffect = 'copy';
    });
    window.addEventListener('drop', (e) => {
      e.preventDefault();
      depth = 0;
      this.dropOverlay.classList.remove('visible');
      const target = (e.target as Element | null)?.closest?.('[data-testid^="slot-"]');
      const slot: SlotId = target?.getAttribute('data-testid') === 'slot-b' ? 'b' : 'a';
      void this.filesFromDrop(e.dataTransfer).then((files) => this.acceptFiles(files, slot));
    });
    document.addEventListener('paste', (e) => {
      const files = [...(e.clipboardData?.files ?? [])];
      if (files.length === 0) return;
      e.preventDefault();
      this.acceptFiles(files.map((f, i) => (f.name && f.name !== 'image.png' ? f : new File([f], `pasted-${Date.now()}-${i + 1}.${(f.type.split('/')[1] ?? 'png')}`, { type: f.type }))), 'a');
    });
  }

  /** Files of a drop, walking dropped folders (sorted, hidden entries skipped). */
  private async filesFromDrop(dt: DataTransfer | null): Promise<File[]> {
    if (!dt) return [];
    const entries = [...dt.items].map((it) => it.webkitGetAsEntry?.()).filter((x): x is FileSystemEntry => !!x);
    if (entries.length === 0) return [...dt.files];
    const out: File[] = [];
    const walk = async (entry: FileSystemEntry, depth: number): Promise<void> => {
      if (entry.name.startsWith('.') || out.length >= 5000) return;
      if (entry.isFile) {
        out.push(await new Promise<File>((res, rej) => (entry as FileSystemFileEntry).file(res, rej)));
      } else if (entry.isDirectory && depth < 4) {
        const reader = (entry as FileSystemDirectoryEntry).createReader();
        const children: FileSystemEntry[] = [];
        for (;;) {
          const batch = await new Promise<FileSystemEntry[]>((res, rej) => reader.readEntries(res, rej));
          if (batch.length === 0) break;
          children.push(...batch);
        }
        children.sort((p, q) => (p.name < q.name ? -1 : 1));
        for (const c of children) await walk(c, depth + 1);
      }
    };
    for (const e of entries) await walk(e, 0);
    return out;
  }

  private acceptFiles(files: readonly File[], slot: SlotId): void {
    const models = files.filter((f) => f.name.toLowerCase().endsWith('.onnx'));
    const images = files.filter((f) => !f.name.toLowerCase().endsWith('.onnx'));
    if (models.length > 1) this.showError('One model at a time:', `dropped ${models.length} .onnx files; opening ${models[0]!.name}`);
    const model = models[0];
    if (model) {
      void model.arrayBuffer().then(
        (buf) => this.openModelFile(slot, model.name, new Uint8Array(buf)),
        (e: unknown) => this.showError(`Could not read ${model.name}:`, messageOf(e)),
      );
    }
    this.addImages(images.map((file) => ({ name: file.name, size: file.size, file })));
  }
}

// The app's controller: owns the state and the window's layout, renders, and wires the parts together:
// the work queue (task-queue.ts, one piece of work at a time, with progress and cancel), the model slots
// (model-slots.ts), the images and their runs (image-runs.ts) and drop/paste (drop-paste.ts). Cancel
// terminates the inference worker and reloads the last good models.
import { defaultPair, type Manifest, pairChoices, type PairChoice, parseManifest, trainedRuns } from '../shared/catalogue';
import type { MenuCommand } from '../shared/ipc';
import { type AppContext, messageOf } from './context';
import { h, setChildren, syncChildren } from './dom';
import { renderCam } from './cam-view';
import { renderEngineTable } from './engine-table';
import { acceptFiles, type DropHandlers, installDropAndPaste } from './drop-paste';
import type { Host } from './host';
import { ImageRuns } from './image-runs';
import { CUSTOM_PAIR, ModelSlots, slotsFor } from './model-slots';
import { type AppState, SLOTS, slotTitle } from './state';
import { type Task, TaskQueue } from './task-queue';
import { downloadBlob, pickFiles } from './file-input';
import { type Family, TrainSession } from './train-session';
import { TrainView, type TrainViewHandlers } from './train-view';
import { renderCompare, renderEnv, renderErrors, renderFigure6, renderFigure7, renderImageList, renderTable, type ViewHandlers } from './views';
import { CancelledError, InferenceClient } from './worker-client';
import { engineLabel } from './worker-protocol';

/** Engine the app starts on: ours, the fast WebAssembly one. */
const DEFAULT_ENGINE = 'wasm';

export class App implements AppContext {
  readonly inference = new InferenceClient();
  state!: AppState;
  private manifest: Manifest = { models: [] };
  private readonly queue = new TaskQueue({
    busy: (label) => this.setBusy(label),
    failed: (task, e) => {
      if (!(e instanceof CancelledError)) this.showError(`${task.label} failed:`, messageOf(e));
    },
  });
  private readonly images = new ImageRuns(this);
  private slots!: ModelSlots;
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
  private readonly undoButton = h('button', { type: 'button', class: 'small', 'data-testid': 'undo' }, 'Undo');
  private readonly undoBox = h('span', { class: 'undo-box', 'data-testid': 'undo-box' });
  /** The selection last scrolled into view. */
  private shownSelection: number | null = null;
  private readonly errorsBox = h('div', { 'aria-live': 'assertive' });
  private readonly listBox = h('div', { class: 'list-box' });
  private readonly compareBox = h('div', {});
  private readonly camBox = h('div', {});
  private readonly engineBox = h('div', {});
  private readonly fig7Box = h('div', {});
  private readonly fig6Box = h('div', {});
  private readonly tableBox = h('div', {});
  /** Compare (the pair on images) or Train (a pair trained on the user's folder). */
  private view: 'compare' | 'train' = 'compare';
  private train!: TrainSession;
  private trainView!: TrainView;
  private readonly trainBox = h('main', { class: 'train-view', 'data-testid': 'train-view', 'aria-label': 'Train' });
  private readonly compareMain = h('main', { class: 'layout' });
  private readonly tabs = {
    compare: h('button', { type: 'button', class: 'tab', 'data-testid': 'view-compare', onclick: () => this.showView('compare') }, 'Compare'),
    train: h('button', { type: 'button', class: 'tab', 'data-testid': 'view-train', onclick: () => this.showView('train') }, 'Train'),
  };
  private readonly dropOverlay = h('div', { class: 'drop-overlay', 'aria-hidden': 'true' }, h('p', {}, 'Drop images, folders or an .onnx model'));

  private readonly handlers: ViewHandlers = {
    select: (id) => this.images.select(id),
    selectCamClass: (slot, cls) => {
      this.state.camClass = { ...this.state.camClass, [slot]: cls };
      this.render();
    },
    openModelInto: (slot) => void this.slots.pickModel(slot),
    reload: () => this.slots.reloadCommitted(),
    dismissError: (id) => {
      this.state.errors = this.state.errors.filter((e) => e.id !== id);
      this.render();
    },
    dismissAllErrors: () => {
      this.state.errors = [];
      this.render();
    },
    setShowSteps: (open) => {
      if (this.state.showSteps === open) return; // re-created <details> report their initial state too
      this.state.showSteps = open;
      this.render();
    },
    computeStds: () => this.images.ensureStds(true),
    cancel: () => this.cancel(),
    setSortStds: (sorted) => {
      this.state.sortStds = sorted;
      this.render();
    },
    saveCsv: () => void this.images.saveCsv(),
    rerun: () => this.images.rerunAll(),
    clearImages: () => this.images.clearImages(),
    openImages: () => void this.images.pickImages(),
    addSamples: () => void this.images.addSamples(),
  };

  private readonly fileHandlers: DropHandlers = {
    offerModel: (file, kind, preferred) => void this.slots.offerModel(file.name, file.size, kind, async () => new Uint8Array(await file.arrayBuffer()), preferred),
    addImages: (images) => this.images.addImages(images),
    showError: (title, message) => this.showError(title, message),
    // While the Train view is shown (and not training), a drop is its folder.
    trainingFolder: () => (this.view === 'train' && (!this.train.busy || this.train.state.phase === 'measuring') ? (entries) => void this.train.setFolder(entries) : null),
  };

  private readonly trainHandlers: TrainViewHandlers = {
    pickFolder: () => void pickFiles({ directory: true, multiple: true }).then((files) =>
      this.train.setFolder(files.map((file) => ({ path: file.webkitRelativePath || file.name, file })))),
    settings: (next) => void this.train.changeSettings(next),
    start: () => this.train.start(),
    pause: () => this.train.pause(),
    resume: () => this.train.resume(),
    cancel: () => this.train.cancel(),
    useInCompare: () => {
      const nets = this.train.state.nets;
      if (!nets?.plain.result || !nets.residual.result) return;
      const file = (f: Family): { name: string; bytes: Uint8Array } => ({ name: `${nets[f].model}.onnx`, bytes: nets[f].result!.onnx });
      this.slots.openPair(file('plain'), file('residual'));
      this.showView('compare');
    },
    save: (f: Family) => {
      const run = this.train.state.nets?.[f];
      if (!run?.result) return;
      // The ONNX file carries the labels and preprocessing; the sidecar adds the recipe, curves and validation report.
      downloadBlob(new Blob([run.result.onnx as Uint8Array<ArrayBuffer>], { type: 'application/octet-stream' }), `${run.model}.onnx`);
      downloadBlob(new Blob([`${JSON.stringify(run.result.sidecar, null, 2)}\n`], { type: 'application/json' }), `${run.model}.json`);
    },
  };

  constructor(readonly host: Host, private readonly root: HTMLElement) {}

  /** Files from a picker, a drop or a paste: told apart by content (images to the list, a model to the side question). */
  acceptFiles(files: readonly File[]): void {
    void acceptFiles(files, this.fileHandlers);
  }

  async start(): Promise<void> {
    this.manifest = await this.fetchManifest();
    const pairs = pairChoices(this.manifest);
    const pair = defaultPair(pairs);
    this.state = {
      pairs, pairKey: pair.key, engines: [], engine: DEFAULT_ENGINE,
      slots: slotsFor(pair), images: [], selectedId: null, errors: [], undo: null, busy: null, notice: null, engineCheck: null, engineTable: null,
      sortStds: false, fig7Visible: false, camClass: {}, showSteps: false, env: { crossOriginIsolated: self.crossOriginIsolated, cores: navigator.hardwareConcurrency, decoder: this.host.decoderName },
    };
    this.slots = new ModelSlots(this, this.images);
    this.train = new TrainSession(this.host, () => this.render());
    this.trainView = new TrainView(this.train, this.trainHandlers);
    this.buildLayout();
    this.fillPairSelect();
    this.render();
    this.enqueue('Checking engines', async () => {
      const probe = await this.inference.probe();
      this.state.engines = [...probe.engines];
      this.state.env = { ...this.state.env, crossOriginIsolated: probe.crossOriginIsolated, ...(probe.gpuAdapter && { gpu: probe.gpuAdapter }) };
      this.fillEngineSelect();
    });
    this.slots.load(this.state.slots, pair.key, DEFAULT_ENGINE, 'Loading models');
  }

  private async fetchManifest(): Promise<Manifest> {
    try {
      const res = await fetch(new URL('models/manifest.json', document.baseURI));
      return res.ok ? parseManifest(await res.json()) : { models: [] };
    } catch {
      return { models: [] };
    }
  }

  enqueue(label: string, run: (t: Task) => Promise<void>): void {
    this.queue.enqueue(label, run);
  }

  // ---------------------------------------------------------------------------------------------
  // Layout and rendering

  private buildLayout(): void {
    // Toolbar labels: the long one, and a short one for narrow windows (the CSS shows one).
    const button = (label: string, testid: string, onClick: () => void, extra: Record<string, string> = {}): HTMLButtonElement => {
      const short = label.replace(/^Open (\w)/, (_, c: string) => c.toUpperCase());
      return h('button', { type: 'button', 'data-testid': testid, onclick: onClick, 'aria-label': label.replace('…', ''), ...extra },
        h('span', { class: 'long' }, label), h('span', { class: 'short', 'aria-hidden': 'true' }, short));
    };
    this.pairSelect.addEventListener('change', () => this.slots.choosePair(this.pairSelect.value));
    this.engineSelect.addEventListener('change', () => this.slots.chooseEngine(this.engineSelect.value));
    this.cancelButton.addEventListener('click', () => this.cancel());
    const header = h('header', { class: 'topbar' },
      h('div', { class: 'brand' }, h('span', { class: 'logo', 'aria-hidden': 'true' }, 'R'), h('div', {}, h('h1', {}, 'resnet-lab'), h('p', {}, 'plain vs residual'))),
      h('nav', { class: 'view-tabs', 'aria-label': 'View' }, this.tabs.compare, this.tabs.train),
      h('div', { class: 'controls' },
        h('label', { class: 'control' }, h('span', {}, 'Models'), this.pairSelect),
        h('label', { class: 'control' }, h('span', {}, 'Engine'), this.engineSelect)),
      h('div', { class: 'toolbar' },
        button('Open images…', 'open-images', () => void this.images.pickImages(), { class: 'primary' }),
        button('Open folder…', 'open-folder', () => void this.images.pickFolder()),
        button('Open model…', 'open-model', () => void this.slots.pickModel(), { title: 'An ONNX model or a PyTorch checkpoint (.pth, .pt, .safetensors)' })));
    this.undoButton.addEventListener('click', () => this.images.undoClear());
    const statusBar = h('div', { class: 'statusbar' }, h('div', { class: 'status-main', role: 'status', 'aria-live': 'polite' }, this.statusText), this.progress, this.cancelButton, this.undoBox, this.engineNote, this.envText);
    document.addEventListener('keydown', (e) => this.onKey(e));
    // Figure 7 of big nets is computed when it comes into view.
    new IntersectionObserver((entries) => {
      const visible = entries.some((e) => e.isIntersecting);
      if (visible === this.state.fig7Visible) return;
      this.state.fig7Visible = visible;
      if (visible) this.images.ensureStds();
    }, { threshold: 0.05 }).observe(this.fig7Box);
    const dropZone = h('div', { class: 'dropzone', 'data-testid': 'dropzone', tabindex: 0, role: 'button', 'aria-label': 'Drop images here or press to open images' },
      h('strong', {}, 'Drop images here'),
      h('span', {}, 'JPEG, PNG, WebP, GIF, AVIF, TIFF'),
      h('span', { class: 'muted' }, 'or a folder, a model file (ONNX or PyTorch), or paste'));
    dropZone.addEventListener('click', () => void this.images.pickImages());
    dropZone.addEventListener('keydown', (e) => {
      if (e.key === 'Enter' || e.key === ' ') {
        e.preventDefault();
        void this.images.pickImages();
      }
    });
    setChildren(this.compareMain,
      h('aside', { class: 'sidebar', 'aria-label': 'Images' }, dropZone,
        h('button', { type: 'button', class: 'small samples', 'data-testid': 'samples', onclick: () => void this.images.addSamples(), title: 'Ten Fashion-MNIST test pictures, one of each class' }, 'Try sample images'),
        this.listBox),
      h('div', { class: 'content' }, this.errorsBox, this.compareBox, this.engineBox, this.camBox, h('div', { class: 'figures' }, this.fig7Box, this.fig6Box), this.tableBox));
    setChildren(this.root, header, statusBar, this.compareMain, this.trainBox, this.dropOverlay);
    installDropAndPaste(this.dropOverlay, this.fileHandlers);
    this.host.onMenuCommand((c) => this.onMenu(c));
  }

  syncSelects(): void {
    this.fillPairSelect();
    this.engineSelect.value = this.state.engine;
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
      h('option', { value: e.name, disabled: !e.available },
        !e.available ? `${engineLabel(e.name)} (unavailable)` : e.software ? `${engineLabel(e.name)} (software, slow)` : engineLabel(e.name))));
    this.engineSelect.value = this.state.engine;
    const missing = this.state.engines.filter((e) => !e.available);
    this.engineNote.textContent = missing.map((e) => `${engineLabel(e.name)}: ${e.reason ?? 'unavailable'}`).join('; ');
  }

  render(): void {
    if (this.renderPending) return;
    this.renderPending = true;
    requestAnimationFrame(() => {
      this.renderPending = false;
      this.renderNow();
    });
  }

  /** Shows the compare or the Train view (the other keeps its state). */
  private showView(view: 'compare' | 'train'): void {
    this.view = view;
    this.render();
  }

  private renderNow(): void {
    const s = this.state;
    const training = this.train.state.phase === 'training' || this.train.state.phase === 'paused';
    for (const [v, tab] of Object.entries(this.tabs)) {
      tab.className = v === this.view ? 'tab selected' : 'tab';
      tab.setAttribute('aria-pressed', String(v === this.view));
    }
    this.tabs.train.textContent = training ? 'Train (running)' : 'Train';
    this.compareMain.hidden = this.view !== 'compare';
    this.root.dataset['view'] = this.view;
    this.trainBox.hidden = this.view !== 'train';
    if (this.view === 'train') syncChildren(this.trainBox, this.trainView.render());
    setChildren(this.errorsBox, renderErrors(s, this.handlers));
    // The list is redrawn: a focused thumbnail (arrow keys) stays focused, on the selected image.
    const listFocused = this.listBox.contains(document.activeElement);
    setChildren(this.listBox, renderImageList(s, this.handlers));
    if (listFocused) (this.listBox.querySelector('.thumb.selected') as HTMLElement | null)?.focus({ preventScroll: true });
    setChildren(this.compareBox, renderCompare(s, this.handlers));
    setChildren(this.camBox, renderCam(s));
    setChildren(this.engineBox, renderEngineTable(s, { compareEngines: () => this.images.compareEngines() }));
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
    this.cancelButton.title = 'Cancel (Esc)';
    if (s.undo) setChildren(this.undoBox, h('span', {}, s.undo.text), ' ', this.undoButton);
    this.undoBox.hidden = !s.undo;
    // The selected image stays in view in the list (arrow keys move it).
    if (s.selectedId !== this.shownSelection) {
      this.shownSelection = s.selectedId;
      this.listBox.querySelector('.thumb.selected')?.scrollIntoView({ block: 'nearest' });
    }
    this.envText.textContent = renderEnv(s);
    this.engineSelect.disabled = s.engines.length === 0;
  }

  showError(title: string, message: string, opts: { detail?: string; subject?: string } = {}): void {
    // The same problem again is counted, not listed twice; the subject is the file a message starts with.
    const subject = opts.subject ?? /^([^:]{1,200}): /.exec(message)?.[1];
    const same = this.state.errors.find((e) => e.title === title && e.message === message && e.detail === opts.detail);
    const others = this.state.errors.filter((e) => e !== same);
    const item = { id: this.nextErrorId++, title, message, count: (same?.count ?? 0) + 1, ...(opts.detail && { detail: opts.detail }), ...(subject && { subject }) };
    this.state.errors = [...others.slice(-49), item];
    this.render();
  }

  setBusy(text: string | null, fraction?: number): void {
    this.state.busy = text === null ? null : { text, ...(fraction !== undefined && { fraction }) };
    this.render();
  }

  // ---------------------------------------------------------------------------------------------
  // Cancel and the menu

  /** Stops the current task and drops the queued ones. */
  private cancel(): void {
    const task = this.queue.cancel();
    if (!task) return;
    const lostSessions = this.inference.busy;
    if (lostSessions) this.inference.cancel();
    this.images.cancelPending();
    this.state.notice = `Cancelled: ${task.label.toLowerCase()}.`;
    // The worker was stopped mid-request, so every session went with it: reload the last good pair.
    if (lostSessions) this.slots.reloadAfterLostSessions();
    // A load that was still queued was dropped: show the last good models again.
    else if (SLOTS.some((s) => this.state.slots[s].status === 'loading')) this.slots.restoreCommitted();
    this.render();
  }

  /**
   * Keys: Escape cancels the running work; arrow keys move through the images (unless typing in a control);
   * in a browser, the File menu's shortcuts (Ctrl/Cmd+O images, +Shift+O folder, +M model, +S CSV), which
   * Electron's menu handles itself.
   */
  private onKey(e: KeyboardEvent): void {
    if (document.querySelector('dialog[open]')) return; // the side question handles its own keys
    const target = e.target as HTMLElement | null;
    const typing = !!target?.closest('input, select, textarea, [contenteditable="true"]');
    if (e.key === 'Escape' && !typing && this.state.busy) {
      e.preventDefault();
      this.cancel();
      return;
    }
    const mod = e.ctrlKey || e.metaKey;
    if (mod && !e.altKey && this.host.kind === 'browser') {
      const key = e.key.toLowerCase();
      const command: MenuCommand | null = key === 'o' ? (e.shiftKey ? 'open-folder' : 'open-images') : key === 'm' ? 'open-model' : key === 's' ? 'save-csv' : null;
      if (command) {
        e.preventDefault();
        this.onMenu(command);
      }
      return;
    }
    if (typing || mod || e.altKey) return;
    const delta = e.key === 'ArrowDown' || e.key === 'ArrowRight' ? 1 : e.key === 'ArrowUp' || e.key === 'ArrowLeft' ? -1 : 0;
    if (delta === 0 || this.state.images.length === 0) return;
    // On the list (or nothing in particular) arrows walk the images; elsewhere they scroll the page as usual.
    const onList = !target || target === document.body || !!target.closest('.sidebar, [data-testid="batch"]');
    if (!onList) return;
    e.preventDefault();
    this.images.selectNext(delta);
    requestAnimationFrame(() => (this.listBox.querySelector('.thumb.selected') as HTMLElement | null)?.focus({ preventScroll: true }));
  }

  private onMenu(command: MenuCommand): void {
    if (command === 'open-images') void this.images.pickImages();
    else if (command === 'open-folder') void this.images.pickFolder();
    else if (command === 'open-model') void this.slots.pickModel();
    else void this.images.saveCsv();
  }
}

// The images and what happens to them: adding (pickers, drops), decoding for each model's preprocessing,
// classifying with both slots, re-running after a model or engine change (with the top-1 check across
// engines), Figure 7's layer responses for the selected image, and the batch's results as CSV.
import { topK } from '../../src/engine/classify';
import { preprocessSpecFor } from '../../src/preprocess/for-model';
import type { PreprocessSpec } from '../../src/preprocess/normalize';
import { sourceKey } from '../shared/catalogue';
import { toCsv } from '../shared/results';
import { type AppContext, messageOf } from './context';
import { HostError, type HostImage } from './host';
import { type ImageItem, isSlowForStds, PROBE_SPEC, pairKeyOf, SLOTS, STDS_TASK, slotTitle, specKey } from './state';
import { verdictOf } from './views';
import type { EngineRun, SlotId } from './worker-protocol';

type Top1 = { index: number; label: string };
type Before = Map<number, { a?: Top1; b?: Top1 }>;

/** Model inputs are kept for this many recent images (an ImageNet-size input is 600 KB). */
const KEEP_TENSORS = 64;

/** How long a Clear can be undone. */
const UNDO_MS = 15_000;

export class ImageRuns {
  private nextImageId = 1;
  private cleared: { images: ImageItem[]; selectedId: number | null; timer: ReturnType<typeof setTimeout> } | null = null;

  constructor(private readonly ctx: AppContext) {}

  async pickImages(): Promise<void> {
    try {
      const picked = await this.ctx.host.pickImages();
      // Files the browser hands over are told apart by content (a checkpoint picked here opens as a model).
      if (picked.length > 0 && picked.every((p) => p.file)) this.ctx.acceptFiles(picked.map((p) => p.file!));
      else this.addImages(picked);
    } catch (e) {
      this.ctx.showError('Could not open images:', messageOf(e));
    }
  }

  /** The sample images shipped with the app (Fashion-MNIST test images), added as if dropped. */
  async addSamples(): Promise<void> {
    try {
      const base = new URL('samples/', document.baseURI);
      const res = await fetch(new URL('index.json', base));
      if (!res.ok) throw new Error(`the sample list is missing (HTTP ${res.status})`);
      const names = ((await res.json()) as unknown[]).filter((n): n is string => typeof n === 'string' && /^[\w.-]+\.png$/.test(n));
      const files = await Promise.all(names.map(async (name) => {
        const r = await fetch(new URL(name, base));
        if (!r.ok) throw new Error(`${name}: HTTP ${r.status}`);
        return new File([await r.blob()], name, { type: 'image/png' });
      }));
      this.addImages(files.map((file) => ({ name: file.name, size: file.size, file })));
    } catch (e) {
      this.ctx.showError('Could not load the sample images:', messageOf(e));
    }
  }

  async pickFolder(): Promise<void> {
    try {
      const images = await this.ctx.host.pickFolder();
      if (images.length === 0) this.ctx.state.notice = 'No images found in that folder.';
      this.addImages(images);
    } catch (e) {
      this.ctx.showError('Could not open the folder:', messageOf(e));
    }
  }

  addImages(images: readonly HostImage[]): void {
    if (images.length === 0) return;
    const state = this.ctx.state;
    const items: ImageItem[] = images.map((image) => ({
      id: this.nextImageId++, image, status: 'pending', tensors: new Map(), results: {}, stds: {},
    }));
    state.images = [...state.images, ...items];
    state.selectedId = items[0]!.id;
    state.camClass = {};
    state.engineCheck = null;
    this.ctx.render();
    this.classifyPending();
  }

  /** Empties the list; for UNDO_MS the images (results and all) can be brought back. */
  clearImages(): void {
    const state = this.ctx.state;
    if (state.images.length === 0) return;
    this.forgetCleared();
    const cleared = { images: state.images, selectedId: state.selectedId, timer: setTimeout(() => this.forgetCleared(), UNDO_MS) };
    this.cleared = cleared;
    state.images = [];
    state.selectedId = null;
    state.engineCheck = null;
    state.undo = { text: `Cleared ${cleared.images.length} image${cleared.images.length === 1 ? '' : 's'}.` };
    this.ctx.render();
  }

  /** Brings back the images the last Clear removed (before any added since). */
  undoClear(): void {
    const cleared = this.cleared;
    if (!cleared) return;
    clearTimeout(cleared.timer);
    this.cleared = null;
    const state = this.ctx.state;
    state.images = [...cleared.images, ...state.images];
    state.selectedId = state.selectedId ?? cleared.selectedId;
    state.undo = null;
    this.ctx.render();
    this.classifyPending();
  }

  private forgetCleared(): void {
    const cleared = this.cleared;
    if (!cleared) return;
    clearTimeout(cleared.timer);
    for (const img of cleared.images) if (img.thumbUrl) URL.revokeObjectURL(img.thumbUrl);
    this.cleared = null;
    this.ctx.state.undo = null;
    this.ctx.render();
  }

  /** Moves the selection by `delta` in the list (arrow keys). */
  selectNext(delta: number): void {
    const { images, selectedId } = this.ctx.state;
    if (images.length === 0) return;
    const at = images.findIndex((i) => i.id === selectedId);
    const next = at < 0 ? 0 : Math.min(images.length - 1, Math.max(0, at + delta));
    if (images[next]!.id !== selectedId) this.select(images[next]!.id);
  }

  select(id: number): void {
    if (this.ctx.state.selectedId !== id) this.ctx.state.camClass = {};
    this.ctx.state.selectedId = id;
    this.ctx.render();
    this.ensureStds();
  }

  /** Re-runs every readable image (after a model or engine change); `fromEngine` enables the top-1 check. */
  rerunAll(fromEngine?: string): void {
    const state = this.ctx.state;
    const before: Before = new Map(state.images.map((img) => [img.id, { a: img.results.a?.top[0], b: img.results.b?.top[0] }]));
    for (const img of state.images) {
      if (img.status === 'error' && img.error?.kind !== 'decoder-crashed') continue;
      img.status = 'pending';
      img.results = {};
    }
    state.camClass = {};
    state.engineCheck = null;
    this.ctx.render();
    this.classifyPending(fromEngine ? { engine: fromEngine, before } : undefined);
  }

  classifyPending(check?: { engine: string; before: Before }): void {
    const state = this.ctx.state;
    if (!state.images.some((i) => i.status === 'pending')) return;
    this.ctx.enqueue('Classifying', async (task) => {
      const todo = state.images.filter((i) => i.status === 'pending');
      for (const [n, img] of todo.entries()) {
        if (task.cancelled) return;
        if (img.status !== 'pending') continue;
        this.ctx.setBusy(todo.length > 1 ? `Classifying ${n + 1} of ${todo.length}: ${img.image.name}` : `Classifying ${img.image.name}`, n / todo.length);
        await this.classify(img);
        this.ctx.render();
      }
      if (check) this.finishEngineCheck(check.engine, check.before);
      this.ensureStds();
    });
  }

  private async classify(img: ImageItem): Promise<void> {
    const { state, host, inference } = this.ctx;
    img.status = 'working';
    const ready = SLOTS.filter((s) => state.slots[s].status === 'ready' && state.slots[s].info);
    if (ready.length === 0) {
      img.status = 'pending';
      return;
    }
    const specs = new Map<SlotId, PreprocessSpec>();
    try {
      for (const s of ready) specs.set(s, preprocessSpecFor(state.slots[s].info!));
    } catch (e) {
      img.status = 'error';
      img.error = { kind: 'bad-request', message: `${img.image.name}: ${messageOf(e)}` };
      return;
    }
    // Nets trained on dark-background gray pictures get their input checked against them: add the RGB view.
    const wanted = [...specs.values(), ...([...specs.values()].some((sp) => sp.background === 'dark') ? [PROBE_SPEC] : [])];
    const missing = [...new Map(wanted.map((sp) => [specKey(sp), sp])).values()].filter((sp) => !img.tensors.has(specKey(sp)));
    if (missing.length > 0) {
      try {
        const d = await host.decode(img.image, missing, !img.thumbUrl);
        missing.forEach((sp, i) => img.tensors.set(specKey(sp), d.tensors[i]!));
        img.width = d.width;
        img.height = d.height;
        img.format = d.format;
        if (d.thumbnail && !img.thumbUrl) img.thumbUrl = URL.createObjectURL(d.thumbnail);
      } catch (e) {
        img.status = 'error';
        img.error = e instanceof HostError ? { kind: e.kind, message: e.message } : { kind: 'internal', message: `${img.image.name}: ${messageOf(e)}` };
        this.ctx.showError('Could not read an image:', img.error.message);
        return;
      }
    }
    for (const s of ready) {
      const slot = state.slots[s];
      const r = await inference.run(s, img.tensors.get(specKey(specs.get(s)!))!);
      const probs = { shape: [1, r.probs.length], data: r.probs };
      img.results[s] = {
        top: topK(probs, 0, 5, slot.labels), ms: r.ms, runs: r.runs, engine: slot.engine ?? state.engine, steps: r.steps, stepsRunMs: r.stepsRunMs,
        ...(r.cam && { cam: r.cam }),
      };
    }
    img.status = 'done';
    this.releaseOldTensors();
  }

  /**
   * Keeps model inputs only for the most recent images: older ones are decoded again if they are needed
   * (re-runs, Figure 7), from the file the user gave.
   */
  private releaseOldTensors(): void {
    const state = this.ctx.state;
    const done = state.images.filter((i) => i.tensors.size > 0);
    for (const img of done.slice(0, Math.max(0, done.length - KEEP_TENSORS))) {
      if (img.id !== state.selectedId) img.tensors.clear();
    }
  }

  private finishEngineCheck(from: string, before: Before): void {
    const state = this.ctx.state;
    let compared = 0;
    let same = 0;
    const differences: string[] = [];
    for (const img of state.images) {
      const prev = before.get(img.id);
      for (const s of SLOTS) {
        const p = prev?.[s];
        const now = img.results[s]?.top[0];
        if (!p || !now) continue;
        compared++;
        if (p.index === now.index) same++;
        else differences.push(`${img.image.name} (${slotTitle(state.slots[s])}: ${p.label} → ${now.label})`);
      }
    }
    state.engineCheck = compared > 0 ? { from, to: state.engine, compared, same, differences } : null;
    this.ctx.render();
  }

  /**
   * Figure 7 for the selected image, computed once per image and model pair. Nets of ImageNet size take
   * seconds (every layer on the reference kernels), so for them it waits until the figure is in view, or
   * `force` (the figure's button).
   */
  ensureStds(force = false): void {
    const { state, host, inference } = this.ctx;
    const img = state.images.find((i) => i.id === state.selectedId);
    if (img?.status !== 'done') return;
    const need = SLOTS.filter((s) => state.slots[s].status === 'ready' && img.stds[s]?.key !== sourceKey(state.slots[s].source));
    if (need.length === 0) return;
    if (!force && !state.fig7Visible && need.some((s) => isSlowForStds(state.slots[s].info))) return;
    this.ctx.enqueue(STDS_TASK, async (task) => {
      for (const [i, s] of need.entries()) {
        if (task.cancelled) return;
        const slot = state.slots[s];
        if (slot.status !== 'ready' || !slot.info) continue;
        const spec = preprocessSpecFor(slot.info);
        let tensor = img.tensors.get(specKey(spec));
        if (!tensor) {
          // Dropped to save memory in a big batch: decode again.
          tensor = (await host.decode(img.image, [spec], false)).tensors[0]!;
          img.tensors.set(specKey(spec), tensor);
        }
        const r = await inference.layerStds(s, tensor, (text, f) =>
          this.ctx.setBusy(`${STDS_TASK}: ${slotTitle(slot)}, ${text}`, (i + (f ?? 0)) / need.length));
        img.stds[s] = { key: sourceKey(slot.source), layers: r.layers };
        this.ctx.render();
      }
    });
  }

  /** The selected image on every available engine with both nets: the engine table. */
  compareEngines(): void {
    const { state, inference } = this.ctx;
    const img = state.images.find((i) => i.id === state.selectedId);
    if (img?.status !== 'done') return;
    const order = ['ts', 'wasm', 'ort-wasm', 'ort-webgpu'];
    const engines = state.engines.filter((e) => e.available).map((e) => e.name).sort((a, b) => order.indexOf(a) - order.indexOf(b));
    const ready = SLOTS.filter((s) => state.slots[s].status === 'ready' && state.slots[s].info);
    this.ctx.enqueue('Comparing engines', async (task) => {
      const runs: Partial<Record<SlotId, readonly EngineRun[]>> = {};
      for (const [i, s] of ready.entries()) {
        if (task.cancelled) return;
        const spec = preprocessSpecFor(state.slots[s].info!);
        const tensor = img.tensors.get(specKey(spec)) ?? (await this.ctx.host.decode(img.image, [spec], false)).tensors[0]!;
        runs[s] = await inference.compareEngines(s, tensor, engines, (text, f) =>
          this.ctx.setBusy(`Comparing engines: ${text}`, (i + (f ?? 0)) / ready.length));
      }
      state.engineTable = { imageId: img.id, imageName: img.image.name, pair: pairKeyOf(state), runs };
      this.ctx.render();
    });
  }

  /** Marks images still waiting as cancelled. */
  cancelPending(): void {
    for (const img of this.ctx.state.images) if (img.status === 'pending' || img.status === 'working') img.status = 'cancelled';
  }

  async saveCsv(): Promise<void> {
    const state = this.ctx.state;
    const a = slotTitle(state.slots.a);
    const b = slotTitle(state.slots.b);
    const header = ['image', 'width', 'height', 'format', 'engine',
      `${a} top-1`, `${a} probability`, `${a} ms`, `${b} top-1`, `${b} probability`, `${b} ms`, 'agree', 'error'];
    const rows = state.images.map((img) => {
      const ra = img.results.a;
      const rb = img.results.b;
      return [img.image.name, img.width, img.height, img.format, ra?.engine ?? rb?.engine,
        ra?.top[0]?.label, ra ? Number(ra.top[0]!.probability.toFixed(6)) : undefined, ra ? Number(ra.ms.toFixed(3)) : undefined,
        rb?.top[0]?.label, rb ? Number(rb.top[0]!.probability.toFixed(6)) : undefined, rb ? Number(rb.ms.toFixed(3)) : undefined,
        verdictOf(state, img) ?? undefined, img.error?.message];
    });
    try {
      const where = await this.ctx.host.saveCsv(toCsv(header, rows), 'resnet-lab-results.csv');
      if (where) state.notice = `Results ${where}.`;
      this.ctx.render();
    } catch (e) {
      this.ctx.showError('Could not save the CSV:', messageOf(e));
    }
  }
}

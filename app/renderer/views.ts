// Drawing the state: pure functions from AppState to DOM, with callbacks for what the user does.
import { type CurveRun, figure6 } from '../../src/figures/figure6';
import { darkBackgroundFit } from '../../src/analysis/domain';
import { formatCount } from '../../src/format';
import { preprocessSpecFor } from '../../src/preprocess/for-model';
import type { PreprocessSpec } from '../../src/preprocess/normalize';
import { sourceKey } from '../shared/catalogue';
import { agreement, formatBytes, formatMs } from '../shared/results';
import { figure6Charts, lineChart, type Series } from './charts';
import { h } from './dom';
import { type AppState, type ImageItem, isSlowForStds, PROBE_SPEC, SLOTS, type SlotResult, type SlotState, STDS_TASK, slotTitle, specKey } from './state';
import { engineLabel, type SlotId } from './worker-protocol';

export interface ViewHandlers {
  select(id: number): void;
  /** Shows the class activation map of class `cls` for the slot's net. */
  selectCamClass(slot: SlotId, cls: number): void;
  openModelInto(slot: SlotId): void;
  reload(): void;
  dismissError(id: number): void;
  dismissAllErrors(): void;
  setSortStds(sorted: boolean): void;
  /** Figure 7 now (for big nets it otherwise waits until it is in view). */
  computeStds(): void;
  /** Stops the running work (as the status bar's Cancel and Escape do). */
  cancel(): void;
  setShowSteps(open: boolean): void;
  saveCsv(): void;
  rerun(): void;
  clearImages(): void;
  openImages(): void;
  addSamples(): void;
}

const pct = (p: number): string => `${(p * 100).toFixed(p >= 0.1 ? 1 : 2)}%`;

function seriesClass(slot: SlotState): string {
  return `series-${slot.role}`;
}

function roleLabel(slot: SlotState): string {
  return slot.role === 'plain' ? 'Plain net' : slot.role === 'residual' ? 'Residual net' : 'Your model';
}

function selectedImage(state: AppState): ImageItem | undefined {
  return state.images.find((i) => i.id === state.selectedId);
}

// -----------------------------------------------------------------------------------------------

/** The problems so far, in one area: a count, "dismiss all", each problem once (with how often), its detail on request. */
export function renderErrors(state: AppState, on: ViewHandlers): HTMLElement {
  const errors = state.errors;
  if (errors.length === 0) return h('div', { class: 'errors', 'data-testid': 'errors' });
  const total = errors.reduce((a, e) => a + e.count, 0);
  return h('section', { class: 'errors', 'data-testid': 'errors', 'aria-label': 'Problems' },
    h('header', { class: 'errors-head' },
      h('strong', { 'data-testid': 'error-count' }, `${total} problem${total === 1 ? '' : 's'}`),
      errors.length > 1 ? h('button', { type: 'button', class: 'small', 'data-testid': 'dismiss-all', onclick: () => on.dismissAllErrors() }, 'Dismiss all') : null),
    h('ul', { class: 'error-list' }, [...errors].reverse().map((e) => {
      const about = e.subject ?? e.title.replace(/:$/, '');
      return h('li', { class: 'error-item', role: 'alert', 'data-testid': 'error-item' },
        h('div', { class: 'error-text' },
          h('strong', {}, e.title), ' ', h('span', { class: 'error-message' }, e.message),
          e.count > 1 ? h('span', { class: 'error-count', title: `${e.count} times` }, ` ×${e.count}`) : null,
          e.detail ? h('details', { class: 'error-detail' }, h('summary', {}, 'Details'), h('code', {}, e.detail)) : null),
        h('button', { class: 'icon-button', type: 'button', 'aria-label': `Dismiss the problem with ${about}`, title: `Dismiss the problem with ${about}`, onclick: () => on.dismissError(e.id) }, '×'));
    })));
}

export function renderImageList(state: AppState, on: ViewHandlers): HTMLElement {
  if (state.images.length === 0) {
    return h('div', { class: 'image-list empty', 'data-testid': 'image-list' },
      h('p', { class: 'muted' }, 'No images yet.'));
  }
  return h('ul', { class: 'image-list', 'data-testid': 'image-list', 'aria-label': 'Images' },
    state.images.map((img) => {
      const a = resultOf(state, img, 'a')?.top[0];
      const b = resultOf(state, img, 'b')?.top[0];
      const statusText = img.status === 'error' ? 'error' : img.status === 'done' ? `${a?.label ?? '—'} · ${b?.label ?? '—'}`
        : img.status === 'cancelled' ? 'not classified (cancelled)' : 'working…';
      const sub = img.status === 'done'
        ? h('span', { class: 'thumb-sub' },
          h('span', { class: `dot dot-${state.slots.a.role}`, 'aria-hidden': 'true' }), a?.label ?? '—', ' ',
          h('span', { class: `dot dot-${state.slots.b.role}`, 'aria-hidden': 'true' }), b?.label ?? '—')
        : h('span', { class: 'thumb-sub' }, statusText);
      return h('li', {},
        h('button', {
          type: 'button', class: `thumb ${img.status}${img.id === state.selectedId ? ' selected' : ''}`,
          'aria-pressed': img.id === state.selectedId ? 'true' : 'false', 'data-testid': 'thumb', 'data-name': img.image.name,
          'data-status': img.status, 'aria-label': `${img.image.name}: ${statusText}`, onclick: () => on.select(img.id),
        },
        img.thumbUrl ? h('img', { src: img.thumbUrl, alt: '', class: (img.width ?? 999) <= 64 ? 'pixelated' : null }) : h('span', { class: 'thumb-placeholder', 'aria-hidden': 'true' }, img.status === 'error' ? '!' : '…'),
        h('span', { class: 'thumb-text' },
          h('span', { class: 'thumb-name' }, img.image.name),
          sub)));
    }));
}

/** Facts of a slot's net; while a new net loads (no info yet), the same rows with dashes, so nothing jumps. */
function facts(slot: SlotState): HTMLElement {
  const info = slot.info;
  const convs = info?.layers.filter((l) => l.kind === 'conv').length;
  const fcs = info?.layers.filter((l) => l.kind === 'fc').length;
  const row = (k: string, v: string | undefined, testid: string): HTMLElement =>
    h('div', { class: 'fact' }, h('dt', {}, k), h('dd', { 'data-testid': testid }, v ?? '—'));
  return h('dl', { class: `facts${info ? '' : ' pending'}`, 'data-testid': 'facts' },
    row('Input', info?.inputShape.join('×'), 'fact-input'),
    row('Classes', info ? String(info.classes) : undefined, 'fact-classes'),
    row('Parameters', info ? formatCount(info.params) : undefined, 'fact-params'),
    row('Mult-adds', info ? formatCount(info.macs) : undefined, 'fact-macs'),
    row('Layers', info ? `${convs} conv + ${fcs} fc` : undefined, 'fact-layers'),
    row('Engine', slot.engine && info ? engineLabel(slot.engine) : undefined, 'fact-engine'),
    row('Load · warm-up', slot.loadMs !== undefined && info ? `${formatMs(slot.loadMs)} · ${formatMs(slot.warmupMs ?? 0)}` : undefined, 'fact-load'));
}

/** The classes a net knows, behind a disclosure: their names, or why it has none. */
function knownClasses(slot: SlotState): HTMLElement | null {
  const info = slot.info;
  if (!info) return h('p', { class: 'known muted' }, ' ');
  const labels = slot.labels;
  const dataset = info.meta?.training?.dataset;
  const from = slot.imported?.labels === 'imagenet' || (labels.length === 1000 && !dataset) ? 'ImageNet' : dataset;
  if (labels.length === 0) {
    return h('p', { class: 'known muted', 'data-testid': 'known-classes' }, `Knows ${info.classes} classes, unnamed (the file names none): shown as class 0–${info.classes - 1}.`);
  }
  const shown = labels.length > 40 ? [...labels.slice(0, 40), `… and ${labels.length - 40} more`] : labels;
  return h('details', { class: 'known', 'data-testid': 'known-classes' },
    h('summary', {}, `Knows ${labels.length} classes${from ? ` (${from})` : ''}`),
    h('p', {}, shown.join(' · ')));
}

/** A slot's result for an image, only while the slot shows the net that made it (not while another loads). */
function resultOf(state: AppState, img: ImageItem, slotId: SlotId): SlotResult | undefined {
  return state.slots[slotId].status === 'ready' ? img.results[slotId] : undefined;
}

/** Five grey rows the height of the top-5: while a net loads or an image is classified. */
function skeleton(text: string): HTMLElement {
  return h('div', { class: 'result skeleton', 'aria-busy': 'true' },
    h('ol', { class: 'top5', 'aria-hidden': 'true' }, [0, 1, 2, 3, 4].map(() =>
      h('li', {}, h('span', { class: 'label' }, h('span', { class: 'ghost' })), h('span', { class: 'bar' }), h('span', { class: 'prob' })))),
    h('p', { class: 'latency' }, text));
}

function topList(state: AppState, img: ImageItem | undefined, slotId: SlotId, on: ViewHandlers): HTMLElement {
  const slot = state.slots[slotId];
  if (slot.status === 'loading') return skeleton(' ');
  if (!img) return h('p', { class: 'muted hint' }, 'Drop an image to see what this net makes of it.');
  if (img.status === 'error') return h('p', { class: 'muted' }, 'This image could not be read.');
  const r = resultOf(state, img, slotId);
  if (!r) return skeleton(img.status === 'cancelled' ? 'Not classified (cancelled).' : slot.status === 'ready' ? 'Classifying…' : 'No model loaded.');
  // With class activation maps, a class is clicked to see where the net looks for it.
  const clickable = r.cam !== undefined;
  const shown = state.camClass[slotId] ?? r.top[0]?.index;
  return h('div', { class: 'result' },
    h('ol', { class: `top5${clickable ? ' clickable' : ''}`, 'data-testid': 'top5', 'aria-label': 'Top-5 classes' },
      r.top.map((c, i) => {
        const bar = h('span', { class: 'bar-fill' });
        bar.style.width = `${Math.max(0.5, c.probability * 100)}%`;
        const pick = (): void => on.selectCamClass(slotId, c.index);
        return h('li', {
          class: `${i === 0 ? 'top1' : ''}${clickable && c.index === shown ? ' shown' : ''}`, 'data-label': c.label, 'data-index': c.index, 'data-prob': c.probability.toFixed(6),
          ...(clickable && {
            role: 'button', tabindex: 0, 'aria-pressed': c.index === shown ? 'true' : 'false', title: `Show where the net looks for ${c.label}`,
            onclick: pick,
            onkeydown: (e: Event) => {
              const k = (e as KeyboardEvent).key;
              if (k === 'Enter' || k === ' ') {
                e.preventDefault();
                pick();
              }
            },
          }),
        },
        h('span', { class: 'label' }, c.label),
        h('span', { class: 'bar', 'aria-hidden': 'true' }, bar),
        h('span', { class: 'prob' }, pct(c.probability)));
      })),
    h('p', { class: 'latency', 'data-testid': 'latency' },
      h('strong', {}, formatMs(r.ms)), ` median of ${r.runs} run${r.runs === 1 ? '' : 's'} · ${engineLabel(r.engine)}`),
    stepTimes(state.slots[slotId], r, state.showSteps, on));
}

/**
 * Where the time goes, on our engines: every step in network order, each the median over the timed runs,
 * then their sum, the time outside them (writing the input, reading outputs back, a thread waited for) and
 * the engine's total (the median run).
 */
/** What an engine does around the layers (StepTiming kind 'engine'), in the words of the per-layer table. */
const ENGINE_WORK: Readonly<Record<string, string>> = {
  input: 'image copied in',
  'thread wait': 'threads joining, leaving',
  outputs: 'outputs read back',
};

function stepTimes(slot: SlotState, r: SlotResult, open: boolean, on: ViewHandlers): HTMLElement | null {
  const steps = r.steps;
  if (steps.length === 0) return null;
  const layers = steps.filter((t) => t.kind !== 'engine');
  const engineWork = steps.filter((t) => t.kind === 'engine');
  const sum = steps.reduce((a, t) => a + t.ms, 0);
  const total = r.stepsRunMs;
  const detail = new Map((slot.info?.layers ?? []).map((l) => [l.name, l.detail]));
  const share = (ms: number): string => (total > 0 ? `${((ms / total) * 100).toFixed(ms / total >= 0.1 ? 0 : 1)}%` : '');
  const row = (cells: (string | HTMLElement)[], cls = ''): HTMLElement => h('tr', { class: cls }, cells.map((c, i) => h('td', { class: i >= 2 ? 'num' : i === 0 ? 'name' : '' }, c)));
  const bar = (ms: number): HTMLElement => {
    const fill = h('span', { class: 'bar-fill' });
    fill.style.width = `${total > 0 ? Math.min(100, (ms / total) * 100) : 0}%`;
    return h('span', { class: 'bar step-bar', 'aria-hidden': 'true' }, fill);
  };
  const timeRow = (t: (typeof steps)[number], what: string, testid: string): HTMLElement => h('tr', { 'data-testid': testid },
    h('td', { class: 'name' }, t.name), h('td', {}, what),
    h('td', { class: 'num' }, formatMs(t.ms)), h('td', { class: 'num' }, share(t.ms)), h('td', { class: 'bar-cell' }, bar(t.ms)));
  const outside = total - sum;
  return h('details', {
    class: 'steps', 'data-testid': 'step-times', 'data-sum': sum.toFixed(4), 'data-total': total.toFixed(4), open, ontoggle: (e: Event) => on.setShowSteps((e.target as HTMLDetailsElement).open),
  },
    h('summary', {}, `Per-layer time · ${layers.length} steps`),
    h('div', { class: 'steps-wrap' },
      h('table', {},
        h('thead', {}, h('tr', {}, h('th', {}, 'step'), h('th', {}, 'what'), h('th', { class: 'num' }, 'ms'), h('th', { class: 'num' }, 'share'), h('th', {}, h('span', { class: 'sr-only' }, 'bar')))),
        h('tbody', {}, layers.map((t) => timeRow(t, detail.get(t.name) ?? t.kind, 'step-row'))),
        engineWork.length > 0 ? h('tbody', { class: 'engine-work' }, engineWork.map((t) => timeRow(t, ENGINE_WORK[t.name] ?? 'the engine’s own work', 'engine-row'))) : null,
        h('tfoot', {},
          row([engineWork.length > 0 ? 'All rows' : 'All steps', '', formatMs(sum), share(sum)], 'sum'),
          outside >= 0 ? row(['Unaccounted', 'calling the engine', formatMs(outside), share(outside)], 'outside') : null,
          row(['Engine total', 'this run', formatMs(total), '100%'], 'total')))),
    h('p', { class: 'caption' }, `The median of the ${r.runs} timed run${r.runs === 1 ? '' : 's'}, step by step. On a busy machine, a step that loses its processor takes longer.`));
}

function slotCard(state: AppState, slotId: SlotId, on: ViewHandlers): HTMLElement {
  const slot = state.slots[slotId];
  const img = selectedImage(state);
  const title = slotTitle(slot);
  const trained = slot.info?.trained;
  const imp = slot.imported;
  const badge = slot.info === undefined ? null : imp
    ? h('span', { class: 'badge neutral', 'data-testid': 'badge-trained', title: `Converted from a PyTorch checkpoint (${imp.format}, ${imp.tensors} tensors, ${imp.dtypes.join('/')}${imp.entry ? `, under '${imp.entry}'` : ''}): its own weights` },
      `PyTorch · ${imp.archName.startsWith('ResNet with') ? 'ResNet' : imp.archName}`)
    : slot.source.kind === 'file' && !slot.info.meta
    ? h('span', { class: 'badge neutral', 'data-testid': 'badge-trained', title: 'A model file without resnet-lab metadata: its own weights' }, 'your weights')
    : trained
    ? h('span', { class: 'badge ok', 'data-testid': 'badge-trained' }, slot.info.meta?.training?.dataset ? `trained · ${slot.info.meta.training.dataset}` : 'trained')
    : h('span', { class: 'badge warn', 'data-testid': 'badge-trained', title: 'Seeded random weights: the predictions mean nothing' }, 'untrained');
  return h('section', {
    class: `card slot slot-${slot.role} status-${slot.status}`, 'data-testid': `slot-${slotId}`, 'data-status': slot.status,
    'aria-label': `${roleLabel(slot)}: ${title}`,
  },
  h('header', { class: 'slot-head' },
    h('div', {},
      h('p', { class: 'eyebrow' }, roleLabel(slot)),
      h('h2', { 'data-testid': 'model-name' }, title),
      // One line under the name, always there (so nothing jumps): the badge, or loading, or what went wrong.
      h('p', { class: `slot-sub${slot.status === 'error' ? ' slot-error' : ''}`, 'data-testid': 'slot-status' },
        slot.status === 'loading' ? [h('span', { class: 'spinner', 'aria-hidden': 'true' }), h('span', { class: 'loading-text' }, slot.message ?? 'Loading…')]
          : slot.status === 'error' || slot.status === 'unloaded' ? (slot.message ?? 'Not loaded.') : badge)),
    h('div', { class: 'slot-actions' },
      slot.status === 'unloaded' ? h('button', { type: 'button', class: 'small', onclick: () => on.reload() }, 'Reload') : null,
      h('button', { type: 'button', class: 'small', 'data-testid': `open-model-${slotId}`, 'aria-label': `Open a model file in place of ${title}`, onclick: () => on.openModelInto(slotId) }, 'Open model…'))),
  facts(slot),
  knownClasses(slot),
  topList(state, img, slotId, on));
}

/** Whether the two nets agree on an image; null until both have results. */
export function verdictOf(state: AppState, img: ImageItem): 'agree' | 'disagree' | 'n/a' | null {
  const ra = resultOf(state, img, 'a');
  const rb = resultOf(state, img, 'b');
  const ia = state.slots.a.info;
  const ib = state.slots.b.info;
  if (!ra || !rb || !ia || !ib) return null;
  return agreement(
    { top1: ra.top[0]!, labels: state.slots.a.labels, classes: ia.classes },
    { top1: rb.top[0]!, labels: state.slots.b.labels, classes: ib.classes },
  );
}

/**
 * How far to trust what the nets say about an image: not at all when a net is untrained; little when the
 * image looks nothing like what a net was trained on (checked for nets trained on dark-background gray
 * pictures, as Fashion-MNIST: src/analysis/domain.ts).
 */
function trustOf(state: AppState, img: ImageItem): { untrained: boolean; misfit: readonly string[]; dataset?: string } {
  const untrained = SLOTS.some((s) => state.slots[s].info?.trained === false);
  for (const s of SLOTS) {
    const info = state.slots[s].info;
    if (!info || state.slots[s].status !== 'ready' || info.trained === false) continue;
    let spec: PreprocessSpec;
    try {
      spec = preprocessSpecFor(info);
    } catch {
      continue;
    }
    const input = img.tensors.get(specKey(spec));
    if (spec.background !== 'dark' || spec.channels !== 1 || !input) continue;
    const fit = darkBackgroundFit(input, spec.mean[0]!, spec.std[0]!, img.tensors.get(specKey(PROBE_SPEC)));
    if (!fit.fits) return { untrained, misfit: fit.reasons, dataset: info.meta?.training?.dataset ?? 'the training images' };
  }
  return { untrained, misfit: [] };
}

function agreementChip(state: AppState): HTMLElement | null {
  const img = selectedImage(state);
  const verdict = img ? verdictOf(state, img) : null;
  if (!img || !verdict) return null;
  const ra = img.results.a!;
  const rb = img.results.b!;
  const said = verdict === 'agree' ? `Both nets say “${ra.top[0]!.label}”`
    : verdict === 'disagree' ? `The nets disagree: “${ra.top[0]!.label}” vs “${rb.top[0]!.label}”`
      : 'Not comparable: the two models have different classes';
  const trust = trustOf(state, img);
  // Agreement is only good news for trained nets on images like the ones they learnt from.
  if (verdict !== 'n/a' && trust.untrained) {
    return h('p', { class: 'agreement caution', 'data-testid': 'agreement', 'data-verdict': verdict, 'data-trust': 'untrained' },
      `${said}, but untrained nets’ answers mean nothing.`);
  }
  if (verdict !== 'n/a' && trust.misfit.length > 0) {
    return h('div', { class: 'agreement caution misfit', 'data-testid': 'agreement', 'data-verdict': verdict, 'data-trust': 'misfit' },
      h('strong', {}, `This picture looks nothing like ${trust.dataset}: `), `${trust.misfit.join('; ')}. `,
      `${said}, but that means little.`);
  }
  return h('p', { class: `agreement ${verdict}`, 'data-testid': 'agreement', 'data-verdict': verdict, 'data-trust': 'ok' }, said);
}

export function renderCompare(state: AppState, on: ViewHandlers): HTMLElement {
  const img = selectedImage(state);
  const untrained = SLOTS.some((s) => state.slots[s].info?.trained === false);
  return h('div', { class: 'compare' },
    untrained ? h('div', { class: 'banner', 'data-testid': 'untrained-banner' },
      h('p', {}, h('strong', {}, 'Untrained nets. '),
        'Their weights are random, so what they answer means nothing; their sizes, costs, timings and layer responses are real. ',
        state.pairs.some((p) => p.trained) ? 'For nets that have learnt something, choose a trained pair under Models.' : ''),
      h('details', { class: 'dev' }, h('summary', {}, 'For developers'),
        h('p', {}, 'Trained models placed in models/ (an .onnx file with its .json sidecar) are listed when the app is built (npm run build) and offered under Models.'))) : null,
    img ? h('div', { class: 'selected-head', 'data-testid': 'selected' },
      img.thumbUrl ? h('img', { class: `preview${(img.width ?? 999) <= 64 ? ' pixelated' : ''}`, src: img.thumbUrl, alt: `Preview of ${img.image.name}` }) : h('div', { class: 'preview placeholder' }, '?'),
      h('div', { class: 'selected-text' },
        h('h2', { 'data-testid': 'selected-name' }, img.image.name),
        h('p', { class: 'muted' }, [
          img.width ? `${img.width}×${img.height}` : null, img.format?.toUpperCase(), formatBytes(img.image.size),
        ].filter(Boolean).join(' · ')),
        // The verdict's line is kept while a net loads (an invisible placeholder), so the cards do not move.
        img.error ? h('p', { class: 'slot-error', 'data-testid': 'selected-error' }, img.error.message)
          : (agreementChip(state) ?? h('p', { class: 'agreement placeholder', 'aria-hidden': 'true' }, '\u00a0'))))
      : h('div', { class: 'selected-head empty' },
        h('div', { class: 'selected-text' },
          h('h2', {}, 'Plain vs residual, side by side'),
          h('p', { class: 'muted' }, 'Drop photos anywhere in the window, paste one, ',
            h('button', { type: 'button', class: 'link', onclick: () => on.openImages() }, 'open images'),
            ' or ', h('button', { type: 'button', class: 'link', 'data-testid': 'samples-link', onclick: () => on.addSamples() }, 'try the sample images'),
            ' (ten Fashion-MNIST test pictures). Each is classified by both nets on the engine you choose.'))),
    h('div', { class: 'slots' }, SLOTS.map((s) => slotCard(state, s, on))),
    shortcutNote(state));
}

/** The paper's point about option A, when the pair shows it: the shortcuts cost nothing. */
function shortcutNote(state: AppState): HTMLElement | null {
  const { a, b } = state.slots;
  if (a.role !== 'plain' || b.role !== 'residual' || !a.info || !b.info) return null;
  const same = a.info.params === b.info.params && a.info.macs === b.info.macs;
  return h('p', { class: 'note', 'data-testid': 'shortcut-note' }, same
    ? 'Same parameters and multiply-adds: identity shortcuts (option A) add none. The only difference is the addition at the end of each block.'
    : `The residual net has ${formatCount(b.info.params - a.info.params)} more parameters: its projection shortcuts (option B/C) are learned.`);
}

export function renderFigure7(state: AppState, on: ViewHandlers): HTMLElement {
  const img = selectedImage(state);
  // Only responses of the nets loaded now (an image keeps those of nets it was shown with before).
  const current = (slot: SlotId) => {
    const st = img?.stds[slot];
    return st && state.slots[slot].status === 'ready' && st.key === sourceKey(state.slots[slot].source) ? st : undefined;
  };
  const sa = current('a');
  const sb = current('b');
  const body: (HTMLElement | SVGElement)[] = [];
  if (!img || img.status === 'error') {
    body.push(h('p', { class: 'muted' }, 'Select a classified image to see how strongly each layer responds to it.'));
  } else if (!sa || !sb) {
    const running = state.busy?.text.startsWith(STDS_TASK) === true;
    const slow = SLOTS.some((s) => isSlowForStds(state.slots[s].info));
    body.push(running
      ? h('div', { class: 'fig-progress', 'data-testid': 'fig7-progress' },
        h('p', {}, h('span', { class: 'spinner', 'aria-hidden': 'true' }), ' ', state.busy!.text.slice(STDS_TASK.length + 2) || 'Computing…'),
        state.busy!.fraction !== undefined ? h('progress', { max: 1, value: state.busy!.fraction }) : null,
        h('button', { type: 'button', class: 'small danger', onclick: () => on.cancel() }, 'Cancel'))
      : slow
        ? h('div', { class: 'fig-progress', 'data-testid': 'fig7-lazy' },
          h('p', { class: 'muted' }, 'Every layer of these ImageNet-size nets is recomputed on the reference kernels: it takes seconds, so it starts when this panel is in view.'),
          h('button', { type: 'button', class: 'small', 'data-testid': 'fig7-compute', onclick: () => on.computeStds() }, 'Compute now'))
        : h('p', { class: 'muted' }, 'Computing layer responses…'));
  } else {
    const series = (layers: readonly { std: number }[], name: string, className: string): Series => {
      const ys = layers.map((l) => l.std);
      if (state.sortStds) ys.sort((p, q) => q - p);
      return { name, x: ys.map((_, i) => i + 1), y: ys, className };
    };
    body.push(lineChart([
      series(sa.layers, slotTitle(state.slots.a), seriesClass(state.slots.a)),
      series(sb.layers, slotTitle(state.slots.b), seriesClass(state.slots.b)),
    ], {
      title: `Standard deviation of layer responses for ${img.image.name}`,
      xLabel: state.sortStds ? 'layers, strongest response first' : 'layers, from input to output',
      yLabel: 'response (std)', yMin: 0, width: 420, height: 250,
    }));
    body.push(legend([[slotTitle(state.slots.a), state.slots.a.role], [slotTitle(state.slots.b), state.slots.b.role]]));
  }
  const sortBox = h('input', { type: 'checkbox', id: 'sort-stds', onchange: (e: Event) => on.setSortStds((e.target as HTMLInputElement).checked) });
  sortBox.checked = state.sortStds;
  return h('section', { class: 'card figure', 'data-testid': 'fig7', 'data-in-view': String(state.fig7Visible), 'aria-label': 'Layer responses (Figure 7)' },
    h('header', { class: 'card-head' },
      h('h3', {}, 'Layer responses ', h('span', { class: 'muted' }, '· Figure 7')),
      h('label', { class: 'check' }, sortBox, 'Sort by magnitude')),
    ...body,
    h('p', { class: 'caption' }, 'Std of each 3×3 layer’s output after BN and before ReLU/addition, for this image. ',
      'In the paper, residual functions respond less than their plain counterparts once trained: the shortcut carries the signal.'));
}

function legend(items: readonly [string, string][]): HTMLElement {
  return h('ul', { class: 'legend' }, items.map(([name, cls]) => h('li', {}, h('span', { class: `swatch series-${cls}`, 'aria-hidden': 'true' }), name)));
}

/**
 * The paper's Figure 6 for the shipped nets: training (dashed) and test (bold) error per epoch, plain nets
 * on the left and ResNets on the right on one scale, a colour per depth. The degradation problem is the
 * deep plain net above the shallow one; its cure, the deep ResNet below. The nets in the pair are marked.
 */
export function renderFigure6(runs: readonly CurveRun[], state: AppState): HTMLElement {
  const body: (HTMLElement | SVGElement)[] = [];
  // The loaded pair's own curves when its nets have a training record (shipped with the app), else the
  // shipped nets' curves, and the figure says which.
  const inPair = new Set(SLOTS.map((s) => state.slots[s].source).flatMap((src) => (src.kind === 'shipped' ? [src.id] : [])));
  const own = runs.filter((r) => inPair.has(r.id));
  let whose: string;
  if (runs.length === 0) {
    whose = '';
    body.push(h('p', { class: 'muted', 'data-testid': 'fig6-empty' },
      'No training curves: the loaded nets have no training record, and no trained nets ship with this build.'));
  } else {
    const fig = figure6(runs);
    whose = own.length > 0 ? `· ${own.map((r) => r.id).join(' and ')}, with the other shipped nets` : '· the shipped nets, not the loaded pair';
    body.push(h('div', { class: 'fig6-panels' }, figure6Charts(fig, inPair)));
    body.push(h('p', { class: 'caption', 'data-testid': 'fig6-caption' },
      own.length > 0
        ? `Error per epoch while training on ${datasetOf(state) ?? 'Fashion-MNIST'}; the loaded pair drawn thicker. `
        : 'The loaded nets have no training record, so these are the curves of the nets that ship with the app (Fashion-MNIST). ',
      'In the paper, the deeper plain net ends with a higher training error than the shallower one (degradation), while the deeper ResNet ends lower.'));
  }
  return h('section', { class: 'card figure', 'data-testid': 'fig6', 'aria-label': 'Training curves (Figure 6)' },
    h('header', { class: 'card-head' }, h('h3', {}, 'Training ', h('span', { class: 'muted', 'data-testid': 'fig6-whose' }, `· Figure 6 ${whose}`))),
    ...body);
}

function datasetOf(state: AppState): string | undefined {
  return SLOTS.map((s) => state.slots[s].info?.meta?.training?.dataset).find((d) => d !== undefined);
}

export function renderTable(state: AppState, on: ViewHandlers): HTMLElement {
  const a = slotTitle(state.slots.a);
  const b = slotTitle(state.slots.b);
  const done = state.images.filter((i) => i.status === 'done');
  const verdicts = done.map((i) => verdictOf(state, i));
  const agreeCount = verdicts.filter((v) => v === 'agree').length;
  const comparable = verdicts.some((v) => v === 'agree' || v === 'disagree');
  const check = state.engineCheck;
  return h('section', { class: 'card batch', 'data-testid': 'batch', 'aria-label': 'All results' },
    h('header', { class: 'card-head' },
      h('h3', {}, 'All images ', h('span', { class: 'muted', 'data-testid': 'batch-summary' },
        `· ${done.length} classified${done.length && comparable ? `, the nets agree on ${agreeCount}` : ''}`)),
      h('div', { class: 'actions' },
        h('button', { type: 'button', class: 'small', 'data-testid': 'rerun', onclick: () => on.rerun(), disabled: state.images.length === 0 }, 'Classify again'),
        h('button', { type: 'button', class: 'small', 'data-testid': 'clear', onclick: () => on.clearImages(), disabled: state.images.length === 0 }, 'Clear'),
        h('button', { type: 'button', class: 'small primary', 'data-testid': 'save-csv', onclick: () => on.saveCsv(), disabled: done.length === 0 }, 'Save CSV…'))),
    check ? h('p', { class: `engine-check ${check.same === check.compared ? 'agree' : 'disagree'}`, 'data-testid': 'engine-check', 'data-to': check.to, 'data-same': check.same, 'data-compared': check.compared },
      check.same === check.compared
        ? `Same top-1 on ${engineLabel(check.to)} as on ${engineLabel(check.from)} for all ${check.compared} results.`
        : `Top-1 differs between ${engineLabel(check.from)} and ${engineLabel(check.to)} for ${check.compared - check.same} of ${check.compared}: ${check.differences.join('; ')}`) : null,
    state.images.length === 0 ? h('p', { class: 'muted' }, 'Results for every image you drop are listed here and can be saved as CSV.') :
      h('div', { class: 'table-wrap' },
        h('table', { 'data-testid': 'batch-table' },
          h('thead', {}, h('tr', {},
            h('th', { scope: 'col' }, 'Image'), h('th', { scope: 'col' }, 'Size'),
            h('th', { scope: 'col' }, `${a} top-1`), h('th', { scope: 'col', class: 'num' }, 'p'), h('th', { scope: 'col', class: 'num' }, 'ms'),
            h('th', { scope: 'col' }, `${b} top-1`), h('th', { scope: 'col', class: 'num' }, 'p'), h('th', { scope: 'col', class: 'num' }, 'ms'),
            h('th', { scope: 'col' }, 'Agree'))),
          h('tbody', {}, state.images.map((img) => {
            const ra = resultOf(state, img, 'a');
            const rb = resultOf(state, img, 'b');
            const v = verdictOf(state, img);
            const agree = v === 'agree' ? 'yes' : v === 'disagree' ? 'no' : v === 'n/a' ? 'n/a' : '';
            const t = v === 'agree' || v === 'disagree' ? trustOf(state, img) : null;
            const doubtful = t !== null && (t.untrained || t.misfit.length > 0);
            return h('tr', { class: img.id === state.selectedId ? 'selected' : '', 'data-name': img.image.name, onclick: () => on.select(img.id) },
              h('td', { class: 'name' }, img.image.name),
              h('td', {}, img.width ? `${img.width}×${img.height}` : ''),
              img.status === 'error'
                ? h('td', { colspan: 7, class: 'error-cell' }, img.error?.message ?? 'error')
                : [
                  h('td', { 'data-col': 'a-top1' }, ra?.top[0]?.label ?? ''), h('td', { class: 'num' }, ra ? pct(ra.top[0]!.probability) : ''), h('td', { class: 'num' }, ra ? ra.ms.toFixed(2) : ''),
                  h('td', { 'data-col': 'b-top1' }, rb?.top[0]?.label ?? ''), h('td', { class: 'num' }, rb ? pct(rb.top[0]!.probability) : ''), h('td', { class: 'num' }, rb ? rb.ms.toFixed(2) : ''),
                  h('td', {
                    class: doubtful ? 'agree-doubtful' : `agree-${agree.replace('/', '')}`,
                    title: doubtful ? (t!.untrained ? 'untrained nets: the answer means nothing' : `not like ${t!.dataset}: ${t!.misfit.join('; ')}`) : null,
                  }, doubtful ? `${agree} (?)` : agree),
                ]);
          })))));
}

export function renderEnv(state: AppState): string {
  const e = state.env;
  return [
    e.decoder,
    e.crossOriginIsolated ? 'cross-origin isolated' : 'not cross-origin isolated (single-threaded wasm)',
    `${e.cores} cores`,
    e.gpu ? `WebGPU: ${e.gpu}` : 'no WebGPU adapter',
  ].join(' · ');
}

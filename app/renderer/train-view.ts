// The Train view: a folder in, a plain net and its ResNet twin trained side by side, their curves drawn
// live as the paper's Figure 6 (the one Figure 6 model and chart the app already draws), and the results:
// accuracy, per-class precision and recall, confusion matrices, the worst mistakes, the pair for the
// compare view and the ONNX files to save. Drawing only; train-session.ts holds the state and the workers.
import { curveRun, figure6 } from '../../src/figures/figure6';
import { skipSummary } from '../../src/train/folder-layout';
import type { ImageSet } from '../../src/train/image-set';
import type { ClassReport } from '../../src/train/metrics';
import { formatDuration } from '../../src/train/net-trainer';
import { DEPTHS, type Depth, SIZES } from '../shared/train-plan';
import { figure6Charts } from './charts';
import { h } from './dom';
import type { TrainingFolder } from './train-data';
import { FAMILIES, type Family, type NetRun, type TrainSession, type TrainSettings } from './train-session';

export interface TrainViewHandlers {
  pickFolder(): void;
  settings(next: Partial<TrainSettings>): void;
  start(): void;
  pause(): void;
  resume(): void;
  cancel(): void;
  useInCompare(): void;
  save(family: Family): void;
}

const pct = (x: number): string => `${(100 * x).toFixed(1)}%`;
const mb = (bytes: number): string => (bytes >= 1024 ** 2 ? `${(bytes / 1024 ** 2).toFixed(1)} MB` : `${(bytes / 1024).toFixed(0)} KB`);
const THUMBS_PER_CLASS = 5;

/** Data URLs of a set's images as the nets see them (the decoded input, drawn pixel for pixel), kept per set. */
const thumbCache = new WeakMap<ImageSet, Map<number, string>>();

function thumb(set: ImageSet, index: number, title: string): HTMLImageElement {
  const cache = thumbCache.get(set) ?? new Map<number, string>();
  thumbCache.set(set, cache);
  let url = cache.get(index);
  if (!url) {
    const { channels: C, rows: H, cols: W } = set;
    const canvas = document.createElement('canvas');
    canvas.width = W;
    canvas.height = H;
    const ctx = canvas.getContext('2d');
    if (ctx) {
      const img = ctx.createImageData(W, H);
      const base = index * C * H * W;
      for (let p = 0; p < H * W; p++) {
        for (let c = 0; c < 3; c++) img.data[4 * p + c] = set.images[base + (C === 3 ? c : 0) * H * W + p]!;
        img.data[4 * p + 3] = 255;
      }
      ctx.putImageData(img, 0, 0);
    }
    url = canvas.toDataURL();
    cache.set(index, url);
  }
  return h('img', { class: 'train-thumb', src: url, alt: title, title });
}

function folderCard(f: TrainingFolder): HTMLElement {
  const counts = (set: ImageSet): number[] => {
    const n = new Array<number>(f.classes.length).fill(0);
    for (let i = 0; i < set.count; i++) n[set.labels[i]!]!++;
    return n;
  };
  const trainN = counts(f.train);
  const valN = counts(f.val);
  const firstOf = (k: number): number[] => {
    const out: number[] = [];
    for (let i = 0; i < f.train.count && out.length < THUMBS_PER_CLASS; i++) if (f.train.labels[i] === k) out.push(i);
    return out;
  };
  const skips = skipSummary(f.skips);
  const C = f.train.channels;
  return h('section', { class: 'card train-folder', 'data-testid': 'train-folder', 'aria-label': 'Training folder' },
    h('header', { class: 'card-head' }, h('h3', {}, f.name, ' ', h('span', { class: 'muted' },
      `· ${f.classes.length} classes, ${f.train.count} training and ${f.val.count} validation images`))),
    h('p', { class: 'muted small-text', 'data-testid': 'train-memory' },
      `${f.split}. Decoded to ${C}×${f.train.rows}×${f.train.cols} (${C === 1 ? 'grayscale' : 'RGB'}) in ${f.seconds.toFixed(1)} s: ${mb(f.bytes)} of pixels, ` +
      (f.train.images.buffer instanceof ArrayBuffer ? 'held here and copied to each of the two training workers.' : 'held once, shared by the two training workers.')),
    h('table', { class: 'train-classes', 'data-testid': 'train-classes' },
      h('thead', {}, h('tr', {}, h('th', {}, 'class'), h('th', { class: 'num' }, 'train'), h('th', { class: 'num' }, 'val'), h('th', {}, 'as the nets see them'))),
      h('tbody', {}, f.classes.map((c, k) => h('tr', { 'data-class': c },
        h('td', {}, c), h('td', { class: 'num' }, trainN[k]!), h('td', { class: 'num' }, valN[k]!),
        h('td', { class: 'thumbs' }, firstOf(k).map((i) => thumb(f.train, i, f.trainPaths[i]!))))))),
    skips.length > 0
      ? h('div', { class: 'train-skips', 'data-testid': 'train-skips' }, h('strong', {}, 'Skipped, training goes on without them:'),
        h('ul', {}, skips.map((l) => h('li', {}, l))))
      : h('p', { class: 'muted small-text', 'data-testid': 'train-skips' }, 'Nothing skipped.'));
}

function select<T extends string | number>(label: string, testid: string, values: readonly T[], current: T, disabled: boolean, text: (v: T) => string, on: (v: T) => void): HTMLElement {
  const el = h('select', { 'data-testid': testid, 'aria-label': label, disabled }, values.map((v) => h('option', { value: String(v), selected: v === current }, text(v))));
  el.addEventListener('change', () => on(values.find((v) => String(v) === el.value)!));
  return h('label', { class: 'control' }, h('span', {}, label), el);
}

function settingsCard(session: TrainSession, on: TrainViewHandlers): HTMLElement {
  const st = session.state;
  const s = st.settings;
  const locked = session.busy && st.phase !== 'measuring';
  const epochs = h('input', { type: 'number', min: 1, max: 200, step: 1, value: s.epochs, 'data-testid': 'train-epochs', 'aria-label': 'Epochs', disabled: locked });
  epochs.addEventListener('change', () => {
    const n = Math.round(Number(epochs.value));
    if (Number.isInteger(n) && n >= 1 && n <= 200) on.settings({ epochs: n });
    else epochs.value = String(s.epochs);
  });
  const gray = h('input', { type: 'checkbox', checked: s.gray, 'data-testid': 'train-gray', disabled: locked });
  gray.addEventListener('change', () => on.settings({ gray: gray.checked, size: gray.checked && s.size === 32 ? 28 : !gray.checked && s.size === 28 ? 32 : s.size }));
  const est = session.estimateSeconds();
  const nets = st.nets;
  const measuredText = nets?.plain.measured && nets.residual.measured
    ? `${FAMILIES.map((f) => `${nets[f].model} ${nets[f].measured!.secondsPerStep.toFixed(2)} s`).join(', ')} a step of ${nets.plain.measured.batch} images; timed on 2 steps with both nets training at once`
    : '';
  const estimate = st.phase === 'measuring' ? 'Measuring two steps of each net…'
    : est !== null ? `Estimated time: ${formatDuration(est)} (${measuredText}).` : 'Choose a folder to see the estimate.';
  const buttons: HTMLElement[] = [];
  const btn = (label: string, testid: string, onClick: () => void, cls = ''): HTMLButtonElement => h('button', { type: 'button', class: cls, 'data-testid': testid, onclick: onClick }, label);
  if (st.phase === 'training') buttons.push(btn('Pause', 'train-pause', on.pause), btn('Cancel', 'train-cancel', on.cancel, 'danger'));
  else if (st.phase === 'paused') buttons.push(btn('Resume', 'train-resume', on.resume, 'primary'), btn('Cancel', 'train-cancel', on.cancel, 'danger'));
  else {
    const start = btn(st.phase === 'done' ? 'Train again' : 'Start training', 'train-start', on.start, 'primary');
    start.disabled = st.phase !== 'ready' && st.phase !== 'done';
    buttons.push(start);
  }
  return h('section', { class: 'card', 'data-testid': 'train-settings', 'aria-label': 'Training settings' },
    h('div', { class: 'train-controls' },
      select<Depth>('Depth', 'train-depth', DEPTHS, s.depth, locked, (d) => `${d} layers (plain${d} / resnet${d})`, (depth) => on.settings({ depth })),
      select<number>('Input size', 'train-size', SIZES, s.size, locked, (n) => `${n}×${n}`, (size) => on.settings({ size })),
      h('label', { class: 'control check' }, gray, h('span', {}, 'Grayscale')),
      h('label', { class: 'control' }, h('span', {}, 'Epochs'), epochs),
      h('div', { class: 'train-buttons' }, buttons)),
    h('p', { class: 'train-estimate', 'data-testid': 'train-estimate' }, estimate),
    h('p', { class: 'muted small-text' },
      'At 20 layers the plain net may well win: the paper\'s effect, a deeper plain net training worse while the ResNet does better, shows at depth (56 layers).'));
}

function progressCard(session: TrainSession): HTMLElement | null {
  const st = session.state;
  const nets = st.nets;
  if (!nets || (st.phase !== 'training' && st.phase !== 'paused' && st.phase !== 'done')) return null;
  const { epochs } = st.settings;
  const fraction = (r: NetRun): number => {
    if (r.result) return 1;
    const steps = r.measured?.stepsPerEpoch ?? 1;
    return r.progress ? (r.progress.epoch * steps + r.progress.step + 1) / (epochs * steps) : r.history.length / epochs;
  };
  const left = Math.max(...FAMILIES.map((f) => (nets[f].result ? 0 : (nets[f].progress?.secondsLeft ?? Number.NaN))));
  const done = Math.min(...FAMILIES.map((f) => fraction(nets[f])));
  const line = (r: NetRun): string => {
    if (r.result) return `${r.model}: done, validation accuracy ${pct(r.result.report.accuracy)}`;
    const p = r.progress;
    if (!p) return `${r.model}: starting…`;
    return `${r.model}: epoch ${p.epoch + 1}/${epochs}, step ${p.step + 1}/${r.measured?.stepsPerEpoch ?? '?'}, loss ${p.loss.toFixed(3)}, training error ${pct(p.error)} this epoch`;
  };
  const took = st.took;
  const status = st.phase === 'paused' ? 'Paused'
    : took ? `Done in ${formatDuration(took.seconds)}${took.estimated !== null ? ` (estimated ${formatDuration(took.estimated)})` : ''}`
    : `ETA ${formatDuration(left)}`;
  return h('section', { class: 'card', 'data-testid': 'train-progress', 'aria-label': 'Training progress', 'data-phase': st.phase },
    h('div', { class: 'train-progress-row' }, h('progress', { max: 1, value: done, 'aria-label': 'Training progress' }),
      h('strong', { 'data-testid': 'train-eta' }, `${Math.round(100 * done)}% · ${status}`)),
    h('ul', { class: 'train-lines' }, FAMILIES.map((f) => h('li', { 'data-testid': `train-line-${f}` }, line(nets[f])))));
}

function curvesCard(session: TrainSession): HTMLElement | null {
  const nets = session.state.nets;
  if (!nets || !FAMILIES.some((f) => nets[f].history.length > 0 || nets[f].progress)) return null;
  const runs = FAMILIES.flatMap((f) => {
    const r = curveRun(nets[f].model, nets[f].history);
    return r ? [r] : [];
  });
  const body = runs.length > 0
    ? h('div', { class: 'fig6-panels' }, figure6Charts(figure6(runs, { epochs: session.state.settings.epochs }), new Set(runs.map((r) => r.id)), 'validation'))
    : h('p', { class: 'muted' }, 'The curves start when the first epoch ends (training and validation error of each net).');
  return h('section', { class: 'card figure', 'data-testid': 'train-curves', 'aria-label': 'Training curves (Figure 6)' },
    h('header', { class: 'card-head' }, h('h3', {}, 'Training ', h('span', { class: 'muted' }, '· Figure 6, live: dashed training error, bold validation error'))),
    body);
}

function reportBlock(run: NetRun, report: ClassReport, folder: TrainingFolder): HTMLElement {
  const labels = report.labels;
  const maxCell = Math.max(1, ...report.confusion.flat());
  const valIndex = new Map(folder.valPaths.map((p, i) => [p, i]));
  return h('div', { class: 'train-report', 'data-testid': `train-report-${run.model}` },
    h('h4', {}, run.model, ' ', h('span', { class: 'accuracy', 'data-testid': 'train-accuracy' }, `${pct(report.accuracy)}`),
      h('span', { class: 'muted' }, ` (${report.correct}/${report.images} validation images)`)),
    h('table', { class: 'train-perclass' },
      h('thead', {}, h('tr', {}, h('th', {}, 'class'), h('th', { class: 'num' }, 'precision'), h('th', { class: 'num' }, 'recall'))),
      h('tbody', {}, report.perClass.map((c) => h('tr', {}, h('td', {}, c.label), h('td', { class: 'num' }, pct(c.precision)), h('td', { class: 'num' }, pct(c.recall)))))),
    h('table', { class: 'confusion', 'aria-label': `Confusion matrix of ${run.model}` },
      h('caption', {}, 'confusion (rows: true class, columns: predicted)'),
      h('thead', {}, h('tr', {}, h('th', {}, ''), labels.map((l, i) => h('th', { title: l }, String(i))))),
      h('tbody', {}, report.confusion.map((row, t) => h('tr', {}, h('th', { title: labels[t]! }, `${t} ${labels[t]}`),
        row.map((v, p) => h('td', { class: t === p ? 'diag' : '', style: `--w:${(v / maxCell).toFixed(3)}` }, String(v))))))),
    report.mistakes.length > 0
      ? h('div', { class: 'mistakes' }, h('div', { class: 'muted small-text' }, 'Most confident mistakes'),
        h('ul', {}, report.mistakes.slice(0, 6).map((m) => {
          const i = valIndex.get(m.image);
          return h('li', { title: m.image }, i !== undefined ? thumb(folder.val, i, m.image) : null,
            h('span', {}, h('span', {}, m.trueClass), ' → ', h('strong', {}, m.predicted), h('span', { class: 'muted' }, ` ${pct(m.confidence)}`)));
        })))
      : h('p', { class: 'muted small-text' }, 'No mistakes on the validation images.'));
}

function resultsCard(session: TrainSession, on: TrainViewHandlers): HTMLElement | null {
  const st = session.state;
  const nets = st.nets;
  const folder = st.folder;
  if (st.phase !== 'done' || !nets || !folder) return null;
  return h('section', { class: 'card', 'data-testid': 'train-results', 'aria-label': 'Results' },
    h('header', { class: 'card-head' }, h('h3', {}, 'Results ', h('span', { class: 'muted' }, '· on the validation images')),
      h('div', { class: 'actions' },
        h('button', { type: 'button', class: 'primary', 'data-testid': 'train-use', onclick: on.useInCompare }, 'Use in compare view'),
        FAMILIES.map((f) => h('button', { type: 'button', 'data-testid': `train-save-${f}`, onclick: () => on.save(f) }, `Save ${nets[f].model}.onnx`)))),
    h('div', { class: 'train-reports' }, FAMILIES.map((f) => reportBlock(nets[f], nets[f].result!.report, folder))));
}

/** Ids of objects (a folder) for the redraw keys. */
const ids = new WeakMap<object, number>();
let lastId = 0;
const idOf = (o: object | null): number => {
  if (!o) return 0;
  if (!ids.has(o)) ids.set(o, ++lastId);
  return ids.get(o)!;
};

/**
 * The view's cards, each rebuilt only when what it shows changed: progress arrives a few times a second,
 * and a button rebuilt under the pointer would lose its click.
 */
export class TrainView {
  private readonly cards = new Map<string, { key: string; el: HTMLElement | null }>();

  constructor(private readonly session: TrainSession, private readonly on: TrainViewHandlers) {}

  private card(name: string, key: string, build: () => HTMLElement | null): HTMLElement | null {
    const had = this.cards.get(name);
    if (had && had.key === key) return had.el;
    const el = build();
    this.cards.set(name, { key, el });
    return el;
  }

  /** The cards to show, in order. */
  render(): HTMLElement[] {
    const { session, on } = this;
    const st = session.state;
    const nets = st.nets;
    const netKey = nets ? FAMILIES.map((f) => `${nets[f].model}:${nets[f].measured?.secondsPerStep ?? ''}:${nets[f].history.length}:${nets[f].result ? 1 : 0}`).join('|') : '';
    const editable = !(session.busy && st.phase !== 'measuring');
    const measuredKey = nets ? FAMILIES.map((f) => nets[f].measured?.secondsPerStep ?? '').join('|') : '';
    return [
      this.card('intro', String(editable), () => introCard(editable, on)),
      this.card('error', st.error ?? '', () => (st.error ? h('p', { class: 'train-error', role: 'alert', 'data-testid': 'train-error' }, st.error) : null)),
      this.card('loading', JSON.stringify(st.loading), () => (st.loading
        ? h('p', { class: 'train-loading', 'data-testid': 'train-loading' }, `Decoding images: ${st.loading.done}/${st.loading.total}`,
          h('progress', { max: Math.max(1, st.loading.total), value: st.loading.done }))
        : null)),
      // The run first, the folder beside it (wide windows) or below it: while training, the curves are what matters.
      this.card('settings', `${idOf(st.folder)}:${st.phase}:${JSON.stringify(st.settings)}:${measuredKey}`, () => (st.folder ? settingsCard(session, on) : null)),
      progressCard(session),
      this.card('curves', netKey, () => curvesCard(session)),
      this.card('results', `${st.phase}:${netKey}`, () => resultsCard(session, on)),
      this.card('folder', String(idOf(st.folder)), () => (st.folder ? folderCard(st.folder) : null)),
    ].filter((x): x is HTMLElement => x !== null);
  }
}

function introCard(editable: boolean, on: TrainViewHandlers): HTMLElement {
  return h('section', { class: 'card train-intro', 'data-testid': 'train-drop', 'aria-label': 'Training folder' },
    h('div', {},
      h('h3', {}, 'Train a plain net and its ResNet twin on your images'),
      h('p', { class: 'muted small-text' },
        'Drop a folder with one subfolder per class (optionally train/ and val/ or test/ inside; otherwise 20% of each class is held out for validation), or choose one.')),
    h('button', { type: 'button', class: 'primary', 'data-testid': 'train-pick', onclick: on.pickFolder, disabled: !editable }, 'Choose folder…'));
}

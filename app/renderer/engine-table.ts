// The engine table: for the loaded pair and the selected image, every engine's median time for each net
// and how far its probabilities are from our TypeScript engine's (the readable reference), made on request
// (an engine may take seconds; WebGPU on a software adapter, much longer, which it says beforehand).
import { formatMs } from '../shared/results';
import { h } from './dom';
import { type AppState, pairKeyOf, SLOTS, slotTitle } from './state';
import { engineLabel, type EngineRun, type SlotId } from './worker-protocol';

export interface EngineTableHandlers {
  compareEngines(): void;
}

/** The reference every engine is compared with. */
const REFERENCE = 'ts';

/** Largest |p - q| over the classes. */
function maxDiff(p: Float32Array, q: Float32Array): number {
  let d = 0;
  for (let i = 0; i < p.length; i++) d = Math.max(d, Math.abs(p[i]! - q[i]!));
  return d;
}

function argmax(p: Float32Array): number {
  let best = 0;
  for (let i = 1; i < p.length; i++) if (p[i]! > p[best]!) best = i;
  return best;
}

const fmtDiff = (d: number): string => (d === 0 ? '0' : d < 1e-3 ? d.toExponential(1) : d.toFixed(4));

export function renderEngineTable(state: AppState, on: EngineTableHandlers): HTMLElement {
  const img = state.images.find((i) => i.id === state.selectedId);
  const table = state.engineTable;
  const current = table && img && table.imageId === img.id && table.pair === pairKeyOf(state) ? table : null;
  const slots = SLOTS.filter((s) => state.slots[s].status === 'ready');
  const runOf = (slot: SlotId, engine: string): EngineRun | undefined => current?.runs[slot]?.find((r) => r.engine === engine);
  const cell = (slot: SlotId, engine: string): HTMLElement[] => {
    const r = runOf(slot, engine);
    const ref = runOf(slot, REFERENCE);
    if (!r) return [h('td', { class: 'num' }, '—'), h('td', { class: 'num' }, '—')];
    if (r.error || !r.probs || r.ms === undefined) return [h('td', { class: 'error-cell', colspan: 2, title: r.error ?? '' }, 'did not run')];
    const diff = ref?.probs ? maxDiff(r.probs, ref.probs) : undefined;
    const sameTop = ref?.probs ? argmax(r.probs) === argmax(ref.probs) : true;
    return [
      h('td', { class: 'num', 'data-col': `${slot}-ms` }, formatMs(r.ms)),
      h('td', { class: `num${sameTop ? '' : ' warn'}`, 'data-col': `${slot}-diff`, title: sameTop ? '' : 'a different top-1 class than the reference' },
        engine === REFERENCE ? 'reference' : diff === undefined ? '—' : fmtDiff(diff)),
    ];
  };
  const canRun = !!img && img.status === 'done' && slots.length > 0 && state.engines.length > 0;
  return h('section', { class: 'card engines', 'data-testid': 'engine-table', 'aria-label': 'Engines' },
    h('header', { class: 'card-head' },
      h('h3', {}, 'Engines ', h('span', { class: 'muted' }, current ? `· ${current.imageName}, both nets` : '· the same nets on every engine')),
      h('button', {
        type: 'button', class: 'small', 'data-testid': 'compare-engines', disabled: !canRun, onclick: () => on.compareEngines(),
        title: 'Load both nets on every engine, run this image on each and compare',
      }, current ? 'Run again' : img ? `Compare on ${img.image.name}` : 'Compare engines')),
    h('div', { class: 'table-wrap' },
      h('table', {},
        h('thead', {},
          h('tr', {}, h('th', { rowspan: 2 }, 'Engine'),
            slots.map((s) => h('th', { colspan: 2, class: 'group' }, slotTitle(state.slots[s]))), h('th', { rowspan: 2 }, '')),
          h('tr', {}, slots.flatMap(() => [h('th', { class: 'num' }, 'median'), h('th', { class: 'num', title: 'Largest difference of any class probability from our TypeScript engine' }, 'max |Δp|')]))),
        h('tbody', {}, state.engines.map((e) => h('tr', { 'data-engine': e.name, class: e.name === state.engine ? 'selected' : '' },
          h('td', { class: 'engine-name' }, engineLabel(e.name)),
          slots.flatMap((s) => (e.available ? cell(s, e.name) : [h('td', { class: 'num' }, '—'), h('td', { class: 'num' }, '—')])),
          h('td', { class: 'note', 'data-testid': e.software ? 'software-note' : null },
            !e.available ? (e.reason ?? 'unavailable')
              : e.software ? 'Software adapter (SwiftShader): WebGPU emulated on the CPU, so expect it to be slow.'
                : e.name === REFERENCE ? 'The readable reference.' : e.name === state.engine ? 'In use above.' : '')))))),
    h('p', { class: 'caption' }, 'Each engine loads the net afresh, warms it up once and times up to five runs. ',
      'max |Δp|: the largest difference of any class’s probability from our TypeScript engine’s; the engines agree when it is tiny (1e-6 is float rounding).'));
}

// "Where each net looks": for the selected image, each net's input as the net gets it (resized, cropped,
// grayscale and inverted for Fashion-MNIST nets) and its class activation map (Zhou et al. 2016) over that
// input, for its top class or the class clicked in its bars. Canvases are drawn once per map and input
// and kept while their data lives (WeakMaps), so re-renders only move them.
import { overlayHeatmap, resizeMap } from '../../src/analysis/cam';
import { enlargeNearest, inputToRgb, rgbToRgba } from '../../src/analysis/input-view';
import { preprocessSpecFor } from '../../src/preprocess/for-model';
import type { PreprocessSpec } from '../../src/preprocess/normalize';
import { h } from './dom';
import { type AppState, type ImageItem, SLOTS, type SlotResult, type SlotState, slotTitle, specKey } from './state';
import type { SlotId, TensorData } from './worker-protocol';

/** Inputs are enlarged by whole pixels to about this many pixels a side (28 -> 140, 32 -> 128; 224 stays). */
const VIEW_SIDE = 140;

const pct = (p: number): string => `${(p * 100).toFixed(p >= 0.1 ? 1 : 2)}%`;

interface Picture {
  readonly rgb: Uint8ClampedArray;
  readonly height: number;
  readonly width: number;
}

const pictures = new WeakMap<Float32Array, Picture>();
/** Per slot: two nets of one dataset share an input tensor, and a canvas can be in one place only. */
const inputCanvases = new WeakMap<Float32Array, Partial<Record<SlotId, HTMLCanvasElement>>>();
const heatCanvases = new WeakMap<Float32Array, HTMLCanvasElement>();

/** The input as pixels, enlarged for display (cached by the tensor's data). */
function pictureOf(tensor: TensorData, spec: PreprocessSpec): Picture {
  let p = pictures.get(tensor.data);
  if (!p) {
    const [, , height, width] = tensor.shape as [number, number, number, number];
    const f = Math.max(1, Math.floor(VIEW_SIDE / Math.max(height, width)));
    p = { rgb: enlargeNearest(inputToRgb(tensor, spec.mean, spec.std), height, width, f), height: height * f, width: width * f };
    pictures.set(tensor.data, p);
  }
  return p;
}

function canvasOf(rgba: Uint8ClampedArray, width: number, height: number, attrs: Record<string, string>): HTMLCanvasElement {
  const canvas = h('canvas', { width, height, ...attrs });
  canvas.getContext('2d')?.putImageData(new ImageData(rgba as Uint8ClampedArray<ArrayBuffer>, width, height), 0, 0);
  return canvas;
}

function inputCanvas(slot: SlotId, tensor: TensorData, spec: PreprocessSpec, label: string): HTMLCanvasElement {
  const bySlot = inputCanvases.get(tensor.data) ?? {};
  inputCanvases.set(tensor.data, bySlot);
  let c = bySlot[slot];
  if (!c) {
    const p = pictureOf(tensor, spec);
    c = canvasOf(rgbToRgba(p.rgb), p.width, p.height, { class: 'cam-img', 'data-testid': 'net-input', role: 'img', 'aria-label': label });
    bySlot[slot] = c;
  }
  return c;
}

function heatCanvas(tensor: TensorData, spec: PreprocessSpec, cam: NonNullable<SlotResult['cam']>, cls: number, label: string): HTMLCanvasElement | null {
  const entry = cam.maps.find((m) => m.cls === cls);
  if (!entry) return null;
  let c = heatCanvases.get(entry.map);
  if (!c) {
    const p = pictureOf(tensor, spec);
    const map = resizeMap(entry.map, cam.height, cam.width, p.height, p.width);
    const rgb = new Uint8Array(p.rgb.buffer, p.rgb.byteOffset, p.rgb.length);
    let peak = 0;
    for (let i = 1; i < entry.map.length; i++) if (entry.map[i]! > entry.map[peak]!) peak = i;
    c = canvasOf(overlayHeatmap(rgb, map, p.height, p.width), p.width, p.height, {
      class: 'cam-img', 'data-testid': 'cam-heat', 'data-cls': String(cls), 'data-peak': `${peak % cam.width},${Math.floor(peak / cam.width)}`,
      role: 'img', 'aria-label': label,
    });
    heatCanvases.set(entry.map, c);
  }
  return c;
}

function column(state: AppState, img: ImageItem, slotId: SlotId): HTMLElement {
  const slot: SlotState = state.slots[slotId];
  const r = slot.status === 'ready' ? img.results[slotId] : undefined;
  const title = h('p', { class: `cam-title eyebrow-${slot.role}` }, slotTitle(slot));
  const body = (...children: (HTMLElement | null)[]): HTMLElement =>
    h('div', { class: `cam-col cam-${slot.role}`, 'data-testid': `cam-${slotId}` }, title, ...children);
  if (!slot.info || slot.status !== 'ready') return body(h('p', { class: 'muted' }, slot.status === 'loading' ? 'Loading…' : 'No model loaded.'));
  if (!r) return body(h('p', { class: 'muted' }, img.status === 'error' ? 'This image could not be read.' : 'Classifying…'));
  let spec: PreprocessSpec;
  try {
    spec = preprocessSpecFor(slot.info);
  } catch {
    return body(h('p', { class: 'muted' }, 'This model does not take images.'));
  }
  const tensor = img.tensors.get(specKey(spec));
  if (!tensor) return body(h('p', { class: 'muted' }, 'Preparing the view…'));
  const [, c, hh, ww] = tensor.shape as [number, number, number, number];
  // Nets trained on dark backgrounds get light-backed photos inverted (src/preprocess/normalize.ts).
  const seesCaption = `${ww}×${hh}${c === 1 ? ' gray' : ''}${spec.background === 'dark' ? ', light on dark' : ''}`;
  const sees = h('figure', { class: 'cam-tile' },
    inputCanvas(slotId, tensor, spec, `What ${slotTitle(slot)} sees: ${seesCaption}`),
    h('figcaption', {}, 'What it sees', h('span', { class: 'muted' }, ` · ${seesCaption}`)));
  if (!slot.cam || !r.cam) {
    return body(h('div', { class: 'cam-tiles' }, sees,
      h('p', { class: 'muted cam-none', 'data-testid': 'cam-none' }, 'No heat-map: this net does not end in global average pooling and one fully-connected layer, which class activation maps need.')));
  }
  const cls = state.camClass[slotId] ?? r.top[0]!.index;
  const score = r.top.find((t) => t.index === cls);
  const label = score?.label ?? `class ${cls}`;
  const heat = heatCanvas(tensor, spec, r.cam, cls, `Where ${slotTitle(slot)} looks for ${label}`);
  return body(h('div', { class: 'cam-tiles' }, sees,
    h('figure', { class: 'cam-tile' }, heat,
      h('figcaption', { 'data-testid': 'cam-class' }, 'Looks for ', h('strong', {}, label), score ? h('span', { class: 'muted' }, ` · ${pct(score.probability)}`) : null))));
}

export function renderCam(state: AppState): HTMLElement {
  const img = state.images.find((i) => i.id === state.selectedId);
  const untrained = SLOTS.some((s) => state.slots[s].info?.trained === false);
  const body = !img
    ? h('p', { class: 'muted' }, 'Select an image to see what each net sees and where it looks.')
    : img.status === 'error'
      ? h('p', { class: 'muted' }, 'This image could not be read.')
      : h('div', { class: 'cam-grid' },
        h('div', { class: 'cam-col cam-original' },
          h('p', { class: 'cam-title' }, 'Your image'),
          h('figure', { class: 'cam-tile' },
            img.thumbUrl ? h('img', { class: `cam-img${(img.width ?? 999) <= 64 ? ' pixelated' : ''}`, src: img.thumbUrl, alt: `${img.image.name} as given` }) : h('div', { class: 'cam-img placeholder' }),
            h('figcaption', {}, img.width ? `${img.width}×${img.height}` : ''))),
        SLOTS.map((s) => column(state, img, s)));
  return h('section', { class: 'card cam', 'data-testid': 'cam', 'aria-label': 'Where each net looks' },
    h('header', { class: 'card-head' },
      h('h3', {}, 'Where each net looks ', h('span', { class: 'muted' }, '· class activation maps')),
      h('span', { class: 'heat-legend', 'aria-hidden': 'true' }, 'weak', h('span', { class: 'heat-scale' }), 'strong')),
    body,
    h('p', { class: 'caption' },
      'Warm colours mark the parts of the input that raised the class’s score most (Zhou et al. 2016: the last block’s features weighted by the class’s row of the final layer). ',
      'Click a class in a net’s bars to see where it looks for that one.',
      untrained ? ' Untrained weights: these maps show random features, not learnt ones.' : ''));
}

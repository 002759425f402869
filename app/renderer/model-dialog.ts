// The question asked when the user opens or drops a model file: which side it goes to (left, the plain
// side, or right, the residual side) and what the other side shows (what is there now, or the file's
// zoo twin: the same depth with shortcuts added or removed). A modal <dialog>: Escape or Cancel answers
// null and nothing changes.
import { formatBytes } from '../shared/results';
import { h } from './dom';
import type { SlotId } from './worker-protocol';

export interface Placement {
  readonly slot: SlotId;
  /** Load the file's zoo twin into the other slot (when the zoo has one). */
  readonly twin: boolean;
}

export interface PlacementQuestion {
  readonly name: string;
  readonly size: number;
  readonly kind: 'onnx' | 'checkpoint';
  /** What each side shows now (model titles). */
  readonly current: Readonly<Record<SlotId, string>>;
  /** The side the file was dropped on, if any: its button gets the focus. */
  readonly preferred?: SlotId;
}

export function askPlacement(q: PlacementQuestion): Promise<Placement | null> {
  return new Promise((resolve) => {
    let answered = false;
    const dialog = h('dialog', { class: 'modal', 'data-testid': 'place-dialog', 'aria-labelledby': 'place-title' });
    const finish = (answer: Placement | null): void => {
      if (answered) return;
      answered = true;
      dialog.close();
      dialog.remove();
      resolve(answer);
    };
    const keep = h('input', { type: 'radio', name: 'other-side', value: 'keep', 'data-testid': 'twin-keep' });
    const twin = h('input', { type: 'radio', name: 'other-side', value: 'twin', 'data-testid': 'twin-zoo' });
    keep.checked = true;
    const side = (slot: SlotId, label: string): HTMLButtonElement =>
      h('button', {
        type: 'button', class: `side side-${slot}`, 'data-testid': `place-${slot}`,
        onclick: () => finish({ slot, twin: twin.checked }),
      }, h('strong', {}, label), h('span', { class: 'muted' }, `in place of ${q.current[slot]}`));
    const a = side('a', 'Left · plain side');
    const b = side('b', 'Right · residual side');
    const what = q.kind === 'checkpoint'
      ? `A PyTorch checkpoint (${formatBytes(q.size)}). It is converted to a model here, in the app: only its weights are read, nothing in it is run.`
      : `An ONNX model (${formatBytes(q.size)}).`;
    dialog.append(
      h('h2', { id: 'place-title' }, `Open ${q.name}`),
      h('p', { class: 'muted' }, what),
      h('p', { class: 'question' }, 'Which side should it go on?'),
      h('div', { class: 'sides' }, a, b),
      h('fieldset', {},
        h('legend', {}, 'The other side'),
        h('label', {}, keep, ' Keep the model that is there'),
        h('label', {}, twin, ' Its zoo twin: the same depth with shortcuts added or removed (untrained, for comparing costs and layer responses)')),
      h('div', { class: 'dialog-actions' }, h('button', { type: 'button', 'data-testid': 'place-cancel', onclick: () => finish(null) }, 'Cancel')));
    // Escape closes a modal dialog with a 'cancel' event.
    dialog.addEventListener('cancel', (e) => {
      e.preventDefault();
      finish(null);
    });
    document.body.append(dialog);
    dialog.showModal();
    (q.preferred === 'b' ? b : a).focus();
  });
}

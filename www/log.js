// The callback log: one row per message, newest first, and each row grows
// a chip per callback (sent → delivered → nacked → retried → acked or
// dead-lettered), so a person can follow one message's whole path. A lease
// that expired shows as its own step, as does a message a removed consumer
// handed back and a late answer the broker refused.
import { $, el } from './dom.js';

/** Every step a row can show, in the legend's order. */
const LABELS = {
  sent: 'sent', delivered: 'delivered', acked: 'acked', nacked: 'nacked', retried: 'retried', lease: 'lease expired',
  released: 'handed back', dead: 'dead-lettered', returned: 'late answer refused', error: 'send failed',
};
const TROUBLE = new Set(['nacked', 'retried', 'lease', 'released', 'dead', 'returned', 'error']);
const FINISHED = new Set(['acked', 'dead', 'error']);
const MAX_ROWS = 60;

export class CallbackLog {
  #list = $('log');
  /** message id -> its row, for the rows still shown. */
  #rows = new Map();
  /** The one message whose steps a function is told (see follow). */
  #followed = { id: undefined, onStep: undefined };

  constructor() {
    $('log-legend').replaceChildren(...Object.entries(LABELS).map(([kind, label]) => el('li', { class: `step ${kind}` }, label)));
    $('trouble-only').addEventListener('change', (event) => {
      this.#list.classList.toggle('trouble-only', event.target.checked);
    });
  }

  /** Appends a step to the message's row; "sent" starts a row. */
  step(id, kind, detail = '') {
    let row = this.#rows.get(id);
    if (row === undefined) {
      // A late callback of a message whose row scrolled away is not shown again.
      if (kind !== 'sent') return;
      row = el('li', { class: 'msg', dataset: { id } }, el('code', { class: 'id' }, id), el('ol', { class: 'path' }));
      this.#rows.set(id, row);
      this.#list.prepend(row);
      this.#evict();
    }
    const time = new Date().toISOString().slice(11, 23);
    row.lastChild.append(el('li', { class: `step ${kind}`, title: `${LABELS[kind]} at ${time}` },
      LABELS[kind], detail ? el('small', {}, detail) : ''));
    if (TROUBLE.has(kind)) row.classList.add('trouble');
    if (FINISHED.has(kind)) row.classList.add('finished');
    if (kind === 'dead') row.classList.add('dead');
    if (id === this.#followed.id) this.#followed.onStep(`${LABELS[kind]}${detail ? ` (${detail})` : ''}`);
  }

  /**
   * From now on tells `onStep` each step of message `id` (as its label and
   * detail) instead of the message followed before, and marks its row.
   */
  follow(id, onStep) {
    this.#rows.get(this.#followed.id)?.classList.remove('followed');
    this.#followed = { id, onStep };
    this.#rows.get(id)?.classList.add('followed');
  }

  failed(id, error) {
    this.step(id, 'error', error?.code ?? String(error));
  }

  // Drops the oldest row that finished without trouble, so the messages
  // worth following stay longest; otherwise simply the oldest.
  #evict() {
    if (this.#rows.size <= MAX_ROWS) return;
    let victim = this.#list.lastElementChild;
    for (let row = victim; row; row = row.previousElementSibling) {
      if (row.classList.contains('finished') && !row.classList.contains('trouble')) {
        victim = row;
        break;
      }
    }
    this.#rows.delete(victim.dataset.id);
    victim.remove();
  }
}

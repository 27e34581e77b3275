// The scheduler panel: simulated async tasks run under a concurrency limit
// and a timeout; each row shows waiting → running (with progress) → done,
// timed out or cancelled. Cancelling aborts the task's AbortSignal.
import { Scheduler } from 'ferrymq';
import { $, el } from './dom.js';

const MAX_ROWS = 12;
const STATE_LABELS = { waiting: 'waiting', running: 'running', done: 'done', timeout: 'timed out', cancelled: 'cancelled', failed: 'failed' };

/** Work that takes `ms`, reports progress and stops when its signal aborts — as real work should. */
const simulatedWork = (ms) => ({ signal, progress }) => new Promise((resolve, reject) => {
  const started = performance.now();
  const timer = setInterval(() => {
    const fraction = Math.min(1, (performance.now() - started) / ms);
    progress(fraction);
    if (fraction === 1) {
      clearInterval(timer);
      resolve(ms);
    }
  }, 50);
  signal.addEventListener('abort', () => {
    clearInterval(timer);
    reject(signal.reason);
  }, { once: true });
});

export function schedulerPanel() {
  const scheduler = new Scheduler({ concurrency: Number($('s-concurrency').value) });
  const rows = new Map();
  const totals = { done: 0, timeout: 0, cancelled: 0 };
  let serial = 0;

  const render = () => {
    $('s-running').textContent = scheduler.pending;
    $('s-waiting').textContent = scheduler.size;
    $('s-done').textContent = totals.done;
    $('s-timedout').textContent = totals.timeout;
    $('s-cancelled').textContent = totals.cancelled;
  };

  const setState = (id, state) => {
    const row = rows.get(id);
    if (!row) return;
    row.dataset.state = state;
    row.querySelector('.state').textContent = STATE_LABELS[state];
    if (!['waiting', 'running'].includes(state)) row.querySelector('.cancel').disabled = true;
  };

  // Keeps the list short: finished rows go first, oldest first.
  const trim = () => {
    const list = $('tasks');
    for (const row of [...list.children].reverse()) {
      if (list.children.length <= MAX_ROWS) break;
      if (!['waiting', 'running'].includes(row.dataset.state)) {
        rows.delete(row.dataset.id);
        row.remove();
      }
    }
  };

  function add(ms) {
    const id = `T${++serial}`;
    const controller = new AbortController();
    const bar = el('span', { class: 'bar' });
    const row = el('li', { class: 'task', dataset: { id, state: 'waiting' } },
      el('code', { class: 'id' }, id),
      el('span', { class: 'what' }, `${(ms / 1000).toFixed(1)} s of work`),
      el('span', { class: 'progress', role: 'presentation' }, bar),
      el('span', { class: 'state' }, 'waiting'),
      el('button', { type: 'button', class: 'cancel small', onclick: () => controller.abort() }, 'Cancel'));
    rows.set(id, row);
    $('tasks').prepend(row);
    trim();
    const timeoutMs = Number($('s-timeout').value) || 2000;
    scheduler.add(simulatedWork(ms), {
      id,
      timeoutMs,
      signal: controller.signal,
      onProgress: (fraction) => { bar.style.width = `${Math.round(fraction * 100)}%`; },
    }).then(
      () => { totals.done++; setState(id, 'done'); },
      (error) => {
        const state = error?.code === 'TIMEOUT' ? 'timeout' : ['ABORTED', 'CLEARED'].includes(error?.code) ? 'cancelled' : 'failed';
        if (state in totals) totals[state]++;
        setState(id, state);
      },
    ).finally(render);
    render();
  }

  scheduler.on('active', ({ id }) => { setState(id, 'running'); render(); });

  $('s-add').addEventListener('click', () => {
    for (let i = 0; i < 5; i++) add(Math.round(300 + Math.random() * 800));
  });
  $('s-add-slow').addEventListener('click', () => {
    add((Number($('s-timeout').value) || 2000) * 2);
  });
  $('s-pause').addEventListener('click', (event) => {
    if (scheduler.isPaused) scheduler.resume();
    else scheduler.pause();
    event.currentTarget.textContent = scheduler.isPaused ? 'Resume' : 'Pause';
    event.currentTarget.setAttribute('aria-pressed', String(scheduler.isPaused));
    render();
  });
  $('s-clear').addEventListener('click', () => { scheduler.clear('cleared from the demo'); render(); });
  $('s-concurrency').addEventListener('input', (event) => {
    const n = Number(event.target.value);
    if (Number.isInteger(n) && n >= 1 && n <= 8) scheduler.concurrency = n;
    render();
  });
  render();
  return { add };
}

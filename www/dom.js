// Tiny DOM helpers shared by the panels, so each panel reads as its layout.

export const $ = (id) => document.getElementById(id);

/** An element with attributes/properties and children (strings or nodes). */
export function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (key === 'class') node.className = value;
    else if (key === 'dataset') Object.assign(node.dataset, value);
    else if (key.startsWith('on')) node.addEventListener(key.slice(2), value);
    else if (key in node) node[key] = value;
    else node.setAttribute(key, value);
  }
  node.append(...children);
  return node;
}

/**
 * A labelled number input for a producer's or consumer's setting. `onChange`
 * gets the clamped number, so the simulation never sees NaN while someone
 * is halfway through typing.
 */
export function numberField(label, { name, min, max, step = 1, value, unit = '' }, onChange) {
  const input = el('input', { type: 'number', name, min, max, step, value, inputMode: 'numeric' });
  input.addEventListener('input', () => {
    const n = Number(input.value);
    if (input.value !== '' && Number.isFinite(n)) onChange(Math.min(max, Math.max(min, n)));
  });
  return el('label', { class: 'field' }, el('span', {}, label), input, unit ? el('span', { class: 'unit' }, unit) : '');
}

/** One producer or consumer row: a name badge, its fields and a remove button. */
export function clientRow(kind, name, fields, onRemove) {
  const row = el('li', { class: `client ${kind}`, dataset: { name } },
    el('span', { class: 'badge' }, name),
    el('div', { class: 'fields' }, ...fields),
    el('button', { type: 'button', class: 'remove', title: `Remove ${name}`, 'aria-label': `Remove ${name}`, onclick: onRemove }, '×'));
  return row;
}

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

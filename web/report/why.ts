// Why a client has its layer, or none, drawn from the selection a report (or the inspector's plan)
// carries: the summary line, and on opening it each candidate and each excluded layer.
import { h } from './dom.js';
import type { Why } from './model.js';

export function whyList(w: Why): HTMLElement | string {
  if (w.candidates.length === 0 && w.excluded.length === 0) return w.summary;
  const detail = h('ul', {},
    ...w.candidates.map((l) => h('li', {}, `${l === w.chosen ? '✔ chosen' : 'candidate'}: ${l.name} (ABI ${l.abiMin}–${l.abiMax}, kernel_min ${l.kernelMin}, revision ${l.revision})`)),
    ...w.excluded.map((x) => h('li', {}, `✘ ${x.layer.name}: ${x.reason}`)));
  return h('details', {}, h('summary', {}, w.summary), detail);
}

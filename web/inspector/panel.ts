// The inspector view of the report page: the user drops ELF files (and layer objects) on it, the
// worker (worker.ts, the same core and code as the CLI) inspects them, and for each client the
// page asks what plan would choose for the kernel typed in. Nothing leaves the browser: the worker
// is made from a Blob of its inlined code, so the page also works from file://.
import { wrap, transfer, type Remote } from 'comlink';
import { h } from '../report/dom.js';
import { whyList } from '../report/why.js';
import { catalogRows, describeSelection } from '../report/model.js';
import type { CatalogView, FileView, InspectorApi, PlanView } from './api.js';

const KIND_TEXT: Record<FileView['kind'], string> = {
  client: 'syslayer client',
  layer: 'layer object',
  elf: 'ELF file, not a syslayer client',
  'not-elf': 'not an ELF file',
  error: 'ELF file the core cannot read',
};

let worker: Remote<InspectorApi> | null = null;
function startWorker(onFailure: (why: string) => void): Remote<InspectorApi> {
  if (worker) return worker;
  const url = URL.createObjectURL(new Blob([INSPECTOR_WORKER_SOURCE], { type: 'text/javascript' }));
  const w = new Worker(url);
  // A worker that fails to start (a browser without WebAssembly, say) says so on the page.
  w.addEventListener('error', (e) => onFailure(e.message || 'the inspector worker failed to start'));
  return (worker = wrap<InspectorApi>(w));
}

/** The inspector, made once per page: its files stay while the user looks at other views. */
export function inspectorPanel(defaultKernel: string | null): HTMLElement {
  const problem = h('div', { class: 'problem', role: 'alert', 'data-role': 'inspector-problem', hidden: '' });
  const say = (why: string | null) => { problem.textContent = why ?? ''; problem.hidden = why === null; };
  const files = h('input', { type: 'file', multiple: '', 'data-role': 'files' });
  const kernel = h('input', { type: 'text', 'data-role': 'kernel', placeholder: 'e.g. 4.11', value: defaultKernel ?? '', size: '10' });
  const drop = h('div', { class: 'dropzone', 'data-role': 'dropzone', tabindex: '0' }, 'Drop ELF files or layer objects here, or ', files);
  const catalogBox = h('div', { 'data-role': 'catalog' });
  const list = h('div', { 'data-role': 'inspected' });
  const shown: { view: FileView; plan: HTMLElement }[] = [];
  let catalog: CatalogView | null = null;

  const api = () => startWorker(say);
  const failed = (what: string) => (error: unknown) => say(`${what}: ${(error as Error)?.message ?? String(error)}`);

  const drawCatalog = (c: CatalogView) => {
    catalog = c;
    const reset = h('button', { 'data-role': 'reset-catalog' }, 'back to the reference layers');
    reset.addEventListener('click', () => api().resetCatalog().then((v) => { drawCatalog(v); replan(); }, failed('cannot reset the catalog')));
    const rows = catalogRows(c.layers);
    catalogBox.replaceChildren(
      h('p', {}, c.source === 'reference' ? 'Catalog: the SDK\'s reference layers. Drop layer objects to plan with yours instead.' : 'Catalog: the layer objects you dropped. ', c.source === 'dropped' ? reset : null),
      h('table', {}, h('thead', {}, h('tr', {}, ...['name', 'machine', 'ABI', 'kernel_min', 'revision', 'file'].map((t) => h('th', {}, t)))),
        h('tbody', {}, ...rows.map((l) => h('tr', {}, h('td', {}, l.name), h('td', {}, l.machine), h('td', {}, `${l.abiMin}–${l.abiMax}`), h('td', {}, l.kernelMin), h('td', {}, String(l.revision)), h('td', { class: 'path' }, l.path))))));
  };

  const drawPlan = (into: HTMLElement, p: PlanView) => {
    const verdict = p.action === 'bind' ? `plan would bind it with ${p.layer}` : p.action === 'refuse' ? `plan would refuse it: ${p.reason}` : 'plan passes it through untouched: not a syslayer client';
    const why = p.selection && catalog ? whyList(describeSelection(p.selection as Record<string, unknown>, p.machine, p.abi, p.kernel, catalogRows(catalog.layers))) : null;
    into.replaceChildren(h('p', { class: `verdict ${p.action}`, 'data-role': 'verdict', 'data-action': p.action }, `For kernel ${p.kernel}, ${verdict}`), why ?? '');
  };

  const replan = () => {
    const text = kernel.value.trim();
    for (const s of shown) {
      if (s.view.kind !== 'client' && s.view.kind !== 'elf') continue;
      if (text === '') { s.plan.replaceChildren(h('p', { class: 'hint' }, 'Type a target kernel above to see what plan would choose.')); continue; }
      api().plan(s.view.id, text).then((p) => drawPlan(s.plan, p), (error: unknown) => s.plan.replaceChildren(h('p', { class: 'problem', role: 'alert' }, `cannot plan: ${(error as Error)?.message ?? String(error)}`)));
    }
  };

  const add = async (picked: FileList | File[]) => {
    say(null);
    for (const file of Array.from(picked)) {
      try {
        const bytes = await file.arrayBuffer();
        const view = await api().inspect(file.name, transfer(bytes, [bytes]));
        const plan = h('div', { 'data-role': 'plan' });
        const message = view.kind === 'not-elf' ? h('p', { class: 'problem', role: 'alert' }, `${file.name} is not an ELF file: the inspector reads ELF programs, libraries and layer objects.`)
          : view.kind === 'error' ? h('p', { class: 'problem', role: 'alert' }, `${file.name} is not an ELF file the core can read (see below).`) : null;
        list.append(h('article', { class: 'inspected', 'data-file': file.name, 'data-kind': view.kind },
          h('h3', {}, file.name, h('span', { class: 'kind' }, ` — ${KIND_TEXT[view.kind]}`)), message,
          h('pre', { 'data-role': 'inspect-text' }, view.text), plan,
          h('details', {}, h('summary', {}, 'as inspect --json prints it'), h('pre', { 'data-role': 'inspect-json' }, JSON.stringify(view.json, null, 1)))));
        shown.push({ view, plan });
        if (view.kind === 'layer') drawCatalog(await api().catalog());
      } catch (error) {
        failed(`cannot inspect ${file.name}`)(error);
      }
    }
    if (!catalog) drawCatalog(await api().catalog());
    replan();
  };

  files.addEventListener('change', () => { if (files.files) void add(files.files); files.value = ''; });
  drop.addEventListener('dragover', (e) => { e.preventDefault(); drop.classList.add('over'); });
  drop.addEventListener('dragleave', () => drop.classList.remove('over'));
  drop.addEventListener('drop', (e) => { e.preventDefault(); drop.classList.remove('over'); if (e.dataTransfer?.files) void add(e.dataTransfer.files); });
  kernel.addEventListener('input', replan);
  api().catalog().then(drawCatalog, failed('the inspector cannot start'));

  return h('section', { class: 'inspector' },
    h('p', { class: 'facts' }, 'Inspect files as syslayer inspect does, and see what plan would choose. Nothing leaves this browser: the WebAssembly core runs in a worker of this page.'),
    drop, h('p', {}, h('label', {}, 'Target kernel ', kernel)), problem, list, h('h3', {}, 'Catalog'), catalogBox);
}

// The report page: reads the reports embedded in <script id="syslayer-reports"> and draws five
// views of the one selected: summary, clients, refusals, mixed-ABI programs and a file tree.
// An image of 10,000+ files stays light: lists are paged and the tree is built on click, so the
// DOM holds a page of rows, not the image.
import { benchRuns, load, PACKAGE_PROBLEMS, type Client, type Loaded, type Model, type Program } from './model.js';
import { h } from './dom.js';
import { whyList } from './why.js';
import { inspectorPanel } from '../inspector/panel.js';

const SVG = 'http://www.w3.org/2000/svg';
function s(tag: string, attrs: Record<string, string | number>, text?: string): SVGElement {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  if (text !== undefined) e.textContent = text;
  return e;
}

const PAGE = 100;
const VIEWS = ['summary', 'clients', 'refusals', 'programs', 'packages', 'tree', 'bench', 'inspector'] as const;
type View = (typeof VIEWS)[number];
const TITLES: Record<View, string> = { summary: 'Summary', clients: 'Clients', refusals: 'Refusals', programs: 'Mixed-ABI programs', packages: 'Package files', tree: 'Files', bench: 'Benchmarks', inspector: 'Inspector' };
/** The views a model has: a command's report all but the charts, benchmark runs only the charts; every page the inspector. */
const viewsOf = (m: Model | null): readonly View[] =>
  m === null ? ['inspector']
    : m.command === 'bench' ? ['bench', 'inspector']
      : m.command === 'verify --packages' ? ['summary', 'packages', 'tree', 'inspector']
        : VIEWS.filter((v) => v !== 'bench' && v !== 'packages');

/** A list shown a page at a time, with a filter: the DOM never holds more than PAGE rows. */
function pagedList<T>(items: T[], matches: (item: T, q: string) => boolean, row: (item: T) => HTMLElement, head: HTMLElement | null, label: string): HTMLElement {
  const input = h('input', { type: 'search', placeholder: `filter ${label}…`, 'data-role': 'filter' });
  const body = head ? h('tbody') : h('div', { class: 'rows' });
  const info = h('span', { class: 'pageinfo' });
  const prev = h('button', { 'data-role': 'prev' }, '‹ previous'), next = h('button', { 'data-role': 'next' }, 'next ›');
  let shown = items, page = 0;
  const draw = () => {
    const pages = Math.max(1, Math.ceil(shown.length / PAGE));
    page = Math.min(page, pages - 1);
    body.replaceChildren(...shown.slice(page * PAGE, (page + 1) * PAGE).map(row));
    info.textContent = `${shown.length === 0 ? 0 : page * PAGE + 1}–${Math.min(shown.length, (page + 1) * PAGE)} of ${shown.length} ${label}`;
    prev.disabled = page === 0; next.disabled = page >= pages - 1;
  };
  input.addEventListener('input', () => { const q = input.value.trim().toLowerCase(); shown = q ? items.filter((i) => matches(i, q)) : items; page = 0; draw(); });
  prev.addEventListener('click', () => { page--; draw(); });
  next.addEventListener('click', () => { page++; draw(); });
  draw();
  const bar = h('div', { class: 'pager' }, input, prev, info, next);
  return h('div', {}, bar, head ? h('table', {}, h('thead', {}, head), body) : body);
}

function summaryView(m: Model): HTMLElement {
  const cards = m.counts.map((c) => h('section', { class: 'card' }, h('h3', {}, c.title),
    h('table', { class: 'counts' }, ...c.rows.map(([k, v]) => h('tr', {}, h('td', {}, k), h('td', { class: 'n', 'data-count': k }, String(v)))))));
  const catalog = m.catalog.length === 0 ? null : h('section', {}, h('h3', {}, 'Layer catalog'),
    h('table', {}, h('thead', {}, h('tr', {}, ...['name', 'machine', 'ABI', 'kernel_min', 'revision', 'path'].map((t) => h('th', {}, t)))),
      h('tbody', {}, ...m.catalog.map((l) => h('tr', {}, h('td', {}, l.name), h('td', {}, l.machine), h('td', {}, `${l.abiMin}–${l.abiMax}`), h('td', {}, l.kernelMin), h('td', {}, String(l.revision)), h('td', { class: 'path' }, l.path))))));
  return h('div', {},
    h('p', { class: 'facts' }, `${m.command} report of `, h('code', {}, m.image), m.kernel ? ` · target kernel ${m.kernel}` : '', m.command === 'verify --packages' ? ` · ${m.packageFiles.length} files listed` : ` · ${m.clients.length} clients`),
    m.warnings.length > 0 ? h('ul', { class: 'warnings' }, ...m.warnings.map((w) => h('li', {}, w))) : null,
    h('div', { class: 'cards' }, ...cards), catalog);
}

function whyCell(c: Client): HTMLElement {
  return h('td', { class: 'why' }, c.why ? whyList(c.why) : c.reason ?? '—');
}

const clientRow = (c: Client) => h('tr', { 'data-path': c.path, class: c.reason ? 'refused' : '' },
  h('td', { class: 'path' }, c.path), h('td', {}, c.machine), h('td', {}, String(c.abi ?? '—')), h('td', { class: 'layer' }, c.layer ?? '—'), h('td', {}, c.status), whyCell(c));

const clientHead = () => h('tr', {}, ...['path', 'machine', 'ABI', 'layer', 'status', 'why'].map((t) => h('th', {}, t)));
const clientMatches = (c: Client, q: string) => c.path.toLowerCase().includes(q) || (c.layer ?? '').toLowerCase().includes(q) || c.status.includes(q);

function clientsView(m: Model): HTMLElement {
  return pagedList(m.clients, clientMatches, clientRow, clientHead(), 'clients');
}

function refusalsView(m: Model): HTMLElement {
  const refused = m.clients.filter((c) => c.reason);
  if (refused.length === 0) return h('p', { class: 'empty' }, 'No refusals: every client has its layer.');
  return pagedList(refused, (c, q) => c.path.toLowerCase().includes(q) || (c.reason ?? '').toLowerCase().includes(q),
    (c) => h('tr', { 'data-path': c.path }, h('td', { class: 'path' }, c.path), h('td', {}, c.machine), h('td', {}, String(c.abi ?? '—')), h('td', { class: 'reason' }, c.reason ?? ''), h('td', {}, c.why?.summary ?? '')),
    h('tr', {}, ...['path', 'machine', 'ABI', 'reason', 'the rule'].map((t) => h('th', {}, t))), 'refusals');
}

/** A verify --packages report's files: the ones that need a person first, then the bound and intact. */
function packagesView(m: Model): HTMLElement {
  const rank = (status: string) => (PACKAGE_PROBLEMS.includes(status) ? 0 : 1);
  const files = [...m.packageFiles].sort((a, b) => rank(a.status) - rank(b.status));
  if (files.length === 0) return h('p', { class: 'empty' }, 'Every file the packages own is intact, and none is bound.');
  return pagedList(files, (f, q) => f.path.toLowerCase().includes(q) || f.owner.toLowerCase().includes(q) || f.status.includes(q),
    (f) => h('tr', { 'data-path': f.path, class: PACKAGE_PROBLEMS.includes(f.status) ? 'refused' : '' }, h('td', { class: 'path' }, f.path), h('td', {}, f.owner),
      h('td', { 'data-status': f.status }, f.status), h('td', { class: 'layer' }, f.layer ?? '—'), h('td', { class: 'reason' }, f.reason ?? '')),
    h('tr', {}, ...['path', 'package', 'status', 'layer', 'reason'].map((t) => h('th', {}, t))), 'package files');
}

const ABI_COLOURS = ['#888', '#2f6fb0', '#c0602a', '#3a9a4a', '#8a4ab0'];

/** A program and the syslayer clients of its closure: the program on the left, an edge to each. */
function closureGraph(p: Program): SVGElement {
  const objects = p.objects.filter((o) => o.path !== p.path);
  const rowH = 34, height = Math.max(1, objects.length) * rowH + 12, width = 760;
  const svg = s('svg', { width, height, viewBox: `0 0 ${width} ${height}`, class: 'graph', role: 'img' });
  const self = p.objects.find((o) => o.path === p.path);
  const node = (x: number, y: number, path: string, abi: number | null, layer: string | null) => {
    const g = s('g', { class: 'node' });
    g.append(s('rect', { x, y: y - 13, width: 330, height: 26, rx: 5, fill: '#fff', stroke: ABI_COLOURS[abi ?? 0] ?? '#444', 'stroke-width': 2 }),
      s('text', { x: x + 8, y: y + 4 }, `${path.length > 40 ? `…${path.slice(-39)}` : path}  ABI ${abi ?? '—'} · ${layer ?? 'no layer'}`));
    return g;
  };
  const cy = height / 2;
  objects.forEach((o, i) => {
    const y = 6 + rowH * i + rowH / 2;
    svg.append(s('path', { d: `M340 ${cy} C 380 ${cy}, 380 ${y}, 420 ${y}`, fill: 'none', stroke: '#999' }), node(420, y, o.path, o.abi, o.layer));
  });
  svg.append(node(8, cy, p.path, self?.abi ?? null, self?.layer ?? null));
  return svg;
}

function programsView(m: Model): HTMLElement {
  const mixed = m.programs.filter((p) => p.mixed);
  const note = h('p', { class: 'facts' }, `${mixed.length} of ${m.programs.length} programs load clients of more than one ABI version. Node borders: `,
    ...[1, 2].map((a) => h('span', { class: 'abi', style: `border-color:${ABI_COLOURS[a]}` }, `ABI ${a}`)));
  if (m.command === 'scan') return h('p', { class: 'empty' }, 'A scan report names no programs: make the page from a plan, bind or verify report (or an image) to see them.');
  if (mixed.length === 0) return h('div', {}, note);
  return h('div', {}, note, pagedList(mixed, (p, q) => p.objects.some((o) => o.path.toLowerCase().includes(q)),
    (p) => h('section', { class: 'program', 'data-path': p.path }, h('h3', {}, p.path), closureGraph(p)), null, 'mixed-ABI programs'));
}

interface Dir { dirs: Map<string, Dir>; files: Map<string, string> }

function buildTree(paths: Map<string, string>): Dir {
  const root: Dir = { dirs: new Map(), files: new Map() };
  for (const [path, about] of paths) {
    const parts = path.split('/');
    let d = root;
    for (const part of parts.slice(0, -1)) {
      let next = d.dirs.get(part);
      if (!next) d.dirs.set(part, next = { dirs: new Map(), files: new Map() });
      d = next;
    }
    d.files.set(parts[parts.length - 1]!, about);
  }
  return root;
}

/** A directory's entries, drawn only when it is opened. */
function dirList(d: Dir, prefix: string): HTMLElement {
  const ul = h('ul', { class: 'tree' });
  for (const name of [...d.dirs.keys()].sort()) {
    const sub = d.dirs.get(name)!;
    const label = h('span', { class: 'dir', 'data-dir': prefix + name }, `▸ ${name}/`);
    const li = h('li', {}, label);
    let open: HTMLElement | null = null;
    label.addEventListener('click', () => {
      if (open) { open.remove(); open = null; label.textContent = `▸ ${name}/`; return; }
      open = dirList(sub, `${prefix}${name}/`); li.append(open); label.textContent = `▾ ${name}/`;
    });
    ul.append(li);
  }
  const files = [...d.files.keys()].sort();
  for (const name of files.slice(0, 500)) ul.append(h('li', { class: 'file', 'data-path': prefix + name }, name, h('span', { class: 'about' }, d.files.get(name)!)));
  if (files.length > 500) ul.append(h('li', { class: 'more' }, `… and ${files.length - 500} more: use the search`));
  return ul;
}

function treeView(m: Model): HTMLElement {
  const tree = buildTree(m.paths);
  const input = h('input', { type: 'search', placeholder: 'search paths…', 'data-role': 'search' });
  const out = h('div', {}, dirList(tree, ''));
  input.addEventListener('input', () => {
    const q = input.value.trim().toLowerCase();
    if (!q) { out.replaceChildren(dirList(tree, '')); return; }
    const found = [...m.paths.keys()].filter((p) => p.toLowerCase().includes(q));
    out.replaceChildren(h('p', { class: 'facts' }, `${found.length} paths match${found.length > 200 ? ' (the first 200 shown)' : ''}`),
      h('ul', { class: 'tree' }, ...found.slice(0, 200).map((p) => h('li', { class: 'file', 'data-path': p }, p, h('span', { class: 'about' }, m.paths.get(p)!)))));
  });
  return h('div', {}, h('p', { class: 'facts' }, `${m.paths.size} ${m.command === 'scan' || m.paths.size > m.clients.length ? 'ELF files' : 'files the report names'}; click a directory to open it.`), input, out);
}

/** One chart per (ours, peer) pair: the ratio over the runs, with parity (1) and the target drawn. */
function ratioChart(title: string, points: { date: string; value: number }[], target: { op: string; value: number } | null): HTMLElement {
  const w = 360, hgt = 170, left = 40, right = 12, top = 12, bottom = 28;
  const max = Math.max(1, target?.value ?? 0, ...points.map((p) => p.value)) * 1.15;
  const x = (i: number) => left + (points.length === 1 ? (w - left - right) / 2 : (i * (w - left - right)) / (points.length - 1));
  const y = (v: number) => top + (1 - v / max) * (hgt - top - bottom);
  const svg = s('svg', { viewBox: `0 0 ${w} ${hgt}`, class: 'chart', role: 'img' });
  svg.append(s('line', { x1: left, x2: w - right, y1: y(0), y2: y(0), stroke: '#888' }), s('line', { x1: left, x2: left, y1: top, y2: y(0), stroke: '#888' }));
  for (const v of [0, max / 2, max]) svg.append(s('text', { x: left - 4, y: y(v) + 4, 'text-anchor': 'end', class: 'tick' }, v.toFixed(1)));
  svg.append(s('line', { x1: left, x2: w - right, y1: y(1), y2: y(1), stroke: '#999', 'stroke-dasharray': '2 3' }), s('text', { x: w - right, y: y(1) - 3, 'text-anchor': 'end', class: 'tick' }, 'parity'));
  if (target) svg.append(s('line', { x1: left, x2: w - right, y1: y(target.value), y2: y(target.value), stroke: '#3a9a4a', 'stroke-dasharray': '6 3' }),
    s('text', { x: left + 4, y: y(target.value) - 3, class: 'tick target' }, `target ${target.op} ${target.value}`));
  if (points.length > 1) svg.append(s('polyline', { points: points.map((p, i) => `${x(i)},${y(p.value)}`).join(' '), fill: 'none', stroke: '#2f6fb0', 'stroke-width': 2 }));
  points.forEach((p, i) => {
    const dot = s('circle', { cx: x(i), cy: y(p.value), r: 4, fill: '#2f6fb0', class: 'point', 'data-value': p.value });
    dot.append(s('title', {}, `${p.date}: ${p.value}`));
    svg.append(dot, s('text', { x: x(i), y: y(p.value) - 7, 'text-anchor': points.length > 1 && i === points.length - 1 ? 'end' : 'middle', class: 'tick' }, String(p.value)));
  });
  if (points.length > 0) {
    svg.append(s('text', { x: x(0), y: hgt - 8, 'text-anchor': points.length === 1 ? 'middle' : 'start', class: 'tick' }, points[0]!.date.slice(0, 16).replace('T', ' ')));
    if (points.length > 1) svg.append(s('text', { x: x(points.length - 1), y: hgt - 8, 'text-anchor': 'end', class: 'tick' }, points[points.length - 1]!.date.slice(0, 16).replace('T', ' ')));
  }
  return h('section', { class: 'card bench', 'data-pair': title }, h('h3', {}, title), svg);
}

function benchView(m: Model): HTMLElement {
  const pairs = new Map<string, { points: { date: string; value: number }[]; target: { op: string; value: number } | null }>();
  for (const run of m.runs) for (const r of run.ratios) {
    const key = `${run.benchmark}: ${r.ours} / ${r.peer}`;
    const pair = pairs.get(key) ?? { points: [], target: null };
    pair.points.push({ date: run.date, value: r.value });
    pair.target = r.target ?? pair.target;
    pairs.set(key, pair);
  }
  return h('div', {}, h('p', { class: 'facts' }, `Our time over each peer's (below 1: syslayer is faster), over ${m.runs.length} run${m.runs.length === 1 ? '' : 's'}: ${m.runs.map((r) => `${r.name} (${r.date.slice(0, 10)})`).join(', ')}.`),
    h('div', { class: 'cards' }, ...[...pairs].map(([k, p]) => ratioChart(k, p.points, p.target))));
}

// The inspector is made once, on first view, and kept: what was dropped on it stays while the user looks elsewhere.
let inspector: HTMLElement | null = null;
const inspectorView = (m: Model | null) => (inspector ??= inspectorPanel(m?.kernel ?? null));

const DRAW: Record<Exclude<View, 'inspector'>, (m: Model) => HTMLElement> = { summary: summaryView, clients: clientsView, refusals: refusalsView, programs: programsView, packages: packagesView, tree: treeView, bench: benchView };
const viewElement = (view: View, m: Model | null) => (view === 'inspector' ? inspectorView(m) : DRAW[view](m!));

function problem(title: string, text: string): HTMLElement {
  return h('div', { class: 'problem', role: 'alert', id: 'problem' }, h('h2', {}, title), h('p', {}, text));
}

function show(app: HTMLElement, loaded: Loaded[]): void {
  const models = loaded.filter((l): l is Extract<Loaded, { ok: true }> => l.ok).map((l) => l.model);
  // Benchmark runs are charted together, one point per run.
  const benches = models.filter((m) => m.command === 'bench');
  const good = [...models.filter((m) => m.command !== 'bench'), ...(benches.length > 0 ? [benchRuns(benches.flatMap((b) => b.runs))] : [])];
  const bad = loaded.filter((l): l is Extract<Loaded, { ok: false }> => !l.ok);
  const problems = bad.map((b) => problem(`${b.name} cannot be shown`, b.why));
  let current: Model | null = good[0] ?? null;
  let view: View = (VIEWS as readonly string[]).includes(location.hash.slice(1)) ? location.hash.slice(1) as View : 'summary';
  const nav = h('nav', {});
  const pick = good.length > 1 ? h('select', { 'data-role': 'report' }, ...good.map((g, i) => h('option', { value: String(i) }, `${g.name} (${g.command})`))) : null;
  const main = h('main', {});
  const draw = () => {
    if (!viewsOf(current).includes(view)) view = viewsOf(current)[0]!;
    nav.replaceChildren(...viewsOf(current).map((v) => {
      const count = current === null ? '' : v === 'refusals' ? ` (${current.clients.filter((c) => c.reason).length})` : v === 'clients' ? ` (${current.clients.length})` : v === 'programs' ? ` (${current.programs.filter((p) => p.mixed).length})` : '';
      const b = h('button', { 'data-view': v, class: v === view ? 'on' : '' }, TITLES[v] + count);
      b.addEventListener('click', () => { view = v; history.replaceState(null, '', `#${v}`); draw(); });
      return b;
    }));
    main.replaceChildren(h('h2', {}, TITLES[view]), viewElement(view, current));
    main.dataset.view = view;
  };
  pick?.addEventListener('change', () => { current = good[Number(pick.value)]!; draw(); });
  app.replaceChildren(...problems, h('header', {}, h('h1', {}, 'syslayer report'), pick), nav, main);
  draw();
}

function start(): void {
  const app = document.getElementById('app')!;
  try {
    const text = document.getElementById('syslayer-reports')?.textContent ?? '';
    let inputs: unknown;
    try { inputs = JSON.parse(text); } catch (error) {
      app.replaceChildren(problem('The page holds no readable report', `its embedded data is not JSON: ${(error as Error).message}`));
      return;
    }
    if (!Array.isArray(inputs)) { app.replaceChildren(problem('The page holds no readable report', 'its embedded data is not a list of reports')); return; }
    show(app, inputs.map((i: { name?: unknown; report?: unknown; scan?: unknown }, n) => load(typeof i?.name === 'string' ? i.name : `input ${n + 1}`, i?.report, i?.scan ?? null)));
  } catch (error) {
    // A bug of the page: said on the page, not only in the console.
    app.replaceChildren(problem('The page failed', (error as Error).stack ?? String(error)));
  }
}

start();

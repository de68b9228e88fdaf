// The page's one view of any report: scan, plan, bind, unbind, verify and sync reports have
// different shapes (docs/scan-json.md, docs/report-json.md); every view below reads this instead.
import { reportKind, type ReportCommand } from '../../src/report/report-kind.js';

export interface Layer { name: string; path: string; machine: string; abiMin: number; abiMax: number; kernelMin: string; revision: number }

/**
 * Why a client has its layer, or none: what the selection rule (src/catalog/select.ts) weighed, as
 * the report's `selection` carries it. The page only shows it; it never runs the rule itself.
 */
export interface Why {
  kernel: string | null;
  /** Layers that pass every filter of the rule, in its order (best first). */
  candidates: Layer[];
  /** The other catalog layers, each with the filter that left it out. */
  excluded: { layer: Layer; reason: string }[];
  chosen: Layer | null;
  /** One line: how the chosen layer won among the candidates, or that the report does not say. */
  summary: string;
}

export interface Client {
  path: string;
  machine: string;
  abi: number | null;
  type: string | null;
  layer: string | null;
  /** bound, unchanged, verified, error, planned, unbound, … (the outcome's, or the plan's). */
  status: string;
  /** A refusal's reason: the selection's or the binder's. */
  reason: string | null;
  why: Why | null;
}

export interface ProgramObject { path: string; abi: number | null; layer: string | null }
export interface Program { path: string; mixed: boolean; objects: ProgramObject[] }

/** One run of a benchmark suite: its ratios of our time to each peer's (below 1: we are faster). */
export interface BenchRun {
  name: string;
  benchmark: string;
  date: string;
  ratios: { ours: string; peer: string; value: number; target: { op: string; value: number } | null }[];
}

/** A file of a `verify --packages` report that is not simply intact (docs/report-json.md). */
export interface PackageFile { path: string; owner: string; status: string; layer: string | null; reason: string | null }

/** Statuses of verify --packages that need a person: the rest are bound and intact. */
export const PACKAGE_PROBLEMS: readonly string[] = ['changed', 'missing', 'unbound-client', 'error'];

export interface Model {
  name: string;
  command: ReportCommand;
  image: string;
  kernel: string | null;
  catalog: Layer[];
  clients: Client[];
  programs: Program[];
  /** Every path the report names, for the tree: the scan's ELF files, or the clients and their closures. */
  paths: Map<string, string>;
  counts: { title: string; rows: [string, number][] }[];
  warnings: string[];
  /** Benchmark runs (command `bench`), oldest first. */
  runs: BenchRun[];
  /** The files of a verify --packages report. */
  packageFiles: PackageFile[];
}

export type Loaded = { ok: true; model: Model } | { ok: false; name: string; why: string };

// Inside this module only: a report reportKind has accepted, read field by field into the types above.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = Record<string, any>;

/** What a report's `selection` of one client says (docs/report-json.md), in words. */
export function describeSelection(selection: Json | undefined, machine: string, abi: number | null, kernel: string | null, catalog: Layer[]): Why {
  if (!selection) return { kernel, candidates: [], excluded: [], chosen: null, summary: 'the report has no selection details' };
  const at = (i: number): Layer => {
    const l = catalog[i];
    if (!l) throw new Error(`selection names catalog layer ${i}, the catalog has ${catalog.length}`);
    return l;
  };
  const because = (l: Layer, reason: string): string => {
    switch (reason) {
      case 'machine': return `for ${l.machine}, not ${machine}`;
      case 'class': return 'another ELF class';
      case 'byteOrder': return 'another byte order';
      case 'abi': return `ABI ${abi ?? 'none'} is outside ${l.abiMin}–${l.abiMax}`;
      case 'kernel': return `kernel_min ${l.kernelMin} is above the target ${kernel ?? 'kernel'}`;
      default: return reason;
    }
  };
  const candidates = (selection.candidates as number[]).map(at);
  const excluded = (selection.excluded as Json[]).map((x) => { const l = at(x.layer); return { layer: l, reason: because(l, String(x.reason)) }; });
  const chosen = typeof selection.layer === 'number' ? at(selection.layer) : null;
  let summary: string;
  if (chosen) {
    summary = `ABI ${abi} in ${chosen.abiMin}–${chosen.abiMax}, kernel_min ${chosen.kernelMin}${kernel ? ` ≤ ${kernel}` : ''}, revision ${chosen.revision}`;
    if (candidates.length > 1) summary += `; highest kernel_min, then revision, of ${candidates.length} candidates`;
  } else if (candidates.length > 0) {
    summary = `${candidates.length} candidate${candidates.length === 1 ? '' : 's'}; the rule chose none`;
  } else if (excluded.every((x) => x.layer.machine !== machine)) {
    summary = `the catalog has no layer for ${machine} (it has: ${[...new Set(catalog.map((l) => l.machine))].join(', ') || 'nothing'})`;
  } else {
    summary = `no layer of ${machine} admits ABI ${abi ?? 'none'}${kernel ? ` on kernel ${kernel}` : ''}`;
  }
  return { kernel, candidates, excluded, chosen, summary };
}

/** A report's `catalog` (each layer as layerSummary writes it), as the page shows layers. */
export function catalogRows(layers: readonly unknown[]): Layer[] {
  return (layers as Json[]).map((l) => ({ name: l.name, path: l.path, machine: l.machine, abiMin: l.abiMin, abiMax: l.abiMax, kernelMin: l.kernelMin, revision: l.revision }));
}

function tally(values: Iterable<string>): [string, number][] {
  const m = new Map<string, number>();
  for (const v of values) m.set(v, (m.get(v) ?? 0) + 1);
  return [...m].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
}

/** What the tree says of each ELF file of a scan. */
function scanPaths(files: Json[]): Map<string, string> {
  const paths = new Map<string, string>();
  for (const f of files) paths.set(f.path, f.error ? `unreadable: ${f.error}` : `${f.machineName ?? '?'} ${f.type ?? ''}${f.syslayer ? `, client of ABI ${f.syslayer.abi ?? 'none'}` : ''}`);
  return paths;
}

function fromScan(name: string, r: Json): Model {
  const files = r.files as Json[];
  const paths = scanPaths(files);
  const clients: Client[] = [];
  for (const f of files) {
    if (!f.syslayer || f.syslayer.layer) continue; // a layer object is not a client
    const s = f.syslayer as Json;
    clients.push({
      path: f.path, machine: f.machineName, abi: s.abi ?? null, type: f.type ?? null, layer: null,
      status: s.bound ? 'bound' : s.refusal ? 'refused' : 'not bound', reason: s.refusal ?? null, why: null,
    });
  }
  const c = r.counts as Json;
  return {
    name, command: 'scan', image: r.image, kernel: null, catalog: [], clients, programs: [], paths, warnings: [], runs: [], packageFiles: [],
    counts: [
      { title: 'Files', rows: [['regular files', c.files], ['ELF', c.elf], ['other', c.other], ['unreadable', c.errors], ['directories', c.directories], ['symlinks', c.symlinks]] },
      { title: 'ELF by machine', rows: tally(files.filter((f) => f.machineName).map((f) => f.machineName)) },
      { title: 'ELF by type', rows: tally(files.filter((f) => f.type).map((f) => f.type)) },
      { title: 'Clients by ABI', rows: tally(clients.map((x) => `ABI ${x.abi ?? 'none'}`)) },
      { title: 'Clients by state', rows: tally(clients.map((x) => x.status)) },
    ],
  };
}

function fromRewrite(name: string, command: ReportCommand, r: Json, scan: Json | null): Model {
  const kernel = typeof r.kernel === 'string' && r.kernel !== 'none' ? r.kernel : null;
  const catalog = catalogRows(r.catalog ?? []);
  const paths = scan && Array.isArray(scan.files) ? scanPaths(scan.files as Json[]) : new Map<string, string>();
  const clients: Client[] = (r.clients as Json[]).map((c) => {
    const layer: string | null = c.layer?.name ?? c.outcome?.layer ?? null;
    const outcome = c.outcome as Json | undefined;
    const reason: string | null = c.error ?? (outcome?.status === 'error' ? outcome.error ?? 'error' : null);
    const status = outcome?.status ?? (layer ? 'planned' : 'refused');
    paths.set(c.path, `client, ABI ${c.abi ?? 'none'}, ${c.machine}: ${layer ?? 'no layer'} (${status})`);
    return { path: c.path, machine: c.machine, abi: c.abi ?? null, type: null, layer, status: reason && status !== 'refused' ? 'error' : status, reason, why: describeSelection(c.selection as Json | undefined, c.machine, c.abi ?? null, kernel, catalog) };
  });
  const programs: Program[] = (r.programs as Json[] ?? []).map((p) => ({ path: p.path, mixed: !!p.mixed, objects: (p.objects as Json[]).map((o) => ({ path: o.path, abi: o.abi ?? null, layer: o.layer ?? null })) }));
  for (const p of programs) for (const o of p.objects) if (!paths.has(o.path)) paths.set(o.path, `in the closure of ${p.path}`);
  const passed = (r.passedThrough ?? {}) as Json;
  return {
    name, command, image: r.image, kernel, catalog, clients, programs, paths, warnings: (r.warnings as string[]) ?? [], runs: [], packageFiles: [],
    counts: [
      { title: 'Clients by machine', rows: tally(clients.map((c) => c.machine)) },
      { title: 'Clients by ABI', rows: tally(clients.map((c) => `ABI ${c.abi ?? 'none'}`)) },
      { title: 'Clients by layer', rows: tally(clients.map((c) => c.layer ?? '(none)')) },
      { title: 'Clients by outcome', rows: tally(clients.map((c) => c.status)) },
      { title: 'Programs', rows: [['with clients in their closure', programs.length], ['mixed-ABI', programs.filter((p) => p.mixed).length]] },
      { title: 'Passed through', rows: [['ELF without reservation', passed.elfWithoutReservation ?? 0], ['other files', passed.otherFiles ?? 0], ['unreadable', passed.unreadable ?? 0]] },
    ],
  };
}

/** One embedded report, checked and put in the page's shape; anything else is a message. */
export function load(name: string, doc: unknown, scan: unknown = null): Loaded {
  const kind = reportKind(doc);
  if (!kind.ok) return { ok: false, name, why: kind.why };
  try {
    const r = doc as Json;
    if (kind.command === 'bench') return { ok: true, model: benchRuns([fromBench(name, r)]) };
    if (kind.command === 'verify --packages') return { ok: true, model: fromPackages(name, r) };
    return { ok: true, model: kind.command === 'scan' ? fromScan(name, r) : fromRewrite(name, kind.command, r, reportKind(scan).ok ? scan as Json : null) };
  } catch (error) {
    // A report cut short or edited by hand: say so on the page, not only in the console.
    return { ok: false, name, why: `a ${kind.command} report the page cannot read: ${(error as Error).message}` };
  }
}

function fromPackages(name: string, r: Json): Model {
  const packageFiles: PackageFile[] = (r.files as Json[]).map((f) => ({ path: f.path, owner: f.owner, status: f.status, layer: f.layer ?? null, reason: f.reason ?? null }));
  const paths = new Map(packageFiles.map((f) => [f.path, `${f.owner}: ${f.status}${f.layer ? ` (${f.layer})` : ''}`]));
  const counts = (r.counts ?? {}) as Record<string, number>;
  return {
    name, command: 'verify --packages', image: r.root, kernel: null, catalog: [], clients: [], programs: [], paths, warnings: [], runs: [], packageFiles,
    counts: [
      { title: 'Package files by status', rows: Object.entries(counts).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])) },
      { title: 'Packages', rows: [['with an md5sums file', r.packages ?? 0], ['owning a file listed here', new Set(packageFiles.map((f) => f.owner)).size]] },
    ],
  };
}

function fromBench(name: string, r: Json): BenchRun {
  const ratios = (r.ratios as Json[]).filter((x) => typeof x.value === 'number')
    .map((x) => ({ ours: String(x.ours), peer: String(x.peer), value: x.value as number, target: x.target && typeof x.target.value === 'number' ? { op: String(x.target.op), value: x.target.value as number } : null }));
  return { name, benchmark: r.benchmark, date: r.date, ratios };
}

/** Every benchmark run of the page, as one model: the charts put the runs side by side. */
export function benchRuns(runs: BenchRun[]): Model {
  runs = [...runs].sort((a, b) => a.date.localeCompare(b.date));
  return {
    name: `benchmarks (${runs.length} run${runs.length === 1 ? '' : 's'})`, command: 'bench', image: runs.map((r) => r.name).join(', '), kernel: null, catalog: [], clients: [], programs: [],
    paths: new Map(), warnings: [], runs, packageFiles: [],
    counts: [{ title: 'Runs', rows: tally(runs.map((r) => r.benchmark)) }],
  };
}

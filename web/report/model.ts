// The page's one view of any report: scan, plan, bind, unbind, verify and sync reports have
// different shapes (docs/scan-json.md, docs/report-json.md); every view below reads this instead.
import { reportKind, type ReportCommand } from '../../src/report/report-kind.js';

export interface Layer { name: string; path: string; machine: string; abiMin: number; abiMax: number; kernelMin: string; revision: number }

/** Why a client has its layer, or none: the selection rule's inputs (DESIGN.md §3), from the catalog. */
export interface Why {
  kernel: string | null;
  /** Layers of the client's machine whose ABI range and kernel_min admit it. */
  candidates: Layer[];
  /** Layers of the client's machine that the rule left out, each with its reason. */
  excluded: { layer: Layer; reason: string }[];
  chosen: Layer | null;
  /** One line: how the chosen layer won among the candidates. */
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
}

export type Loaded = { ok: true; model: Model } | { ok: false; name: string; why: string };

// Inside this module only: a report reportKind has accepted, read field by field into the types above.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = Record<string, any>;

/** Orders kernel versions a.b.c numerically. */
export function compareKernels(a: string, b: string): number {
  const pa = a.split('.').map(Number), pb = b.split('.').map(Number);
  for (let i = 0; i < 3; i++) if ((pa[i] ?? 0) !== (pb[i] ?? 0)) return (pa[i] ?? 0) - (pb[i] ?? 0);
  return 0;
}

/** The selection rule of DESIGN.md §3, replayed on the report's catalog so the page can say why. */
export function explain(machine: string, abi: number | null, kernel: string | null, catalog: Layer[], chosenName: string | null): Why {
  const excluded: Why['excluded'] = [];
  const candidates: Layer[] = [];
  for (const l of catalog) {
    if (l.machine !== machine) continue;
    if (abi === null) excluded.push({ layer: l, reason: 'the client has no ABI note' });
    else if (abi < l.abiMin || abi > l.abiMax) excluded.push({ layer: l, reason: `ABI ${abi} is outside ${l.abiMin}–${l.abiMax}` });
    else if (kernel !== null && compareKernels(l.kernelMin, kernel) > 0) excluded.push({ layer: l, reason: `kernel_min ${l.kernelMin} is above the target ${kernel}` });
    else candidates.push(l);
  }
  candidates.sort((a, b) => compareKernels(b.kernelMin, a.kernelMin) || b.revision - a.revision);
  const chosen = (chosenName !== null ? catalog.find((l) => l.name === chosenName && l.machine === machine) : undefined) ?? null;
  let summary: string;
  if (chosen) {
    const others = candidates.filter((c) => c !== chosen);
    summary = `ABI ${abi} in ${chosen.abiMin}–${chosen.abiMax}, kernel_min ${chosen.kernelMin}${kernel ? ` ≤ ${kernel}` : ''}, revision ${chosen.revision}`;
    if (others.length > 0) summary += `; highest kernel_min, then revision, of ${candidates.length} candidates`;
    // verify checks each file against its bind record's kernel, or the catalog may have changed:
    // say so rather than claim the rule picked it.
    if (candidates[0] && candidates[0] !== chosen) summary += `; the rule replayed on this catalog and kernel picks ${candidates[0].name}`;
  } else if (catalog.every((l) => l.machine !== machine)) {
    summary = `the catalog has no layer for ${machine} (it has: ${[...new Set(catalog.map((l) => l.machine))].join(', ') || 'nothing'})`;
  } else if (candidates.length === 0) {
    summary = `no layer of ${machine} admits ABI ${abi ?? 'none'}${kernel ? ` on kernel ${kernel}` : ''}`;
  } else {
    summary = `${candidates.length} candidates; none was bound`;
  }
  return { kernel, candidates, excluded, chosen, summary };
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
    name, command: 'scan', image: r.image, kernel: null, catalog: [], clients, programs: [], paths, warnings: [], runs: [],
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
  const catalog: Layer[] = (r.catalog as Json[] ?? []).map((l) => ({ name: l.name, path: l.path, machine: l.machine, abiMin: l.abiMin, abiMax: l.abiMax, kernelMin: l.kernelMin, revision: l.revision }));
  const paths = scan && Array.isArray(scan.files) ? scanPaths(scan.files as Json[]) : new Map<string, string>();
  const clients: Client[] = (r.clients as Json[]).map((c) => {
    const layer: string | null = c.layer?.name ?? c.outcome?.layer ?? null;
    const outcome = c.outcome as Json | undefined;
    const reason: string | null = c.error ?? (outcome?.status === 'error' ? outcome.error ?? 'error' : null);
    const status = outcome?.status ?? (layer ? 'planned' : 'refused');
    paths.set(c.path, `client, ABI ${c.abi ?? 'none'}, ${c.machine}: ${layer ?? 'no layer'} (${status})`);
    return { path: c.path, machine: c.machine, abi: c.abi ?? null, type: null, layer, status: reason && status !== 'refused' ? 'error' : status, reason, why: explain(c.machine, c.abi ?? null, kernel, catalog, layer) };
  });
  const programs: Program[] = (r.programs as Json[] ?? []).map((p) => ({ path: p.path, mixed: !!p.mixed, objects: (p.objects as Json[]).map((o) => ({ path: o.path, abi: o.abi ?? null, layer: o.layer ?? null })) }));
  for (const p of programs) for (const o of p.objects) if (!paths.has(o.path)) paths.set(o.path, `in the closure of ${p.path}`);
  const passed = (r.passedThrough ?? {}) as Json;
  return {
    name, command, image: r.image, kernel, catalog, clients, programs, paths, warnings: (r.warnings as string[]) ?? [], runs: [],
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
    return { ok: true, model: kind.command === 'scan' ? fromScan(name, r) : fromRewrite(name, kind.command, r, reportKind(scan).ok ? scan as Json : null) };
  } catch (error) {
    // A report cut short or edited by hand: say so on the page, not only in the console.
    return { ok: false, name, why: `a ${kind.command} report the page cannot read: ${(error as Error).message}` };
  }
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
    paths: new Map(), warnings: [], runs,
    counts: [{ title: 'Runs', rows: tally(runs.map((r) => r.benchmark)) }],
  };
}

// What plan, bind, unbind and verify tell a person (text) and a program (JSON, docs/report-json.md).
import type { Plan } from '../pipeline/plan.js';
import type { RunReport } from '../pipeline/run.js';
import type { FileOutcome } from '../transform/file-operations.js';
import type { Layer } from '../catalog/layer.js';
import type { SyncSummary } from '../living/sync.js';
import { reportHeader } from './report-header.js';
import { layerSummary } from './layer-summary.js';
import { printable as p } from '../names/path-bytes.js';

function passedThrough(plan: Plan) {
  const c = plan.scan.counts;
  const clients = plan.clients.length;
  return { elfWithoutReservation: c.elf - clients, otherFiles: c.other, unreadable: c.errors };
}

function withoutDigests(o: FileOutcome): FileOutcome {
  if (!('digests' in o)) return o;
  const { digests, ...reported } = o;
  void digests;
  return reported;
}

export function reportJson(plan: Plan, outcomes: FileOutcome[] | null, command: string, warnings: readonly string[] = [], sync?: SyncSummary) {
  // A container image's lower layers may hold copies of a path that an upper layer replaced or
  // whited out: the last outcome of a path is the merged view's (layers come bottom to top).
  // A bound file's digests are for the image's state (living/), not the report.
  const reported = (outcomes ?? []).map(withoutDigests);
  const byPath = new Map(reported.map((o) => [o.path, o]));
  const shown = new Set(plan.clients.map((c) => byPath.get(c.path)).filter((o) => o !== undefined));
  const hidden = reported.filter((o) => !shown.has(o));
  return {
    ...reportHeader(command),
    image: plan.image,
    kernel: plan.kernelText,
    catalog: plan.catalog.map(layerSummary),
    clients: plan.clients.map((c) => ({
      path: c.path,
      abi: c.abi,
      machine: c.machineName,
      wasBound: c.bound,
      layer: c.layer === null ? null : { name: plan.catalog[c.layer]!.name, revision: plan.catalog[c.layer]!.revision, path: plan.catalog[c.layer]!.path },
      ...(c.error ? { error: c.error } : {}),
      ...(c.selection ? { selection: c.selection } : {}),
      ...(byPath.has(c.path) ? { outcome: byPath.get(c.path) } : {}),
    })),
    ...(hidden.length > 0 ? { hiddenOutcomes: hidden } : {}),
    programs: plan.programs,
    passedThrough: passedThrough(plan),
    warnings,
    ...(sync ? { sync } : {}),
  };
}

function countBy<T>(items: T[], key: (t: T) => string): Map<string, number> {
  const m = new Map<string, number>();
  for (const i of items) m.set(key(i), (m.get(key(i)) ?? 0) + 1);
  return m;
}

export function formatPlan(plan: Plan, atMost: number | null = null): string {
  const out: string[] = [];
  const ok = plan.clients.filter((c) => c.layer !== null);
  out.push(`plan for ${plan.image}, kernel ${plan.kernelText}: ${plan.clients.length} syslayer clients, ${ok.length} bindable, ${plan.clients.length - ok.length} not`);
  for (const [layer, n] of countBy(ok, (c) => `${plan.catalog[c.layer!]!.name} revision ${plan.catalog[c.layer!]!.revision}, ABI ${c.abi}`)) out.push(`  would bind ${n} with ${layer}`);
  const failures = plan.clients.filter((c) => c.layer === null).map((c) => ({ path: c.path, status: 'error' as const, error: c.error! }));
  return [...out, ...common(plan, failures, (o) => o.layer, atMost)].join('\n');
}

type ObjectLayer = Plan['programs'][number]['objects'][number];

/**
 * The first `atMost` lines of a list (all of them for null), and a line saying how many more
 * there are: a person at a terminal gets a summary, the JSON report has every item.
 */
function listed<T>(items: readonly T[], atMost: number | null, line: (item: T) => string): string[] {
  const shown = atMost === null ? items : items.slice(0, atMost);
  const lines = shown.map((item) => `  ${line(item)}`);
  if (shown.length < items.length) lines.push(`  … and ${items.length - shown.length} more (--json lists them all)`);
  return lines;
}

/** `layerOf` names each object's layer: the selection for plan and bind, the recorded one after. */
function common(plan: Plan, failures: FileOutcome[], layerOf: (o: ObjectLayer) => string | null | undefined, atMost: number | null): string[] {
  const out: string[] = [];
  const mixed = plan.programs.filter((p) => p.mixed);
  if (mixed.length > 0) {
    out.push(`programs whose closure mixes ABI versions: ${mixed.length}`);
    out.push(...listed(mixed, atMost, (m) => `${p(m.path)}: ${m.objects.map((o) => `${p(o.path)} (ABI ${o.abi}, ${layerOf(o) ?? 'no layer'})`).join(', ')}`));
  }
  if (failures.length > 0) {
    out.push(`not done: ${failures.length}`);
    out.push(...listed(failures, atMost, (f) => `${p(f.path)}${f.imageLayer ? ` (image layer ${f.imageLayer})` : ''}: ${f.status === 'error' ? f.error : f.status}`));
  }
  const t = passedThrough(plan);
  out.push(`passed through: ${t.elfWithoutReservation} ELF files without a reservation, ${t.otherFiles} other files${t.unreadable ? `, ${t.unreadable} unreadable (see scan)` : ''}`);
  return out;
}

/** sync's first line: what it looked at, skipped, bound and refused. */
function syncLine(plan: Plan, s: SyncSummary): string {
  const how = s.full ? `all ${s.files} files read (${s.why})` : `${s.examined} of ${s.files} files read`;
  return `sync ${plan.image}, kernel ${plan.kernelText}: ${how}, ${s.skipped} skipped (unchanged${s.confirmed ? `, ${s.confirmed} confirmed by their sha256` : ''}), ` +
    `${s.bound} bound, ${s.unchanged} already bound, ${s.refused} refused`;
}

export function formatRewrite(r: Pick<RunReport, 'command' | 'plan' | 'outcomes' | 'sync'>, atMost: number | null = null): string {
  const { plan, outcomes } = r;
  const out: string[] = [];
  const byStatus = countBy(outcomes, (o) => o.status);
  const statuses = [...byStatus].map(([s, n]) => `${n} ${s}`).join(', ') || 'nothing to do';
  if (r.sync) out.push(syncLine(plan, r.sync));
  else out.push(`${r.command} ${plan.image}${r.command === 'bind' ? `, kernel ${plan.kernelText}` : ''}: ${statuses}`);
  const handled = outcomes.filter((o) => o.status !== 'error' && 'layer' in o && o.layer);
  for (const [k, n] of countBy(handled, (o) => `${(o as { layer: string }).layer}, ABI ${(o as { abi: number }).abi}`)) out.push(`  ${n} × ${k}`);
  const done = new Map(outcomes.map((o) => [o.path, 'layer' in o ? o.layer : undefined]));
  const layerOf = (o: ObjectLayer) => (r.command === 'bind' || r.command === 'sync' ? o.layer : done.get(o.path));
  return [...out, ...common(plan, outcomes.filter((o) => o.status === 'error'), layerOf, atMost)].join('\n');
}

export function formatLayers(catalog: Layer[]): string {
  if (catalog.length === 0) return 'no layer objects found';
  const rows = catalog.map((l) => {
    const s = layerSummary(l);
    const slots = Object.entries(s.slots).map(([abi, n]) => `ABI ${abi}: ${n} slots`).join(', ');
    const errors = Object.entries(s.linkErrors).map(([abi, e]) => `ABI ${abi} does not link: ${e}`).join('; ');
    return `${s.name.padEnd(14)} r${s.revision}  ${s.machine.padEnd(8)} ABI ${s.abiMin}..${s.abiMax}  kernel >= ${s.kernelMin.padEnd(8)} ${slots}${errors ? `  ${errors}` : ''}  ${p(s.path)}`;
  });
  return rows.join('\n');
}

// One plan for the images of a multi-platform container image: each platform's plan (its own
// merged view, catalog and closures) with its paths prefixed by the platform (`linux/arm64:usr/bin/x`),
// its catalog appended to one list. One image's plan is returned as it is.
import type { FileRecord } from '../classify/scan-directory.js';
import type { Plan } from './plan.js';
import type { SelectionDetail } from '../catalog/select.js';

function prefixRecord(f: FileRecord, at: (path: string) => string): FileRecord {
  if ('error' in f || !('closure' in f) || f.closure === null) return { ...f, path: at(f.path) };
  const c = f.closure;
  return {
    ...f,
    path: at(f.path),
    closure: { ...c, interpreter: c.interpreter === null ? null : at(c.interpreter), resolved: c.resolved.map((r) => ({ ...r, path: at(r.path), neededBy: at(r.neededBy) })),
      missing: c.missing.map((m) => ({ ...m, neededBy: at(m.neededBy) })) },
  };
}

/** A platform's selection, its catalog indices moved to where that catalog sits in the combined one. */
function shiftSelection(s: SelectionDetail, offset: number): SelectionDetail {
  return { layer: s.layer === null ? null : s.layer + offset, candidates: s.candidates.map((i) => i + offset), excluded: s.excluded.map((x) => ({ ...x, layer: x.layer + offset })) };
}

export function combinePlans(image: string, plans: { platform: string; plan: Plan }[]): Plan {
  if (plans.length === 1) return plans[0]!.plan;
  const first = plans[0]!.plan;
  const combined: Plan = { ...first, image, catalog: [], clients: [], programs: [],
    scan: { image, files: [], counts: { files: 0, elf: 0, other: 0, errors: 0, directories: 0, symlinks: 0, special: 0 }, ldSoConf: [] } };
  for (const { platform, plan } of plans) {
    const at = (path: string) => `${platform}:${path}`;
    const offset = combined.catalog.length;
    combined.catalog.push(...plan.catalog);
    combined.clients.push(...plan.clients.map((c) => ({ ...c, path: at(c.path), layer: c.layer === null ? null : c.layer + offset,
      ...(c.selection ? { selection: shiftSelection(c.selection, offset) } : {}) })));
    combined.programs.push(...plan.programs.map((p) => ({ ...p, path: at(p.path), objects: p.objects.map((o) => ({ ...o, path: at(o.path) })) })));
    combined.scan.files.push(...plan.scan.files.map((f) => prefixRecord(f, at)));
    for (const k of Object.keys(combined.scan.counts) as (keyof Plan['scan']['counts'])[]) combined.scan.counts[k] += plan.scan.counts[k];
  }
  return combined;
}

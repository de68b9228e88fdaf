// The selection rule (DESIGN §3), per object: candidates share the object's machine, class and
// byte order, serve its ABI version (abi_min <= abi <= abi_max) and need no newer kernel than the
// target (kernel_min <= V). The highest kernel_min wins, then the highest revision; a tie is an
// ambiguity; no candidate is an error that lists what the catalog has for the machine.
//
// `consider` applies the filters and the ordering once; `selectLayer` (what binds) and
// `explainSelection` (what the JSON report says of each client, and the report page shows) both
// read its answer, so the page never replays the rule.
import { describeLayer, type Layer } from './layer.js';
import { formatKernelVersion } from './kernel-version.js';

export interface ObjectToBind {
  machine: number;
  machineName: string;
  class: 32 | 64;
  endian: 'little' | 'big';
  abi: number;
}

export type Selection = { ok: true; layer: Layer } | { ok: false; reason: string };

/** Why a catalog layer is not a candidate: the first filter of the rule it fails, in the rule's order. */
export type Exclusion = 'machine' | 'class' | 'byteOrder' | 'abi' | 'kernel';

/** The rule's filters and ordering applied to a catalog, by index into it. */
export interface Considered {
  /** Layers that pass every filter, best first (highest kernel_min, then highest revision). */
  candidates: number[];
  /** Every other layer, in catalog order, with the first filter it fails. */
  excluded: { layer: number; reason: Exclusion }[];
}

function exclusion(l: Layer, o: ObjectToBind, kernel: number): Exclusion | null {
  if (l.machine !== o.machine) return 'machine';
  if (l.class !== o.class) return 'class';
  if (l.endian !== o.endian) return 'byteOrder';
  if (l.abiMin > o.abi || o.abi > l.abiMax) return 'abi';
  if (l.kernelMin > kernel) return 'kernel';
  return null;
}

export function consider(catalog: readonly Layer[], o: ObjectToBind, kernel: number): Considered {
  const candidates: number[] = [];
  const excluded: Considered['excluded'] = [];
  catalog.forEach((l, i) => {
    const reason = exclusion(l, o, kernel);
    if (reason === null) candidates.push(i);
    else excluded.push({ layer: i, reason });
  });
  candidates.sort((a, b) => catalog[b]!.kernelMin - catalog[a]!.kernelMin || catalog[b]!.revision - catalog[a]!.revision);
  return { candidates, excluded };
}

/** The rule's verdict once the candidates are known. */
function choose(catalog: readonly Layer[], o: ObjectToBind, kernel: number, { candidates, excluded }: Considered): Selection {
  if (candidates.length === 0) {
    const sameMachine = excluded.filter((x) => x.reason === 'abi' || x.reason === 'kernel').map((x) => catalog[x.layer]!);
    const has = sameMachine.length === 0 ? 'none' : sameMachine.map(describeLayer).join('; ');
    return { ok: false, reason: `no layer serves ABI ${o.abi} on ${o.machineName} for kernel ${formatKernelVersion(kernel)}; the catalog has for ${o.machineName}: ${has}` };
  }
  const best = catalog[candidates[0]!]!;
  const next = candidates.length > 1 ? catalog[candidates[1]!]! : undefined;
  if (next && next.kernelMin === best.kernelMin && next.revision === best.revision) {
    return { ok: false, reason: `ambiguous: ${describeLayer(best)} and ${describeLayer(next)} are equal candidates; keep one (an image's own usr/lib/syslayer/layers/ is always searched: --layers need not name its layers again)` };
  }
  const linkError = best.linkErrors.get(o.abi);
  if (linkError !== undefined) return { ok: false, reason: `layer ${describeLayer(best)} does not link for ABI ${o.abi}: ${linkError}` };
  if (!best.images.has(o.abi)) return { ok: false, reason: `ABI ${o.abi} has no slot table in data/abi.json` };
  return { ok: true, layer: best };
}

export function selectLayer(catalog: readonly Layer[], o: ObjectToBind, kernel: number): Selection {
  return choose(catalog, o, kernel, consider(catalog, o, kernel));
}

/** The selection's inputs and outcome for one object, as the JSON report carries them (docs/report-json.md). */
export interface SelectionDetail extends Considered {
  /** The chosen layer's index, or null when the rule refuses (the client's `error` says why). */
  layer: number | null;
}

/** selectLayer's verdict with the inputs it weighed, from one pass of the rule. */
export function selectExplained(catalog: readonly Layer[], o: ObjectToBind, kernel: number): { selected: Selection; detail: SelectionDetail } {
  const considered = consider(catalog, o, kernel);
  const selected = choose(catalog, o, kernel, considered);
  return { selected, detail: { layer: selected.ok ? catalog.indexOf(selected.layer) : null, ...considered } };
}

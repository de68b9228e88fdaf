// The one decision of the pipeline (DESIGN §9): what happens to an ELF object, from its facts, the
// catalog and the target kernel. `plan` and every source (a directory's scan, a tar entry in a
// worker) call this and nothing else, so a refusal is worded once and a directory and the same
// image as a tarball get the same answers.
import type { ElfFacts } from '../core/facts.js';
import type { Layer } from '../catalog/layer.js';
import { selectExplained, type SelectionDetail } from '../catalog/select.js';

export type Decision =
  /** Bind with `catalog[layer]`; `selection` is what the rule weighed (for the report). */
  | { action: 'bind'; layer: number; selection: SelectionDetail }
  /** A syslayer client that cannot be bound; `reason` says why, `selection` is present when the rule refused. */
  | { action: 'refuse'; reason: string; selection?: SelectionDetail }
  /** A client, but no kernel to select for (unbind, verify against each record's kernel). */
  | { action: 'keep' }
  /** Not a syslayer client: it passes through untouched. */
  | { action: 'pass' };

const PASS: Decision = Object.freeze({ action: 'pass' });
const KEEP: Decision = Object.freeze({ action: 'keep' });

/**
 * A syslayer client: an object with a `.syslayer` reservation or an NT_SYSLAYER_ABI note. A layer
 * object (ET_REL with NT_SYSLAYER_LAYER) is catalog input, never a client.
 */
export function isClient(f: ElfFacts): boolean {
  const s = f.syslayer;
  if (s === null || s.layer !== null) return false;
  return s.reservation !== null || s.abi !== null;
}

/** The decision for one object; `kernel` is the target version, or null when none is chosen. */
export function decide(f: ElfFacts, catalog: readonly Layer[], kernel: number | null): Decision {
  if (!isClient(f)) return PASS;
  const s = f.syslayer!;
  if (s.abi === null) return { action: 'refuse', reason: 'no NT_SYSLAYER_ABI note: the ABI version is unknown' };
  if (s.reservation === null) return { action: 'refuse', reason: 'no .syslayer reservation' };
  if (s.refusal) return { action: 'refuse', reason: s.refusal };
  if (kernel === null) return KEEP;
  const { selected, detail } = selectExplained(catalog, { machine: f.machine, machineName: f.machineName, class: f.class, endian: f.endian, abi: s.abi }, kernel);
  return selected.ok ? { action: 'bind', layer: detail.layer!, selection: detail } : { action: 'refuse', reason: selected.reason, selection: detail };
}

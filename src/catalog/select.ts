// The selection rule (DESIGN §3), per object: candidates share the object's machine, class and
// byte order, serve its ABI version (abi_min <= abi <= abi_max) and need no newer kernel than the
// target (kernel_min <= V). The highest kernel_min wins, then the highest revision; a tie is an
// ambiguity; no candidate is an error that lists what the catalog has for the machine.
import { describeLayer, type Layer } from './catalog.js';
import { formatKernelVersion } from './kernel-version.js';

export interface ObjectToBind {
  machine: number;
  machineName: string;
  class: 32 | 64;
  endian: 'little' | 'big';
  abi: number;
}

export type Selection = { ok: true; layer: Layer } | { ok: false; reason: string };

export function selectLayer(catalog: readonly Layer[], o: ObjectToBind, kernel: number): Selection {
  const sameMachine = catalog.filter((l) => l.machine === o.machine && l.class === o.class && l.endian === o.endian);
  const candidates = sameMachine.filter((l) => l.abiMin <= o.abi && o.abi <= l.abiMax && l.kernelMin <= kernel);
  if (candidates.length === 0) {
    const has = sameMachine.length === 0 ? 'none' : sameMachine.map(describeLayer).join('; ');
    return { ok: false, reason: `no layer serves ABI ${o.abi} on ${o.machineName} for kernel ${formatKernelVersion(kernel)}; the catalog has for ${o.machineName}: ${has}` };
  }
  candidates.sort((a, b) => b.kernelMin - a.kernelMin || b.revision - a.revision);
  const [best, next] = candidates;
  if (next && next.kernelMin === best!.kernelMin && next.revision === best!.revision) {
    return { ok: false, reason: `ambiguous: ${describeLayer(best!)} and ${describeLayer(next)} are equal candidates; keep one (an image's own usr/lib/syslayer/layers/ is always searched: --layers need not name its layers again)` };
  }
  const linkError = best!.linkErrors.get(o.abi);
  if (linkError !== undefined) return { ok: false, reason: `layer ${describeLayer(best!)} does not link for ABI ${o.abi}: ${linkError}` };
  if (!best!.images.has(o.abi)) return { ok: false, reason: `ABI ${o.abi} has no slot table in data/abi.json` };
  return { ok: true, layer: best! };
}

// Compares our linked image with an oracle linker's, byte for byte. A difference is allowed only
// inside the bytes of a relocation listed in ALLOWED (tests/link-oracle/allowed.ts); anything
// else is reported with objdump of both images around it.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TOOLS, run, type ArchName, type LinkerName } from './tools.js';
import type { Relocation } from './readelf.js';
import type { AllowedDifference } from './allowed.js';

const X86_GOT = new Set(['R_X86_64_GOTPCREL', 'R_X86_64_GOTPCRELX', 'R_X86_64_REX_GOTPCRELX']);

/** Bytes a relocation may change, relative to r_offset: a GOT relaxation also rewrites the opcode. */
export function touchedRange(type: string): [number, number] {
  if (X86_GOT.has(type)) return [-2, 4];
  if (type === 'R_X86_64_PC64' || type === 'R_AARCH64_PREL64') return [0, 8];
  return [0, 4];
}

export interface Comparison {
  arch: ArchName;
  linker: LinkerName;
  /** Name of the layer, for messages ("fixture", "sdk/.../linux-3.2.o ABI 2", "generated 7"). */
  layer: string;
  generated: boolean;
  ours: Uint8Array;
  theirs: Uint8Array;
  placement: Map<string, number>;
  relocations: Relocation[];
  allowed: readonly AllowedDifference[];
  dir: string;
}

export interface Verdict {
  failures: string[];
  /** The allowed entries that matched a difference, so a stale table entry can be caught. */
  used: Set<AllowedDifference>;
  /** Image offsets of every byte some relocation touches (each compared). */
  touchedBytes: number;
}

function disassemble(arch: ArchName, bytes: Uint8Array, file: string, at: number): string {
  writeFileSync(file, bytes);
  const start = Math.max(0, (at & ~3) - 24);
  return run(TOOLS[arch].objdump, [
    '-D', '-b', 'binary', '-m', TOOLS[arch].bfdArch, `--start-address=${start}`, `--stop-address=${Math.min(bytes.length, (at & ~3) + 24)}`, file,
  ]).split('\n').filter((l) => /^\s+[0-9a-f]+:/.test(l)).join('\n');
}

export function compareImages(c: Comparison): Verdict {
  const failures: string[] = [];
  const used = new Set<AllowedDifference>();
  if (c.ours.length !== c.theirs.length) {
    failures.push(`${c.layer}: our image is ${c.ours.length} bytes, ${c.linker}'s is ${c.theirs.length}`);
  }
  // Which relocation (if any) owns each image byte.
  const owner = new Map<number, Relocation>();
  for (const r of c.relocations) {
    const at = c.placement.get(r.section);
    if (at === undefined) continue; // relocates a section that is not linked (debug info, notes)
    const [from, to] = touchedRange(r.type);
    for (let i = from; i < to; i++) owner.set(at + r.offset + i, r);
  }
  const n = Math.min(c.ours.length, c.theirs.length);
  let reported = 0;
  const places = new Set<string>();
  for (let i = 0; i < n; i++) {
    if (c.ours[i] === c.theirs[i]) continue;
    const r = owner.get(i);
    const rule = r && c.allowed.find((a) => a.arch === c.arch && a.linker === c.linker && a.type === r.type &&
      (a.where === 'generated' ? c.generated : !c.generated && a.where.section === r.section && a.where.offset === r.offset));
    if (rule) {
      used.add(rule);
      continue;
    }
    places.add(r ? `${r.type} at ${r.section}+0x${r.offset.toString(16)}` : `0x${i.toString(16)}`);
    if (reported++ >= 3) continue; // the first few, with disassembly, say enough
    const what = r ? `the bytes of ${r.type} at ${r.section}+0x${r.offset.toString(16)} (${r.target})` : 'bytes no relocation touches';
    failures.push(
      `${c.layer}: image offset 0x${i.toString(16)} is 0x${c.ours[i].toString(16)} in ours, 0x${c.theirs[i].toString(16)} with ${c.linker}: ${what}\n` +
      `ours:\n${disassemble(c.arch, c.ours, join(c.dir, 'ours.bin'), i)}\n${c.linker}:\n${disassemble(c.arch, c.theirs, join(c.dir, 'theirs.bin'), i)}`,
    );
  }
  if (reported > 3) failures.push(`${c.layer}: ${reported - 3} more differing bytes with ${c.linker}`);
  if (places.size > 0) failures.push(`${c.layer}: every place that differs with ${c.linker}: ${[...places].join(', ')}`);
  return { failures, used, touchedBytes: owner.size };
}

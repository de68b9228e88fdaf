// What the oracle knows about an object or a linked output, read with readelf (never with our
// own parser): sections, relocations, defined global symbols, the layer note.
import { run } from './tools.js';

export interface Section {
  index: number;
  name: string;
  type: string;
  flags: string;
  address: bigint;
  /** sh_offset: where a linked output's section bytes are in its file. */
  offset: number;
  size: number;
  align: number;
}

export interface Relocation {
  /** The relocated section's name (from `.rela<name>`). */
  section: string;
  offset: number;
  type: string;
  /** readelf's "symbol + addend" text, for messages. */
  target: string;
}

/** `readelf -SW`: every section header, in index order. */
export function readSections(file: string): Section[] {
  return parseSections(run('readelf', ['-SW', file]));
}

export function parseSections(readelfOutput: string): Section[] {
  const out: Section[] = [];
  for (const line of readelfOutput.split('\n')) {
    const m = /^\s*\[\s*(\d+)\]\s+(\S*)\s+(\S+)\s+([0-9a-f]{16})\s+([0-9a-f]+)\s+([0-9a-f]+)\s+([0-9a-f]+)\s+(\S*)\s+(\d+)\s+(\d+)\s+(\d+)\s*$/.exec(line);
    if (!m) continue;
    if (m[1] === '0') continue;
    out.push({
      index: Number(m[1]), name: m[2], type: m[3], address: BigInt(`0x${m[4]}`), offset: parseInt(m[5], 16), size: parseInt(m[6], 16),
      flags: m[8], align: Number(m[11]),
    });
  }
  return out;
}

/** The sections our linker puts in the image (docs/abi.md): allocated, non-empty PROGBITS. */
export function linkedSections(sections: Section[]): Section[] {
  return sections.filter((s) => s.type === 'PROGBITS' && s.flags.includes('A') && s.size > 0);
}

const relocationsRead = new Map<string, Relocation[]>();

/** `readelf -rW`: every relocation, with the section it relocates (read once per file). */
export function readRelocations(file: string): Relocation[] {
  if (!relocationsRead.has(file)) relocationsRead.set(file, readRelocationsOnce(file));
  return relocationsRead.get(file)!;
}

function readRelocationsOnce(file: string): Relocation[] {
  const out: Relocation[] = [];
  let section = '';
  for (const line of run('readelf', ['-rW', file]).split('\n')) {
    const head = /^Relocation section '\.rela(\S+)'/.exec(line);
    if (head) {
      section = head[1];
      continue;
    }
    const m = /^([0-9a-f]{16})\s+[0-9a-f]{16}\s+(R_\S+)\s+(.*)$/.exec(line);
    if (m) out.push({ section, offset: parseInt(m[1], 16), type: m[2], target: m[3].replace(/^[0-9a-f]{16}\s+/, '').trim() });
  }
  return out;
}

/** `readelf -sW`: names of the defined GLOBAL or WEAK symbols (the candidates for slots). */
export function definedGlobals(file: string): Set<string> {
  const out = new Set<string>();
  for (const line of run('readelf', ['-sW', file]).split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f.length < 8 || !/^\d+:$/.test(f[0])) continue;
    if ((f[4] === 'GLOBAL' || f[4] === 'WEAK') && f[6] !== 'UND') out.add(f[7]);
  }
  return out;
}

/** abi_min and abi_max of the NT_SYSLAYER_LAYER note, from `readelf -n`'s description bytes. */
export function layerAbiRange(file: string): { min: number; max: number } {
  const m = /syslayer\s+0x[0-9a-f]+\s+.*description data: ((?:[0-9a-f]{2} )+)/.exec(run('readelf', ['-nW', file]));
  if (!m) throw new Error(`${file}: readelf -n shows no syslayer note`);
  const b = Buffer.from(m[1].trim().split(' ').map((h) => parseInt(h, 16)));
  return { min: b.readUInt32LE(0), max: b.readUInt32LE(4) };
}

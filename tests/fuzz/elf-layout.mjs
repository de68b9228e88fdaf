// Where every field the fuzzer mutates lives in a file, as `readelf -W` reports it: section and
// program header tables, symbol and relocation tables, notes and the dynamic section. readelf is
// the oracle here (as in tests/corrupt/mutations.ts), not syslayer's own parser, so a parser bug
// cannot hide the field it misreads. Offsets inside each structure are the gABI's for ELF64; every
// input (the SDK's x86-64 and AArch64 clients and layers) is ELF64 little-endian.
import { execFileSync } from 'node:child_process';

/** @typedef {{ index: number, name: string, type: string, addr: number, offset: number, size: number, entsize: number, header: number }} Section */
/** @typedef {{ index: number, type: string, offset: number, vaddr: number, filesz: number, memsz: number, header: number, sections: string[] }} Segment */

const hex = (s) => parseInt(s, 16);

/**
 * The layout of the ELF file at `path`: header fields, sections (with where each one's header
 * is), segments (with the sections each maps), the dynamic section and relocation tables.
 */
export function elfLayout(path) {
  const text = execFileSync('readelf', ['-W', '-h', '-S', '-l', '-d', '-r', path], { env: { ...process.env, LC_ALL: 'C' }, maxBuffer: 1 << 26 }).toString();
  const field = (label) => {
    const m = new RegExp(`^\\s*${label}:\\s+(\\S+)`, 'm').exec(text);
    if (!m) throw new Error(`readelf ${path}: no "${label}"`);
    return Number(m[1]);
  };
  const shoff = field('Start of section headers');
  const shentsize = field('Size of section headers');
  const phoff = field('Start of program headers');
  const phentsize = field('Size of program headers');
  const sections = [...text.matchAll(/^\s*\[\s*(\d+)\]\s+(\S*)\s+(\S+)\s+([0-9a-f]+)\s+([0-9a-f]+)\s+([0-9a-f]+)\s+([0-9a-f]+)/gm)].map((m) => ({
    index: Number(m[1]),
    name: m[2],
    type: m[3],
    addr: hex(m[4]),
    offset: hex(m[5]),
    size: hex(m[6]),
    entsize: hex(m[7]),
    header: shoff + Number(m[1]) * shentsize,
  }));
  const phRows = [...text.matchAll(/^\s+([A-Z_]+|LOOS\+0x[0-9a-f]+|0x[0-9a-f]+)\s+0x([0-9a-f]+)\s+0x([0-9a-f]+)\s+0x[0-9a-f]+\s+0x([0-9a-f]+)\s+0x([0-9a-f]+)\s/gm)];
  const mapping = [...text.matchAll(/^[ \t]+(\d\d)[ \t]*(.*)$/gm)];
  const segments = phRows.map((m, i) => ({
    index: i,
    type: m[1],
    offset: hex(m[2]),
    vaddr: hex(m[3]),
    filesz: hex(m[4]),
    memsz: hex(m[5]),
    header: phoff + i * phentsize,
    sections: (mapping.find((r) => Number(r[1]) === i)?.[2] ?? '').trim().split(/\s+/).filter(Boolean),
  }));
  const dyn = /^Dynamic section at offset 0x([0-9a-f]+) contains (\d+) entries/m.exec(text);
  const dynamic = dyn
    ? [...text.slice(dyn.index).matchAll(/^\s+0x([0-9a-f]+)\s+\((\w+)\)/gm)].slice(0, Number(dyn[2])).map((m, i) => ({ tag: m[2], at: hex(dyn[1]) + 16 * i }))
    : [];
  const relocations = [...text.matchAll(/^Relocation section '([^']+)' at offset 0x([0-9a-f]+) contains (\d+) entr/gm)].map((m) => ({
    section: m[1],
    offset: hex(m[2]),
    count: Number(m[3]),
  }));
  return { shoff, shentsize, phoff, phentsize, sections, segments, dynamic, relocations };
}

/** The symbol table's entries and the notes of a layer object (readelf -s -n). */
export function layerTables(path) {
  const text = execFileSync('readelf', ['-W', '-s', path], { env: { ...process.env, LC_ALL: 'C' } }).toString();
  const symbols = [...text.matchAll(/^\s+(\d+):\s+[0-9a-f]+\s+\d+\s+\w+\s+\w+\s+\w+\s+\S+\s*(\S*)$/gm)].map((m) => ({ index: Number(m[1]), name: m[2] }));
  return { symbols };
}

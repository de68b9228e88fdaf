// Single-field corruptions and truncations of a real ELF file. Where each field lives is taken
// from readelf's own report of the file (header, section and program header tables), not from
// syslayer's parser, and field offsets within the structures are the gABI's.
import { execFileSync } from 'node:child_process';

export interface Mutation {
  name: string;
  bytes: Buffer;
}

interface Layout {
  is64: boolean;
  le: boolean;
  phoff: number;
  phentsize: number;
  phnum: number;
  shoff: number;
  shentsize: number;
  shnum: number;
  sections: { index: number; name: string; type: string; offset: number; size: number }[];
  dynamic: { offset: number; size: number } | null;
}

function layoutOf(path: string): Layout {
  const text = execFileSync('readelf', ['-W', '-h', '-S', '-l', path], { env: { ...process.env, LC_ALL: 'C' } }).toString();
  const field = (label: string): number => {
    const m = new RegExp(`^\\s*${label}:\\s+(\\S+)`, 'm').exec(text);
    return m ? Number(m[1]) : NaN;
  };
  const sections = [...text.matchAll(/^\s*\[\s*(\d+)\]\s+(\S*)\s+(\S+)\s+[0-9a-f]+\s+([0-9a-f]+)\s+([0-9a-f]+)/gm)].map((m) => ({
    index: Number(m[1]),
    name: m[2]!,
    type: m[3]!,
    offset: parseInt(m[4]!, 16),
    size: parseInt(m[5]!, 16),
  }));
  const dyn = /^\s*DYNAMIC\s+0x([0-9a-f]+)\s+\S+\s+\S+\s+0x([0-9a-f]+)/m.exec(text);
  return {
    is64: /Class:\s+ELF64/.test(text),
    le: /little endian/.test(text),
    phoff: field('Start of program headers'),
    phentsize: field('Size of program headers'),
    phnum: field('Number of program headers'),
    shoff: field('Start of section headers'),
    shentsize: field('Size of section headers'),
    shnum: field('Number of section headers'),
    sections,
    dynamic: dyn ? { offset: parseInt(dyn[1]!, 16), size: parseInt(dyn[2]!, 16) } : null,
  };
}

class Writer {
  constructor(private readonly l: Layout, readonly bytes: Buffer) {}
  u16(off: number, v: number) { this.l.le ? this.bytes.writeUInt16LE(v, off) : this.bytes.writeUInt16BE(v, off); }
  u32(off: number, v: number) { this.l.le ? this.bytes.writeUInt32LE(v >>> 0, off) : this.bytes.writeUInt32BE(v >>> 0, off); }
  word(off: number, v: bigint) {
    if (this.l.is64) this.l.le ? this.bytes.writeBigUInt64LE(v, off) : this.bytes.writeBigUInt64BE(v, off);
    else this.u32(off, Number(v & 0xffffffffn));
  }
}

export function mutationsOf(path: string, original: Buffer): Mutation[] {
  const l = layoutOf(path);
  const out: Mutation[] = [];
  const E = l.is64
    ? { phoff: 32, shoff: 40, phentsize: 54, phnum: 56, shnum: 60, shstrndx: 62, sh_offset: 24, sh_size: 32, word: 8 }
    : { phoff: 28, shoff: 32, phentsize: 42, phnum: 44, shnum: 48, shstrndx: 50, sh_offset: 16, sh_size: 20, word: 4 };
  const size = BigInt(original.length);
  const mutate = (name: string, change: (w: Writer) => void) => {
    const w = new Writer(l, Buffer.from(original));
    change(w);
    out.push({ name, bytes: w.bytes });
  };
  const huge = l.is64 ? 0xfffffffffffff000n : 0xfffff000n;

  for (const [label, v] of [['past-eof', size - 8n], ['huge', huge], ['misaligned-end', size - 1n]] as const) {
    mutate(`e_phoff ${label}`, (w) => w.word(E.phoff, v));
    mutate(`e_shoff ${label}`, (w) => w.word(E.shoff, v));
  }
  mutate('e_phnum 0xfffe', (w) => w.u16(E.phnum, 0xfffe));
  mutate('e_phnum PN_XNUM', (w) => w.u16(E.phnum, 0xffff));
  mutate('e_phentsize 1', (w) => w.u16(E.phentsize, 1));
  for (const v of [0, 1, 0xfeff, 0xffff]) mutate(`e_shnum ${v}`, (w) => w.u16(E.shnum, v));
  for (const v of [l.shnum, l.shnum + 5, 0xffff]) mutate(`e_shstrndx ${v}`, (w) => w.u16(E.shstrndx, v));

  for (const s of l.sections.filter((s) => ['.dynamic', '.dynstr', '.shstrtab', '.strtab'].includes(s.name) || s.type === 'NOTE')) {
    const at = l.shoff + s.index * l.shentsize;
    mutate(`${s.name} sh_offset past eof`, (w) => w.word(at + E.sh_offset, size + 16n));
    mutate(`${s.name} sh_offset huge`, (w) => w.word(at + E.sh_offset, huge));
    mutate(`${s.name} sh_size huge`, (w) => w.word(at + E.sh_size, huge));
    mutate(`${s.name} sh_size past eof`, (w) => w.word(at + E.sh_size, size - BigInt(s.offset) + 1n));
    if (s.type === 'NOTE' && s.size >= 12) {
      mutate(`${s.name} namesz huge`, (w) => w.u32(s.offset, 0xfffffff0));
      mutate(`${s.name} descsz huge`, (w) => w.u32(s.offset + 4, 0xfffffff0));
      mutate(`${s.name} descsz +1`, (w) => w.u32(s.offset + 4, s.size));
    }
  }

  if (l.dynamic) {
    const entsize = l.is64 ? 16 : 8;
    // Every entry gets a harmless non-null tag: the table loses its DT_NULL terminator.
    mutate('dynamic without DT_NULL', (w) => {
      for (let p = l.dynamic!.offset; p + entsize <= l.dynamic!.offset + l.dynamic!.size; p += entsize) {
        const tag = l.is64 ? (l.le ? w.bytes.readBigUInt64LE(p) : w.bytes.readBigUInt64BE(p)) : BigInt(l.le ? w.bytes.readUInt32LE(p) : w.bytes.readUInt32BE(p));
        if (tag === 0n) w.word(p, 21n /* DT_DEBUG */);
      }
    });
  }

  // Truncations at every header boundary: the ELF header, each program header, the section
  // header table, and the start of every section.
  const cuts = new Set<number>([0, 4, 16, l.is64 ? 63 : 51, l.is64 ? 64 : 52]);
  for (let i = 0; i <= l.phnum; i++) cuts.add(l.phoff + i * l.phentsize);
  cuts.add(l.shoff);
  cuts.add(l.shoff + l.shentsize);
  for (const s of l.sections) if (s.type !== 'NOBITS') cuts.add(s.offset);
  if (l.dynamic) cuts.add(l.dynamic.offset + 4);
  for (const cut of [...cuts].filter((c) => c < original.length).sort((a, b) => a - b)) {
    out.push({ name: `truncated at ${cut}`, bytes: original.subarray(0, cut) });
  }
  return out;
}

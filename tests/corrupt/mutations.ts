// Single-field corruptions and truncations of a real ELF file. Where each field lives is taken
// from readelf's own report of the file (header, section and program header tables), not from
// syslayer's parser, and field offsets within the structures are the gABI's.
//
// Each mutation also says where an error about it must point (`errorOffset`), by the definition of
// error offsets the core follows (rangeFault in assembly/bytes.ts):
// - a field whose value is wrong in itself or against the fields read before it (an entry size too
//   small, an index past its table, a note's namesz or descsz) is reported at that field;
// - a range (table, section, segment, note) that no file could hold, because it reaches 4 GiB, is
//   reported at its offset field when the start alone lies past the end of its container, else at
//   its size or count field;
// - any other range that runs past the end of its container (the file, or a note region) is
//   reported at that end, where the bytes ran out: that is what a cut file looks like, and a
//   scanner cannot tell a cut file from a wrong offset or count. Truncations are reported at the
//   cut, the new end of the file, for that reason.
// The offsets come from readelf's layout and the gABI, never from syslayer's messages.
import { execFileSync } from 'node:child_process';

export interface Mutation {
  name: string;
  bytes: Buffer;
  /** The file offset an error about this variant must carry, if the scan reports one. */
  errorOffset: number;
}

const RANGE_LIMIT = 2 ** 32;

/** The definition above, for a range [off, off + size) in a container ending at `end`. */
function rangeFault(off: bigint | number, size: bigint | number, end: number, offField: number, sizeField: number): number {
  const o = Number(off);
  const z = Number(size);
  if (o < RANGE_LIMIT && z < RANGE_LIMIT && o + z < RANGE_LIMIT) return end;
  return o > end ? offField : sizeField;
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
  shstrndx: number;
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
    shstrndx: field('Section header string table index'),
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
    ? { phoff: 32, shoff: 40, phentsize: 54, phnum: 56, shentsize: 58, shnum: 60, shstrndx: 62, sh_offset: 24, sh_size: 32, sh_link: 40, word: 8 }
    : { phoff: 28, shoff: 32, phentsize: 42, phnum: 44, shentsize: 46, shnum: 48, shstrndx: 50, sh_offset: 16, sh_size: 20, sh_link: 24, word: 4 };
  const len = original.length;
  const size = BigInt(len);
  const mutate = (name: string, errorOffset: number, change: (w: Writer) => void) => {
    const w = new Writer(l, Buffer.from(original));
    change(w);
    out.push({ name, bytes: w.bytes, errorOffset });
  };
  // A start no file can reach, whatever the size of the range after it.
  const huge = l.is64 ? 0xfffffffffffff000n : 0xfffffff0n;
  const phTable = l.phnum * l.phentsize;

  for (const [label, v] of [['past-eof', size + 8n], ['huge', huge], ['misaligned-end', size - 1n]] as const) {
    mutate(`e_phoff ${label}`, rangeFault(v, phTable, len, E.phoff, E.phnum), (w) => w.word(E.phoff, v));
    // The first section header is checked alone first: it may hold the real count.
    mutate(`e_shoff ${label}`, rangeFault(v, l.shentsize, len, E.shoff, E.shentsize), (w) => w.word(E.shoff, v));
  }
  mutate('e_phnum 0xfffe', rangeFault(l.phoff, 0xfffe * l.phentsize, len, E.phoff, E.phnum), (w) => w.u16(E.phnum, 0xfffe));
  // PN_XNUM sends the reader to section header 0's sh_info for the count; should that fail, the
  // count field is still e_phnum's.
  mutate('e_phnum PN_XNUM', E.phnum, (w) => w.u16(E.phnum, 0xffff));
  mutate('e_phentsize 1', E.phentsize, (w) => w.u16(E.phentsize, 1));
  const section0 = l.sections.find((s) => s.index === 0)!;
  for (const v of [0, 1, 0xfeff, 0xffff]) {
    // e_shnum 0 means the count is section header 0's sh_size.
    const count = v === 0 ? section0.size : v;
    const countField = v === 0 ? l.shoff + E.sh_size : E.shnum;
    const table = count * l.shentsize;
    // A table that fits the file is made of bytes that are not section headers: any check could
    // fail first, so the generator cannot say where; such a variant is not generated.
    if (l.shoff + table <= len && count > l.shstrndx) continue;
    // e_shstrndx is read after the count and checked against it.
    const at = l.shoff + table <= len ? E.shstrndx : rangeFault(l.shoff, table, len, E.shoff, countField);
    mutate(`e_shnum ${v}`, at, (w) => w.u16(E.shnum, v));
  }
  for (const v of [l.shnum, l.shnum + 5]) mutate(`e_shstrndx ${v}`, E.shstrndx, (w) => w.u16(E.shstrndx, v));
  // SHN_XINDEX: the index is section header 0's sh_link.
  mutate('e_shstrndx SHN_XINDEX', l.shoff + E.sh_link, (w) => w.u16(E.shstrndx, 0xffff));

  for (const s of l.sections.filter((s) => ['.dynamic', '.dynstr', '.shstrtab', '.strtab'].includes(s.name) || s.type === 'NOTE')) {
    const at = l.shoff + s.index * l.shentsize;
    const fault = (off: bigint | number, sz: bigint | number) => rangeFault(off, sz, len, at + E.sh_offset, at + E.sh_size);
    mutate(`${s.name} sh_offset past eof`, fault(size + 16n, s.size), (w) => w.word(at + E.sh_offset, size + 16n));
    mutate(`${s.name} sh_offset huge`, fault(huge, s.size), (w) => w.word(at + E.sh_offset, huge));
    mutate(`${s.name} sh_size huge`, fault(s.offset, huge), (w) => w.word(at + E.sh_size, huge));
    const pastEnd = size - BigInt(s.offset) + 1n;
    mutate(`${s.name} sh_size past eof`, fault(s.offset, pastEnd), (w) => w.word(at + E.sh_size, pastEnd));
    if (s.type === 'NOTE' && s.size >= 12) {
      // The first note's namesz and descsz: impossible values point at the field; a descriptor
      // that merely runs past the section is reported at the section's end.
      mutate(`${s.name} namesz huge`, s.offset, (w) => w.u32(s.offset, 0xfffffff0));
      mutate(`${s.name} descsz huge`, s.offset + 4, (w) => w.u32(s.offset + 4, 0xfffffff0));
      mutate(`${s.name} descsz +1`, s.offset + s.size, (w) => w.u32(s.offset + 4, s.size));
    }
  }

  if (l.dynamic) {
    const entsize = l.is64 ? 16 : 8;
    // Every entry gets a harmless non-null tag: the table loses its DT_NULL terminator, and the
    // error points where its entries run out.
    const end = l.dynamic.offset + Math.floor(l.dynamic.size / entsize) * entsize;
    mutate('dynamic without DT_NULL', end, (w) => {
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
    out.push({ name: `truncated at ${cut}`, bytes: original.subarray(0, cut), errorOffset: cut });
  }
  return out;
}

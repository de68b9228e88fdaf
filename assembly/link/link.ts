// Links a layer object (ET_REL) into the image that goes into a client's reservation
// (docs/abi.md, "The linked layer image"): the slot table, then the layer's allocated sections.
// Scan, then write: every check and the whole layout happen before the image is allocated.
import { hex, fileAddress, cstrlen, ld8, ld16, ld32, ld64 } from '../bytes';
import { fail } from '../errors';
import { ElfFile } from '../elf/file';
import { Arch, RELOC_OK, RELOC_UNSUPPORTED, RELOC_OVERFLOW, RELOC_MISALIGNED } from '../arch/arch';
import { x86_64 } from '../arch/x86_64';
import { aarch64 } from '../arch/aarch64';
import {
  ET_REL, SHF_ALLOC, SHF_WRITE, SHF_TLS, SHT_PROGBITS, SHT_NOTE, SHT_SYMTAB, SHT_RELA, SHT_REL,
  SHN_UNDEF, SHN_LORESERVE, SHN_ABS, SHN_COMMON, STB_GLOBAL, STB_WEAK, STT_TLS, STT_SECTION, SHT_name,
} from '../generated/elf';

const SLOT_SIZE: u64 = 16;
const SYM_SIZE: u64 = 24; // Elf64_Sym
const RELA_SIZE: u64 = 24; // Elf64_Rela
const NOT_LINKED: i64 = -1;

const ARCHES: StaticArray<Arch> = [x86_64, aarch64];

export class LinkResult {
  image: usize = 0;
  length: u64 = 0;
  slotCount: u32 = 0;
  implemented: u64 = 0;
}

let imageArea: usize = 0;
let imageCapacity: usize = 0;

function archFor(elf: ElfFile): Arch | null {
  for (let i = 0; i < ARCHES.length; i++) if (ARCHES[i].machine == elf.machine) return ARCHES[i];
  return null;
}

function sectionName(elf: ElfFile, i: u32): string {
  const off = elf.sectionNameOffset(i);
  if (off < 0) return 'section ' + i.toString();
  const len = cstrlen(<u64>off, elf.shOffset(elf.shstrndx) + elf.shSize(elf.shstrndx));
  return String.UTF8.decodeUnsafe(fileAddress(<u64>off), <usize>len);
}

class SymbolTable {
  offset: u64 = 0;
  count: u64 = 0;
  strOffset: u64 = 0;
  strSize: u64 = 0;

  @inline entry(k: u64): u64 { return this.offset + k * SYM_SIZE; }
  nameOffset(k: u64): u32 { return ld32(this.entry(k), true); }
  info(k: u64): u32 { return ld8(this.entry(k) + 4); }
  shndx(k: u64): u32 { return ld16(this.entry(k) + 6, true); }
  value(k: u64): u64 { return ld64(this.entry(k) + 8, true); }

  /** The symbol's name, or '' when it has none or it is malformed (checked in `validate`). */
  name(k: u64): string {
    const off = <u64>this.nameOffset(k);
    if (off >= this.strSize) return '';
    const len = cstrlen(this.strOffset + off, this.strOffset + this.strSize);
    return len < 0 ? '' : String.UTF8.decodeUnsafe(fileAddress(this.strOffset + off), <usize>len);
  }

  /** True when the symbol's name is `text` exactly, compared in place. */
  nameIs(k: u64, text: string): bool {
    const off = <u64>this.nameOffset(k);
    if (off >= this.strSize) return false;
    const start = this.strOffset + off;
    const n = <u64>text.length;
    if (n + 1 > this.strSize - off) return false;
    for (let i: u64 = 0; i < n; i++) {
      if (ld8(start + i) != <u32>text.charCodeAt(<i32>i)) return false;
    }
    return ld8(start + n) == 0;
  }
}

function findSymbols(elf: ElfFile, out: SymbolTable): bool {
  let found = -1;
  for (let i: u32 = 0; i < elf.shnum; i++) {
    if (elf.shType(i) != SHT_SYMTAB) continue;
    if (found >= 0) return fail('more than one symbol table (sections ' + found.toString() + ' and ' + i.toString() + ')', elf.sh(i));
    found = <i32>i;
  }
  if (found < 0) return fail('no symbol table: a layer must define its sl_ functions', 0);
  const s = <u32>found;
  const link = elf.shLink(s);
  if (link >= elf.shnum) return fail('symbol table: sh_link ' + link.toString() + ' is not a section', elf.sh(s) + elf.L.sh_link);
  if (!elf.sectionFits(s) || !elf.sectionFits(link)) return false;
  out.offset = elf.shOffset(s);
  out.count = elf.shSize(s) / SYM_SIZE;
  out.strOffset = elf.shOffset(link);
  out.strSize = elf.shSize(link);
  return true;
}

/** The image offset of each section (NOT_LINKED for those not in the image), and the total size. */
function layout(elf: ElfFile, arch: Arch, slotCount: u32, placed: StaticArray<i64>): i64 {
  let cursor = <u64>slotCount * SLOT_SIZE;
  for (let i: u32 = 1; i < elf.shnum; i++) {
    placed[i] = NOT_LINKED;
    const flags = elf.shFlags(i);
    if ((flags & <u64>SHF_ALLOC) == 0) continue;
    const type = elf.shType(i);
    // Compilers emit empty .data and .bss in every object: only contents can make a layer writable.
    if (type == SHT_NOTE || elf.shSize(i) == 0) continue;
    const where = 'section ' + i.toString() + ' (' + sectionName(elf, i) + ')';
    if ((flags & <u64>SHF_WRITE) != 0) {
      fail(where + ' is writable (SHF_WRITE): a layer must be read-only', elf.sh(i) + elf.L.sh_flags);
      return -1;
    }
    if ((flags & <u64>SHF_TLS) != 0) {
      fail(where + ' is thread-local (SHF_TLS): layers never touch TLS', elf.sh(i) + elf.L.sh_flags);
      return -1;
    }
    if (type != SHT_PROGBITS) {
      fail(where + ' has type ' + SHT_name(type) + ': only SHT_PROGBITS sections can be linked into a reservation',
        elf.sh(i) + elf.L.sh_type);
      return -1;
    }
    if (!elf.sectionFits(i)) return -1;
    const align = elf.shAddralign(i) == 0 ? <u64>1 : elf.shAddralign(i);
    if ((align & (align - 1)) != 0 || align > arch.pageSize) {
      fail(where + ': sh_addralign ' + align.toString() + ' is not a power of two up to the page size', elf.sh(i) + elf.L.sh_addralign);
      return -1;
    }
    cursor = (cursor + align - 1) & ~(align - 1);
    placed[i] = <i64>cursor;
    cursor += elf.shSize(i);
    if (cursor > 0x40000000) {
      fail(where + ': the image would exceed 1 GiB', elf.sh(i) + elf.L.sh_size);
      return -1;
    }
  }
  return <i64>cursor;
}

/** Symbol k's image offset (S), or -1 after recording why it cannot be used. */
function symbolValue(elf: ElfFile, syms: SymbolTable, k: u64, placed: StaticArray<i64>, where: string): i64 {
  if (k == 0) {
    fail(where + ': relocation without a symbol would be absolute', 0);
    return -1;
  }
  const shndx = syms.shndx(k);
  const name = (syms.info(k) & 0xf) == STT_SECTION && shndx < elf.shnum ? sectionName(elf, shndx) : syms.name(k);
  if (shndx == SHN_UNDEF) {
    fail(where + ': symbol ' + name + ' is undefined: a layer must be self-contained', syms.entry(k));
    return -1;
  }
  if (shndx == SHN_ABS) {
    fail(where + ': symbol ' + name + ' is absolute: the image must run at any base', syms.entry(k));
    return -1;
  }
  if (shndx >= SHN_LORESERVE || shndx >= elf.shnum || placed[shndx] == NOT_LINKED) {
    fail(where + ': symbol ' + name + ' is in section ' + shndx.toString() + ', which is not linked into the image', syms.entry(k));
    return -1;
  }
  return placed[shndx] + <i64>syms.value(k);
}

function validateSymbols(elf: ElfFile, syms: SymbolTable): bool {
  for (let k: u64 = 1; k < syms.count; k++) {
    const shndx = syms.shndx(k);
    const type = syms.info(k) & 0xf;
    // gas names _GLOBAL_OFFSET_TABLE_ (undefined) in every x86-64 object that uses foo@GOTPCREL,
    // though no relocation refers to it; one that did would still fail in symbolValue.
    if (shndx == SHN_UNDEF && !syms.nameIs(k, '_GLOBAL_OFFSET_TABLE_')) {
      return fail('symbol ' + syms.name(k) + ' is undefined: a layer must be self-contained', syms.entry(k));
    }
    if (shndx == SHN_COMMON) return fail('symbol ' + syms.name(k) + ' is a common symbol (writable data)', syms.entry(k));
    if (type == STT_TLS) return fail('symbol ' + syms.name(k) + ' is thread-local: layers never touch TLS', syms.entry(k));
  }
  return true;
}

function applyRelocations(elf: ElfFile, arch: Arch, syms: SymbolTable, placed: StaticArray<i64>, image: usize): bool {
  for (let r: u32 = 1; r < elf.shnum; r++) {
    const type = elf.shType(r);
    if (type != SHT_RELA && type != SHT_REL) continue;
    const target = elf.shInfo(r);
    if (target >= elf.shnum || placed[target] == NOT_LINKED) continue; // relocates debug info or notes
    const targetName = sectionName(elf, target);
    if (type == SHT_REL) return fail('section ' + targetName + ' has SHT_REL relocations; layers need SHT_RELA', elf.sh(r));
    if (!elf.sectionFits(r)) return false;
    const base = elf.shOffset(r);
    const count = elf.shSize(r) / RELA_SIZE;
    const sectionStart = image + <usize>placed[target];
    const sectionSize = elf.shSize(target);
    for (let k: u64 = 0; k < count; k++) {
      const e = base + k * RELA_SIZE;
      const offset = ld64(e, true);
      const info = ld64(e + 8, true);
      const addend = <i64>ld64(e + 16, true);
      const symbol = info >> 32;
      const rtype = <u32>(info & 0xffffffff);
      const where = 'section ' + targetName + ' offset ' + hex(offset) + ': ' + arch.relocationName(rtype);
      const width = <u64>arch.relocationWidth(rtype);
      if (width == 0) return fail(where + ' against ' + syms.name(symbol) + ' is not supported in a layer', e + 8);
      if (offset > sectionSize || width > sectionSize - offset) return fail(where + ' is outside its section', e);
      if (symbol >= syms.count) return fail(where + ': symbol index ' + symbol.toString() + ' is past the symbol table', e + 8);
      const S = symbolValue(elf, syms, symbol, placed, where);
      if (S < 0) return false;
      const P = placed[target] + <i64>offset;
      const outcome = arch.relocate(rtype, sectionStart + <usize>offset, sectionStart, P, S, addend);
      if (outcome == RELOC_OK) continue;
      const against = ' against ' + ((syms.info(symbol) & 0xf) == STT_SECTION ? targetOf(elf, syms, symbol) : syms.name(symbol));
      if (outcome == RELOC_OVERFLOW) return fail(where + against + ': value ' + hex(<u64>(S + addend - P)) + ' is out of range', e);
      if (outcome == RELOC_MISALIGNED) return fail(where + against + ': value ' + hex(<u64>(S + addend - P)) + ' is misaligned for the instruction', e);
      if (outcome == RELOC_UNSUPPORTED) return fail(where + against + ' is not supported in a layer', e + 8);
      return fail(where + against + ': the instruction cannot be relaxed to reach the symbol directly', e);
    }
  }
  return true;
}

function targetOf(elf: ElfFile, syms: SymbolTable, k: u64): string {
  const shndx = syms.shndx(k);
  return shndx < elf.shnum ? sectionName(elf, shndx) : 'section ' + shndx.toString();
}

/** Slot table: a branch to sl_<name> for each slot the layer defines, -ENOSYS otherwise. */
function writeSlots(elf: ElfFile, arch: Arch, syms: SymbolTable, placed: StaticArray<i64>, image: usize, slotNames: Array<string>, out: LinkResult): bool {
  for (let i = 0; i < slotNames.length; i++) {
    const slot = image + <usize>i * <usize>SLOT_SIZE;
    const from = <i64>i * <i64>SLOT_SIZE;
    arch.fillSlot(slot);
    const wanted = 'sl_' + slotNames[i];
    let target: i64 = -1;
    for (let k: u64 = 1; k < syms.count; k++) {
      const bind = syms.info(k) >> 4;
      if (bind != STB_GLOBAL && bind != STB_WEAK) continue;
      if (!syms.nameIs(k, wanted)) continue;
      target = symbolValue(elf, syms, k, placed, 'slot ' + i.toString() + ' (' + wanted + ')');
      if (target < 0) return false;
      break;
    }
    if (target < 0) {
      arch.writeSlotEnosys(slot);
      continue;
    }
    if (!arch.writeSlotBranch(slot, from, target)) return fail('slot ' + i.toString() + ': ' + wanted + ' is out of branch range', 0);
    if (i < 64) out.implemented |= (<u64>1) << <u64>i;
  }
  return true;
}

export function linkLayer(elf: ElfFile, slotNames: Array<string>, out: LinkResult): bool {
  if (!elf.open()) return false;
  if (elf.elfClass != 64 || !elf.le) return fail('layers are ELF64 little-endian objects', 4);
  if (elf.type != ET_REL) return fail('e_type ' + elf.type.toString() + ' is not ET_REL: a layer is a relocatable object', 16);
  const arch = archFor(elf);
  if (arch == null) return fail('machine ' + elf.machine.toString() + ' has no layer support (x86-64 and AArch64 do)', 18);
  if (elf.shstrndx == 0) return fail('no section name table', 0);
  const syms = new SymbolTable();
  if (!findSymbols(elf, syms) || !validateSymbols(elf, syms)) return false;
  const placed = new StaticArray<i64>(<i32>elf.shnum);
  const size = layout(elf, arch, <u32>slotNames.length, placed);
  if (size < 0) return false;

  if (<usize>size > imageCapacity) {
    if (imageArea != 0) heap.free(imageArea);
    imageArea = heap.alloc(<usize>size);
    imageCapacity = <usize>size;
  }
  const image = imageArea;
  memory.fill(image, 0, <usize>size);
  for (let i: u32 = 1; i < elf.shnum; i++) {
    if (placed[i] == NOT_LINKED) continue;
    memory.copy(image + <usize>placed[i], fileAddress(elf.shOffset(i)), <usize>elf.shSize(i));
  }
  if (!applyRelocations(elf, arch, syms, placed, image)) return false;
  out.implemented = 0;
  if (!writeSlots(elf, arch, syms, placed, image, slotNames, out)) return false;
  out.image = image;
  out.length = <u64>size;
  out.slotCount = <u32>slotNames.length;
  return true;
}

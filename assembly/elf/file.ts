// The ELF header, program headers and section headers of the file in memory, validated once in
// `open` so that every later accessor can load without re-checking: after `open` succeeds, every
// program header and section header lies inside the file. Section *contents* are not checked
// here; `sectionFits` does that for the sections a caller actually uses.
import { fits, rangeFault, ld8, ld16, ld32, ld64, st32, st64, hex, fileLength, cstrlen } from '../bytes';
import { fail } from '../errors';
import { ElfLayout, LAYOUT32, LAYOUT64 } from './layout';
import {
  ELFCLASS32, ELFCLASS64, ELFDATA2LSB, ELFDATA2MSB, PN_XNUM, PT_LOAD, SHN_XINDEX, SHN_UNDEF, SHT_NOBITS,
} from '../generated/elf';

const EI_CLASS: u64 = 4;
const EI_DATA: u64 = 5;
const EI_OSABI: u64 = 7;
const EI_ABIVERSION: u64 = 8;

export class ElfFile {
  L: ElfLayout = LAYOUT64;
  le: bool = true;
  is64: bool = true;
  elfClass: u32 = 0;
  data: u32 = 0;
  osabi: u32 = 0;
  abiVersion: u32 = 0;
  type: u32 = 0;
  machine: u32 = 0;
  flags: u32 = 0;
  entry: u64 = 0;
  phoff: u64 = 0;
  phentsize: u32 = 0;
  phnum: u32 = 0;
  shoff: u64 = 0;
  shentsize: u32 = 0;
  shnum: u32 = 0;
  shstrndx: u32 = 0;

  @inline word(off: u64): u64 {
    return this.is64 ? ld64(off, this.le) : <u64>ld32(off, this.le);
  }
  @inline u32at(off: u64): u32 {
    return ld32(off, this.le);
  }
  /** Stores an address-sized field (binder only: the caller has laid out the file). */
  setWordAt(off: u64, v: u64): void {
    if (this.is64) st64(off, v, this.le);
    else st32(off, <u32>v, this.le);
  }

  // Program header fields, for 0 <= i < phnum.
  @inline ph(i: u32): u64 { return this.phoff + <u64>i * <u64>this.phentsize; }
  phType(i: u32): u32 { return ld32(this.ph(i) + this.L.p_type, this.le); }
  phFlags(i: u32): u32 { return ld32(this.ph(i) + this.L.p_flags, this.le); }
  phOffset(i: u32): u64 { return this.word(this.ph(i) + this.L.p_offset); }
  phVaddr(i: u32): u64 { return this.word(this.ph(i) + this.L.p_vaddr); }
  phFilesz(i: u32): u64 { return this.word(this.ph(i) + this.L.p_filesz); }
  phMemsz(i: u32): u64 { return this.word(this.ph(i) + this.L.p_memsz); }
  phAlign(i: u32): u64 { return this.word(this.ph(i) + this.L.p_align); }

  // Section header fields, for 0 <= i < shnum.
  @inline sh(i: u32): u64 { return this.shoff + <u64>i * <u64>this.shentsize; }
  shName(i: u32): u32 { return ld32(this.sh(i) + this.L.sh_name, this.le); }
  shType(i: u32): u32 { return ld32(this.sh(i) + this.L.sh_type, this.le); }
  shFlags(i: u32): u64 { return this.word(this.sh(i) + this.L.sh_flags); }
  shAddr(i: u32): u64 { return this.word(this.sh(i) + this.L.sh_addr); }
  shOffset(i: u32): u64 { return this.word(this.sh(i) + this.L.sh_offset); }
  shSize(i: u32): u64 { return this.word(this.sh(i) + this.L.sh_size); }
  shLink(i: u32): u32 { return ld32(this.sh(i) + this.L.sh_link, this.le); }
  shInfo(i: u32): u32 { return ld32(this.sh(i) + this.L.sh_info, this.le); }
  shAddralign(i: u32): u64 { return this.word(this.sh(i) + this.L.sh_addralign); }

  /** Checks that section i's file contents lie inside the file (NOBITS sections have none). */
  sectionFits(i: u32): bool {
    if (this.shType(i) == SHT_NOBITS) return true;
    const off = this.shOffset(i);
    const size = this.shSize(i);
    if (fits(off, size)) return true;
    return fail(
      'section header ' + i.toString() + ': sh_offset ' + hex(off) + ' + sh_size ' + hex(size) +
        ' is past end of file (' + hex(fileLength()) + ')',
      rangeFault(off, size, fileLength(), this.sh(i) + this.L.sh_offset, this.sh(i) + this.L.sh_size),
    );
  }

  /**
   * Offset in the file of section i's name, with its length, or -1 after recording an error.
   * Requires a usable section name table (checked in `open`).
   */
  sectionNameOffset(i: u32): i64 {
    if (this.shstrndx == SHN_UNDEF) return -1;
    const table = this.shstrndx;
    const name = <u64>this.shName(i);
    const size = this.shSize(table);
    if (name >= size) {
      fail('section header ' + i.toString() + ': sh_name ' + hex(name) +
        ' is past the end of the section name table (' + hex(size) + ' bytes)', this.sh(i) + this.L.sh_name);
      return -1;
    }
    const start = this.shOffset(table) + name;
    if (cstrlen(start, this.shOffset(table) + size) < 0) {
      fail('section header ' + i.toString() + ': name at ' + hex(start) +
        ' runs past the end of the section name table', this.shOffset(table) + size);
      return -1;
    }
    return <i64>start;
  }

  /** Reads and validates the headers. Returns false (with an error recorded) on a bad file. */
  open(): bool {
    // Entry points other than scan (which checks it first) get any bytes: without this, a file
    // that is not ELF at all was bound (found by fuzzing).
    if (!fits(0, 16)) return fail('file is ' + fileLength().toString() + ' bytes, shorter than e_ident (16 bytes)', fileLength());
    if (ld8(0) != 0x7f || ld8(1) != 0x45 || ld8(2) != 0x4c || ld8(3) != 0x46) return fail('e_ident: no ELF magic number (7f 45 4c 46)', 0);
    const cls = ld8(EI_CLASS);
    if (cls != ELFCLASS32 && cls != ELFCLASS64) {
      return fail('e_ident[EI_CLASS] is ' + hex(cls) + ', neither ELFCLASS32 nor ELFCLASS64', EI_CLASS);
    }
    const data = ld8(EI_DATA);
    if (data != ELFDATA2LSB && data != ELFDATA2MSB) {
      return fail('e_ident[EI_DATA] is ' + hex(data) + ', neither ELFDATA2LSB nor ELFDATA2MSB', EI_DATA);
    }
    this.is64 = cls == ELFCLASS64;
    this.L = this.is64 ? LAYOUT64 : LAYOUT32;
    this.le = data == ELFDATA2LSB;
    this.elfClass = this.is64 ? 64 : 32;
    this.data = data;
    const L = this.L;
    if (!fits(0, <u64>L.ehsize)) {
      return fail('file is ' + fileLength().toString() + ' bytes, shorter than the ' +
        L.ehsize.toString() + '-byte ELF header', fileLength());
    }
    this.osabi = ld8(EI_OSABI);
    this.abiVersion = ld8(EI_ABIVERSION);
    this.type = ld16(16, this.le);
    this.machine = ld16(18, this.le);
    this.entry = this.word(L.e_entry);
    this.flags = ld32(L.e_flags, this.le);
    this.phoff = this.word(L.e_phoff);
    this.phentsize = ld16(L.e_phentsize, this.le);
    this.shoff = this.word(L.e_shoff);
    this.shentsize = ld16(L.e_shentsize, this.le);
    return this.openSections() && this.openProgramHeaders();
  }

  private openSections(): bool {
    const L = this.L;
    const e_shnum = ld16(L.e_shnum, this.le);
    const e_shstrndx = ld16(L.e_shstrndx, this.le);
    this.shnum = 0;
    this.shstrndx = SHN_UNDEF;
    if (this.shoff == 0) {
      if (e_shnum != 0) return fail('e_shnum is ' + e_shnum.toString() + ' but e_shoff is 0', L.e_shnum);
      return true;
    }
    if (this.shentsize < L.shentsize) {
      return fail('e_shentsize is ' + this.shentsize.toString() + ', smaller than a section header (' +
        L.shentsize.toString() + ' bytes)', L.e_shentsize);
    }
    // Section 0 holds the real count and name-table index when they do not fit in the header.
    if (!fits(this.shoff, <u64>this.shentsize)) {
      return fail('section headers at e_shoff ' + hex(this.shoff) + ' are past end of file (' +
        hex(fileLength()) + ')', rangeFault(this.shoff, <u64>this.shentsize, fileLength(), L.e_shoff, L.e_shentsize));
    }
    let count = <u64>e_shnum;
    if (e_shnum == 0) count = this.word(this.shoff + L.sh_size);
    // A count from section header 0 is 64 bits wide: past 2^32 it stands for any larger size, and
    // below it the product with a 16-bit entry size cannot overflow.
    const tableSize = count >= (<u64>1 << 32) ? u64.MAX_VALUE : count * <u64>this.shentsize;
    if (!fits(this.shoff, tableSize)) {
      return fail('section headers at e_shoff ' + hex(this.shoff) + ': ' + count.toString() + ' * ' +
        this.shentsize.toString() + ' bytes are past end of file (' + hex(fileLength()) + ')',
        rangeFault(this.shoff, tableSize, fileLength(), L.e_shoff, e_shnum == 0 ? this.shoff + L.sh_size : <u64>L.e_shnum));
    }
    this.shnum = <u32>count;
    let strndx = e_shstrndx;
    let strndxField = <u64>L.e_shstrndx;
    if (strndx == SHN_XINDEX) {
      strndxField = this.shoff + L.sh_link;
      strndx = ld32(strndxField, this.le);
    }
    if (strndx != SHN_UNDEF) {
      if (strndx >= this.shnum) {
        return fail('e_shstrndx ' + strndx.toString() + ' is not below the section count ' +
          this.shnum.toString(), strndxField);
      }
      if (!this.sectionFits(strndx)) return false;
    }
    this.shstrndx = strndx;
    return true;
  }

  private openProgramHeaders(): bool {
    const L = this.L;
    let count = ld16(L.e_phnum, this.le);
    let phnumField = <u64>L.e_phnum;
    this.phnum = 0;
    if (count == PN_XNUM) {
      if (this.shnum == 0) return fail('e_phnum is PN_XNUM but there is no section header 0', L.e_phnum);
      phnumField = this.shoff + L.sh_info;
      count = ld32(phnumField, this.le);
    }
    if (count == 0) return true;
    if (this.phentsize < L.phentsize) {
      return fail('e_phentsize is ' + this.phentsize.toString() + ', smaller than a program header (' +
        L.phentsize.toString() + ' bytes)', L.e_phentsize);
    }
    const tableSize = <u64>count * <u64>this.phentsize; // at most 2^32 * 2^16: no overflow in u64
    if (!fits(this.phoff, tableSize)) {
      return fail('program headers at e_phoff ' + hex(this.phoff) + ': ' + count.toString() + ' * ' +
        this.phentsize.toString() + ' bytes are past end of file (' + hex(fileLength()) + ')',
        rangeFault(this.phoff, tableSize, fileLength(), L.e_phoff, phnumField));
    }
    this.phnum = count;
    return true;
  }

  /** File offset of virtual address `addr` through the PT_LOAD that maps it, or -1. */
  addressToOffset(addr: u64, size: u64): i64 {
    for (let i: u32 = 0; i < this.phnum; i++) {
      if (this.phType(i) != PT_LOAD) continue;
      const vaddr = this.phVaddr(i);
      const filesz = this.phFilesz(i);
      if (addr >= vaddr && addr - vaddr <= filesz && size <= filesz - (addr - vaddr)) {
        const off = this.phOffset(i) + (addr - vaddr);
        if (off < this.phOffset(i)) return -1; // wrapped
        return <i64>off;
      }
    }
    return -1;
  }
}

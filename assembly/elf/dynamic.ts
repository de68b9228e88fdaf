// Reads the dynamic section the way the dynamic loader does: through PT_DYNAMIC, with the string
// table found by its address (DT_STRTAB) through the PT_LOAD that maps it and bounded by DT_STRSZ.
// Section headers are not consulted, so a file stripped of them reads the same.
import { fits, rangeFault, hex, fileLength, cstrlen } from '../bytes';
import { fail } from '../errors';
import { ElfFile } from './file';
import {
  PT_DYNAMIC, DT_NULL, DT_NEEDED, DT_STRTAB, DT_STRSZ, DT_SONAME, DT_RPATH, DT_RUNPATH, DT_FLAGS, DT_FLAGS_1,
  DT_RELA, DT_RELASZ, DT_REL, DT_RELSZ, DT_JMPREL, DT_PLTRELSZ, DT_PLTREL, DT_RELR, DT_RELRSZ,
} from '../generated/elf';

const ABSENT: u64 = u64.MAX_VALUE;

/** A string of the dynamic string table, as a file range. */
export class StringRef {
  constructor(public offset: u64 = 0, public length: u64 = 0) {}
}

export class DynamicInfo {
  present: bool = false;
  soname: u64 = ABSENT;
  rpath: u64 = ABSENT;
  runpath: u64 = ABSENT;
  flags: u64 = ABSENT;
  flags1: u64 = ABSENT;
  /** DT_NEEDED string-table indexes, in file order. */
  needed: Array<u64> = new Array<u64>();
  /** File offsets of the d_val fields of DT_NEEDED (in order), DT_SONAME, DT_RPATH and DT_RUNPATH,
   *  DT_STRTAB and DT_STRSZ: an error about a value points at the entry that holds it. */
  neededAt: Array<u64> = new Array<u64>();
  sonameAt: u64 = 0;
  rpathAt: u64 = 0;
  runpathAt: u64 = 0;
  strtabAt: u64 = 0;
  strszAt: u64 = 0;
  strtabOffset: u64 = 0;
  strtabSize: u64 = 0;
  /** Dynamic relocation tables, by address: DT_RELA/RELASZ, DT_REL/RELSZ, DT_JMPREL/PLTRELSZ
   *  (its kind in DT_PLTREL), DT_RELR/RELRSZ. ABSENT when missing. */
  rela: u64 = ABSENT; relasz: u64 = 0;
  rel: u64 = ABSENT; relsz: u64 = 0;
  jmprel: u64 = ABSENT; pltrelsz: u64 = 0; pltrel: u64 = 0;
  relr: u64 = ABSENT; relrsz: u64 = 0;

  reset(): void {
    this.present = false;
    this.soname = ABSENT;
    this.rpath = ABSENT;
    this.runpath = ABSENT;
    this.flags = ABSENT;
    this.flags1 = ABSENT;
    this.needed.length = 0;
    this.neededAt.length = 0;
    this.strtabOffset = 0;
    this.strtabSize = 0;
    this.rela = ABSENT; this.relasz = 0;
    this.rel = ABSENT; this.relsz = 0;
    this.jmprel = ABSENT; this.pltrelsz = 0; this.pltrel = 0;
    this.relr = ABSENT; this.relrsz = 0;
  }

  @inline has(value: u64): bool {
    return value != ABSENT;
  }

  /**
   * Resolves a string-table index, read from the d_val field at `at`, to a file range, or returns
   * null after recording an error.
   */
  string(index: u64, what: string, at: u64): StringRef | null {
    if (index >= this.strtabSize) {
      fail(what + ' string index ' + hex(index) + ' is past DT_STRSZ ' + hex(this.strtabSize), at);
      return null;
    }
    const start = this.strtabOffset + index;
    const len = cstrlen(start, this.strtabOffset + this.strtabSize);
    if (len < 0) {
      // The string runs to the end of the table (or of the file): reported there, as rangeFault does.
      const end = this.strtabOffset + this.strtabSize;
      fail(what + ' string at ' + hex(start) + ' has no NUL before the end of the dynamic string table',
        end < fileLength() ? end : fileLength());
      return null;
    }
    return new StringRef(start, <u64>len);
  }
}

export function readDynamic(elf: ElfFile, out: DynamicInfo): bool {
  out.reset();
  let seg: i32 = -1;
  for (let i: u32 = 0; i < elf.phnum; i++) {
    if (elf.phType(i) == PT_DYNAMIC) { seg = <i32>i; break; }
  }
  if (seg < 0) return true;
  const index = <u32>seg;
  const off = elf.phOffset(index);
  const size = elf.phFilesz(index);
  if (!fits(off, size)) {
    return fail('program header ' + index.toString() + ' (PT_DYNAMIC): p_offset ' + hex(off) + ' + p_filesz ' +
      hex(size) + ' is past end of file (' + hex(fileLength()) + ')',
      rangeFault(off, size, fileLength(), elf.ph(index) + elf.L.p_offset, elf.ph(index) + elf.L.p_filesz));
  }
  out.present = true;
  const entsize = <u64>elf.L.dynsize;
  const count = size / entsize;
  const half = <u64>elf.L.addrSize;
  let strtab: u64 = ABSENT;
  let strsz: u64 = ABSENT;
  let terminated = false;
  let nullAt: u64 = 0;
  for (let k: u64 = 0; k < count; k++) {
    const p = off + k * entsize;
    const tag = elf.word(p);
    const val = elf.word(p + half);
    if (tag == <u64>DT_NULL) { terminated = true; nullAt = p; break; }
    // Tags are compared as u32 values: every tag we read fits, and ELF32 tags are 32 bits wide.
    if (tag > 0xffffffff) continue;
    const t = <u32>tag;
    if (t == DT_NEEDED) { out.needed.push(val); out.neededAt.push(p + half); }
    else if (t == DT_STRTAB) { strtab = val; out.strtabAt = p + half; }
    else if (t == DT_STRSZ) { strsz = val; out.strszAt = p + half; }
    else if (t == DT_SONAME) { out.soname = val; out.sonameAt = p + half; }
    else if (t == DT_RPATH) { out.rpath = val; out.rpathAt = p + half; }
    else if (t == DT_RUNPATH) { out.runpath = val; out.runpathAt = p + half; }
    else if (t == DT_FLAGS) out.flags = val;
    else if (t == DT_FLAGS_1) out.flags1 = val;
    else if (t == DT_RELA) out.rela = val;
    else if (t == DT_RELASZ) out.relasz = val;
    else if (t == DT_REL) out.rel = val;
    else if (t == DT_RELSZ) out.relsz = val;
    else if (t == DT_JMPREL) out.jmprel = val;
    else if (t == DT_PLTRELSZ) out.pltrelsz = val;
    else if (t == DT_PLTREL) out.pltrel = val;
    else if (t == DT_RELR) out.relr = val;
    else if (t == DT_RELRSZ) out.relrsz = val;
  }
  if (!terminated) {
    // Reported where the entries ran out, as rangeFault reports a table that runs past its end.
    return fail('dynamic section at ' + hex(off) + ': no DT_NULL among its ' + count.toString() + ' entries',
      off + count * entsize);
  }
  const usesStrings = out.needed.length > 0 || out.has(out.soname) || out.has(out.rpath) || out.has(out.runpath);
  if (!usesStrings) return true;
  if (strtab == ABSENT || strsz == ABSENT) {
    // Nothing holds the missing value: reported at the DT_NULL entry, where the search ended.
    return fail('dynamic section at ' + hex(off) + ' names libraries or paths but lacks DT_STRTAB or DT_STRSZ', nullAt);
  }
  const strOff = elf.addressToOffset(strtab, strsz);
  if (strOff < 0) {
    return fail('DT_STRTAB ' + hex(strtab) + ' + DT_STRSZ ' + hex(strsz) +
      ' is not inside the file contents of any PT_LOAD', out.strtabAt);
  }
  if (!fits(<u64>strOff, strsz)) {
    return fail('dynamic string table at ' + hex(<u64>strOff) + ' + ' + hex(strsz) + ' is past end of file (' +
      hex(fileLength()) + ')', rangeFault(<u64>strOff, strsz, fileLength(), out.strtabAt, out.strszAt));
  }
  out.strtabOffset = <u64>strOff;
  out.strtabSize = strsz;
  return true;
}

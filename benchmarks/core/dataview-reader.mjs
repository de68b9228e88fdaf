// A plain JavaScript ELF reader, written only to compare against the AssemblyScript core
// (issue 5, "micro-benchmark of the core"). It reads a whole file held in a Uint8Array through a
// DataView and returns what `core.scanLoaded` returns: { status: 'elf', facts } (facts as in
// src/core/facts.ts), { status: 'error', error, errorOffset } or { status: 'not-elf' }.
//
// It follows the core's reading rules (assembly/scan/scan.ts, assembly/elf/*.ts) check for check:
// headers validated once (section and program header tables inside the file, PN_XNUM and the
// section-0 escapes), PT_INTERP, PT_DYNAMIC with DT_STRTAB mapped through the PT_LOAD that covers
// it and bounded by DT_STRSZ, notes from SHT_NOTE sections (PT_NOTE segments when there are no
// section headers), the `.syslayer` section found by name, its reservation described, and the
// binder's refusal checks for an unbound client. Error messages are the core's, word for word.
//
// Numbers: 64-bit fields are read as JavaScript numbers (hi * 2^32 + lo), exact below 2^53. A
// bounds decision stays right above that (such a value is larger than any file). Where the core
// adds or subtracts u64 values that may be that large (DT_STRTAB through PT_LOAD, a section name
// table past 2^53), this reader notices and redoes that step exactly with BigInt; values reported
// as facts (e_entry, the reservation) and header fields printed in error messages are read exactly
// too (two u32 halves or BigInt), so results, error messages included, match the core's.
import { EM_TABLE, ELFOSABI_TABLE, SHF_TABLE, PF_TABLE } from '../../dist/src/elf/generated/elf.js';
import { nameOf, flagNames } from '../../dist/src/elf/names.js';
import { RESERVATION_BITS } from '../../dist/src/core/generated/scan-record.js';

// ---- ELF constants (gABI) -------------------------------------------------------------------------
const PT_LOAD = 1, PT_DYNAMIC = 2, PT_INTERP = 3, PT_NOTE = 4;
const SHT_PROGBITS = 1, SHT_NOTE = 7, SHT_NOBITS = 8;
const SHN_UNDEF = 0, SHN_XINDEX = 0xffff, PN_XNUM = 0xffff;
const DT_NULL = 0, DT_NEEDED = 1, DT_PLTRELSZ = 2, DT_STRTAB = 5, DT_RELA = 7, DT_RELASZ = 8, DT_STRSZ = 10,
  DT_SONAME = 14, DT_RPATH = 15, DT_REL = 17, DT_RELSZ = 18, DT_PLTREL = 20, DT_JMPREL = 23, DT_FLAGS = 30,
  DT_RUNPATH = 29, DT_RELRSZ = 35, DT_RELR = 36, DT_FLAGS_1 = 0x6ffffffb;
const NT_GNU_ABI_TAG = 1, NT_GNU_BUILD_ID = 3, NT_GNU_GOLD_VERSION = 4;
const NT_SYSLAYER_ABI = 1, NT_SYSLAYER_LAYER = 2, NT_SYSLAYER_BIND = 3;
const ET_EXEC = 2, ET_DYN = 3;
const PF_X = 1, PF_W = 2;
const SHF_WRITE = 1n, SHF_ALLOC = 2n, SHF_EXECINSTR = 4n;
const OWNER_OTHER = 0, OWNER_GNU = 1, OWNER_SYSLAYER = 2;
const RES_NO_SEGMENT = 1, RES_SHARED_SEGMENT = 2, RES_WRITABLE = 4, RES_NOT_EXECUTABLE = 8, RES_NOT_ALLOC = 16,
  RES_MISALIGNED = 32, RES_SIZE_NOT_PAGES = 64, RES_BAD_TYPE = 128, RES_FILE_BYTES_WHILE_NOBITS = 256;
const MIN_PAGE = 4096n;
const TWO32 = 4294967296;
const MAX_SAFE = Number.MAX_SAFE_INTEGER;
const MASK64 = (1n << 64n) - 1n;
const TWO63 = 1n << 63n;

// Field offsets per class (gABI figures 4-3, 5-1, 4-8), as in assembly/elf/layout.ts.
const L32 = {
  ehsize: 52, addrSize: 4, e_entry: 24, e_phoff: 28, e_shoff: 32, e_flags: 36, e_phentsize: 42, e_phnum: 44,
  e_shentsize: 46, e_shnum: 48, e_shstrndx: 50, phentsize: 32, p_type: 0, p_offset: 4, p_vaddr: 8, p_filesz: 16,
  p_memsz: 20, p_flags: 24, p_align: 28, shentsize: 40, sh_name: 0, sh_type: 4, sh_flags: 8, sh_addr: 12,
  sh_offset: 16, sh_size: 20, sh_link: 24, sh_info: 28, sh_addralign: 32, dynsize: 8,
};
const L64 = {
  ehsize: 64, addrSize: 8, e_entry: 24, e_phoff: 32, e_shoff: 40, e_flags: 48, e_phentsize: 54, e_phnum: 56,
  e_shentsize: 58, e_shnum: 60, e_shstrndx: 62, phentsize: 56, p_type: 0, p_flags: 4, p_offset: 8, p_vaddr: 16,
  p_filesz: 32, p_memsz: 40, p_align: 48, shentsize: 64, sh_name: 0, sh_type: 4, sh_flags: 8, sh_addr: 16,
  sh_offset: 24, sh_size: 32, sh_link: 40, sh_info: 44, sh_addralign: 48, dynsize: 16,
};

const ELF_TYPES = { 1: 'REL', 2: 'EXEC', 3: 'DYN', 4: 'CORE' };
const ABI_TAG_OS = ['Linux', 'Hurd', 'Solaris', 'FreeBSD', 'NetBSD', 'Syllable'];
const RESERVATION_NAMES = [
  [RES_NO_SEGMENT, 'NO_SEGMENT'], [RES_SHARED_SEGMENT, 'SHARED_SEGMENT'], [RES_WRITABLE, 'WRITABLE'],
  [RES_NOT_EXECUTABLE, 'NOT_EXECUTABLE'], [RES_NOT_ALLOC, 'NOT_ALLOC'], [RES_MISALIGNED, 'MISALIGNED'],
  [RES_SIZE_NOT_PAGES, 'SIZE_NOT_PAGES'], [RES_BAD_TYPE, 'BAD_TYPE'], [RES_FILE_BYTES_WHILE_NOBITS, 'FILE_BYTES_WHILE_NOBITS'],
];
const machineNames = new Map();
const osabiNames = new Map();

// ---- The file under examination (one at a time, like the core) -----------------------------------
/** @type {DataView} */ let dv;
/** @type {Uint8Array} */ let u8;
/** @type {Buffer} */ let buf;
let fileLen = 0;
let le = true;
let is64 = true;
/** @type {typeof L64} */ let L = L64;
// Header fields.
let type = 0, machine = 0, flags = 0, osabi = 0, abiVersion = 0;
let phoff = 0, phentsize = 0, phnum = 0, shoff = 0, shentsize = 0, shnum = 0, shstrndx = 0;
// The first failure wins (assembly/errors.ts).
let failed = false, errMessage = '', errOffset = 0;

function fail(message, at) {
  if (!failed) {
    failed = true;
    errMessage = message;
    errOffset = at;
  }
  return false;
}
function takeError() {
  const text = failed ? errMessage : '';
  failed = false; errMessage = ''; errOffset = 0;
  return text;
}

const hex = (v) => `0x${v.toString(16)}`;

/** True when [off, off + size) lies inside the file (no sum that could lose precision). */
function fits(off, size) {
  return off <= fileLen && size <= fileLen - off;
}
function ld32(off) { return dv.getUint32(off, le); }
function ld16(off) { return dv.getUint16(off, le); }
/** A 64-bit field as a number: exact below 2^53. */
function ld64(off) {
  return le
    ? dv.getUint32(off + 4, true) * TWO32 + dv.getUint32(off, true)
    : dv.getUint32(off, false) * TWO32 + dv.getUint32(off + 4, false);
}
/** An address-sized field as a number. */
function word(off) { return is64 ? ld64(off) : dv.getUint32(off, le); }
/** An address-sized field, exact, as a BigInt (cold paths only). */
function bigWord(off) { return is64 ? dv.getBigUint64(off, le) : BigInt(dv.getUint32(off, le)); }
/** An address-sized field printed exactly in hex, without BigInt. */
function hexWord(off) {
  if (!is64) return hex(dv.getUint32(off, le));
  const hi = le ? dv.getUint32(off + 4, true) : dv.getUint32(off, false);
  const lo = le ? dv.getUint32(off, true) : dv.getUint32(off + 4, false);
  return hi === 0 ? hex(lo) : `0x${hi.toString(16)}${lo.toString(16).padStart(8, '0')}`;
}
/** True when the address-sized field at `off` is all ones (the core's ABSENT marker, u64 max). */
function isAllOnes(off) {
  return is64 && dv.getUint32(off, true) === 0xffffffff && dv.getUint32(off + 4, true) === 0xffffffff;
}

/** Length of the NUL-terminated string at `off`, or -1 when no NUL comes before `end`. */
function cstrlen(off, end) {
  if (end > fileLen) end = fileLen;
  for (let p = off; p < end; p++) if (u8[p] === 0) return p - off;
  return -1;
}
/** True when the bytes at `off` are the ASCII `text` followed by a NUL. */
function equalsCString(off, end, text) {
  const n = text.length;
  if (off > end || n + 1 > end - off || !fits(off, n + 1)) return false;
  for (let i = 0; i < n; i++) if (u8[off + i] !== text.charCodeAt(i)) return false;
  return u8[off + n] === 0;
}
function utf8(off, len) { return buf.toString('utf8', off, off + len); }

// Program and section header fields, for indexes below phnum / shnum (checked in openElf).
const ph = (i) => phoff + i * phentsize;
const phType = (i) => ld32(ph(i) + L.p_type);
const phFlags = (i) => ld32(ph(i) + L.p_flags);
const phOffset = (i) => word(ph(i) + L.p_offset);
const phVaddr = (i) => word(ph(i) + L.p_vaddr);
const phFilesz = (i) => word(ph(i) + L.p_filesz);
const phAlign = (i) => word(ph(i) + L.p_align);
const sh = (i) => shoff + i * shentsize;
const shName = (i) => ld32(sh(i) + L.sh_name);
const shType = (i) => ld32(sh(i) + L.sh_type);
const shOffset = (i) => word(sh(i) + L.sh_offset);
const shSize = (i) => word(sh(i) + L.sh_size);
const shAddralign = (i) => word(sh(i) + L.sh_addralign);

function sectionFits(i) {
  if (shType(i) === SHT_NOBITS) return true;
  const off = shOffset(i);
  const size = shSize(i);
  if (fits(off, size)) return true;
  return fail(`section header ${i}: sh_offset ${hexWord(sh(i) + L.sh_offset)} + sh_size ${hexWord(sh(i) + L.sh_size)} is past end of file (${hex(fileLen)})`,
    sh(i) + L.sh_offset);
}

function sectionNameOffset(i) {
  if (shstrndx === SHN_UNDEF) return -1;
  const table = shstrndx;
  const name = shName(i);
  const size = shSize(table);
  if (name >= size) {
    fail(`section header ${i}: sh_name ${hex(name)} is past the end of the section name table (${hexWord(sh(table) + L.sh_size)} bytes)`,
      sh(i) + L.sh_name);
    return -1;
  }
  let start = shOffset(table) + name;
  let end = shOffset(table) + size;
  if (end > MAX_SAFE) {
    // Only a SHT_NOBITS name table gets here (any other was checked against the file): u64 sums.
    const base = bigWord(sh(table) + L.sh_offset);
    const startB = (base + BigInt(name)) & MASK64;
    end = Number((base + bigWord(sh(table) + L.sh_size)) & MASK64);
    if (startB > BigInt(fileLen)) {
      fail(`section header ${i}: name at ${hex(startB)} runs past the end of the section name table`, Number(startB));
      return -1;
    }
    start = Number(startB);
  }
  if (cstrlen(start, end) < 0) {
    fail(`section header ${i}: name at ${hex(start)} runs past the end of the section name table`, start);
    return -1;
  }
  return start;
}

// ---- Headers (assembly/elf/file.ts) -------------------------------------------------------------------
function openElf() {
  const cls = u8[4];
  if (cls !== 1 && cls !== 2) return fail(`e_ident[EI_CLASS] is ${hex(cls)}, neither ELFCLASS32 nor ELFCLASS64`, 4);
  const data = u8[5];
  if (data !== 1 && data !== 2) return fail(`e_ident[EI_DATA] is ${hex(data)}, neither ELFDATA2LSB nor ELFDATA2MSB`, 5);
  is64 = cls === 2;
  L = is64 ? L64 : L32;
  le = data === 1;
  if (!fits(0, L.ehsize)) {
    return fail(`file is ${fileLen} bytes, shorter than the ${L.ehsize}-byte ELF header`, 0);
  }
  osabi = u8[7];
  abiVersion = u8[8];
  type = ld16(16);
  machine = ld16(18);
  flags = ld32(L.e_flags);
  phoff = word(L.e_phoff);
  phentsize = ld16(L.e_phentsize);
  shoff = word(L.e_shoff);
  shentsize = ld16(L.e_shentsize);
  return openSections() && openProgramHeaders();
}

function openSections() {
  const e_shnum = ld16(L.e_shnum);
  const e_shstrndx = ld16(L.e_shstrndx);
  shnum = 0;
  shstrndx = SHN_UNDEF;
  if (shoff === 0) {
    if (e_shnum !== 0) return fail(`e_shnum is ${e_shnum} but e_shoff is 0`, L.e_shnum);
    return true;
  }
  if (shentsize < L.shentsize) {
    return fail(`e_shentsize is ${shentsize}, smaller than a section header (${L.shentsize} bytes)`, L.e_shentsize);
  }
  if (!fits(shoff, shentsize)) {
    return fail(`section headers at e_shoff ${hexWord(L.e_shoff)} are past end of file (${hex(fileLen)})`, L.e_shoff);
  }
  let count = e_shnum;
  if (e_shnum === 0) count = word(shoff + L.sh_size);
  if (count > fileLen || !fits(shoff, count * shentsize)) {
    const exact = e_shnum === 0 ? bigWord(shoff + L.sh_size) : count;
    return fail(`section headers at e_shoff ${hexWord(L.e_shoff)}: ${exact} * ${shentsize} bytes are past end of file (${hex(fileLen)})`,
      e_shnum === 0 ? shoff + L.sh_size : L.e_shnum);
  }
  shnum = count;
  let strndx = e_shstrndx;
  if (strndx === SHN_XINDEX) strndx = ld32(shoff + L.sh_link);
  if (strndx !== SHN_UNDEF) {
    if (strndx >= shnum) return fail(`e_shstrndx ${strndx} is not below the section count ${shnum}`, L.e_shstrndx);
    if (!sectionFits(strndx)) return false;
  }
  shstrndx = strndx;
  return true;
}

function openProgramHeaders() {
  let count = ld16(L.e_phnum);
  phnum = 0;
  if (count === PN_XNUM) {
    if (shnum === 0) return fail('e_phnum is PN_XNUM but there is no section header 0', L.e_phnum);
    count = ld32(shoff + L.sh_info);
  }
  if (count === 0) return true;
  if (phentsize < L.phentsize) {
    return fail(`e_phentsize is ${phentsize}, smaller than a program header (${L.phentsize} bytes)`, L.e_phentsize);
  }
  if (!fits(phoff, count * phentsize)) {
    return fail(`program headers at e_phoff ${hexWord(L.e_phoff)}: ${count} * ${phentsize} bytes are past end of file (${hex(fileLen)})`,
      L.e_phoff);
  }
  phnum = count;
  return true;
}

/**
 * File offset of virtual address `addr` through the PT_LOAD that maps it, or -1; -2 when a value
 * of 2^53 or more takes part (the caller then asks addressToOffsetBig).
 */
function addressToOffset(addr, size) {
  if (addr > MAX_SAFE || size > MAX_SAFE) return -2;
  for (let i = 0; i < phnum; i++) {
    if (phType(i) !== PT_LOAD) continue;
    const vaddr = phVaddr(i);
    const filesz = phFilesz(i);
    if (vaddr > MAX_SAFE || filesz > MAX_SAFE) return -2;
    if (addr >= vaddr && addr - vaddr <= filesz && size <= filesz - (addr - vaddr)) {
      const off = phOffset(i) + (addr - vaddr);
      return off > MAX_SAFE ? -2 : off;
    }
  }
  return -1;
}
/** The same, exact (BigInt), for the relocation checks of the refusal. */
function addressToOffsetBig(addr, size) {
  for (let i = 0; i < phnum; i++) {
    if (phType(i) !== PT_LOAD) continue;
    const vaddr = bigWord(ph(i) + L.p_vaddr);
    const filesz = bigWord(ph(i) + L.p_filesz);
    if (addr >= vaddr && addr - vaddr <= filesz && size <= filesz - (addr - vaddr)) {
      const start = bigWord(ph(i) + L.p_offset);
      const off = (start + (addr - vaddr)) & MASK64;
      // The core returns the offset as an i64: one of 2^63 or more reads as "not found" there too.
      return off < start || off >= TWO63 ? -1n : off;
    }
  }
  return -1n;
}

// ---- PT_INTERP --------------------------------------------------------------------------------------
let interpOff = -1, interpLen = 0;

function scanInterpreter() {
  for (let i = 0; i < phnum; i++) {
    if (phType(i) !== PT_INTERP) continue;
    const off = phOffset(i);
    const size = phFilesz(i);
    if (!fits(off, size)) {
      return fail(`program header ${i} (PT_INTERP): p_offset ${hexWord(ph(i) + L.p_offset)} + p_filesz ${hexWord(ph(i) + L.p_filesz)} is past end of file (${hex(fileLen)})`,
        ph(i) + L.p_offset);
    }
    let len = cstrlen(off, off + size);
    if (len < 0) len = size;
    interpOff = off;
    interpLen = len;
    return true;
  }
  return true;
}

// ---- PT_DYNAMIC (assembly/elf/dynamic.ts) ----------------------------------------------------------------
// Entries are kept as the file offset of their value (-1 when absent), read when used: exactly in
// messages and in the refusal's relocation checks. A value of all ones is absent too, as in the
// core (ABSENT is u64 max there). flags and flags1 are values (their low 32 bits), -1 when absent.
class DynamicInfo {
  constructor() { this.needed = []; this.reset(); }
  reset() {
    this.present = false;
    this.soname = -1; this.rpath = -1; this.runpath = -1;
    this.flags = -1; this.flags1 = -1;
    this.needed.length = 0;
    this.strtabOffset = 0; this.strtabSize = 0; this.dynOffset = 0;
    this.rela = -1; this.relasz = -1; this.rel = -1; this.relsz = -1;
    this.jmprel = -1; this.pltrelsz = -1; this.pltrel = -1; this.relr = -1; this.relrsz = -1;
  }
  /** The string whose index is at `pos` to its file offset, or -1 after recording an error. Length in strLen. */
  string(pos, what) {
    const index = word(pos);
    if (index >= this.strtabSize) {
      fail(`${what} string index ${hexWord(pos)} is past DT_STRSZ ${hex(this.strtabSize)}`, this.dynOffset);
      return -1;
    }
    const start = this.strtabOffset + index;
    const len = cstrlen(start, this.strtabOffset + this.strtabSize);
    if (len < 0) {
      fail(`${what} string at ${hex(start)} has no NUL before the end of the dynamic string table`, start);
      return -1;
    }
    strLen = len;
    return start;
  }
}
let strLen = 0;

function readDynamic(out) {
  out.reset();
  let seg = -1;
  for (let i = 0; i < phnum; i++) {
    if (phType(i) === PT_DYNAMIC) { seg = i; break; }
  }
  if (seg < 0) return true;
  const off = phOffset(seg);
  const size = phFilesz(seg);
  if (!fits(off, size)) {
    return fail(`program header ${seg} (PT_DYNAMIC): p_offset ${hexWord(ph(seg) + L.p_offset)} + p_filesz ${hexWord(ph(seg) + L.p_filesz)} is past end of file (${hex(fileLen)})`,
      ph(seg) + L.p_offset);
  }
  out.present = true;
  out.dynOffset = off;
  const entsize = L.dynsize;
  const count = Math.floor(size / entsize);
  const half = L.addrSize;
  let strtabPos = -1, strszPos = -1;
  let terminated = false;
  for (let k = 0; k < count; k++) {
    const p = off + k * entsize;
    let t;
    if (is64) {
      // Tags above 32 bits are skipped (the core compares tags as u32 values).
      const hi = le ? dv.getUint32(p + 4, true) : dv.getUint32(p, false);
      t = le ? dv.getUint32(p, true) : dv.getUint32(p + 4, false);
      if (hi !== 0) continue;
    } else {
      t = dv.getUint32(p, le);
    }
    if (t === DT_NULL) { terminated = true; break; }
    const v = p + half;
    switch (t) {
      case DT_NEEDED: out.needed.push(v); break;
      case DT_STRTAB: strtabPos = isAllOnes(v) ? -1 : v; break;
      case DT_STRSZ: strszPos = isAllOnes(v) ? -1 : v; break;
      case DT_SONAME: out.soname = isAllOnes(v) ? -1 : v; break;
      case DT_RPATH: out.rpath = isAllOnes(v) ? -1 : v; break;
      case DT_RUNPATH: out.runpath = isAllOnes(v) ? -1 : v; break;
      case DT_FLAGS: out.flags = isAllOnes(v) ? -1 : dv.getUint32(is64 && !le ? v + 4 : v, le); break;
      case DT_FLAGS_1: out.flags1 = isAllOnes(v) ? -1 : dv.getUint32(is64 && !le ? v + 4 : v, le); break;
      case DT_RELA: out.rela = v; break;
      case DT_RELASZ: out.relasz = v; break;
      case DT_REL: out.rel = v; break;
      case DT_RELSZ: out.relsz = v; break;
      case DT_JMPREL: out.jmprel = v; break;
      case DT_PLTRELSZ: out.pltrelsz = v; break;
      case DT_PLTREL: out.pltrel = v; break;
      case DT_RELR: out.relr = v; break;
      case DT_RELRSZ: out.relrsz = v; break;
    }
  }
  if (!terminated) return fail(`dynamic section at ${hex(off)}: no DT_NULL among its ${count} entries`, off);
  const usesStrings = out.needed.length > 0 || out.soname !== -1 || out.rpath !== -1 || out.runpath !== -1;
  if (!usesStrings) return true;
  if (strtabPos === -1 || strszPos === -1) {
    return fail(`dynamic section at ${hex(off)} names libraries or paths but lacks DT_STRTAB or DT_STRSZ`, off);
  }
  const strtab = word(strtabPos);
  let strsz = word(strszPos);
  let strOff = addressToOffset(strtab, strsz);
  if (strOff === -2) {
    // A value of 2^53 or more: the core's u64 arithmetic, exactly.
    const a = bigWord(strtabPos), z = bigWord(strszPos);
    const o = addressToOffsetBig(a, z);
    if (o < 0n) return fail(`DT_STRTAB ${hex(a)} + DT_STRSZ ${hex(z)} is not inside the file contents of any PT_LOAD`, off);
    if (!(o <= BigInt(fileLen) && z <= BigInt(fileLen) - o)) {
      return fail(`dynamic string table at ${hex(o)} + ${hex(z)} is past end of file (${hex(fileLen)})`, off);
    }
    strOff = Number(o);
    strsz = Number(z);
  }
  if (strOff < 0) {
    return fail(`DT_STRTAB ${hex(strtab)} + DT_STRSZ ${hex(strsz)} is not inside the file contents of any PT_LOAD`, off);
  }
  if (!fits(strOff, strsz)) {
    return fail(`dynamic string table at ${hex(strOff)} + ${hex(strsz)} is past end of file (${hex(fileLen)})`, off);
  }
  out.strtabOffset = strOff;
  out.strtabSize = strsz;
  return true;
}

// ---- Notes (assembly/elf/notes.ts) ------------------------------------------------------------------
// What the fact notes found (FactNotes in assembly/scan/scan.ts): the last note of a kind wins.
let buildIdOff = -1, buildIdLen = 0;
let hasAbiTag = false, abiTagOs = 0, abiTagMajor = 0, abiTagMinor = 0, abiTagPatch = 0;
let linkedByGold = false;
let hasSlAbi = false, slAbi = 0, slAbiFlags = 0;
let hasLayer = false, layerAbiMin = 0, layerAbiMax = 0, layerKernelMin = 0, layerRevision = 0, layerNameOff = 0, layerNameLen = 0;
let hasBind = false, bindOff = 0, bindLen = 0;

function ownerOf(nameOff, nameSize) {
  if (nameSize === 4 && equalsCString(nameOff, nameOff + nameSize, 'GNU')) return OWNER_GNU;
  if (nameSize === 9 && equalsCString(nameOff, nameOff + nameSize, 'syslayer')) return OWNER_SYSLAYER;
  return OWNER_OTHER;
}

function visitNote(owner, ntype, descOff, descSize) {
  if (owner === OWNER_GNU) {
    if (ntype === NT_GNU_BUILD_ID) {
      buildIdOff = descOff; buildIdLen = descSize;
    } else if (ntype === NT_GNU_ABI_TAG && descSize >= 16) {
      hasAbiTag = true;
      abiTagOs = ld32(descOff); abiTagMajor = ld32(descOff + 4);
      abiTagMinor = ld32(descOff + 8); abiTagPatch = ld32(descOff + 12);
    } else if (ntype === NT_GNU_GOLD_VERSION) {
      linkedByGold = true;
    }
  } else if (owner === OWNER_SYSLAYER) {
    if (ntype === NT_SYSLAYER_ABI && descSize >= 8) {
      hasSlAbi = true;
      slAbi = ld32(descOff); slAbiFlags = ld32(descOff + 4);
    } else if (ntype === NT_SYSLAYER_LAYER && descSize > 16) {
      const nameLen = cstrlen(descOff + 16, descOff + descSize);
      if (nameLen >= 0) {
        hasLayer = true;
        layerAbiMin = ld32(descOff); layerAbiMax = ld32(descOff + 4);
        layerKernelMin = ld32(descOff + 8); layerRevision = ld32(descOff + 12);
        layerNameOff = descOff + 16; layerNameLen = nameLen;
      }
    } else if (ntype === NT_SYSLAYER_BIND) {
      hasBind = true; bindOff = descOff; bindLen = descSize;
    }
  }
}

function alignUp(v, a) {
  const t = v + a - 1;
  return t - (t % a);
}

// offPos and sizePos: where the header holds off and size, to print them exactly.
function walkRegion(off, size, align, header, index, offPos, sizePos) {
  if (!fits(off, size)) {
    return fail(`${header} ${index}: notes at ${hexWord(offPos)} + ${hexWord(sizePos)} are past end of file (${hex(fileLen)})`, off);
  }
  const a = align === 8 ? 8 : 4;
  const end = off + size;
  let p = off;
  while (p < end) {
    if (end - p < 12) return fail(`${header} ${index}: note header at ${hex(p)} is cut short by the end of the notes`, p);
    const namesz = ld32(p);
    const descsz = ld32(p + 4);
    const ntype = ld32(p + 8);
    const nameOff = p + 12;
    const descOff = alignUp(nameOff + namesz, a);
    if (descOff + descsz > end) {
      return fail(`${header} ${index}: note at ${hex(p)} (namesz ${hex(namesz)}, descsz ${hex(descsz)}) runs past the end of its notes at ${hex(end)}`, p);
    }
    visitNote(ownerOf(nameOff, namesz), ntype, descOff, descsz);
    p = alignUp(descOff + descsz, a);
  }
  return true;
}

function walkNotes() {
  if (shnum > 0) {
    for (let i = 0; i < shnum; i++) {
      if (shType(i) !== SHT_NOTE) continue;
      if (!sectionFits(i)) return false;
      if (!walkRegion(shOffset(i), shSize(i), shAddralign(i), 'section header', i, sh(i) + L.sh_offset, sh(i) + L.sh_size)) return false;
    }
    return true;
  }
  for (let i = 0; i < phnum; i++) {
    if (phType(i) !== PT_NOTE) continue;
    if (!walkRegion(phOffset(i), phFilesz(i), phAlign(i), 'program header', i, ph(i) + L.p_offset, ph(i) + L.p_filesz)) return false;
  }
  return true;
}

// ---- The .syslayer reservation (assembly/elf/reservation.ts), exact: only syslayer files get here --------
/** Index of the `.syslayer` section, 0 when there is none; names out of bounds do not match. */
function findReservationSection() {
  if (shstrndx === 0) return 0;
  const start = shOffset(shstrndx);
  const size = shSize(shstrndx);
  for (let i = 1; i < shnum; i++) {
    const name = shName(i);
    if (name >= size || 10 > size - name) continue;
    if (equalsCString(start + name, start + size, '.syslayer')) return i;
  }
  return 0;
}

function describeReservation(section) {
  const s = sh(section);
  const addr = bigWord(s + L.sh_addr);
  const size = bigWord(s + L.sh_size);
  const sflags = bigWord(s + L.sh_flags);
  const stype = ld32(s + L.sh_type);
  let problems = 0;
  if (stype !== SHT_NOBITS && stype !== SHT_PROGBITS) problems |= RES_BAD_TYPE;
  if ((sflags & SHF_ALLOC) === 0n) problems |= RES_NOT_ALLOC;
  if ((sflags & SHF_WRITE) !== 0n) problems |= RES_WRITABLE;
  if ((sflags & SHF_EXECINSTR) === 0n) problems |= RES_NOT_EXECUTABLE;
  if (addr % MIN_PAGE !== 0n || bigWord(s + L.sh_addralign) < MIN_PAGE) problems |= RES_MISALIGNED;
  if (size === 0n || size % MIN_PAGE !== 0n) problems |= RES_SIZE_NOT_PAGES;
  let segment = -1;
  for (let i = 0; i < phnum; i++) {
    if (phType(i) !== PT_LOAD) continue;
    const vaddr = bigWord(ph(i) + L.p_vaddr);
    const memsz = bigWord(ph(i) + L.p_memsz);
    if (addr < vaddr || addr - vaddr > memsz || size > memsz - (addr - vaddr)) continue;
    segment = i;
    if (vaddr !== addr || memsz !== size) problems |= RES_SHARED_SEGMENT;
    const pflags = phFlags(i);
    if ((pflags & PF_W) !== 0) problems |= RES_WRITABLE;
    if ((pflags & PF_X) === 0) problems |= RES_NOT_EXECUTABLE;
    if (stype === SHT_NOBITS && bigWord(ph(i) + L.p_filesz) !== 0n) problems |= RES_FILE_BYTES_WHILE_NOBITS;
    break;
  }
  if (segment < 0) problems |= RES_NO_SEGMENT;
  return { section, segment, problems };
}

function reservationNames(v) {
  const names = [];
  for (const [bit, name] of RESERVATION_NAMES) if ((v & bit) !== 0) names.push(name);
  return names.join('+');
}

// The binder's checks of an unbound client (assembly/bind/client.ts, dynamic-relocations.ts).
function tableOffset(address, size, name) {
  const off = addressToOffsetBig(address, size);
  if (off < 0n || !(off <= BigInt(fileLen) && size <= BigInt(fileLen) - off)) {
    fail(`${name} ${hex(address)} + ${hex(size)} is not inside the file contents of any PT_LOAD`, 0);
    return -1n;
  }
  return off;
}
const dynValue = (pos, absent) => (pos < 0 ? absent : bigWord(pos));
const ABSENT_BIG = MASK64;

function checkTable(addressPos, sizePos, entsize, name, lo, hi) {
  const address = dynValue(addressPos, ABSENT_BIG);
  const size = dynValue(sizePos, 0n);
  if (address === ABSENT_BIG || size === 0n) return true;
  const off = tableOffset(address, size, name);
  if (off < 0n) return false;
  for (let p = 0n; p + entsize <= size; p += entsize) {
    const where = bigWord(Number(off + p));
    if (where >= lo && where < hi) {
      return fail(`dynamic relocation in ${name} at ${hex(off + p)} writes to ${hex(where)}, inside the reservation`, Number(off + p));
    }
  }
  return true;
}

function checkRelr(dyn, lo, hi) {
  const relr = dynValue(dyn.relr, ABSENT_BIG);
  const relrsz = dynValue(dyn.relrsz, 0n);
  if (relr === ABSENT_BIG || relrsz === 0n) return true;
  const off = tableOffset(relr, relrsz, 'DT_RELR');
  if (off < 0n) return false;
  const w = BigInt(L.addrSize);
  const bits = w * 8n;
  let where = 0n;
  for (let p = 0n; p + w <= relrsz; p += w) {
    const entry = bigWord(Number(off + p));
    if ((entry & 1n) === 0n) {
      if (entry >= lo && entry < hi) return fail(`DT_RELR entry at ${hex(off + p)} writes to ${hex(entry)}, inside the reservation`, Number(off + p));
      where = (entry + w) & MASK64;
      continue;
    }
    for (let i = 0n; i < bits - 1n; i++) {
      if (((entry >> (i + 1n)) & 1n) === 0n) continue;
      const target = (where + i * w) & MASK64;
      if (target >= lo && target < hi) return fail(`DT_RELR bitmap at ${hex(off + p)} writes to ${hex(target)}, inside the reservation`, Number(off + p));
    }
    where = (where + (bits - 1n) * w) & MASK64;
  }
  return true;
}

const clientDyn = new DynamicInfo();

function checkBindable() {
  if (type !== ET_EXEC && type !== ET_DYN) return fail(`e_type ${type} is neither ET_EXEC nor ET_DYN`, 16);
  if (!hasSlAbi) return fail('no NT_SYSLAYER_ABI note: not a syslayer client', 0);
  const found = findReservationSection();
  if (found < 0) return false;
  if (found === 0) return fail('no .syslayer section: not a syslayer client', shoff);
  const r = describeReservation(found);
  if (r.problems !== 0) {
    const why = reservationNames(r.problems);
    if (linkedByGold && (r.problems & RES_SHARED_SEGMENT) !== 0) {
      return fail(`the reservation shares its PT_LOAD with other sections (${why}): the file was linked by GNU gold, ` +
        'which cannot parse the INSERT command of sdk/ld/syslayer.ld and merges .syslayer into another segment', sh(r.section));
    }
    return fail(`the reservation cannot be bound: ${why}`, sh(r.section));
  }
  if (shstrndx === 0) return fail('no section name table to name .syslayer.bind in', L.e_shstrndx);
  if (shnum + 1 >= 0xff00) return fail(`e_shnum ${shnum} leaves no room for .syslayer.bind`, L.e_shnum);
  if (!readDynamic(clientDyn)) return false;
  const lo = bigWord(sh(r.section) + L.sh_addr);
  const hi = (lo + bigWord(sh(r.section) + L.sh_size)) & MASK64;
  const w = BigInt(L.addrSize);
  const relaSize = w * 3n, relSize = w * 2n;
  const d = clientDyn;
  if (!checkTable(d.rela, d.relasz, relaSize, 'DT_RELA', lo, hi)) return false;
  if (!checkTable(d.rel, d.relsz, relSize, 'DT_REL', lo, hi)) return false;
  const pltrel = dynValue(d.pltrel, 0n);
  const pltEntry = pltrel === BigInt(DT_REL) ? relSize : relaSize;
  if (!checkTable(d.jmprel, d.pltrelsz, pltEntry, 'DT_JMPREL', lo, hi)) return false;
  return checkRelr(d, lo, hi);
}

/** The reservation facts, with the refusal of an unbound client; null when there is no .syslayer. */
let refusal = null;
function scanReservation() {
  const found = findReservationSection();
  if (found < 0) return false;
  if (found === 0) return true;
  const r = describeReservation(found);
  const s = sh(found);
  const stype = ld32(s + L.sh_type);
  // An unbound client: the binder's own checks say why `bind` would refuse it.
  if (stype !== SHT_PROGBITS || !hasBind) {
    const why = checkBindable() ? '' : takeError();
    if (why.length > 0) refusal = why;
  }
  const seg = r.segment;
  const segFilesz = seg < 0 ? 0n : bigWord(ph(seg) + L.p_filesz);
  const segMemsz = seg < 0 ? 0n : bigWord(ph(seg) + L.p_memsz);
  const problems = [];
  for (const [bit, name] of RESERVATION_BITS) if ((r.problems & bit) !== 0) problems.push(name);
  reservation = {
    section: found,
    sectionType: stype === SHT_NOBITS ? 'NOBITS' : stype === SHT_PROGBITS ? 'PROGBITS' : `0x${stype.toString(16)}`,
    address: hexWord(s + L.sh_addr),
    size: Number(bigWord(s + L.sh_size)),
    sectionFlags: flagNames(SHF_TABLE, bigWord(s + L.sh_flags)),
    alignment: Number(bigWord(s + L.sh_addralign)),
    fileOffset: hexWord(s + L.sh_offset),
    segment: seg < 0 ? null : seg,
    segmentFlags: seg < 0 ? null : flagNames(PF_TABLE, phFlags(seg)),
    segmentFileSize: seg < 0 ? null : Number(segFilesz),
    problems,
    bound: stype === SHT_PROGBITS && seg >= 0 && segFilesz === segMemsz,
  };
  return true;
}
let reservation = null;

// ---- The scan ---------------------------------------------------------------------------------------------
const dyn = new DynamicInfo();

function resetFile(bytes) {
  u8 = bytes;
  buf = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  fileLen = bytes.length;
  failed = false; errMessage = ''; errOffset = 0;
  shnum = 0; phnum = 0; shstrndx = 0;
  interpOff = -1; interpLen = 0;
  buildIdOff = -1; buildIdLen = 0;
  hasAbiTag = false; linkedByGold = false; hasSlAbi = false; hasLayer = false; hasBind = false;
  slAbi = 0; slAbiFlags = 0;
  reservation = null; refusal = null;
}

/**
 * Reads the ELF file in `bytes` (the whole file). Returns what `Core.scanLoaded` returns for it.
 * @param {Uint8Array} bytes
 */
export function readElf(bytes) {
  if (!(bytes.length >= 4 && bytes[0] === 0x7f && bytes[1] === 0x45 && bytes[2] === 0x4c && bytes[3] === 0x46)) {
    return { status: 'not-elf' };
  }
  resetFile(bytes);
  let ok = fits(0, 16) || fail(`file is ${fileLen} bytes: the ELF magic number, then nothing of e_ident`, 0);
  ok = ok && openElf();
  ok = ok && scanInterpreter() && scanDynamicStrings() && walkNotes() && scanReservation();
  if (!ok || failed) return { status: 'error', error: errMessage, errorOffset: errOffset };
  return { status: 'elf', facts: facts() };
}

// DT_NEEDED, SONAME, RPATH, RUNPATH as strings (scanDynamic in the core).
let soname = null, rpath = null, runpath = null;
/** @type {string[]} */ let needed = [];

/** The string whose index is at file offset `pos`: undefined when absent (-1), null after an error. */
function dynString(pos, what) {
  if (pos === -1) return undefined;
  const at = dyn.string(pos, what);
  return at < 0 ? null : utf8(at, strLen);
}

function scanDynamicStrings() {
  soname = null; rpath = null; runpath = null;
  needed = [];
  if (!readDynamic(dyn)) return false;
  if (!dyn.present) return true;
  const s = dynString(dyn.soname, 'DT_SONAME');
  if (s === null) return false;
  const r = dynString(dyn.rpath, 'DT_RPATH');
  if (r === null) return false;
  const rp = dynString(dyn.runpath, 'DT_RUNPATH');
  if (rp === null) return false;
  soname = s ?? null; rpath = r ?? null; runpath = rp ?? null;
  const list = dyn.needed;
  for (let i = 0; i < list.length; i++) {
    const at = dyn.string(list[i], 'DT_NEEDED');
    if (at < 0) return false;
    needed.push(utf8(at, strLen));
  }
  return true;
}

function machineName(m) {
  let n = machineNames.get(m);
  if (n === undefined) machineNames.set(m, (n = nameOf(EM_TABLE, m, 'EM_').replace(/^EM_/, '')));
  return n;
}
function osabiName(v) {
  let n = osabiNames.get(v);
  if (n === undefined) osabiNames.set(v, (n = nameOf(ELFOSABI_TABLE, v, 'ELFOSABI_').replace(/^ELFOSABI_/, '')));
  return n;
}

function facts() {
  let syslayer = null;
  if (reservation !== null || hasSlAbi || hasLayer || hasBind) {
    syslayer = {
      abi: hasSlAbi ? slAbi : null,
      abiFlags: hasSlAbi ? slAbiFlags : null,
      reservation,
      bound: reservation?.bound ?? false,
      layer: hasLayer
        ? {
            abiMin: layerAbiMin,
            abiMax: layerAbiMax,
            kernelMin: layerKernelMin,
            kernelMinText: `${layerKernelMin >>> 16}.${(layerKernelMin >>> 8) & 0xff}.${layerKernelMin & 0xff}`,
            revision: layerRevision,
            name: utf8(layerNameOff, layerNameLen),
          }
        : null,
      bindRecord: hasBind ? buf.toString('hex', bindOff, bindOff + bindLen) : null,
      refusal,
    };
  }
  return {
    class: is64 ? 64 : 32,
    endian: le ? 'little' : 'big',
    machine,
    machineName: machineName(machine),
    type: ELF_TYPES[type] ?? `0x${type.toString(16)}`,
    osabi,
    osabiName: osabiName(osabi),
    abiVersion,
    flags,
    entry: hexWord(L.e_entry),
    phnum,
    shnum,
    interpreter: interpOff < 0 ? null : utf8(interpOff, interpLen),
    soname,
    needed,
    rpath,
    runpath,
    dtFlags: dyn.flags === -1 ? null : dyn.flags,
    dtFlags1: dyn.flags1 === -1 ? null : dyn.flags1,
    linkage: dyn.present ? 'dynamic' : 'static',
    buildId: buildIdOff < 0 ? null : buf.toString('hex', buildIdOff, buildIdOff + buildIdLen),
    abiTag: hasAbiTag
      ? { os: ABI_TAG_OS[abiTagOs] ?? `OS ${abiTagOs}`, version: `${abiTagMajor}.${abiTagMinor}.${abiTagPatch}` }
      : null,
    syslayer,
  };
}

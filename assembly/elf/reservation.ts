// Finds the syslayer stub reservation (DESIGN §2): the section `.syslayer` and the PT_LOAD that
// covers it, and lists what is wrong with it. Scanning only describes; the binder refuses a
// reservation with any problem.
import { equalsCString, ld8 } from '../bytes';
import { ElfFile } from './file';
import {
  PT_LOAD, PF_W, PF_X, SHF_ALLOC, SHF_EXECINSTR, SHF_WRITE, SHT_NOBITS, SHT_PROGBITS,
} from '../generated/elf';
import {
  RESERVATION_NO_SEGMENT, RESERVATION_SHARED_SEGMENT, RESERVATION_WRITABLE, RESERVATION_NOT_EXECUTABLE,
  RESERVATION_NOT_ALLOC, RESERVATION_MISALIGNED, RESERVATION_SIZE_NOT_PAGES, RESERVATION_BAD_TYPE,
  RESERVATION_FILE_BYTES_WHILE_NOBITS,
} from '../generated/scan-record';

/** The smallest page size of every machine we bind for; a reservation must be aligned to it. */
const MIN_PAGE: u64 = 4096;

export const RESERVATION_SECTION_NAME = '.syslayer';

export class Reservation {
  section: u32 = 0;
  segment: i32 = -1;
  problems: u32 = 0;
}

/** Index of the `.syslayer` section, 0 when there is none, -1 after recording an error. */
/**
 * Index of the `.syslayer` section, 0 when there is none. Only names that could be `.syslayer`
 * are compared, in place: a scan looks at every section of every file, and measuring each name
 * first was half of the core's scan time. A name out of the table's bounds simply does not match
 * (the loader never reads section names; other sections' names are none of our business).
 */
export function findReservationSection(elf: ElfFile): i64 {
  if (elf.shstrndx == 0) return 0;
  const names = elf.shstrndx;
  const start = elf.shOffset(names);
  const size = elf.shSize(names);
  const wanted = <u64>RESERVATION_SECTION_NAME.length + 1; // with its NUL
  for (let i: u32 = 1; i < elf.shnum; i++) {
    const name = <u64>elf.shName(i);
    if (name >= size || wanted > size - name) continue;
    if (ld8(start + name + 1) != 0x73 /* 's' */) continue;
    if (equalsCString(start + name, start + size, RESERVATION_SECTION_NAME)) return <i64>i;
  }
  return 0;
}

export function describeReservation(elf: ElfFile, section: u32, out: Reservation): void {
  out.section = section;
  out.segment = -1;
  let problems: u32 = 0;
  const addr = elf.shAddr(section);
  const size = elf.shSize(section);
  const flags = elf.shFlags(section);
  const type = elf.shType(section);
  if (type != SHT_NOBITS && type != SHT_PROGBITS) problems |= RESERVATION_BAD_TYPE;
  if ((flags & <u64>SHF_ALLOC) == 0) problems |= RESERVATION_NOT_ALLOC;
  if ((flags & <u64>SHF_WRITE) != 0) problems |= RESERVATION_WRITABLE;
  if ((flags & <u64>SHF_EXECINSTR) == 0) problems |= RESERVATION_NOT_EXECUTABLE;
  if (addr % MIN_PAGE != 0 || elf.shAddralign(section) < MIN_PAGE) problems |= RESERVATION_MISALIGNED;
  if (size == 0 || size % MIN_PAGE != 0) problems |= RESERVATION_SIZE_NOT_PAGES;
  for (let i: u32 = 0; i < elf.phnum; i++) {
    if (elf.phType(i) != PT_LOAD) continue;
    const vaddr = elf.phVaddr(i);
    const memsz = elf.phMemsz(i);
    if (addr < vaddr || addr - vaddr > memsz || size > memsz - (addr - vaddr)) continue;
    out.segment = <i32>i;
    if (vaddr != addr || memsz != size) problems |= RESERVATION_SHARED_SEGMENT;
    const pflags = elf.phFlags(i);
    if ((pflags & PF_W) != 0) problems |= RESERVATION_WRITABLE;
    if ((pflags & PF_X) == 0) problems |= RESERVATION_NOT_EXECUTABLE;
    if (type == SHT_NOBITS && elf.phFilesz(i) != 0) problems |= RESERVATION_FILE_BYTES_WHILE_NOBITS;
    break;
  }
  if (out.segment < 0) problems |= RESERVATION_NO_SEGMENT;
  out.problems = problems;
}

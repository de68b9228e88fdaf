// Scans one file: the facts `syslayer scan` reports (DESIGN §5), written as one compact record.
import { setFile, fits, rangeFault, ld32, ld8, cstrlen, hex, fileLength, needsBytes, neededOffset, neededLength } from '../bytes';
import { resetError, hasFailed, errorMessage, errorOffset, fail, takeError } from '../errors';
import { Client, checkBindable } from '../bind/client';
import { SHT_PROGBITS } from '../generated/elf';
import { ElfFile } from '../elf/file';
import { DynamicInfo, readDynamic } from '../elf/dynamic';
import { NoteVisitor, walkNotes, OWNER_GNU, OWNER_SYSLAYER } from '../elf/notes';
import { Reservation, findReservationSection, describeReservation } from '../elf/reservation';
import { Record } from '../record';
import { PT_INTERP, NT_GNU_GOLD_VERSION, NT_GNU_ABI_TAG, NT_GNU_BUILD_ID, NT_SYSLAYER_ABI, NT_SYSLAYER_LAYER, NT_SYSLAYER_BIND } from '../generated/elf';
import * as R from '../generated/scan-record';

const elf = new ElfFile();
const dyn = new DynamicInfo();
const reservation = new Reservation();
let present: u32 = 0;
const record = new Record(R.SR_SIZE);
let needed: usize = 0;
let neededCapacity: u32 = 0;

/** Room for `count` (offset, length) pairs of DT_NEEDED strings; returns its address. */
function neededArea(count: u32): usize {
  if (count > neededCapacity) {
    needed = needed == 0 ? heap.alloc(<usize>count * 8) : heap.realloc(needed, <usize>count * 8);
    neededCapacity = count;
  }
  return needed;
}

class FactNotes extends NoteVisitor {
  visit(owner: u32, type: u32, descOff: u64, descSize: u64): bool {
    const le = elf.le;
    if (owner == OWNER_GNU) {
      if (type == NT_GNU_BUILD_ID) {
        record.str(R.SR_BUILD_ID, descOff, descSize);
      } else if (type == NT_GNU_ABI_TAG && descSize >= 16) {
        present |= R.PRESENT_ABI_TAG;
        record.u32(R.SR_ABI_TAG_OS, ld32(descOff, le));
        record.u32(R.SR_ABI_TAG_MAJOR, ld32(descOff + 4, le));
        record.u32(R.SR_ABI_TAG_MINOR, ld32(descOff + 8, le));
        record.u32(R.SR_ABI_TAG_PATCH, ld32(descOff + 12, le));
      } else if (type == NT_GNU_GOLD_VERSION) {
        present |= R.PRESENT_GOLD;
      }
    } else if (owner == OWNER_SYSLAYER) {
      if (type == NT_SYSLAYER_ABI && descSize >= 8) {
        present |= R.PRESENT_SL_ABI;
        record.u32(R.SR_SL_ABI, ld32(descOff, le));
        record.u32(R.SR_SL_ABI_FLAGS, ld32(descOff + 4, le));
      } else if (type == NT_SYSLAYER_LAYER && descSize > 16) {
        const nameLen = cstrlen(descOff + 16, descOff + descSize);
        if (nameLen >= 0) {
          present |= R.PRESENT_SL_LAYER;
          record.u32(R.SR_LAYER_ABI_MIN, ld32(descOff, le));
          record.u32(R.SR_LAYER_ABI_MAX, ld32(descOff + 4, le));
          record.u32(R.SR_LAYER_KERNEL_MIN, ld32(descOff + 8, le));
          record.u32(R.SR_LAYER_REVISION, ld32(descOff + 12, le));
          record.str(R.SR_LAYER_NAME, descOff + 16, <u64>nameLen);
        }
      } else if (type == NT_SYSLAYER_BIND) {
        present |= R.PRESENT_SL_BIND;
        record.str(R.SR_BIND_RECORD, descOff, descSize);
      }
    }
    return true;
  }
}
const factNotes = new FactNotes();

function putDynamicString(field: u32, index: u64, what: string, at: u64): bool {
  if (!dyn.has(index)) return true;
  const s = dyn.string(index, what, at);
  if (s == null) return false;
  record.str(field, s.offset, s.length);
  return true;
}

function scanInterpreter(): bool {
  for (let i: u32 = 0; i < elf.phnum; i++) {
    if (elf.phType(i) != PT_INTERP) continue;
    const off = elf.phOffset(i);
    const size = elf.phFilesz(i);
    if (!fits(off, size)) {
      return fail('program header ' + i.toString() + ' (PT_INTERP): p_offset ' + hex(off) + ' + p_filesz ' +
        hex(size) + ' is past end of file (' + hex(fileLength()) + ')',
        rangeFault(off, size, fileLength(), elf.ph(i) + elf.L.p_offset, elf.ph(i) + elf.L.p_filesz));
    }
    // The interpreter string is NUL-terminated inside the segment; tolerate a missing NUL the way
    // readelf does by stopping at the segment's end.
    let len = cstrlen(off, off + size);
    if (len < 0) len = <i64>size;
    present |= R.PRESENT_INTERP;
    record.str(R.SR_INTERPRETER, off, <u64>len);
    return true;
  }
  return true;
}

function scanDynamic(): bool {
  if (!readDynamic(elf, dyn)) return false;
  if (!dyn.present) return true;
  present |= R.PRESENT_DYNAMIC;
  if (dyn.has(dyn.flags)) { present |= R.PRESENT_FLAGS; record.u32(R.SR_DT_FLAGS, <u32>dyn.flags); }
  if (dyn.has(dyn.flags1)) { present |= R.PRESENT_FLAGS_1; record.u32(R.SR_DT_FLAGS1, <u32>dyn.flags1); }
  if (!putDynamicString(R.SR_SONAME, dyn.soname, 'DT_SONAME', dyn.sonameAt)) return false;
  if (!putDynamicString(R.SR_RPATH, dyn.rpath, 'DT_RPATH', dyn.rpathAt)) return false;
  if (!putDynamicString(R.SR_RUNPATH, dyn.runpath, 'DT_RUNPATH', dyn.runpathAt)) return false;
  const count = <u32>dyn.needed.length;
  const area = neededArea(count);
  for (let i: u32 = 0; i < count; i++) {
    const s = dyn.string(dyn.needed[i], 'DT_NEEDED', dyn.neededAt[i]);
    if (s == null) return false;
    store<u32>(area + <usize>i * 8, <u32>s.offset);
    store<u32>(area + <usize>i * 8 + 4, <u32>s.length);
  }
  record.u32(R.SR_NEEDED_COUNT, count);
  record.u32(R.SR_NEEDED_PTR, <u32>area);
  return true;
}

function scanReservation(): bool {
  const found = findReservationSection(elf);
  if (found < 0) return false;
  if (found == 0) return true;
  describeReservation(elf, <u32>found, reservation);
  present |= R.PRESENT_RESERVATION;
  checkUnboundClient();
  const s = reservation.section;
  record.u32(R.SR_RES_SECTION, s);
  record.u32(R.SR_RES_SECTION_TYPE, elf.shType(s));
  record.u32(R.SR_RES_PROBLEMS, reservation.problems);
  record.u64(R.SR_RES_ADDR, elf.shAddr(s));
  record.u64(R.SR_RES_SIZE, elf.shSize(s));
  record.u64(R.SR_RES_SECTION_FLAGS, elf.shFlags(s));
  record.u64(R.SR_RES_ALIGN, elf.shAddralign(s));
  record.u64(R.SR_RES_FILE_OFFSET, elf.shOffset(s));
  if (reservation.segment < 0) {
    record.u32(R.SR_RES_SEGMENT, R.SR_NONE);
    return true;
  }
  const p = <u32>reservation.segment;
  record.u32(R.SR_RES_SEGMENT, p);
  record.u32(R.SR_RES_SEGMENT_FLAGS, elf.phFlags(p));
  record.u64(R.SR_RES_SEG_VADDR, elf.phVaddr(p));
  record.u64(R.SR_RES_SEG_MEMSZ, elf.phMemsz(p));
  record.u64(R.SR_RES_SEG_FILESZ, elf.phFilesz(p));
  record.u64(R.SR_RES_SEG_OFFSET, elf.phOffset(p));
  record.u64(R.SR_RES_SEG_ALIGN, elf.phAlign(p));
  return true;
}

const client = new Client();

/**
 * For an unbound client, runs the binder's own checks (bind/client.ts) so that `plan` can say why
 * `bind` would refuse it. Bound clients are checked when bind undoes their binding.
 */
function checkUnboundClient(): void {
  if (elf.shType(reservation.section) != SHT_PROGBITS || (present & R.PRESENT_SL_BIND) == 0) {
    client.elf = elf;
    client.abi = load<u32>(record.base + R.SR_SL_ABI);
    client.hasAbi = (present & R.PRESENT_SL_ABI) != 0;
    client.linkedByGold = (present & R.PRESENT_GOLD) != 0;
    const refusal = checkBindable(client) ? '' : takeError();
    if (refusal.length > 0 && !needsBytes()) record.text(R.SR_REFUSAL, refusal);
  }
}

function isElf(): bool {
  return fits(0, 4) && ld8(0) == 0x7f && ld8(1) == 0x45 && ld8(2) == 0x4c && ld8(3) == 0x46;
}

function putHeader(): void {
  record.u32(R.SR_CLASS, elf.elfClass);
  record.u32(R.SR_ENDIAN, elf.data);
  record.u32(R.SR_OSABI, elf.osabi);
  record.u32(R.SR_ABI_VERSION, elf.abiVersion);
  record.u32(R.SR_TYPE, elf.type);
  record.u32(R.SR_MACHINE, elf.machine);
  record.u32(R.SR_FLAGS, elf.flags);
  record.u32(R.SR_PHNUM, elf.phnum);
  record.u32(R.SR_SHNUM, elf.shnum);
  record.u32(R.SR_SHSTRNDX, elf.shstrndx);
  record.u64(R.SR_ENTRY, elf.entry);
}

/** Scans the file of `length` bytes at `base` and returns the address of its record. */
export function scanFile(base: usize, length: u64): usize {
  setFile(base, length);
  resetError();
  record.clear();
  present = 0;
  for (let i = 0; i < ABSENT_STRINGS.length; i++) record.absent(ABSENT_STRINGS[i]);
  record.absent(R.SR_REFUSAL);
  if (!isElf()) {
    record.u32(R.SR_STATUS, R.SR_STATUS_NOT_ELF);
    return record.base;
  }
  let ok = fits(0, 16) || fail('file is ' + length.toString() + ' bytes: the ELF magic number, then nothing of e_ident', length);
  ok = ok && elf.open();
  if (ok) {
    putHeader();
    ok = scanInterpreter() && scanDynamic() && walkNotes(elf, factNotes) && scanReservation();
  }
  if (elf.shnum > 0) present |= R.PRESENT_SECTIONS;
  record.u32(R.SR_PRESENT, present);
  if (needsBytes()) {
    // Whatever failed, failed for want of bytes: the caller loads them and scans again.
    record.u32(R.SR_STATUS, R.SR_STATUS_NEED_BYTES);
    record.u64(R.SR_NEED_OFFSET, neededOffset());
    record.u64(R.SR_NEED_LENGTH, neededLength());
  } else if (!ok || hasFailed()) {
    record.u32(R.SR_STATUS, R.SR_STATUS_ERROR);
    record.u64(R.SR_ERROR_OFFSET, errorOffset());
    record.error(R.SR_ERROR, errorMessage());
  } else {
    record.u32(R.SR_STATUS, R.SR_STATUS_ELF);
  }
  return record.base;
}

const ABSENT_STRINGS: StaticArray<u32> = [
  R.SR_INTERPRETER, R.SR_SONAME, R.SR_RPATH, R.SR_RUNPATH, R.SR_BUILD_ID, R.SR_LAYER_NAME, R.SR_BIND_RECORD,
];

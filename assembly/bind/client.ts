// A client object on its way to being bound: opened, its binding (if any) undone in place, and
// checked against every rule that makes the binder refuse it (docs/abi.md, "Client objects").
import { setFile, st16, st32, equalsCString, fileAddress, hex } from '../bytes';
import { fail, takeError } from '../errors';
import { ElfFile } from '../elf/file';
import { DynamicInfo, readDynamic } from '../elf/dynamic';
import { NoteVisitor, walkNotes, OWNER_GNU, OWNER_SYSLAYER } from '../elf/notes';
import { Reservation, findReservationSection, describeReservation } from '../elf/reservation';
import { BindNote, readBindNote } from './bind-note';
import { checkNoRelocationInto } from './dynamic-relocations';
import { ET_EXEC, ET_DYN, NT_GNU_GOLD_VERSION, NT_SYSLAYER_ABI, NT_SYSLAYER_BIND, SHT_NOBITS, SHT_NOTE } from '../generated/elf';

export const BIND_SECTION_NAME = '.syslayer.bind';
import { RESERVATION_SHARED_SEGMENT, RESERVATION_names } from '../generated/scan-record';

export class Client {
  elf: ElfFile = new ElfFile();
  dyn: DynamicInfo = new DynamicInfo();
  reservation: Reservation = new Reservation();
  abi: u32 = 0;
  hasAbi: bool = false;
  linkedByGold: bool = false;
  bindNoteOffset: u64 = 0;
  bindNoteSize: u64 = 0;
  hasBindNote: bool = false;
  note: BindNote = new BindNote();
  wasBound: bool = false;
  /** Set when undoing the recorded binding gave no sound original: the file changed since. */
  recordMismatch: bool = false;
}

class ClientNotes extends NoteVisitor {
  constructor(public client: Client) { super(); }
  visit(owner: u32, type: u32, descOff: u64, descSize: u64): bool {
    const c = this.client;
    if (owner == OWNER_SYSLAYER && type == NT_SYSLAYER_ABI && descSize >= 8) {
      c.abi = c.elf.u32at(descOff);
      c.hasAbi = true;
    } else if (owner == OWNER_SYSLAYER && type == NT_SYSLAYER_BIND) {
      c.hasBindNote = true;
      c.bindNoteOffset = descOff;
      c.bindNoteSize = descSize;
    } else if (owner == OWNER_GNU && type == NT_GNU_GOLD_VERSION) {
      c.linkedByGold = true;
    }
    return true;
  }
}

function readNotes(c: Client): bool {
  // Reset with the flags: prepare reports `abi`, and a file without the note must not show the last client's.
  c.abi = 0;
  c.hasAbi = false;
  c.hasBindNote = false;
  c.linkedByGold = false;
  return walkNotes(c.elf, new ClientNotes(c));
}

/**
 * Opens the client in the input area and, when it is bound, restores the original in place:
 * truncated to its original size with the changed header fields put back (the original bytes
 * were never overwritten). The caller checks the original's SHA-256 against the record.
 */
export function openClient(c: Client, base: usize, length: u64): bool {
  setFile(base, length);
  c.wasBound = false;
  c.recordMismatch = false;
  const elf = c.elf;
  if (!elf.open() || !readNotes(c)) return false;
  if (c.hasBindNote) {
    if (!readBindNote(c.bindNoteOffset, c.bindNoteSize, elf.le, c.note)) return false;
    const n = c.note;
    if (n.originalSize > length || n.originalSize < <u64>elf.L.ehsize) {
      return fail('bind record: original size ' + n.originalSize.toString() + ' does not fit the file (' + length.toString() + ' bytes)', c.bindNoteOffset);
    }
    if (n.segment >= elf.phnum) return fail('bind record: segment ' + n.segment.toString() + ' is not a program header', c.bindNoteOffset);
    // Binding writes the section header table last: bytes after it came later (a signature, a
    // payload appended to the file), and restoring the original would silently drop them.
    const boundEnd = elf.shoff + <u64>elf.shnum * <u64>elf.shentsize;
    if (length > boundEnd) {
      c.recordMismatch = true;
      const extra = length - boundEnd;
      return fail('the bind record does not match the file: ' + extra.toString() + (extra == 1 ? ' byte follows' : ' bytes follow') +
        ' the section header table that binding wrote last (appended after binding?), and undoing the binding would drop ' +
        (extra == 1 ? 'it' : 'them'), boundEnd);
    }
    const ph = elf.ph(n.segment);
    elf.setWordAt(<u64>elf.L.e_shoff, n.originalShoff);
    st16(<u64>elf.L.e_shnum, n.originalShnum, elf.le);
    elf.setWordAt(ph + elf.L.p_offset, n.originalPOffset);
    elf.setWordAt(ph + elf.L.p_filesz, n.originalPFilesz);
    setFile(base, n.originalSize);
    c.wasBound = true;
    if (!elf.open() || !readNotes(c) || c.hasBindNote) {
      const why = c.hasBindNote ? 'it is still bound' : takeError();
      c.recordMismatch = true;
      return fail('the bind record does not match the file: it was changed after binding (by strip or objcopy?), ' +
        'and undoing it gives no sound original (' + why + ')', 0);
    }
  }
  return true;
}

/**
 * Makes a bound file whose record cannot be trusted look unbound, in place: the reservation goes
 * back to SHT_NOBITS with p_filesz 0, and the old .syslayer.bind section headers are zeroed
 * (inactive SHT_NULL entries, so the section count and indexes stay).
 * The layer bytes stay in the file, unreferenced; the next binding appends a fresh image.
 */
export function detachBinding(c: Client, base: usize, length: u64): bool {
  setFile(base, length);
  c.wasBound = false;
  const elf = c.elf;
  if (!elf.open() || !readNotes(c)) return false;
  const found = findReservationSection(elf);
  if (found < 0) return false;
  if (found == 0) return fail('no .syslayer section: not a syslayer client', elf.shoff);
  describeReservation(elf, <u32>found, c.reservation);
  const L = elf.L;
  st32(elf.sh(<u32>found) + L.sh_type, SHT_NOBITS, elf.le);
  if (c.reservation.segment >= 0) elf.setWordAt(elf.ph(<u32>c.reservation.segment) + L.p_filesz, 0);
  for (let i: u32 = 1; i < elf.shnum; i++) {
    if (elf.shType(i) != SHT_NOTE) continue;
    const name = elf.sectionNameOffset(i);
    if (name < 0) return false;
    if (equalsCString(<u64>name, elf.shOffset(elf.shstrndx) + elf.shSize(elf.shstrndx), BIND_SECTION_NAME)) {
      memory.fill(fileAddress(elf.sh(i)), 0, <usize>elf.shentsize); // an inactive SHT_NULL entry
    }
  }
  if (!elf.open() || !readNotes(c)) return false;
  if (c.hasBindNote) return fail('a bind note outside a .syslayer.bind section cannot be detached', c.bindNoteOffset);
  return true;
}

/** Every reason to refuse binding the (original) client; false with the first one recorded. */
/**
 * The largest reservation the binder fills: the SDK's default is 16 KiB and a reference layer
 * links to under 1 KiB, so 16 MiB is far beyond any real layer. A bound file holds the whole
 * reservation: without a limit a 16 KiB file declaring a huge p_memsz made the core allocate it.
 */
const MAX_RESERVATION: u64 = 16 << 20;
/**
 * The largest p_align the binder honours: page sizes are 4 KiB to 64 KiB, and 2 MiB is the
 * largest default -z max-page-size GNU ld has used (x86-64). Binding pads the file with up to
 * p_align - 1 zero bytes to keep p_offset congruent to p_vaddr.
 */
const MAX_SEGMENT_ALIGN: u64 = 2 << 20;

export function checkBindable(c: Client): bool {
  const elf = c.elf;
  if (elf.type != ET_EXEC && elf.type != ET_DYN) return fail('e_type ' + elf.type.toString() + ' is neither ET_EXEC nor ET_DYN', 16);
  if (!c.hasAbi) return fail('no NT_SYSLAYER_ABI note: not a syslayer client', 0);
  const found = findReservationSection(elf);
  if (found < 0) return false;
  if (found == 0) return fail('no .syslayer section: not a syslayer client', elf.shoff);
  describeReservation(elf, <u32>found, c.reservation);
  const r = c.reservation;
  if (r.problems != 0) {
    const why = RESERVATION_names(r.problems);
    if (c.linkedByGold && (r.problems & RESERVATION_SHARED_SEGMENT) != 0) {
      return fail('the reservation shares its PT_LOAD with other sections (' + why + '): the file was linked by GNU gold, ' +
        'which cannot parse the INSERT command of sdk/ld/syslayer.ld and merges .syslayer into another segment', elf.sh(r.section));
    }
    return fail('the reservation cannot be bound: ' + why, elf.sh(r.section));
  }
  // Binding appends up to p_align - 1 bytes of padding and p_memsz bytes of reservation: both are
  // the file's word, so both are bounded before the core allocates for them (found by fuzzing).
  const seg = <u32>r.segment;
  const align = elf.phAlign(seg);
  if (align > 1 && (align & (align - 1)) != 0) {
    return fail('reservation PT_LOAD ' + seg.toString() + ': p_align ' + hex(align) + ' is not a power of two', elf.ph(seg) + elf.L.p_align);
  }
  if (align > MAX_SEGMENT_ALIGN) {
    return fail('reservation PT_LOAD ' + seg.toString() + ': p_align ' + hex(align) + ' is larger than ' + hex(MAX_SEGMENT_ALIGN), elf.ph(seg) + elf.L.p_align);
  }
  if (elf.phMemsz(seg) > MAX_RESERVATION) {
    return fail('reservation PT_LOAD ' + seg.toString() + ': p_memsz ' + hex(elf.phMemsz(seg)) + ' is larger than ' + hex(MAX_RESERVATION), elf.ph(seg) + elf.L.p_memsz);
  }
  if (elf.shstrndx == 0) return fail('no section name table to name .syslayer.bind in', <u64>elf.L.e_shstrndx);
  if (elf.shnum + 1 >= 0xff00) return fail('e_shnum ' + elf.shnum.toString() + ' leaves no room for .syslayer.bind', <u64>elf.L.e_shnum);
  if (!readDynamic(elf, c.dyn)) return false;
  const lo = elf.shAddr(r.section);
  return checkNoRelocationInto(elf, c.dyn, lo, lo + elf.shSize(r.section));
}


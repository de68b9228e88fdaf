// Walks the ELF notes of a file and hands each one to a visitor. Notes come from the SHT_NOTE
// sections when the file has section headers (as readelf -n shows them), otherwise from the
// PT_NOTE segments (what a loader sees in a file stripped of its section headers).
// Note layout (gABI 5-6): namesz, descsz, type, then name and descriptor, each padded to the
// note alignment: 4, or 8 for notes in a region aligned to 8 (e.g. .note.gnu.property on LP64).
import { fits, rangeFault, hex, fileLength, equalsCString } from '../bytes';
import { fail } from '../errors';
import { ElfFile } from './file';
import { PT_NOTE, SHT_NOTE } from '../generated/elf';

export const OWNER_OTHER: u32 = 0;
export const OWNER_GNU: u32 = 1;
export const OWNER_SYSLAYER: u32 = 2;

export abstract class NoteVisitor {
  /** Called once per note; return false (after recording an error) to stop the walk. */
  abstract visit(owner: u32, type: u32, descOff: u64, descSize: u64): bool;
}

@inline function alignUp(v: u64, a: u64): u64 {
  return (v + a - 1) & ~(a - 1);
}

function ownerOf(nameOff: u64, nameSize: u64): u32 {
  const end = nameOff + nameSize;
  if (nameSize == 4 && equalsCString(nameOff, end, 'GNU')) return OWNER_GNU;
  if (nameSize == 9 && equalsCString(nameOff, end, 'syslayer')) return OWNER_SYSLAYER;
  return OWNER_OTHER;
}

// `header` names the section or program header the notes came from, for error messages only;
// the region's own bounds are checked by the caller. Error offsets follow `rangeFault`, with the
// region as the container: a note that runs past it is reported at the region's end unless its
// namesz or descsz could not fit any file.
function walkRegion(elf: ElfFile, off: u64, size: u64, align: u64, header: string, index: u32, visitor: NoteVisitor): bool {
  const a: u64 = align == 8 ? 8 : 4;
  const end = off + size;
  let p = off;
  while (p < end) {
    if (end - p < 12) {
      return fail(header + ' ' + index.toString() + ': note header at ' + hex(p) +
        ' is cut short by the end of the notes', end);
    }
    const namesz = <u64>elf.u32at(p);
    const descsz = <u64>elf.u32at(p + 4);
    const type = elf.u32at(p + 8);
    const nameOff = p + 12;
    // namesz and descsz are u32 and p < 2^32 (the file is in 32-bit memory): no overflow below.
    const descOff = alignUp(nameOff + namesz, a);
    if (descOff + descsz > end) {
      const at = nameOff + namesz > end ? rangeFault(nameOff, namesz, end, p, p) : rangeFault(descOff, descsz, end, p + 4, p + 4);
      return fail(header + ' ' + index.toString() + ': note at ' + hex(p) + ' (namesz ' + hex(namesz) +
        ', descsz ' + hex(descsz) + ') runs past the end of its notes at ' + hex(end), at);
    }
    if (!visitor.visit(ownerOf(nameOff, namesz), type, descOff, descsz)) return false;
    p = alignUp(descOff + descsz, a);
  }
  return true;
}

export function walkNotes(elf: ElfFile, visitor: NoteVisitor): bool {
  if (elf.shnum > 0) {
    for (let i: u32 = 0; i < elf.shnum; i++) {
      if (elf.shType(i) != SHT_NOTE) continue;
      if (!elf.sectionFits(i)) return false;
      if (!walkRegion(elf, elf.shOffset(i), elf.shSize(i), elf.shAddralign(i), 'section header', i, visitor)) return false;
    }
    return true;
  }
  for (let i: u32 = 0; i < elf.phnum; i++) {
    if (elf.phType(i) != PT_NOTE) continue;
    const off = elf.phOffset(i);
    const size = elf.phFilesz(i);
    if (!fits(off, size)) {
      return fail('program header ' + i.toString() + ' (PT_NOTE): notes at ' + hex(off) + ' + ' + hex(size) +
        ' are past end of file (' + hex(fileLength()) + ')',
        rangeFault(off, size, fileLength(), elf.ph(i) + elf.L.p_offset, elf.ph(i) + elf.L.p_filesz));
    }
    if (!walkRegion(elf, elf.phOffset(i), elf.phFilesz(i), elf.phAlign(i), 'program header', i, visitor)) return false;
  }
  return true;
}

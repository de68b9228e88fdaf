// Writes a linked layer image into an (unbound, checked) client, in place in the input area,
// exactly as docs/abi.md "Bound clients" says: the original bytes stay; the reservation contents,
// a new section name table, the bind note and a new section header table are appended; the ELF
// header's e_shoff/e_shnum and the reservation PT_LOAD's p_offset/p_filesz change.
// Scan, then write: the whole layout is computed, the area grown once, then every byte written.
import { fileLength, fileAddress, st16, st32, ld16 } from '../bytes';
import { fail } from '../errors';
import { growFile } from '../input';
import { Client, BIND_SECTION_NAME } from './client';
import { BindNote, bindNoteSize, writeBindNote } from './bind-note';
import { SHT_NOTE, SHT_PROGBITS, NT_SYSLAYER_BIND } from '../generated/elf';
import * as P from '../generated/bind-params-record';

const NOTE_OWNER = 'syslayer';
const NOTE_NAME_PADDED: u64 = 12; // "syslayer\0" padded to 4

@inline function alignUp(v: u64, a: u64): u64 {
  return (v + a - 1) & ~(a - 1);
}

@inline function entryAt(table: u64, i: u32, entsize: u64): u64 {
  return table + <u64>i * entsize;
}

export class BindLayout {
  original: u64 = 0;
  reservation: u64 = 0;
  names: u64 = 0;
  namesSize: u64 = 0;
  note: u64 = 0;
  noteSize: u64 = 0;
  headers: u64 = 0;
  total: u64 = 0;
}

/** Binds; `params` is the BIND_PARAMS record (data/records/bind-params.json) in memory. */
export function bindClient(c: Client, params: usize, out: BindLayout): bool {
  const elf = c.elf;
  const r = c.reservation;
  const seg = <u32>r.segment;
  const imageLength = <u64>load<u32>(params + P.BP_IMAGE_LENGTH);
  const nameLength = <u64>load<u32>(params + P.BP_NAME_LENGTH);
  const name = params + <usize>P.BP_SIZE;
  const image = <usize>load<u32>(params + P.BP_IMAGE_PTR);
  const memsz = elf.phMemsz(seg);
  if (imageLength > memsz) {
    return fail('the linked layer is ' + imageLength.toString() + ' bytes, larger than the reservation (' + memsz.toString() + ' bytes)', elf.ph(seg));
  }

  // Layout.
  const L = elf.L;
  const original = fileLength();
  const vaddr = elf.phVaddr(seg);
  let align = elf.phAlign(seg);
  if (align < 4096) align = 4096;
  // The first offset at or past the end with offset ≡ p_vaddr (mod p_align): mmap needs it.
  const want = vaddr & (align - 1);
  const have = original & (align - 1);
  const reservation = original + (want >= have ? want - have : align - have + want);
  const oldNames = elf.shstrndx;
  const oldNamesSize = elf.shSize(oldNames);
  const namesAt = reservation + memsz;
  const namesSize = oldNamesSize + <u64>BIND_SECTION_NAME.length + 1;
  const descSize = bindNoteSize(nameLength);
  const noteAt = alignUp(namesAt + namesSize, 4);
  const noteSize = 12 + NOTE_NAME_PADDED + alignUp(descSize, 4);
  const headersAt = alignUp(noteAt + noteSize, <u64>L.addrSize);
  const count = elf.shnum + 1;
  const entsize = <u64>elf.shentsize;
  const total = headersAt + <u64>count * entsize;
  out.original = original;
  out.reservation = reservation;
  out.names = namesAt;
  out.namesSize = namesSize;
  out.note = noteAt;
  out.noteSize = noteSize;
  out.headers = headersAt;
  out.total = total;

  // Write.
  growFile(total);
  const le = elf.le;
  memory.fill(fileAddress(original), 0, <usize>(total - original));
  memory.copy(fileAddress(reservation), image, <usize>imageLength);
  memory.copy(fileAddress(namesAt), fileAddress(elf.shOffset(oldNames)), <usize>oldNamesSize);
  for (let i = 0; i < BIND_SECTION_NAME.length; i++) {
    store<u8>(fileAddress(namesAt + oldNamesSize + <u64>i), <u8>BIND_SECTION_NAME.charCodeAt(i));
  }
  st32(noteAt, <u32>NOTE_OWNER.length + 1, le);
  st32(noteAt + 4, <u32>descSize, le);
  st32(noteAt + 8, NT_SYSLAYER_BIND, le);
  for (let i = 0; i < NOTE_OWNER.length; i++) store<u8>(fileAddress(noteAt + 12 + <u64>i), <u8>NOTE_OWNER.charCodeAt(i));
  const n = new BindNote();
  n.targetKernel = load<u32>(params + P.BP_TARGET_KERNEL);
  n.abiMin = load<u32>(params + P.BP_LAYER_ABI_MIN);
  n.abiMax = load<u32>(params + P.BP_LAYER_ABI_MAX);
  n.kernelMin = load<u32>(params + P.BP_LAYER_KERNEL_MIN);
  n.revision = load<u32>(params + P.BP_LAYER_REVISION);
  n.clientAbi = load<u32>(params + P.BP_CLIENT_ABI);
  n.segment = seg;
  n.originalSize = original;
  n.originalShoff = elf.shoff;
  n.originalShnum = ld16(<u64>L.e_shnum, le);
  n.originalPOffset = elf.phOffset(seg);
  n.originalPFilesz = elf.phFilesz(seg);
  n.imageLength = imageLength;
  n.nameLength = nameLength;
  writeBindNote(noteAt + 12 + NOTE_NAME_PADDED, le, n, params + P.BP_ORIGINAL_SHA, params + P.BP_RESERVATION_SHA, name);

  // The new section header table: the old entries, two of them changed, and one more.
  const oldHeaders = elf.shoff;
  memory.copy(fileAddress(headersAt), fileAddress(oldHeaders), <usize>(<u64>elf.shnum * entsize));
  st32(entryAt(headersAt, r.section, entsize) + L.sh_type, SHT_PROGBITS, le);
  elf.setWordAt(entryAt(headersAt, r.section, entsize) + L.sh_offset, reservation);
  elf.setWordAt(entryAt(headersAt, oldNames, entsize) + L.sh_offset, namesAt);
  elf.setWordAt(entryAt(headersAt, oldNames, entsize) + L.sh_size, namesSize);
  const added = entryAt(headersAt, elf.shnum, entsize);
  st32(added + L.sh_name, <u32>oldNamesSize, le);
  st32(added + L.sh_type, SHT_NOTE, le);
  elf.setWordAt(added + L.sh_offset, noteAt);
  elf.setWordAt(added + L.sh_size, noteSize);
  elf.setWordAt(added + L.sh_addralign, 4);
  // (sh_flags, sh_addr, sh_link, sh_info and sh_entsize stay 0: memory.fill above.)

  // Header fields.
  elf.setWordAt(<u64>L.e_shoff, headersAt);
  if (ld16(<u64>L.e_shnum, le) == 0) elf.setWordAt(entryAt(headersAt, 0, entsize) + L.sh_size, <u64>count); // the e_shnum == 0 escape
  else st16(<u64>L.e_shnum, count, le);
  const ph = elf.ph(seg);
  elf.setWordAt(ph + L.p_offset, reservation);
  elf.setWordAt(ph + L.p_filesz, memsz);
  return true;
}

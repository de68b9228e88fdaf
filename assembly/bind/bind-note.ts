// The bind record: descriptor of the NT_SYSLAYER_BIND note (docs/abi.md, "The bind record").
// Everything needed to undo a binding and to re-derive it. Fields are in the client's byte order.
import { ld32, ld64, st32, st64, fits, cstrlen, hex, fileAddress } from '../bytes';
import { fail } from '../errors';

export const BIND_RECORD_VERSION: u32 = 1;
export const BN_VERSION: u64 = 0;
export const BN_TARGET_KERNEL: u64 = 4;
export const BN_ABI_MIN: u64 = 8;
export const BN_ABI_MAX: u64 = 12;
export const BN_KERNEL_MIN: u64 = 16;
export const BN_REVISION: u64 = 20;
export const BN_CLIENT_ABI: u64 = 24;
export const BN_SEGMENT: u64 = 28;
export const BN_ORIGINAL_SIZE: u64 = 32;
export const BN_ORIGINAL_SHOFF: u64 = 40;
export const BN_ORIGINAL_SHNUM: u64 = 48;
export const BN_RESERVED: u64 = 52;
export const BN_ORIGINAL_P_OFFSET: u64 = 56;
export const BN_ORIGINAL_P_FILESZ: u64 = 64;
export const BN_ORIGINAL_SHA: u64 = 72;
export const BN_RESERVATION_SHA: u64 = 104;
export const BN_IMAGE_LENGTH: u64 = 136;
export const BN_NAME: u64 = 144;

export class BindNote {
  targetKernel: u32 = 0;
  abiMin: u32 = 0;
  abiMax: u32 = 0;
  kernelMin: u32 = 0;
  revision: u32 = 0;
  clientAbi: u32 = 0;
  segment: u32 = 0;
  originalSize: u64 = 0;
  originalShoff: u64 = 0;
  originalShnum: u32 = 0;
  originalPOffset: u64 = 0;
  originalPFilesz: u64 = 0;
  imageLength: u64 = 0;
  /** File offsets of the two hashes and the name, inside the descriptor. */
  originalSha: u64 = 0;
  reservationSha: u64 = 0;
  name: u64 = 0;
  nameLength: u64 = 0;
}

/** Reads the descriptor at [off, off + size); false (error recorded) when it is malformed. */
export function readBindNote(off: u64, size: u64, le: bool, out: BindNote): bool {
  if (size < BN_NAME + 1 || !fits(off, size)) {
    return fail('bind record at ' + hex(off) + ' is ' + size.toString() + ' bytes, shorter than its ' + (BN_NAME + 1).toString(), off);
  }
  const version = ld32(off + BN_VERSION, le);
  // A newer record may move or add fields: reading it as ours could "restore" wrong bytes.
  if (version > BIND_RECORD_VERSION) {
    return fail('bind record at ' + hex(off) + ' has version ' + version.toString() + ', from a newer syslayer (this one reads up to ' +
      BIND_RECORD_VERSION.toString() + '): unbind or re-bind it with that version or later', off + BN_VERSION);
  }
  if (version == 0) return fail('bind record at ' + hex(off) + ' has version 0, which no syslayer writes: the record is corrupt', off + BN_VERSION);
  out.targetKernel = ld32(off + BN_TARGET_KERNEL, le);
  out.abiMin = ld32(off + BN_ABI_MIN, le);
  out.abiMax = ld32(off + BN_ABI_MAX, le);
  out.kernelMin = ld32(off + BN_KERNEL_MIN, le);
  out.revision = ld32(off + BN_REVISION, le);
  out.clientAbi = ld32(off + BN_CLIENT_ABI, le);
  out.segment = ld32(off + BN_SEGMENT, le);
  out.originalSize = ld64(off + BN_ORIGINAL_SIZE, le);
  out.originalShoff = ld64(off + BN_ORIGINAL_SHOFF, le);
  out.originalShnum = ld32(off + BN_ORIGINAL_SHNUM, le);
  out.originalPOffset = ld64(off + BN_ORIGINAL_P_OFFSET, le);
  out.originalPFilesz = ld64(off + BN_ORIGINAL_P_FILESZ, le);
  out.imageLength = ld64(off + BN_IMAGE_LENGTH, le);
  out.originalSha = off + BN_ORIGINAL_SHA;
  out.reservationSha = off + BN_RESERVATION_SHA;
  out.name = off + BN_NAME;
  const len = cstrlen(off + BN_NAME, off + size);
  if (len < 0) return fail('bind record at ' + hex(off) + ': the layer name has no NUL', off + BN_NAME);
  out.nameLength = <u64>len;
  return true;
}

/** Bytes of a descriptor for a layer name of `nameLength` bytes (NUL included, unpadded). */
export function bindNoteSize(nameLength: u64): u64 {
  return BN_NAME + nameLength + 1;
}

/** Writes the descriptor at `off`; `params` fields are already in `out`; hashes and name are copied. */
export function writeBindNote(off: u64, le: bool, n: BindNote, originalSha: usize, reservationSha: usize, name: usize): void {
  st32(off + BN_VERSION, BIND_RECORD_VERSION, le);
  st32(off + BN_TARGET_KERNEL, n.targetKernel, le);
  st32(off + BN_ABI_MIN, n.abiMin, le);
  st32(off + BN_ABI_MAX, n.abiMax, le);
  st32(off + BN_KERNEL_MIN, n.kernelMin, le);
  st32(off + BN_REVISION, n.revision, le);
  st32(off + BN_CLIENT_ABI, n.clientAbi, le);
  st32(off + BN_SEGMENT, n.segment, le);
  st64(off + BN_ORIGINAL_SIZE, n.originalSize, le);
  st64(off + BN_ORIGINAL_SHOFF, n.originalShoff, le);
  st32(off + BN_ORIGINAL_SHNUM, n.originalShnum, le);
  st32(off + BN_RESERVED, 0, le);
  st64(off + BN_ORIGINAL_P_OFFSET, n.originalPOffset, le);
  st64(off + BN_ORIGINAL_P_FILESZ, n.originalPFilesz, le);
  memory.copy(fileAddress(off + BN_ORIGINAL_SHA), originalSha, 32);
  memory.copy(fileAddress(off + BN_RESERVATION_SHA), reservationSha, 32);
  st64(off + BN_IMAGE_LENGTH, n.imageLength, le);
  memory.copy(fileAddress(off + BN_NAME), name, <usize>n.nameLength);
  store<u8>(fileAddress(off + BN_NAME + n.nameLength), 0);
}

// What generic code needs to know about a machine: its number, page size, how a slot of the
// table is encoded, and how its relocations are applied. One file per machine implements it
// (x86_64.ts, aarch64.ts), so the linker and binder never branch on machine names.

/** Outcomes of applying one relocation; the linker turns them into messages with context. */
export const RELOC_OK: u32 = 0;
export const RELOC_UNSUPPORTED: u32 = 1;
export const RELOC_OVERFLOW: u32 = 2;
export const RELOC_MISALIGNED: u32 = 3;
export const RELOC_CANNOT_RELAX: u32 = 4;

export abstract class Arch {
  constructor(public machine: u32, public pageSize: u64) {}

  /** Writes, at `slot` (image offset `from`), a branch to image offset `to`. False if out of range. */
  abstract writeSlotBranch(slot: usize, from: i64, to: i64): bool;
  /** Writes an inline `return -ENOSYS` at `slot`. */
  abstract writeSlotEnosys(slot: usize): void;
  /** Fills a whole 16-byte slot with trapping instructions, before anything else is written. */
  abstract fillSlot(slot: usize): void;
  /**
   * Applies relocation `type` at `loc` (image offset P) for symbol value S and addend A, all
   * image offsets. `sectionStart` bounds how far back an instruction rewrite may look.
   */
  abstract relocate(type: u32, loc: usize, sectionStart: usize, P: i64, S: i64, A: i64): u32;
  abstract relocationName(type: u32): string;
  /** Bytes a relocation of `type` writes at its place (0 when the type is not supported). */
  abstract relocationWidth(type: u32): u32;
}

/** Stores a value that must fit in a signed 32-bit field. */
export function store32Signed(loc: usize, v: i64): u32 {
  if (v < -2147483648 || v > 2147483647) return RELOC_OVERFLOW;
  store<i32>(loc, <i32>v);
  return RELOC_OK;
}

/** True when v fits in a signed field of `bits` bits. */
@inline export function fitsSigned(v: i64, bits: i32): bool {
  const limit: i64 = (<i64>1) << (bits - 1);
  return v >= -limit && v < limit;
}

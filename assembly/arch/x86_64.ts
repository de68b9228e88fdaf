// x86-64 (System V psABI, "AMD64 Architecture Processor Supplement").
// What matters here: relocations are RELA; PC32/PLT32 compute S + A - P into a signed 32-bit
// field (the addend carries the -4 to the end of the instruction); PC64 is the same in 64 bits.
// GOTPCREL(X) asks for a GOT slot holding the symbol's address; every symbol of a layer is local
// to the image, so we relax instead of building a GOT (psABI B.2): `mov foo@GOTPCREL(%rip), %r`
// (8b) becomes `lea foo(%rip), %r` (8d); `call *foo@GOTPCREL(%rip)` (ff 15) becomes
// `addr32 call foo` (67 e8); `jmp *foo@GOTPCREL(%rip)` (ff 25) becomes `jmp foo; nop` (e9 .. 90),
// the psABI's spelling, which GNU ld and lld also write (tests/link-oracle.test.ts compares).
// The displacement is then S + A - P like PC32, one byte earlier for the jmp. Relaxing is only
// right when the instruction reads the whole GOT entry, that is when A is -4 (the displacement
// ends the instruction); anything else is refused. Slots: `jmp rel32`.
import { Arch, RELOC_OK, RELOC_UNSUPPORTED, RELOC_CANNOT_RELAX, store32Signed } from './arch';
import {
  EM_X86_64, R_X86_64_PC32, R_X86_64_PLT32, R_X86_64_PC64, R_X86_64_GOTPCREL, R_X86_64_GOTPCRELX,
  R_X86_64_REX_GOTPCRELX, R_X86_64_name,
} from '../generated/elf';

const ENOSYS_RETURN: StaticArray<u8> = [0x48, 0xc7, 0xc0, 0xda, 0xff, 0xff, 0xff, 0xc3]; // mov $-38,%rax; ret
const INT3: u8 = 0xcc;

class X86_64 extends Arch {
  writeSlotBranch(slot: usize, from: i64, to: i64): bool {
    store<u8>(slot, 0xe9);
    return store32Signed(slot + 1, to - (from + 5)) == RELOC_OK;
  }

  writeSlotEnosys(slot: usize): void {
    for (let i = 0; i < ENOSYS_RETURN.length; i++) store<u8>(slot + <usize>i, ENOSYS_RETURN[i]);
  }

  fillSlot(slot: usize): void {
    memory.fill(slot, INT3, 16);
  }

  relocate(type: u32, loc: usize, sectionStart: usize, P: i64, S: i64, A: i64): u32 {
    if (type == R_X86_64_PC32 || type == R_X86_64_PLT32) return store32Signed(loc, S + A - P);
    if (type == R_X86_64_PC64) {
      store<i64>(loc, S + A - P);
      return RELOC_OK;
    }
    if (type == R_X86_64_GOTPCREL || type == R_X86_64_GOTPCRELX || type == R_X86_64_REX_GOTPCRELX) {
      if (A != -4) return RELOC_CANNOT_RELAX;
      const moved = relaxGotLoad(loc, sectionStart);
      if (moved < 0) return RELOC_CANNOT_RELAX;
      return store32Signed(loc - <usize>moved, S + A - (P - <i64>moved));
    }
    return RELOC_UNSUPPORTED;
  }

  relocationName(type: u32): string {
    return R_X86_64_name(type);
  }

  relocationWidth(type: u32): u32 {
    if (type == R_X86_64_PC64) return 8;
    if (type == R_X86_64_PC32 || type == R_X86_64_PLT32 || type == R_X86_64_GOTPCREL ||
      type == R_X86_64_GOTPCRELX || type == R_X86_64_REX_GOTPCRELX) return 4;
    return 0;
  }
}

/**
 * Rewrites the instruction whose displacement is at `loc` so it no longer reads a GOT slot.
 * Returns how many bytes the displacement moved back (the jmp form), or -1 if it cannot.
 */
function relaxGotLoad(loc: usize, sectionStart: usize): i32 {
  if (loc < sectionStart + 2) return -1;
  const op = load<u8>(loc - 2);
  const modrm = load<u8>(loc - 1);
  if (op == 0x8b && (modrm & 0xc7) == 0x05) {
    store<u8>(loc - 2, 0x8d); // mov -> lea, same registers, same REX prefix
    return 0;
  }
  if (op == 0xff && modrm == 0x15) {
    store<u8>(loc - 2, 0x67);
    store<u8>(loc - 1, 0xe8);
    return 0;
  }
  if (op == 0xff && modrm == 0x25) {
    store<u8>(loc - 2, 0xe9);
    store<u8>(loc + 3, 0x90);
    return 1;
  }
  return -1;
}

export const x86_64: Arch = new X86_64(EM_X86_64, 4096);

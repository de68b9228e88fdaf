// AArch64 ("ELF for the Arm 64-bit Architecture", AAELF64).
// What matters here: relocations are RELA and patch instruction fields in place. Branches
// (CALL26/JUMP26 ±128 MiB, CONDBR19 ±1 MiB, TSTBR14 ±32 KiB) and ADR (±1 MiB) take S + A - P,
// which must be a multiple of 4 for branches. ADRP takes Page(S + A) - Page(P) in 4 KiB pages
// (±4 GiB); ADD and LDST *_LO12_NC take the low 12 bits of S + A, scaled down by the access
// size for loads and stores (which then must be aligned to it). Page arithmetic stays right at
// any 4 KiB-aligned base, which is why an image runs at any page-aligned address.
// ADR_GOT_PAGE + LD64_GOT_LO12_NC ask for a GOT slot; every symbol is local, so ADRP keeps
// pointing at the symbol's page and `ldr xT, [xN, #:got_lo12:]` becomes `add xT, xN, #:lo12:`.
// Slots: `b imm26`; `-ENOSYS` is `movn x0, #37; ret`.
import { Arch, RELOC_OK, RELOC_UNSUPPORTED, RELOC_OVERFLOW, RELOC_MISALIGNED, RELOC_CANNOT_RELAX, fitsSigned } from './arch';
import {
  EM_AARCH64, R_AARCH64_CALL26, R_AARCH64_JUMP26, R_AARCH64_CONDBR19, R_AARCH64_TSTBR14,
  R_AARCH64_ADR_PREL_LO21, R_AARCH64_ADR_PREL_PG_HI21, R_AARCH64_ADR_PREL_PG_HI21_NC, R_AARCH64_ADD_ABS_LO12_NC,
  R_AARCH64_LDST8_ABS_LO12_NC, R_AARCH64_LDST16_ABS_LO12_NC, R_AARCH64_LDST32_ABS_LO12_NC,
  R_AARCH64_LDST64_ABS_LO12_NC, R_AARCH64_LDST128_ABS_LO12_NC, R_AARCH64_PREL32, R_AARCH64_PREL64,
  R_AARCH64_ADR_GOT_PAGE, R_AARCH64_LD64_GOT_LO12_NC, R_AARCH64_name,
} from '../generated/elf';

const MOVN_X0_37: u32 = 0x928004a0; // mov x0, #-38
const RET: u32 = 0xd65f03c0;
const BRK_0: u32 = 0xd4200000;
const LDR_X_IMM_MASK: u32 = 0xffc00000;
const LDR_X_IMM: u32 = 0xf9400000;
const ADD_X_IMM: u32 = 0x91000000;

@inline function page(v: i64): i64 {
  return v & ~(<i64>0xfff);
}

/** Puts `value` into bits [shift, shift + width) of the instruction at `loc`. */
@inline function patch(loc: usize, value: i64, shift: u32, width: u32): void {
  const mask: u32 = (width == 32 ? 0xffffffff : ((<u32>1 << width) - 1)) << shift;
  const insn = load<u32>(loc);
  store<u32>(loc, (insn & ~mask) | ((<u32>value << shift) & mask));
}

function branch(loc: usize, v: i64, bits: i32, shift: u32): u32 {
  if ((v & 3) != 0) return RELOC_MISALIGNED;
  if (!fitsSigned(v, bits + 2)) return RELOC_OVERFLOW;
  patch(loc, v >> 2, shift, <u32>bits);
  return RELOC_OK;
}

/** ADR and ADRP share the split immediate: immlo in bits 29-30, immhi in bits 5-23. */
function adrImmediate(loc: usize, v: i64): void {
  patch(loc, v & 3, 29, 2);
  patch(loc, (v >> 2) & 0x7ffff, 5, 19);
}

function lo12(loc: usize, v: i64, scale: u32): u32 {
  const low = v & 0xfff;
  if ((low & ((<i64>1 << scale) - 1)) != 0) return RELOC_MISALIGNED;
  patch(loc, low >> scale, 10, 12);
  return RELOC_OK;
}

const SUPPORTED: StaticArray<u32> = [
  R_AARCH64_CALL26, R_AARCH64_JUMP26, R_AARCH64_CONDBR19, R_AARCH64_TSTBR14, R_AARCH64_ADR_PREL_LO21,
  R_AARCH64_ADR_PREL_PG_HI21, R_AARCH64_ADR_PREL_PG_HI21_NC, R_AARCH64_ADR_GOT_PAGE, R_AARCH64_ADD_ABS_LO12_NC,
  R_AARCH64_LDST8_ABS_LO12_NC, R_AARCH64_LDST16_ABS_LO12_NC, R_AARCH64_LDST32_ABS_LO12_NC,
  R_AARCH64_LDST64_ABS_LO12_NC, R_AARCH64_LDST128_ABS_LO12_NC, R_AARCH64_LD64_GOT_LO12_NC, R_AARCH64_PREL32,
];

class AArch64 extends Arch {
  writeSlotBranch(slot: usize, from: i64, to: i64): bool {
    store<u32>(slot, 0x14000000);
    return branch(slot, to - from, 26, 0) == RELOC_OK;
  }

  writeSlotEnosys(slot: usize): void {
    store<u32>(slot, MOVN_X0_37);
    store<u32>(slot + 4, RET);
  }

  fillSlot(slot: usize): void {
    for (let i: usize = 0; i < 16; i += 4) store<u32>(slot + i, BRK_0);
  }

  relocate(type: u32, loc: usize, sectionStart: usize, P: i64, S: i64, A: i64): u32 {
    const X = S + A;
    switch (type) {
      case R_AARCH64_CALL26:
      case R_AARCH64_JUMP26:
        return branch(loc, X - P, 26, 0);
      case R_AARCH64_CONDBR19:
        return branch(loc, X - P, 19, 5);
      case R_AARCH64_TSTBR14:
        return branch(loc, X - P, 14, 5);
      case R_AARCH64_ADR_PREL_LO21: {
        const v = X - P;
        if (!fitsSigned(v, 21)) return RELOC_OVERFLOW;
        adrImmediate(loc, v);
        return RELOC_OK;
      }
      case R_AARCH64_ADR_PREL_PG_HI21:
      case R_AARCH64_ADR_PREL_PG_HI21_NC:
      case R_AARCH64_ADR_GOT_PAGE: {
        const pages = (page(X) - page(P)) >> 12;
        if (type != R_AARCH64_ADR_PREL_PG_HI21_NC && !fitsSigned(pages, 21)) return RELOC_OVERFLOW;
        adrImmediate(loc, pages);
        return RELOC_OK;
      }
      case R_AARCH64_ADD_ABS_LO12_NC:
      case R_AARCH64_LDST8_ABS_LO12_NC:
        return lo12(loc, X, 0);
      case R_AARCH64_LDST16_ABS_LO12_NC:
        return lo12(loc, X, 1);
      case R_AARCH64_LDST32_ABS_LO12_NC:
        return lo12(loc, X, 2);
      case R_AARCH64_LDST64_ABS_LO12_NC:
        return lo12(loc, X, 3);
      case R_AARCH64_LDST128_ABS_LO12_NC:
        return lo12(loc, X, 4);
      case R_AARCH64_LD64_GOT_LO12_NC: {
        const insn = load<u32>(loc);
        if ((insn & LDR_X_IMM_MASK) != LDR_X_IMM) return RELOC_CANNOT_RELAX;
        store<u32>(loc, ADD_X_IMM | (insn & 0x3ff)); // keep Rn and Rt (as Rd)
        return lo12(loc, X, 0);
      }
      case R_AARCH64_PREL32: {
        const v = X - P;
        // AAELF64: PREL32 checks -2^31 <= X < 2^32.
        if (v < -2147483648 || v >= 4294967296) return RELOC_OVERFLOW;
        store<u32>(loc, <u32>v);
        return RELOC_OK;
      }
      case R_AARCH64_PREL64:
        store<i64>(loc, X - P);
        return RELOC_OK;
      default:
        return RELOC_UNSUPPORTED;
    }
  }

  relocationName(type: u32): string {
    return R_AARCH64_name(type);
  }

  relocationWidth(type: u32): u32 {
    if (type == R_AARCH64_PREL64) return 8;
    // Every other supported type patches one 32-bit instruction or word.
    return SUPPORTED.includes(type) ? 4 : 0;
  }
}

export const aarch64: Arch = new AArch64(EM_AARCH64, 4096);

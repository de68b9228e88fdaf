// Checks that no dynamic relocation of a client writes into its reservation: the loader would
// patch the layer's code (or fault on a read-only page). Every table the loader applies is read:
// DT_RELA, DT_REL, DT_JMPREL (RELA or REL per DT_PLTREL), and DT_RELR (gABI's packed relative
// relocations: an even entry is an address, an odd one a bitmap of the following words).
import { fits, hex } from '../bytes';
import { fail } from '../errors';
import { ElfFile } from '../elf/file';
import { DynamicInfo } from '../elf/dynamic';
import { DT_RELA, DT_REL } from '../generated/elf';

const ABSENT: u64 = u64.MAX_VALUE;

function tableOffset(elf: ElfFile, address: u64, size: u64, name: string): i64 {
  const off = elf.addressToOffset(address, size);
  if (off < 0 || !fits(<u64>off, size)) {
    fail(name + ' ' + hex(address) + ' + ' + hex(size) + ' is not inside the file contents of any PT_LOAD', 0);
    return -1;
  }
  return off;
}

function checkTable(elf: ElfFile, address: u64, size: u64, entsize: u64, name: string, lo: u64, hi: u64): bool {
  if (address == ABSENT || size == 0) return true;
  const off = tableOffset(elf, address, size, name);
  if (off < 0) return false;
  for (let p: u64 = 0; p + entsize <= size; p += entsize) {
    const where = elf.word(<u64>off + p);
    if (where >= lo && where < hi) {
      return fail('dynamic relocation in ' + name + ' at ' + hex(<u64>off + p) + ' writes to ' + hex(where) +
        ', inside the reservation', <u64>off + p);
    }
  }
  return true;
}

function checkRelr(elf: ElfFile, dyn: DynamicInfo, lo: u64, hi: u64): bool {
  if (dyn.relr == ABSENT || dyn.relrsz == 0) return true;
  const off = tableOffset(elf, dyn.relr, dyn.relrsz, 'DT_RELR');
  if (off < 0) return false;
  const word = <u64>elf.L.addrSize;
  const bits = word * 8;
  let where: u64 = 0;
  for (let p: u64 = 0; p + word <= dyn.relrsz; p += word) {
    const entry = elf.word(<u64>off + p);
    if ((entry & 1) == 0) {
      if (entry >= lo && entry < hi) return fail('DT_RELR entry at ' + hex(<u64>off + p) + ' writes to ' + hex(entry) + ', inside the reservation', <u64>off + p);
      where = entry + word;
      continue;
    }
    for (let i: u64 = 0; i < bits - 1; i++) {
      if (((entry >> (i + 1)) & 1) == 0) continue;
      const target = where + i * word;
      if (target >= lo && target < hi) return fail('DT_RELR bitmap at ' + hex(<u64>off + p) + ' writes to ' + hex(target) + ', inside the reservation', <u64>off + p);
    }
    where += (bits - 1) * word;
  }
  return true;
}

export function checkNoRelocationInto(elf: ElfFile, dyn: DynamicInfo, lo: u64, hi: u64): bool {
  const word = <u64>elf.L.addrSize;
  const relaSize = word * 3;
  const relSize = word * 2;
  if (!checkTable(elf, dyn.rela, dyn.relasz, relaSize, 'DT_RELA', lo, hi)) return false;
  if (!checkTable(elf, dyn.rel, dyn.relsz, relSize, 'DT_REL', lo, hi)) return false;
  const pltEntry = dyn.pltrel == <u64>DT_REL ? relSize : dyn.pltrel == <u64>DT_RELA ? relaSize : relaSize;
  if (!checkTable(elf, dyn.jmprel, dyn.pltrelsz, pltEntry, 'DT_JMPREL', lo, hi)) return false;
  return checkRelr(elf, dyn, lo, hi);
}

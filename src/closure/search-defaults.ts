// What the dynamic loader of a Debian-style multiarch system searches by default for an object of
// a given machine, class and byte order: glibc's system directories (`ld.so --help` lists them:
// /lib/<triplet>, /usr/lib/<triplet>, /lib, /usr/lib) and the expansions of $LIB and $PLATFORM.
import { EM } from '../elf/generated/elf.js';

export interface SearchDefaults {
  triplet: string;
  /** The expansion of $LIB: glibc's slibdir below the root. */
  lib: string;
  /** The expansion of $PLATFORM (AT_PLATFORM), where it is fixed for the machine; else null. */
  platform: string | null;
}

interface Row {
  machine: number;
  class: 32 | 64;
  endian: 'little' | 'big';
  triplet: string;
  platform: string | null;
  /** e_flags bits that must be set (ARM hard-float) or clear, to tell ABIs of one machine apart. */
  flagsSet?: number;
  flagsClear?: number;
}

/** EF_ARM_ABI_FLOAT_HARD: armhf objects carry it, armel objects do not. */
const EF_ARM_ABI_FLOAT_HARD = 0x400;

const ROWS: Row[] = [
  { machine: EM.X86_64, class: 64, endian: 'little', triplet: 'x86_64-linux-gnu', platform: 'x86_64' },
  { machine: EM.X86_64, class: 32, endian: 'little', triplet: 'x86_64-linux-gnux32', platform: 'x86_64' },
  { machine: EM['386'], class: 32, endian: 'little', triplet: 'i386-linux-gnu', platform: 'i686' },
  { machine: EM.AARCH64, class: 64, endian: 'little', triplet: 'aarch64-linux-gnu', platform: 'aarch64' },
  { machine: EM.ARM, class: 32, endian: 'little', triplet: 'arm-linux-gnueabihf', platform: null, flagsSet: EF_ARM_ABI_FLOAT_HARD },
  { machine: EM.ARM, class: 32, endian: 'little', triplet: 'arm-linux-gnueabi', platform: null, flagsClear: EF_ARM_ABI_FLOAT_HARD },
  { machine: EM.S390, class: 64, endian: 'big', triplet: 's390x-linux-gnu', platform: null },
  { machine: EM.PPC64, class: 64, endian: 'little', triplet: 'powerpc64le-linux-gnu', platform: null },
  { machine: EM.PPC64, class: 64, endian: 'big', triplet: 'powerpc64-linux-gnu', platform: null },
  { machine: EM.PPC, class: 32, endian: 'big', triplet: 'powerpc-linux-gnu', platform: null },
  { machine: EM.MIPS, class: 64, endian: 'little', triplet: 'mips64el-linux-gnuabi64', platform: null },
  { machine: EM.MIPS, class: 32, endian: 'little', triplet: 'mipsel-linux-gnu', platform: null },
  { machine: EM.MIPS, class: 64, endian: 'big', triplet: 'mips64-linux-gnuabi64', platform: null },
  { machine: EM.MIPS, class: 32, endian: 'big', triplet: 'mips-linux-gnu', platform: null },
  { machine: EM.RISCV, class: 64, endian: 'little', triplet: 'riscv64-linux-gnu', platform: null },
  { machine: EM.LOONGARCH, class: 64, endian: 'little', triplet: 'loongarch64-linux-gnu', platform: null },
  { machine: EM.SPARCV9, class: 64, endian: 'big', triplet: 'sparc64-linux-gnu', platform: null },
  { machine: EM.ALPHA, class: 64, endian: 'little', triplet: 'alpha-linux-gnu', platform: null },
];

export interface ObjectIdentity {
  machine: number;
  class: 32 | 64;
  endian: 'little' | 'big';
  flags: number;
}

export function searchDefaults(o: ObjectIdentity): SearchDefaults | null {
  const row = ROWS.find(
    (r) =>
      r.machine === o.machine && r.class === o.class && r.endian === o.endian &&
      (r.flagsSet === undefined || (o.flags & r.flagsSet) !== 0) &&
      (r.flagsClear === undefined || (o.flags & r.flagsClear) === 0),
  );
  return row ? { triplet: row.triplet, lib: `lib/${row.triplet}`, platform: row.platform } : null;
}

/** glibc's system search directories, in order, for objects of this kind. */
export function systemDirectories(o: ObjectIdentity): string[] {
  const d = searchDefaults(o);
  return d ? [`lib/${d.triplet}`, `usr/lib/${d.triplet}`, 'lib', 'usr/lib'] : ['lib', 'usr/lib'];
}

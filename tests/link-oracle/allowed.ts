// The only differences the oracle accepts between our image and a real linker's: GOT loads that
// a linker keeps (it builds a GOT, outside the compared bytes) where ours relaxes them, because
// every symbol of a layer is local to the image. Each entry names the relocation; fixture entries
// also name its place, and a fixture entry that matches nothing fails the test (a stale table).
// Our relaxed bytes are not left unchecked: each GOT object has a twin assembled with
// --defsym RELAXED=1 (tests/fixtures/link-oracle/got-*.s), which must match exactly.
import type { ArchName, LinkerName } from './tools.js';

export interface AllowedDifference {
  arch: ArchName;
  linker: LinkerName;
  type: string;
  /** A place in the fixture, or every relocation of the type in the generated layers. */
  where: { section: string; offset: number } | 'generated';
  why: string;
}

const AARCH64_KEEPS_GOT =
  'keeps the GOT load (ADRP of the GOT page, LDR of the slot): binutils 2.40 does not relax AArch64 GOT ' +
  'accesses, and lld 14 only does so together with its ADRP+ADD -> NOP+ADR rewriting, off here (--no-relax)';

/** Both halves of each AArch64 GOT load of tests/fixtures/link-oracle/aarch64.s ("gotload"). */
function aarch64GotLoads(linker: LinkerName): AllowedDifference[] {
  const pairs: [string, number][] = [['.text', 0x4c], ['.text', 0x54], ['.text', 0x5c], ['.text.other', 0xc], ['.text.page', 0x8]];
  const out: AllowedDifference[] = [];
  for (const [section, offset] of pairs) {
    out.push({ arch: 'aarch64', linker, type: 'R_AARCH64_ADR_GOT_PAGE', where: { section, offset }, why: AARCH64_KEEPS_GOT });
    out.push({ arch: 'aarch64', linker, type: 'R_AARCH64_LD64_GOT_LO12_NC', where: { section, offset: offset + 4 }, why: AARCH64_KEEPS_GOT });
  }
  for (const type of ['R_AARCH64_ADR_GOT_PAGE', 'R_AARCH64_LD64_GOT_LO12_NC']) {
    out.push({ arch: 'aarch64', linker, type, where: 'generated', why: AARCH64_KEEPS_GOT });
  }
  return out;
}

const LLD_KEEPS_GOTPCREL =
  'lld 14 relaxes only GOTPCRELX / REX_GOTPCRELX (the assembler\'s promise that the instruction may be ' +
  'rewritten); for plain GOTPCREL it keeps `mov foo@GOTPCREL(%rip)`. GNU ld relaxes it as we do';

export const ALLOWED: readonly AllowedDifference[] = [
  { arch: 'x86_64', linker: 'lld', type: 'R_X86_64_GOTPCREL', where: { section: '.text', offset: 0x46 }, why: LLD_KEEPS_GOTPCREL },
  { arch: 'x86_64', linker: 'lld', type: 'R_X86_64_GOTPCREL', where: 'generated', why: LLD_KEEPS_GOTPCREL },
  ...aarch64GotLoads('GNU ld'),
  ...aarch64GotLoads('lld'),
];

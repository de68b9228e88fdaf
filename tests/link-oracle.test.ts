// An oracle for the layer linker (issue 11, DESIGN §2 and §8): every layer is linked by our core
// (Core.linkLayer) and by GNU ld and lld, with the same slot table first and the same section
// order, at two page-aligned bases; the images must be byte-identical. The only accepted
// differences are the GOT loads of tests/link-oracle/allowed.ts, whose relaxed bytes are then
// checked against a twin object that spells the relaxed instructions (got-*.s). Layers: the
// reference layers of sdk/prebuilt for every ABI version they serve, the hand-written fixtures of
// tests/fixtures/link-oracle (which must cover every relocation type we accept, checked with
// readelf -r), and seeded random layers (tests/link-oracle/generate.ts).
//
// SYSLAYER_ORACLE_SEED=<n> repeats a run of generated layers; SYSLAYER_ORACLE_CASES=<n> changes
// how many per architecture (default 20). The files of a run are kept under the printed
// directory when it fails.
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Core, compileCore, corePath } from '../src/core/core.js';
import { knownAbis, slotNames } from '../src/catalog/abi-table.js';
import { prng, seedFromEnv } from './helpers/prng.js';
import { TOOLS, run, type ArchName, type LinkerName } from './link-oracle/tools.js';
import { layerAbiRange, readRelocations } from './link-oracle/readelf.js';
import { assembleSlots, oracleLink } from './link-oracle/oracle-link.js';
import { compareImages } from './link-oracle/compare.js';
import { ALLOWED, type AllowedDifference } from './link-oracle/allowed.js';
import { generateLayer } from './link-oracle/generate.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const FIXTURES = join(ROOT, 'tests/fixtures/link-oracle');
const ARCHES: ArchName[] = ['x86_64', 'aarch64'];
const LINKERS: LinkerName[] = ['GNU ld', 'lld'];
// Page-aligned, one low and one past 4 GiB: an image that depended on its base would differ.
const BASES = [0x400000n, 0x7ff000000n];

// DESIGN §2 "Relocations to support", as readelf names them.
const ACCEPTED: Record<ArchName, string[]> = {
  x86_64: ['PC32', 'PLT32', 'PC64', 'GOTPCREL', 'GOTPCRELX', 'REX_GOTPCRELX'].map((t) => `R_X86_64_${t}`),
  aarch64: [
    'CALL26', 'JUMP26', 'CONDBR19', 'TSTBR14', 'ADR_PREL_LO21', 'ADR_PREL_PG_HI21', 'ADR_PREL_PG_HI21_NC',
    'ADD_ABS_LO12_NC', 'LDST8_ABS_LO12_NC', 'LDST16_ABS_LO12_NC', 'LDST32_ABS_LO12_NC', 'LDST64_ABS_LO12_NC',
    'LDST128_ABS_LO12_NC', 'ADR_GOT_PAGE', 'LD64_GOT_LO12_NC', 'PREL32', 'PREL64',
  ].map((t) => `R_AARCH64_${t}`),
};

const SEED = seedFromEnv('SYSLAYER_ORACLE_SEED');
const CASES = Number(process.env.SYSLAYER_ORACLE_CASES || 20);
if (!Number.isInteger(CASES) || CASES < 0) throw new Error(`SYSLAYER_ORACLE_CASES=${process.env.SYSLAYER_ORACLE_CASES}: want a whole number`);
console.log(`link-oracle: seed ${SEED}, ${CASES} generated layers per architecture (repeat with SYSLAYER_ORACLE_SEED=${SEED})`);

const WORK = mkdtempSync(join(tmpdir(), 'syslayer-link-oracle-'));
let failed = false;
afterEach(({ task }) => {
  if (task.result?.state === 'fail') failed = true;
});
afterAll(() => {
  if (failed) console.log(`link-oracle: files kept in ${WORK}`);
  else rmSync(WORK, { recursive: true, force: true });
});

const core = new Core(compileCore(corePath(true)));
const usedAllowances = new Set<AllowedDifference>();

interface LayerCase {
  arch: ArchName;
  label: string;
  object: string;
  /** The same source with GOT loads spelled as their relaxed forms, when it has any. */
  relaxed?: string;
  slotNames: readonly string[];
  generated: boolean;
  /** Generated layers link at one base per linker, chosen by this number; others at every base. */
  baseChoice?: number;
}

function assemble(arch: ArchName, source: string, object: string, relaxed: boolean): string {
  run(TOOLS[arch].as, ['-I', FIXTURES, ...(relaxed ? ['--defsym', 'RELAXED=1'] : []), '-o', object, source]);
  return object;
}

/** Assembles `source` as written and relaxed; the two must relocate the same places. */
function assembleTwins(arch: ArchName, source: string, tag: string): { object: string; relaxed: string } {
  const object = assemble(arch, source, join(WORK, `${tag}.o`), false);
  const relaxed = assemble(arch, source, join(WORK, `${tag}-relaxed.o`), true);
  const places = (o: string) => readRelocations(o).map((r) => `${r.section}+${r.offset}`).filter((p, i, all) => all.indexOf(p) === i);
  const written = places(object);
  for (const p of places(relaxed)) {
    // The relaxed `jmp foo; nop` moves its displacement one byte back; anything else is a layout change.
    if (!written.includes(p) && !written.some((w) => w.split('+')[0] === p.split('+')[0] && Number(w.split('+')[1]) === Number(p.split('+')[1]) + 1)) {
      throw new Error(`${source}: the relaxed twin relocates ${p}, the object does not`);
    }
  }
  return { object, relaxed };
}

/** Links one layer every way and returns what differed, with disassembly. */
async function checkLayer(c: LayerCase, tag: string): Promise<string[]> {
  const ours = core.linkLayer(readFileSync(c.object), c.slotNames);
  if (!ours.ok) return [`${c.label}: our linker refused it: ${ours.error}`];
  writeFileSync(join(WORK, `${tag}-ours.bin`), ours.linked.image);
  const relocations = readRelocations(c.object);
  const slots = assembleSlots(c.arch, WORK, tag, c.object, c.slotNames);
  // Generated layers: one base per linker, alternating with the case, to keep the run short.
  const jobs = LINKERS.flatMap((linker, li) => BASES.map((base, bi) => ({ linker, li, base, bi })))
    .filter((j) => c.baseChoice === undefined || j.bi === (j.li + c.baseChoice) % BASES.length);
  const verdicts = await Promise.all(jobs.map(async ({ linker, li, base, bi }) => {
    const at = `${tag}-${li}-${bi}`;
    const [theirs, twin] = await Promise.all([
      oracleLink(c.arch, linker, c.object, slots, base, WORK, at),
      c.relaxed === undefined ? undefined : oracleLink(c.arch, linker, c.relaxed, slots, base, WORK, `${at}-relaxed`),
    ]);
    const common = { arch: c.arch, linker, generated: c.generated, ours: ours.linked.image, dir: WORK, relocations };
    const where = `${linker}, base 0x${base.toString(16)}`;
    const direct = compareImages({ ...common, layer: `${c.label} (${where})`, theirs: theirs.bytes, placement: theirs.placement, allowed: ALLOWED });
    direct.used.forEach((u) => usedAllowances.add(u));
    if (twin === undefined) return direct.failures;
    return [...direct.failures, ...compareImages({
      ...common, layer: `${c.label}, GOT loads relaxed by hand (${where})`, theirs: twin.bytes, placement: twin.placement, allowed: [],
    }).failures];
  }));
  return verdicts.flat();
}

function expectAgreement(failures: string[]): void {
  expect(failures.join('\n\n')).toBe('');
}

describe('the layer linker agrees with GNU ld and lld', () => {
  for (const arch of ARCHES) {
    it(`${arch}: the reference layers, for every ABI version each serves`, async () => {
      const failures: string[] = [];
      for (const name of ['linux-3.2.o', 'linux-4.11.o']) {
        const object = join(ROOT, 'sdk/prebuilt', arch, 'layers', name);
        const range = layerAbiRange(object);
        const abis = knownAbis().filter((v) => v >= range.min && v <= range.max);
        expect(abis.length, `${object} serves no ABI version we know`).toBeGreaterThan(0);
        for (const abi of abis) {
          failures.push(...await checkLayer({
            arch, label: `${arch}/layers/${name} ABI ${abi}`, object, slotNames: slotNames(abi)!, generated: false,
          }, `ref-${arch}-${name}-${abi}`));
        }
      }
      expectAgreement(failures);
    });

    it(`${arch}: the fixture uses every relocation type we accept, and links identically`, async () => {
      const { object, relaxed } = assembleTwins(arch, join(FIXTURES, `${arch}.s`), `fixture-${arch}`);
      const seen = new Set(readRelocations(object).map((r) => r.type));
      expect(ACCEPTED[arch].filter((t) => !seen.has(t)), 'relocation types the fixture does not use').toEqual([]);
      expect([...seen].filter((t) => !ACCEPTED[arch].includes(t)), 'relocation types we do not accept').toEqual([]);
      expectAgreement(await checkLayer({ arch, label: `fixture ${arch}.s`, object, relaxed, slotNames: slotNames(2)!, generated: false }, `fixture-${arch}`));
      const stale = ALLOWED.filter((a) => a.arch === arch && a.where !== 'generated' && !usedAllowances.has(a));
      expect(stale, 'allowed differences that no longer occur').toEqual([]);
    });

    if (arch === 'x86_64') {
      it('x86_64: a GOT load with an addend other than -4 is refused, not relaxed to another value', () => {
        // `movq foo@GOTPCREL+8(%rip)` reads the GOT entry after foo's; both linkers keep the GOT
        // load there. We build no GOT, so the only right answer is an error naming the relocation.
        const source = join(WORK, 'got-addend.s');
        writeFileSync(source, '\t.text\n\t.globl sl_read\nsl_read:\n\tmovq foo@GOTPCREL+8(%rip), %rax\n\tret\nfoo:\tret\n');
        const object = assemble(arch, source, join(WORK, 'got-addend.o'), false);
        expect(readRelocations(object).map((r) => `${r.type} ${r.target}`)).toEqual(['R_X86_64_REX_GOTPCRELX foo + 4']);
        const ours = core.linkLayer(readFileSync(object), slotNames(2)!);
        expect(ours.ok ? 'linked' : ours.error).toBe(
          'section .text offset 0x3: R_X86_64_REX_GOTPCRELX against foo: the instruction cannot be relaxed to reach the symbol directly',
        );
      });
    }

    it(`${arch}: ${CASES} generated layers (seed ${SEED})`, async () => {
      const rand = prng(SEED ^ (arch === 'x86_64' ? 0 : 0x5eed));
      const failures: string[] = [];
      const seen = new Set<string>();
      for (let i = 0; i < CASES; i++) {
        const tag = `gen-${arch}-${i}`;
        const source = join(WORK, `${tag}.s`);
        writeFileSync(source, generateLayer(arch, rand, slotNames(2)!));
        const { object, relaxed } = assembleTwins(arch, source, tag);
        readRelocations(object).forEach((r) => seen.add(r.type));
        failures.push(...await checkLayer({
          arch, label: `generated layer ${source}`, object, relaxed, slotNames: slotNames(2)!, generated: true, baseChoice: i,
        }, tag));
      }
      expectAgreement(failures);
      if (CASES >= 12) expect(ACCEPTED[arch].filter((t) => !seen.has(t)), 'relocation types no generated layer used').toEqual([]);
    });
  }
});

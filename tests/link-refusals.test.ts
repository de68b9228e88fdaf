// Every layer object the linker refuses is refused with a message that points at the byte
// (DESIGN §2: the error names the layer file, section, offset, relocation type and symbol; an
// overflow is an error, never a truncation). The objects are assembled here from a few lines of
// assembly each, wrong in one way. readelf is the oracle: the relocation's type name, section,
// offset and symbol, and the file offset of the offending Elf64_Rela or Elf64_Sym entry, come from
// its output, never from our message.
import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Core, compileCore } from '../src/core/core.js';
import { slotNames } from '../src/catalog/abi-table.js';
import { ROOT, syslayer } from './helpers/cli.js';

type Machine = 'x86_64' | 'aarch64';

const work = mkdtempSync(join(tmpdir(), 'syslayer-link-refusals-'));
const core = new Core(compileCore());
const ABI1 = slotNames(1)!;
const ASSEMBLER: Record<Machine, string> = { x86_64: 'as', aarch64: 'aarch64-linux-gnu-as' };
const RELA_SIZE = 24;
const SYM_SIZE = 24;
const SHDR_SIZE = 64;

/**
 * A layer object: the NT_SYSLAYER_LAYER note (ABI 1..2, kernel 3.2, revision 1, name `bad`),
 * then `sl_getpid` in .text followed by `body`.
 */
function assemble(machine: Machine, name: string, body: string[], size?: { rodata: number }): string {
  const t = machine === 'x86_64' ? '@' : '%'; // '@' starts a comment in AArch64 assembly
  const source = join(work, `${machine}-${name}.s`);
  const object = join(work, `${machine}-${name}.o`);
  writeFileSync(source, [
    `.section .note.syslayer,"a",${t}note`, '.balign 4', '.long 9, 20, 2', '.asciz "syslayer"', '.balign 4',
    '.long 1, 2, 0x030200, 1', '.asciz "bad"', '.balign 4',
    '.text', '.globl sl_getpid', '.hidden sl_getpid', 'sl_getpid:',
    ...body,
    ...(size ? [`.section .rodata,"a",${t}progbits`, `.skip ${size.rodata}, 1`] : []),
    '',
  ].join('\n'));
  execFileSync(ASSEMBLER[machine], [source, '-o', object]);
  return object;
}

interface SectionHeader { index: number; name: string; offset: number }
interface RelaEntry { section: string; fileOffset: number; rOffset: number; type: string; symbol: string }

function readelf(...args: string[]): string {
  return execFileSync('readelf', ['-W', ...args]).toString();
}

function sections(object: string): SectionHeader[] {
  return [...readelf('-S', object).matchAll(/^\s*\[\s*(\d+)\]\s+(\S+)\s+\S+\s+[0-9a-f]+\s+([0-9a-f]+)/gm)]
    .map((m) => ({ index: Number(m[1]), name: m[2]!, offset: parseInt(m[3]!, 16) }));
}

/** readelf -r: each entry with the file offset of its Elf64_Rela (section offset + 24 * index). */
function relocations(object: string): RelaEntry[] {
  const out: RelaEntry[] = [];
  let section = '';
  let base = 0;
  let index = 0;
  for (const line of readelf('-r', object).split('\n')) {
    const header = /^Relocation section '\.rela(\S+)' at offset 0x([0-9a-f]+)/.exec(line);
    if (header) {
      [section, base, index] = [header[1]!, parseInt(header[2]!, 16), 0];
      continue;
    }
    const entry = /^([0-9a-f]{16})\s+[0-9a-f]{16}\s+(\S+)\s+[0-9a-f]{16}\s+(\S+)/.exec(line);
    if (!entry) continue;
    out.push({ section, fileOffset: base + RELA_SIZE * index++, rOffset: parseInt(entry[1]!, 16), type: entry[2]!, symbol: entry[3]! });
  }
  return out;
}

/** The one relocation of `type` (the object is built to have exactly one). */
function relocation(object: string, type: string): RelaEntry {
  const found = relocations(object).filter((r) => r.type === type);
  expect(found, `readelf -r ${object}: one ${type}`).toHaveLength(1);
  return found[0]!;
}

/** File offset of the Elf64_Sym entry of `name` (readelf -s gives its index). */
function symbolEntry(object: string, name: string): number {
  const m = new RegExp(`^\\s*(\\d+):.*\\s${name.replace(/\./g, '\\.')}$`, 'm').exec(readelf('-s', object));
  expect(m, `readelf -s ${object}: symbol ${name}`).not.toBeNull();
  const symtab = sections(object).find((s) => s.name === '.symtab')!;
  return symtab.offset + SYM_SIZE * Number(m![1]);
}

/** File offset of field `field` of section `name`'s header. */
function sectionHeaderField(object: string, name: string, field: number): number {
  const shoff = Number(/Start of section headers:\s+(\d+)/.exec(readelf('-h', object))![1]);
  const s = sections(object).find((h) => h.name === name)!;
  return shoff + SHDR_SIZE * s.index + field;
}

/**
 * The image offset of `offset` in section `name`, by docs/abi.md's layout ("The linked layer
 * image"): the ABI 1 slot table, then each non-empty allocated section but notes, in section
 * header order, at the next multiple of its sh_addralign. Read from readelf -S.
 */
function imageOffset(object: string, name: string, offset: number): number {
  let cursor = 16 * ABI1.length;
  for (const m of readelf('-S', object).matchAll(/^\s*\[\s*\d+\]\s+(\S+)\s+(\S+)\s+[0-9a-f]+\s+[0-9a-f]+\s+([0-9a-f]+)\s+[0-9a-f]+\s+(\S*)\s+\d+\s+\d+\s+(\d+)$/gm)) {
    const [, section, type, size, flags, align] = m;
    if (!flags!.includes('A') || type === 'NOTE' || parseInt(size!, 16) === 0) continue;
    const a = Math.max(Number(align), 1);
    cursor = Math.ceil(cursor / a) * a;
    if (section === name) return cursor + offset;
    cursor += parseInt(size!, 16);
  }
  throw new Error(`${object}: ${name} is not linked`);
}

function refusal(object: string): { error: string; errorOffset: number } {
  const r = core.linkLayer(readFileSync(object), ABI1);
  if (r.ok) throw new Error(`${object} linked; it should have been refused`);
  return r;
}

const hex = (n: number) => `0x${n.toString(16)}`;

/**
 * The message names the relocated section, the offset in it and the type as readelf prints them,
 * the symbol (readelf names a section symbol after its section, as we do), and says `reason`.
 */
function expectNamed(error: string, r: RelaEntry, reason: RegExp) {
  expect(error).toContain(`section ${r.section} offset ${hex(r.rOffset)}: ${r.type}`);
  expect(error).toContain(r.symbol);
  expect(error).toMatch(reason);
}

/** Where the error points: 'entry' is the Elf64_Rela, 'info' its r_info (type and symbol index). */
function expectRelocationRefusal(object: string, type: string, reason: RegExp, at: 'entry' | 'info' = 'entry') {
  const r = relocation(object, type);
  const { error, errorOffset } = refusal(object);
  expectNamed(error, r, reason);
  expect(error).toMatch(/^[^\n]*[^.\n]$/); // one line, no trailing period
  expect(hex(errorOffset), error).toBe(hex(r.fileOffset + (at === 'info' ? 8 : 0)));
  return error;
}

/** A symbol the relocation cannot use: the error points at the symbol's Elf64_Sym. */
function expectSymbolRefusal(object: string, type: string, symbol: string, reason: RegExp) {
  const r = relocation(object, type);
  const { error, errorOffset } = refusal(object);
  expectNamed(error, r, reason);
  expect(error).toContain(`symbol ${symbol} `);
  expect(hex(errorOffset), error).toBe(hex(symbolEntry(object, symbol)));
  return error;
}

/**
 * No assembler emits a type number it does not know: assemble `placeholder`, then write `type`
 * into that entry's r_info. An unknown type is named by its number (STYLE: name functions stay
 * useful for unknown values).
 */
function expectUnknownType(machine: Machine, body: string[], placeholder: string, type: number, name: string) {
  const object = assemble(machine, 'unknown', body);
  const r = relocation(object, placeholder);
  const bytes = readFileSync(object);
  bytes.writeUInt32LE(type, r.fileOffset + 8); // r_info's low half
  writeFileSync(object, bytes);
  const { error, errorOffset } = refusal(object);
  expect(error).toBe(`section .text offset ${hex(r.rOffset)}: ${name} against sl_getpid is not supported in a layer`);
  expect(hex(errorOffset)).toBe(hex(r.fileOffset + 8));
}

/** A branch from sl_getpid to `target` in its own section, `gap` bytes in (past the range). */
function farTarget(gap: number, target = 'far', t = '%'): string[] {
  return [`.section .text.far,"ax",${t}progbits`, `.skip ${gap}`, `.globl ${target}`, `.hidden ${target}`, `${target}:`, 'ret'];
}

/** Types a layer may not use (absolute, TLS): [machine, type, what the message calls the symbol, body]. */
const UNSUPPORTED: [Machine, string, string, string[]][] = [
  ['aarch64', 'R_AARCH64_ABS64', 'sl_getpid', ['ret', '.section .rodata,"a",%progbits', '.balign 8', '.xword sl_getpid']],
  ['aarch64', 'R_AARCH64_ABS64', '.text', ['.Lhere: ret', '.section .rodata,"a",%progbits', '.balign 8', '.xword .Lhere']],
  ['aarch64', 'R_AARCH64_TLSLE_ADD_TPREL_HI12', 'sl_getpid', ['.reloc ., R_AARCH64_TLSLE_ADD_TPREL_HI12, sl_getpid', 'add x0, x0, #0', 'ret']],
  ['x86_64', 'R_X86_64_64', 'sl_getpid', ['ret', '.section .rodata,"a",@progbits', '.quad sl_getpid']],
  ['x86_64', 'R_X86_64_64', '.text', ['.Lhere: ret', '.section .rodata,"a",@progbits', '.quad .Lhere']],
  ['x86_64', 'R_X86_64_32S', 'sl_getpid', ['mov $sl_getpid, %rax', 'ret']],
  ['x86_64', 'R_X86_64_TPOFF32', 'sl_getpid', ['mov %fs:0, %rax', '.reloc .-4, R_X86_64_TPOFF32, sl_getpid', 'ret']],
];

describe('relocation types a layer may not use', () => {
  // A section symbol (a local label's) is named by its section, as readelf names it.
  it.each(UNSUPPORTED)('%s: %s against %s', (machine, type, against, body) => {
    const object = assemble(machine, `unsupported-${type}-${against}`, body);
    expectRelocationRefusal(object, type, new RegExp(`${type} against ${against.replace('.', '\\.')} is not supported in a layer$`), 'info');
  });
});

describe('AArch64 layer objects the linker refuses', () => {
  it('links the well-formed control layer', () => {
    const object = assemble('aarch64', 'control', ['b.eq far', 'tbz x0, #3, far', 'bl far', 'adrp x0, datum', 'ldr x1, [x0, :lo12:datum]',
      'adrp x2, :got:datum', 'ldr x2, [x2, :got_lo12:datum]', 'ret', ...farTarget(64), '.section .rodata,"a",%progbits', '.balign 8', 'datum: .quad 0']);
    const r = core.linkLayer(readFileSync(object), ABI1);
    expect(r.ok, r.ok ? '' : r.error).toBe(true);
  });

  it('CONDBR19 to a target past 1 MiB overflows', () => {
    const object = assemble('aarch64', 'condbr19', ['b.eq far', 'ret', ...farTarget(0x100000)]);
    const value = imageOffset(object, '.text.far', 0x100000) - imageOffset(object, '.text', 0); // S + A - P, A = 0
    expect(value).toBeGreaterThanOrEqual(1 << 20);
    expectRelocationRefusal(object, 'R_AARCH64_CONDBR19', new RegExp(`against far: value ${hex(value)} is out of range$`));
  });

  it('TSTBR14 to a target past 32 KiB overflows', () => {
    const object = assemble('aarch64', 'tstbr14', ['tbz x0, #3, far', 'ret', ...farTarget(0x8000)]);
    expectRelocationRefusal(object, 'R_AARCH64_TSTBR14', /against far: value 0x[0-9a-f]+ is out of range$/);
  });

  it('CALL26 past 128 MiB (by its addend) overflows', () => {
    const object = assemble('aarch64', 'call26', ['bl far + 0x8000000', 'ret', ...farTarget(0)]);
    const value = imageOffset(object, '.text.far', 0) + 0x8000000 - imageOffset(object, '.text', 0);
    expectRelocationRefusal(object, 'R_AARCH64_CALL26', new RegExp(`against far: value ${hex(value)} is out of range$`));
  });

  it('a branch to a misaligned target', () => {
    const object = assemble('aarch64', 'jump26-odd', ['b odd', ...farTarget(2, 'odd')]);
    const target = hex(imageOffset(object, '.text.far', 2));
    expectRelocationRefusal(object, 'R_AARCH64_JUMP26', new RegExp(`against odd: target ${target} \\(image offset\\) is misaligned for the instruction$`));
  });

  it('LDST64_ABS_LO12_NC to data not 8-byte aligned', () => {
    const object = assemble('aarch64', 'ldst64', ['adrp x0, datum', 'ldr x1, [x0, :lo12:datum]', 'ret',
      '.section .rodata,"a",%progbits', '.balign 8', '.byte 1', '.globl datum', '.hidden datum', 'datum: .quad 0']);
    const target = hex(imageOffset(object, '.rodata', 1));
    expectRelocationRefusal(object, 'R_AARCH64_LDST64_ABS_LO12_NC', new RegExp(`against datum: target ${target} \\(image offset\\) is misaligned for the instruction$`));
  });

  it('LDST128_ABS_LO12_NC to data 8- but not 16-byte aligned', () => {
    const object = assemble('aarch64', 'ldst128', ['adrp x0, datum', 'ldr q0, [x0, :lo12:datum]', 'ret',
      '.section .rodata,"a",%progbits', '.balign 16', '.quad 0', '.globl datum', '.hidden datum', 'datum: .quad 0, 0']);
    const target = hex(imageOffset(object, '.rodata', 8));
    expectRelocationRefusal(object, 'R_AARCH64_LDST128_ABS_LO12_NC', new RegExp(`against datum: target ${target} \\(image offset\\) is misaligned for the instruction$`));
  });

  it('LDST64_ABS_LO12_NC against a local label: the section symbol is named by its section', () => {
    const object = assemble('aarch64', 'ldst64-local', ['adrp x0, .Ldatum', 'ldr x1, [x0, :lo12:.Ldatum]', 'ret',
      '.section .rodata,"a",%progbits', '.balign 8', '.byte 1', '.Ldatum: .quad 0']);
    const error = expectRelocationRefusal(object, 'R_AARCH64_LDST64_ABS_LO12_NC', /against \.rodata: target 0x[0-9a-f]*[1-79a-f] \(image offset\) is misaligned/);
    expect(relocation(object, 'R_AARCH64_LDST64_ABS_LO12_NC').symbol, 'readelf: a section symbol').toBe('.rodata');
    expect(error).not.toMatch(/against :/);
  });

  it('a relocation type no table knows (1023) is named by its number', () => {
    expectUnknownType('aarch64', ['.reloc ., R_AARCH64_ABS32, sl_getpid', 'nop', 'ret'], 'R_AARCH64_ABS32', 1023, 'R_AARCH64_0x3ff');
  });

  it('LD64_GOT_LO12_NC on an instruction that is not an LDR cannot be relaxed', () => {
    const object = assemble('aarch64', 'got-not-ldr', ['adrp x0, :got:sl_getpid', '.reloc ., R_AARCH64_LD64_GOT_LO12_NC, sl_getpid', 'add x0, x0, #0', 'ret']);
    expectRelocationRefusal(object, 'R_AARCH64_LD64_GOT_LO12_NC', /against sl_getpid: the instruction cannot be relaxed/);
  });

  it('a symbol in a non-allocated section (.comment)', () => {
    const object = assemble('aarch64', 'in-comment', ['adr x0, remark', 'ret', '.section .comment', '.globl remark', '.hidden remark', 'remark: .asciz "x"']);
    const error = expectSymbolRefusal(object, 'R_AARCH64_ADR_PREL_LO21', 'remark', /symbol remark is in \.comment, which is not linked into the image$/);
    expect(error).not.toMatch(/section \d/);
  });

  it('an absolute symbol', () => {
    const object = assemble('aarch64', 'absolute', ['adr x0, limit', 'ret', '.globl limit', '.hidden limit', '.set limit, 0x1000']);
    expectSymbolRefusal(object, 'R_AARCH64_ADR_PREL_LO21', 'limit', /symbol limit is absolute: the image must run at any base$/);
  });

  it('an undefined symbol, named with the relocation that uses it', () => {
    const object = assemble('aarch64', 'undefined', ['bl helper', 'ret']);
    expectSymbolRefusal(object, 'R_AARCH64_CALL26', 'helper', /symbol helper is undefined: a layer must be self-contained$/);
  });

  it('an undefined symbol no relocation uses', () => {
    const object = assemble('aarch64', 'undefined-unused', ['ret', '.globl helper']);
    const { error, errorOffset } = refusal(object);
    expect(error).toBe('symbol helper is undefined: a layer must be self-contained');
    expect(hex(errorOffset)).toBe(hex(symbolEntry(object, 'helper')));
  });

  it('a symbol in a writable .data with contents: the section is refused', () => {
    const object = assemble('aarch64', 'data', ['adrp x0, counter', 'ret', '.data', '.globl counter', '.hidden counter', 'counter: .quad 1']);
    const { error, errorOffset } = refusal(object);
    const index = sections(object).find((s) => s.name === '.data')!.index;
    expect(error).toBe(`section ${index} (.data) is writable (SHF_WRITE): a layer must be read-only`);
    expect(hex(errorOffset)).toBe(hex(sectionHeaderField(object, '.data', 8))); // sh_flags
  });

  it('a thread-local symbol', () => {
    const object = assemble('aarch64', 'tls-symbol', ['ret', '.section .tbss,"awT",%nobits', '.globl tv', '.hidden tv', '.type tv, %tls_object', 'tv: .skip 0']);
    const { error, errorOffset } = refusal(object);
    expect(error).toBe('symbol tv is thread-local: layers never touch TLS');
    expect(hex(errorOffset)).toBe(hex(symbolEntry(object, 'tv')));
  });
});

describe('x86-64 layer objects the linker refuses', () => {
  it('links the well-formed control layer', () => {
    const object = assemble('x86_64', 'control', ['mov sl_getpid@GOTPCREL(%rip), %rax', 'lea sl_getpid(%rip), %rax', 'ret']);
    // GNU as adds an undefined _GLOBAL_OFFSET_TABLE_ for @GOTPCREL, which no relocation uses.
    expect(readelf('-s', object)).toMatch(/UND _GLOBAL_OFFSET_TABLE_$/m);
    const r = core.linkLayer(readFileSync(object), ABI1);
    expect(r.ok, r.ok ? '' : r.error).toBe(true);
  });

  it('a relocation type no table knows (0xfe) is named by its number', () => {
    expectUnknownType('x86_64', ['.reloc ., R_X86_64_32, sl_getpid', '.long 0', 'ret'], 'R_X86_64_32', 0xfe, 'R_X86_64_0xfe');
  });

  it('PC32 out of range (by its addend)', () => {
    const object = assemble('x86_64', 'pc32', ['lea sl_getpid+0x90000000(%rip), %rax', 'ret']);
    const r = relocation(object, 'R_X86_64_PC32');
    const value = imageOffset(object, '.text', 0) + 0x90000000 - 4 - imageOffset(object, '.text', r.rOffset); // the addend holds the -4
    expectRelocationRefusal(object, 'R_X86_64_PC32', new RegExp(`against sl_getpid: value ${hex(value)} is out of range$`));
  });

  it('REX_GOTPCRELX on an add, which has no relaxed form here', () => {
    const object = assemble('x86_64', 'gotpcrelx-add', ['add sl_getpid@GOTPCREL(%rip), %rax', 'ret']);
    expectRelocationRefusal(object, 'R_X86_64_REX_GOTPCRELX', /against sl_getpid: the instruction cannot be relaxed/);
  });

  it('a symbol in a non-allocated section (.comment)', () => {
    const object = assemble('x86_64', 'in-comment', ['lea remark(%rip), %rax', 'ret', '.section .comment', '.globl remark', '.hidden remark', 'remark: .asciz "x"']);
    expectSymbolRefusal(object, 'R_X86_64_PC32', 'remark', /symbol remark is in \.comment, which is not linked into the image$/);
  });

  it('an undefined symbol, named with the relocation that uses it', () => {
    const object = assemble('x86_64', 'undefined', ['call helper', 'ret']);
    expectSymbolRefusal(object, 'R_X86_64_PLT32', 'helper', /symbol helper is undefined: a layer must be self-contained$/);
  });

  it('an absolute symbol', () => {
    const object = assemble('x86_64', 'absolute', ['lea limit(%rip), %rax', 'ret', '.globl limit', '.hidden limit', '.set limit, 0x1000']);
    expectSymbolRefusal(object, 'R_X86_64_PC32', 'limit', /symbol limit is absolute: the image must run at any base$/);
  });
});

describe('through the CLI, the refusal names the layer file', () => {
  const client = join(ROOT, 'sdk/prebuilt/x86_64/bin/abi1-demo');

  it('bind: a layer that does not link', () => {
    const dir = join(work, 'cli-undefined');
    mkdirSync(dir, { recursive: true });
    const object = assemble('x86_64', 'cli-undefined', ['call helper', 'ret']);
    const layer = join(dir, 'needs-helper.o');
    writeFileSync(layer, readFileSync(object));
    const r = relocation(layer, 'R_X86_64_PLT32');
    const out = syslayer('bind', client, '-o', join(work, 'abi1-demo.bound'), '--kernel', '5.0', '--layers', dir);
    expect(r.rOffset).toBeGreaterThan(0);
    expect(out.status, out.stdout + out.stderr).toBe(1);
    expect(out.stdout).toContain(`abi1-demo: layer bad revision 1 (ABI 1..2, kernel >= 3.2.0, ${layer}) does not link for ABI 1: ` +
      `section .text offset ${hex(r.rOffset)}: R_X86_64_PLT32: symbol helper is undefined: a layer must be self-contained ` +
      `(at file offset ${hex(symbolEntry(layer, 'helper'))})`);
    const listed = syslayer('layers', dir);
    expect(listed.stdout).toContain(layer);
    expect(listed.stdout).toContain(`ABI 1 does not link: section .text offset ${hex(r.rOffset)}: R_X86_64_PLT32: symbol helper is undefined`);
  });

  it('bind: a layer too big for the reservation gives both sizes and the layer file', () => {
    const dir = join(work, 'cli-too-big');
    mkdirSync(dir, { recursive: true });
    const layer = join(dir, 'too-big.o');
    writeFileSync(layer, readFileSync(assemble('x86_64', 'cli-too-big', ['ret'], { rodata: 0x10000 })));
    const reservation = parseInt(/\.syslayer\s+NOBITS\s+[0-9a-f]+\s+[0-9a-f]+\s+([0-9a-f]+)/.exec(readelf('-S', client))![1]!, 16);
    const out = syslayer('bind', client, '-o', join(work, 'abi1-demo.too-big'), '--kernel', '5.0', '--layers', dir);
    expect(out.status, out.stdout + out.stderr).toBe(1);
    // The image: 11 slots of 16 bytes, sl_getpid's ret padded to the .rodata alignment (1), then 64 KiB.
    expect(out.stdout).toMatch(new RegExp(`abi1-demo: layer bad revision 1 \\(.*${layer}\\) links to \\d+ bytes for ABI 1, ` +
      `larger than the reservation \\(${reservation} bytes\\)`));
  });
});

// Every refusal of the binder names the file and the reason, and leaves the file alone. The
// clients are built here with the SDK and gcc, then made wrong in one way each.
import { beforeAll, describe, expect, it } from 'vitest';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, syslayer } from './helpers/cli.js';

const work = mkdtempSync(join(tmpdir(), 'syslayer-refusals-'));
const fixtures = join(ROOT, 'tests/fixtures/refusals');
const layers = join(ROOT, 'sdk/prebuilt/x86_64/layers');
const sdk = join(ROOT, 'sdk');

function build(name: string, flags: string[], options: { fragment?: boolean; abi?: number; size?: number } = {}): string {
  const out = join(work, name);
  execFileSync('gcc', [
    '-O2', `-DSL_ABI=${options.abi ?? 1}`, `-DSL_RESERVATION_SIZE=${options.size ?? 16384}`, `-I${sdk}/include`,
    join(fixtures, 'client.c'), join(sdk, 'arch/x86_64/reservation.S'),
    ...(options.fragment === false ? [] : [`-Wl,-T,${sdk}/ld/syslayer.ld`]), ...flags, '-o', out,
  ]);
  return out;
}

/** Runs `bind` on one file and expects a refusal: exit 1, the file named with the reason, no output file. */
function expectRefusal(file: string, reason: RegExp, extraLayers: string[] = [], kernel = '4.11') {
  const out = `${file}.bound`;
  const before = readFileSync(file);
  const r = syslayer('bind', file, '-o', out, '--kernel', kernel, '--layers', layers, ...extraLayers.flatMap((l) => ['--layers', l]));
  const name = file.split('/').pop()!;
  expect(r.status, r.stdout + r.stderr).toBe(1);
  expect(r.stdout, r.stdout).toMatch(new RegExp(`${name}: .*${reason.source}`));
  expect(readFileSync(file).equals(before), 'the input is unchanged').toBe(true);
  return r;
}

describe('bind refuses, naming the file and the reason', () => {
  let good: string;
  beforeAll(() => {
    good = build('good', []);
  });

  it('binds the well-formed client (the control case)', () => {
    const r = syslayer('bind', good, '-o', `${good}.bound`, '--kernel', '4.11', '--layers', layers);
    expect(r.status, r.stdout + r.stderr).toBe(0);
    expect(execFileSync(`${good}.bound`).toString()).toBe('client ok\n');
  });

  it('a reservation GNU ld put in the writable data segment (no linker-script fragment)', () => {
    const file = build('no-fragment', ['-Wl,-z,noseparate-code'], { fragment: false });
    expectRefusal(file, /the reservation cannot be bound: .*(WRITABLE|SHARED_SEGMENT)/);
  });

  it('a client linked by gold, which merges the reservation into another segment', () => {
    let file: string;
    try {
      file = build('gold', ['-fuse-ld=gold']);
    } catch (error) {
      // gold cannot parse INSERT: link without the fragment, as a gold user would have to.
      file = build('gold', ['-fuse-ld=gold'], { fragment: false });
    }
    expectRefusal(file, /GNU gold/);
  });

  it('a layer whose image does not fit the reservation', () => {
    const small = build('one-page', [], { size: 4096 });
    const dir = join(work, 'big-layer');
    mkdirSync(dir, { recursive: true });
    execFileSync('gcc', ['-O2', '-ffreestanding', '-nostdlib', '-fPIC', '-fno-asynchronous-unwind-tables', '-fno-stack-protector', '-fcf-protection=none',
      '-c', join(fixtures, 'big-layer.c'), '-o', join(dir, 'too-big.o')]);
    // Only the big layer in the catalog: it has the highest revision and kernel 3.2.
    const r = syslayer('bind', small, '-o', `${small}.bound`, '--kernel', '3.2', '--layers', dir);
    expect(r.status, r.stdout + r.stderr).toBe(1);
    expect(r.stdout).toMatch(/one-page: layer too-big revision 7 \(ABI 1\.\.2, kernel >= 3\.2\.0, .*\/big-layer\/too-big\.o\) links to \d+ bytes for ABI 1, larger than the reservation \(4096 bytes\)/);
    const linked = Number(/links to (\d+) bytes/.exec(r.stdout)![1]);
    const rodata = /\.rodata\s+PROGBITS\s+[0-9a-f]+\s+[0-9a-f]+\s+([0-9a-f]+)/.exec(execFileSync('readelf', ['-SW', join(dir, 'too-big.o')]).toString())!;
    expect(linked, 'the image holds at least the 8 KiB of .rodata').toBeGreaterThanOrEqual(parseInt(rodata[1]!, 16));
    expect(existsSync(`${small}.bound`)).toBe(false);
  });

  it('a dynamic relocation that would write into the reservation', () => {
    const file = join(work, 'reloc-into');
    cpSync(good, file);
    const sections = execFileSync('readelf', ['-SW', file]).toString();
    const rela = /\.rela\.dyn\s+RELA\s+[0-9a-f]+\s+([0-9a-f]+)/.exec(sections)!;
    const reservation = /\.syslayer\s+NOBITS\s+([0-9a-f]+)/.exec(sections)!;
    const bytes = readFileSync(file);
    bytes.writeBigUInt64LE(BigInt(`0x${reservation[1]}`) + 8n, parseInt(rela[1]!, 16)); // r_offset of the first entry
    writeFileSync(file, bytes);
    expectRefusal(file, /dynamic relocation in DT_RELA at 0x[0-9a-f]+ writes to 0x[0-9a-f]+, inside the reservation/);
  });

  it('a client without its ABI note', () => {
    const file = join(work, 'no-note');
    execFileSync('objcopy', ['--remove-section', '.note.syslayer', good, file]);
    expectRefusal(file, /no NT_SYSLAYER_ABI note/);
  });

  it('no layer for the target kernel, listing what the catalog has', () => {
    expectRefusal(good, /no layer serves ABI 1 on X86_64 for kernel 3\.0\.0; the catalog has for X86_64: linux-3\.2 revision 1/, [], '3.0');
  });

  it('two equal candidates', () => {
    const twin = join(work, 'twin-layers');
    mkdirSync(twin, { recursive: true });
    cpSync(join(layers, 'linux-4.11.o'), join(twin, 'copy-of-linux-4.11.o'));
    expectRefusal(good, /ambiguous: linux-4\.11 revision 1 .* and linux-4\.11 revision 1/, [twin]);
  });

  it('a layer object that is not self-contained', () => {
    const dir = join(work, 'undefined-layer');
    mkdirSync(dir, { recursive: true });
    const src = join(dir, 'l.c');
    writeFileSync(src, [
      '__asm__(".section .note.syslayer,\\"a\\",@note\\n.balign 4\\n.long 9, 24, 2\\n.asciz \\"syslayer\\"\\n.balign 4\\n.long 1, 2, 0x050000, 1\\n.asciz \\"needy\\"\\n.balign 4\\n.previous");',
      'extern long helper(long);',
      '__attribute__((visibility("hidden"))) long sl_getpid(void) { return helper(1); }',
    ].join('\n'));
    execFileSync('gcc', ['-O2', '-fPIC', '-c', src, '-o', join(dir, 'needy.o')]);
    const r = syslayer('layers', dir);
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(/needy .* does not link: section \.text offset 0x[0-9a-f]+: R_X86_64_PLT32: symbol helper is undefined: a layer must be self-contained \(at file offset 0x[0-9a-f]+\)/);
    expectRefusal(good, /layer needy revision 1 .*needy\.o\) does not link for ABI 1: section \.text offset 0x[0-9a-f]+: R_X86_64_PLT32: symbol helper is undefined/, [dir], '5.0');
  });
});

// Binding end to end with the SDK's prebuilt clients and reference layers: the bound programs run
// (natively on x86-64, under qemu-aarch64) and print what the system itself says; the system
// calls show which layer is bound; unbind restores every byte; binding is idempotent and
// deterministic; verify re-derives.
import { beforeAll, describe, expect, it } from 'vitest';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync, statSync, truncateSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, syslayer } from './helpers/cli.js';
import { runProgram, type Arch } from './helpers/run.js';

const ARCHES: Arch[] = ['x86_64', 'aarch64'];
const KERNELS = ['3.2', '4.11'];
const work = mkdtempSync(join(tmpdir(), 'syslayer-examples-'));
const layers = (arch: Arch) => join(ROOT, 'sdk/prebuilt', arch, 'layers');
const PROGRAMS = ['usr/bin/abi1-demo', 'usr/bin/abi2-demo', 'usr/bin/mixed-main', 'usr/lib/libmixed1.so'];

/** A small image per architecture: the examples laid out so mixed-main finds its library by RUNPATH. */
function exampleImage(arch: Arch): string {
  const image = join(work, `image-${arch}`);
  const prebuilt = join(ROOT, 'sdk/prebuilt', arch);
  mkdirSync(join(image, 'usr/bin'), { recursive: true });
  mkdirSync(join(image, 'usr/lib'), { recursive: true });
  for (const p of ['abi1-demo', 'abi2-demo', 'mixed-main']) cpSync(join(prebuilt, 'bin', p), join(image, 'usr/bin', p), { preserveTimestamps: true });
  cpSync(join(prebuilt, 'lib/libmixed1.so'), join(image, 'usr/lib/libmixed1.so'), { preserveTimestamps: true });
  return image;
}

function bindImage(image: string, out: string, arch: Arch, kernel: string, ...extra: string[]) {
  const r = syslayer('bind', image, '-o', out, '--kernel', kernel, '--layers', layers(arch), ...extra);
  expect(r.status, `bind ${image} for ${kernel}: ${r.stdout}${r.stderr}`).toBe(0);
  return r;
}

// The file every program stats, and what stat(1) says of it.
const target = join(work, 'target.txt');
let expectedStat: string;

beforeAll(() => {
  writeFileSync(target, 'x'.repeat(1234));
  const [dev, ino, mode, nlink, uid, gid, size, mtime] = execFileSync('stat', ['-c', '%d %i %f %h %u %g %s %Y', target]).toString().trim().split(' ');
  expectedStat = `dev=${dev} ino=${ino} mode=${parseInt(mode!, 16).toString(8)} nlink=${nlink} uid=${uid} gid=${gid} size=${size} mtime=${mtime}`;
});

function expectDemoOutput(program: string, r: { status: number; stdout: string; stderr: string }, abi: 1 | 2, tag = '') {
  const what = `${program}\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`;
  expect(r.status, what).toBe(0);
  expect(r.stdout, what).toContain(`${tag}getpid: `);
  expect(r.stdout, what).toMatch(new RegExp(`${tag.replace(/[[\]]/g, '\\$&')}getpid: \\d+ matches`));
  expect(r.stdout, what).toContain(`${tag}stat ${target}: ${expectedStat}`);
  if (abi === 2) expect(r.stdout, what).toContain(`${tag}getrandom: 16 bytes`);
}

describe.each(ARCHES)('bound examples on %s', (arch) => {
  const image = exampleImage(arch);

  describe.each(KERNELS)('for kernel %s', (kernel) => {
    const out = join(work, `bound-${arch}-${kernel}`);
    beforeAll(() => bindImage(image, out, arch, kernel));

    it('run and print what the system says', () => {
      for (const [program, abi] of [['abi1-demo', 1], ['abi2-demo', 2]] as const) {
        const r = runProgram(arch, join(out, 'usr/bin', program), [target]);
        expectDemoOutput(program, r, abi);
        expect(r.stdout).toContain('clock_gettime: monotonic advanced');
        expect(r.stdout).toContain('mmap: wrote and read back a page');
        expect(r.stdout).toContain('munmap: 0');
        expect(r.stderr).toBe('');
      }
    });

    it('run the mixed-ABI program: ABI 2 program, ABI 1 library, each through its own layer', () => {
      const r = runProgram(arch, join(out, 'usr/bin/mixed-main'), [target]);
      expectDemoOutput('mixed-main', { ...r, stdout: r.stdout }, 2, '[mixed-main abi2] ');
      expect(r.stdout).toMatch(/\[libmixed1 abi1\] stat /);
      expect(r.stdout).toContain(`[libmixed1 abi1] stat ${target}: ${expectedStat}`);
      expect(r.stdout).toContain('[mixed-main abi2] exit: 0');
      const plan = JSON.parse(syslayer('plan', '--json', image, '--kernel', kernel, '--layers', layers(arch)).stdout);
      const mixed = plan.programs.find((p: { path: string }) => p.path === 'usr/bin/mixed-main');
      expect(mixed?.mixed, JSON.stringify(plan.programs)).toBe(true);
      expect(mixed.objects.map((o: { abi: number }) => o.abi)).toEqual([2, 1]);
    });

    it(`shows its layer in the system calls`, () => {
      const r = runProgram(arch, join(out, 'usr/bin/abi2-demo'), [target], { trace: true });
      const trace = r.stderr;
      const quoted = arch === 'x86_64' ? `AT_FDCWD, "${target}"` : `AT_FDCWD,"${target}"`;
      if (kernel === '3.2') {
        expect(trace, 'the 3.2 layer stats with newfstatat').toContain(`newfstatat(${quoted}`);
        expect(trace, 'the 3.2 layer reads /dev/urandom').toMatch(/openat\(AT_FDCWD, ?"\/dev\/urandom"/);
        expect(trace).not.toMatch(/getrandom\(/);
        expect(trace).not.toContain(`statx(${quoted}`);
      } else {
        expect(trace, 'the 4.11 layer stats with statx').toContain(`statx(${quoted}`);
        expect(trace, 'the 4.11 layer calls getrandom').toMatch(/getrandom\(/);
        expect(trace).not.toContain('/dev/urandom');
      }
    });
  });

  it('stat1 answers -EOVERFLOW where the legacy struct cannot hold the size', () => {
    const big = join(work, `big-${arch}`);
    writeFileSync(big, '');
    truncateSync(big, 5 * 1024 ** 3);
    const out = join(work, `bound-${arch}-4.11`);
    const legacy = runProgram(arch, join(out, 'usr/bin/abi1-demo'), [big]);
    expect(legacy.stdout).toContain(`stat ${big}: error -75`);
    const wide = runProgram(arch, join(out, 'usr/bin/abi2-demo'), [big]);
    expect(wide.stdout).toContain(`size=${5 * 1024 ** 3}`);
  });

  it('unbind gives back every original byte', () => {
    const bound = join(work, `bound-${arch}-4.11`);
    const back = join(work, `unbound-${arch}`);
    const r = syslayer('unbind', bound, '-o', back);
    expect(r.status, r.stdout + r.stderr).toBe(0);
    for (const p of PROGRAMS) {
      expect(readFileSync(join(bound, p)).equals(readFileSync(join(image, p))), `${p} is bound`).toBe(false);
      expect(readFileSync(join(back, p)).equals(readFileSync(join(image, p))), `${p} after unbind`).toBe(true);
      expect(statSync(join(back, p)).mode).toBe(statSync(join(image, p)).mode);
    }
  });

  it('--in-place rewrites the image itself to the same bytes as -o, keeping modes and times', () => {
    const inPlace = join(work, `in-place-${arch}`);
    cpSync(image, inPlace, { recursive: true, preserveTimestamps: true });
    const r = syslayer('bind', inPlace, '--in-place', '--kernel', '4.11', '--layers', layers(arch));
    expect(r.status, r.stdout + r.stderr).toBe(0);
    for (const p of PROGRAMS) {
      expect(readFileSync(join(inPlace, p)).equals(readFileSync(join(work, `bound-${arch}-4.11`, p))), p).toBe(true);
      expect(statSync(join(inPlace, p)).mode).toBe(statSync(join(image, p)).mode);
      expect(statSync(join(inPlace, p)).mtimeMs).toBe(statSync(join(image, p)).mtimeMs);
    }
  });

  it('binding twice gives identical bytes, and re-binding 3.2 -> 4.11 equals binding the original for 4.11', () => {
    const once = join(work, `bound-${arch}-4.11`);
    const twice = join(work, `twice-${arch}`);
    const again = bindImage(once, twice, arch, '4.11');
    expect(again.stdout).toMatch(/4 unchanged/);
    const rebound = join(work, `rebound-${arch}`);
    bindImage(join(work, `bound-${arch}-3.2`), rebound, arch, '4.11');
    for (const p of PROGRAMS) {
      const original = readFileSync(join(once, p));
      expect(readFileSync(join(twice, p)).equals(original), `${p} bound twice`).toBe(true);
      expect(readFileSync(join(rebound, p)).equals(original), `${p} re-bound from 3.2`).toBe(true);
      expect(readFileSync(join(rebound, p)).length, `${p}: re-binding never grows the file`).toBe(original.length);
    }
  });

  it('verify re-derives every client, and catches a changed byte and a stale selection', () => {
    const bound = join(work, `bound-${arch}-4.11`);
    const ok = syslayer('verify', bound, '--layers', layers(arch));
    expect(ok.status, ok.stdout + ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(/: 4 verified\n/);
    const stale = syslayer('verify', bound, '--layers', layers(arch), '--kernel', '3.2');
    expect(stale.status).toBe(1);
    expect(stale.stdout).toMatch(/usr\/bin\/abi1-demo: bound to linux-4.11 revision 1, but the rule now selects linux-3.2/);
    const tampered = join(work, `tampered-${arch}`);
    cpSync(bound, tampered, { recursive: true });
    const file = join(tampered, 'usr/bin/abi2-demo');
    const bytes = readFileSync(file);
    const facts = JSON.parse(syslayer('inspect', '--json', file).stdout).facts;
    const at = Number(facts.syslayer.reservation.fileOffset) + 100;
    bytes[at] = bytes[at]! ^ 0xff;
    writeFileSync(file, bytes);
    const caught = syslayer('verify', tampered, '--layers', layers(arch));
    expect(caught.status).toBe(1);
    expect(caught.stdout).toMatch(/usr\/bin\/abi2-demo: the file differs from a fresh binding/);
  });
});

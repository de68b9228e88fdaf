// One image, four sources: a directory, the same tree as a .tar and as a .tar.gz (made by GNU tar),
// and the .tar.gz on standard input. scan, plan, bind, verify and unbind must give the same report
// (files, counts, layers, refusals, mixed-ABI programs, outcomes) and the same exit status from
// every one of them: one decision, whatever the bytes came in. The image holds bindable clients of
// both ABIs, a mixed-ABI program, clients that must be refused for three different reasons, a file
// that cannot be read as ELF, and the kernel's module directory (for --kernel auto).
import { beforeAll, describe, expect, it } from 'vitest';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { execFileSync, spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, syslayer, type CliResult } from './helpers/cli.js';

const work = mkdtempSync(join(tmpdir(), 'syslayer-one-pipeline-'));
const layers = join(ROOT, 'sdk/prebuilt/x86_64/layers');
const x86 = join(ROOT, 'sdk/prebuilt/x86_64');
const dir = join(work, 'rootfs');
const tarball = join(work, 'rootfs.tar');
const gzipped = join(work, 'rootfs.tgz.bin'); // no telling name: the format is found by its bytes

function makeImage(): void {
  for (const d of ['usr/bin', 'usr/lib', 'etc', 'lib/modules/4.11.0/kernel']) mkdirSync(join(dir, d), { recursive: true });
  for (const p of ['abi1-demo', 'abi2-demo', 'mixed-main']) cpSync(join(x86, 'bin', p), join(dir, 'usr/bin', p));
  cpSync(join(x86, 'lib/libmixed1.so'), join(dir, 'usr/lib/libmixed1.so'));
  // Refused: no layer for AArch64 in the catalog given.
  cpSync(join(ROOT, 'sdk/prebuilt/aarch64/bin/abi2-demo'), join(dir, 'usr/bin/arm-demo'));
  // Refused: an ABI note but no reservation (a directory and a tarball once disagreed on this one).
  execFileSync('objcopy', ['-R', '.syslayer', join(x86, 'bin/abi1-demo'), join(dir, 'usr/bin/no-reservation')]);
  // Unreadable as ELF: the magic, then the file ends.
  writeFileSync(join(dir, 'usr/bin/truncated'), readFileSync(join(x86, 'bin/abi1-demo')).subarray(0, 40));
  cpSync(join(ROOT, 'corpus/amd64/libz.so.1.2.13'), join(dir, 'usr/lib/libz.so.1.2.13'));
  writeFileSync(join(dir, 'etc/ld.so.conf'), '/usr/lib\n');
  writeFileSync(join(dir, 'etc/hostname'), 'one-pipeline\n');
  execFileSync('tar', ['--sort=name', '-C', dir, '-cf', tarball, '.']);
  writeFileSync(gzipped, execFileSync('gzip', ['-9nc', tarball], { maxBuffer: 1 << 28 }));
}

/** Runs the CLI with `stdin` as its standard input. */
function withStdin(stdin: Buffer, ...args: string[]): CliResult {
  const r = spawnSync(process.execPath, [join(ROOT, 'bin', 'syslayer.js'), ...args], { input: stdin, encoding: 'utf8', maxBuffer: 1 << 28 });
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** The JSON report without what names the image itself, which differs by design. */
function report(r: CliResult): unknown {
  if (r.status !== 0 && r.status !== 1) throw new Error(`exit ${r.status}: ${r.stderr}`);
  const json = JSON.parse(r.stdout) as Record<string, unknown>;
  delete json.image;
  return json;
}

type Source = { name: string; args: (command: string, ...rest: string[]) => CliResult };
const sources: Source[] = [
  { name: 'directory', args: (c, ...rest) => syslayer(c, dir, ...rest) },
  { name: '.tar', args: (c, ...rest) => syslayer(c, tarball, ...rest) },
  { name: 'gzip tar (named .bin)', args: (c, ...rest) => syslayer(c, gzipped, ...rest) },
  { name: 'standard input', args: (c, ...rest) => withStdin(readFileSync(gzipped), c, '-', ...rest) },
];

function sameEverywhere(run: (s: Source) => CliResult): { status: number; json: unknown } {
  const results = sources.map((s) => ({ source: s.name, r: run(s) }));
  const [first, ...rest] = results;
  const expected = report(first!.r);
  for (const { source, r } of rest) {
    expect(r.status, `${source}: ${r.stderr}`).toBe(first!.r.status);
    expect(report(r), `${source} reports what the directory reports`).toEqual(expected);
  }
  return { status: first!.r.status, json: expected };
}

describe('one image through every source', () => {
  beforeAll(makeImage);

  it('scan: the same files and counts, and exit 1 for the unreadable file', () => {
    const { status, json } = sameEverywhere((s) => s.args('scan', '--json'));
    expect(status).toBe(1);
    const files = (json as { files: { path: string; error?: string; errorOffset?: number }[] }).files;
    // The first 40 bytes of a 64-byte ELF header: the bytes run out at the end of the file.
    const truncated = files.find((f) => f.path === 'usr/bin/truncated');
    expect({ error: truncated?.error, errorOffset: truncated?.errorOffset })
      .toEqual({ error: 'file is 40 bytes, shorter than the 64-byte ELF header', errorOffset: 40 });
    expect(files.map((f) => f.path)).toContain('usr/bin/mixed-main');
  });

  it('plan: the same layers, refusals and mixed-ABI programs, for the kernel the image has', () => {
    const { status, json } = sameEverywhere((s) => s.args('plan', '--json', '--layers', layers));
    expect(status).toBe(1);
    const plan = json as { kernel: string; clients: { path: string; layer: { name: string } | null; error?: string }[]; programs: { path: string; mixed: boolean }[] };
    expect(plan.kernel).toBe('4.11.0');
    const byPath = new Map(plan.clients.map((c) => [c.path, c]));
    expect(byPath.get('usr/bin/abi2-demo')?.layer?.name).toBe('linux-4.11');
    expect(byPath.get('usr/bin/arm-demo')?.error).toMatch(/no layer serves ABI 2 on AARCH64/);
    expect(byPath.get('usr/bin/no-reservation')?.error).toBe('no .syslayer reservation');
    expect(plan.programs.find((p) => p.path === 'usr/bin/mixed-main')?.mixed).toBe(true);
  });

  it('bind, then verify and unbind of each output: the same outcomes and statuses', () => {
    const outputs = new Map<string, string>([
      ['directory', join(work, 'bound-dir')],
      ['.tar', join(work, 'bound.tar')],
      ['gzip tar (named .bin)', join(work, 'bound.tar.gz')],
      ['standard input', join(work, 'bound-from-stdin.tar.gz')],
    ]);
    const bound = sameEverywhere((s) => s.args('bind', '--json', '--layers', layers, '-o', outputs.get(s.name)!));
    expect(bound.status).toBe(1); // the refused clients
    const outcomes = (bound.json as { clients: { path: string; outcome?: { status: string } }[] }).clients;
    expect(outcomes.filter((c) => c.outcome?.status === 'bound').map((c) => c.path).sort())
      .toEqual(['usr/bin/abi1-demo', 'usr/bin/abi2-demo', 'usr/bin/mixed-main', 'usr/lib/libmixed1.so']);
    for (const out of outputs.values()) expect(existsSync(out), out).toBe(true);

    const verified = [...outputs.values()].map((out) => syslayer('verify', '--json', '--layers', layers, out));
    for (const r of verified) {
      expect(r.status, r.stderr).toBe(verified[0]!.status);
      expect(report(r)).toEqual(report(verified[0]!));
    }
    const verifiedClients = (report(verified[0]!) as { clients: { path: string; outcome?: { status: string } }[] }).clients;
    expect(verifiedClients.find((c) => c.path === 'usr/bin/abi2-demo')?.outcome?.status).toBe('verified');

    const restored = [...outputs.values()].map((out) => syslayer('unbind', '--json', out, '-o', `${out}.unbound${out.endsWith('.gz') ? '.tar.gz' : out.endsWith('.tar') ? '.tar' : ''}`));
    for (const r of restored) {
      expect(r.status, r.stderr).toBe(0);
      expect(report(r)).toEqual(report(restored[0]!));
    }
  });

  it('bind - -o - streams a tar through, with the report on standard error', () => {
    const r = spawnSync(process.execPath, [join(ROOT, 'bin', 'syslayer.js'), 'bind', '-', '-o', '-', '--kernel', '4.11', '--layers', layers],
      { input: readFileSync(tarball), maxBuffer: 1 << 28 });
    expect(r.status, r.stderr.toString()).toBe(1); // the refused clients, as above
    expect(r.stderr.toString()).toMatch(/bind -, kernel 4\.11\.0: 4 bound, 2 error/);
    const out = join(work, 'piped');
    mkdirSync(out);
    execFileSync('tar', ['-C', out, '-xf', '-'], { input: r.stdout });
    expect(execFileSync(join(out, 'usr/bin/abi2-demo'), [join(out, 'etc/hostname')]).toString()).toMatch(/one-pipeline/);
  });
});

describe('inputs and outputs it cannot honour are usage errors', () => {
  beforeAll(() => {
    if (!existsSync(tarball)) makeImage();
  });

  it('a compression it has no codec for is named, whatever the file is called', () => {
    const bzip2 = join(work, 'image.tar');
    writeFileSync(bzip2, Buffer.from([0x42, 0x5a, 0x68, 0x39, 0x31, 0x41, 0x59, 0x26, 0x53, 0x59]));
    const r = syslayer('plan', bzip2, '--kernel', '4.11');
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/image\.tar: bzip2-compressed data/);
  });

  it('a file that is neither a tar, a compressed tar nor ELF is not "one other file"', () => {
    const text = join(work, 'notes.txt');
    writeFileSync(text, 'just text\n');
    const r = syslayer('scan', text);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/notes\.txt: not an image/);
  });

  it('an output named for a format it cannot write creates nothing', () => {
    for (const name of ['out.tar.bz2', 'out.tar.lz4', 'out.zip']) {
      const r = syslayer('bind', tarball, '-o', join(work, name), '--kernel', '4.11', '--layers', layers);
      expect(r.status, name).toBe(2);
      expect(r.stderr).toMatch(new RegExp(`-o .*${name.replace('.', '\\.')}: `));
      expect(existsSync(join(work, name)), `${name} was not created`).toBe(false);
    }
  });

  it('--in-place of a tarball, and -o with --in-place, are refused', () => {
    expect(syslayer('bind', tarball, '--in-place', '--kernel', '4.11').stderr).toMatch(/--in-place rewrites a directory or one file/);
    expect(syslayer('bind', dir, '--in-place', '-o', join(work, 'x'), '--kernel', '4.11').stderr).toMatch(/-o and --in-place exclude each other/);
  });

  it('a reader that closes the image stream early makes the run fail', () => {
    const r = spawnSync('bash', ['-c', `set -o pipefail; "${process.execPath}" "${join(ROOT, 'bin', 'syslayer.js')}" bind "${dir}" -o - --kernel 4.11 --layers "${layers}" | head -c 1000 > /dev/null; echo "status \${PIPESTATUS[0]}"`], { encoding: 'utf8' });
    expect(r.stdout).toMatch(/status 1/);
    expect(r.stdout + r.stderr).toMatch(/standard output was closed before the image was complete/);
  });
});

describe("the image's own layers", () => {
  it('usr/lib/syslayer/layers/ joins the catalog from a directory, a .tar and a gzip tar alike', () => {
    const own = join(work, 'own-layers');
    mkdirSync(join(own, 'usr/bin'), { recursive: true });
    mkdirSync(join(own, 'usr/lib/syslayer'), { recursive: true });
    cpSync(join(x86, 'bin/abi2-demo'), join(own, 'usr/bin/abi2-demo'));
    cpSync(layers, join(own, 'usr/lib/syslayer/layers'), { recursive: true });
    execFileSync('tar', ['--sort=name', '-C', own, '-cf', `${own}.tar`, '.']);
    execFileSync('tar', ['--sort=name', '-C', own, '-czf', `${own}.tar.gz`, '.']);
    const plans = [own, `${own}.tar`, `${own}.tar.gz`].map((image) => {
      const r = syslayer('plan', '--json', '--kernel', '4.11', image);
      expect(r.status, `${image}: ${r.stderr}`).toBe(0);
      return report(r) as { catalog: { name: string; path: string }[]; clients: { path: string; layer: { name: string } | null }[] };
    });
    for (const plan of plans) {
      expect(plan.catalog.map((l) => l.name).sort()).toEqual(['linux-3.2', 'linux-4.11']);
      expect(plan.clients).toEqual([expect.objectContaining({ path: 'usr/bin/abi2-demo', layer: expect.objectContaining({ name: 'linux-4.11' }) })]);
    }
  });
});

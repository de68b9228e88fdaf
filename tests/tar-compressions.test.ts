// zstd and xz tar images (issue 13, part): read and written as streams through the system's zstd
// and xz; the same report as the plain tarball; unbind gives the original tar back byte for
// byte; two runs give the same bytes; a cut-short or non-tar input is a clear error and nothing
// is written. The oracles are the zstd and xz programs themselves and GNU tar.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { syslayer } from './helpers/cli.js';

const ROOT = join(import.meta.dirname, '..');
const SDK = join(ROOT, 'sdk', 'prebuilt', 'x86_64');

const CODECS = [
  { name: 'zstd', suffix: '.tar.zst', compress: ['zstd', '-q', '-c'], decompress: ['zstd', '-q', '-d', '-c'] },
  { name: 'xz', suffix: '.tar.xz', compress: ['xz', '-q', '-c'], decompress: ['xz', '-q', '-d', '-c'] },
] as const;

let work: string;
let plainTar: string;

const run = (argv: readonly string[], input?: Buffer): Buffer => execFileSync(argv[0]!, argv.slice(1), { input, maxBuffer: 1 << 28 });

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'syslayer-compress-'));
  const image = join(work, 'image');
  mkdirSync(join(image, 'usr', 'bin'), { recursive: true });
  mkdirSync(join(image, 'usr', 'lib', 'syslayer', 'layers'), { recursive: true });
  for (const name of ['abi1-demo', 'abi2-demo', 'mixed-main']) copyFileSync(join(SDK, 'bin', name), join(image, 'usr', 'bin', name));
  copyFileSync(join(SDK, 'lib', 'libmixed1.so'), join(image, 'usr', 'lib', 'libmixed1.so'));
  for (const name of ['linux-3.2.o', 'linux-4.11.o']) copyFileSync(join(SDK, 'layers', name), join(image, 'usr', 'lib', 'syslayer', 'layers', name));
  plainTar = join(work, 'image.tar');
  execFileSync('tar', ['--sort=name', '--format=posix', '-C', image, '-cf', plainTar, '.']);
});

afterAll(() => rmSync(work, { recursive: true, force: true }));

describe.each(CODECS)('$name tar images', (codec) => {
  const available = spawnSync(codec.name, ['--version']).status === 0;
  let input: string;

  beforeAll(() => {
    if (!available) return;
    input = join(work, `image${codec.suffix}`);
    writeFileSync(input, run(codec.compress, readFileSync(plainTar)));
  });

  it.runIf(available)('plan reports what the plain tarball reports', () => {
    // Layers found in the image are named by the image file they came from: the same name here.
    const planOf = (image: string) => JSON.parse(syslayer('plan', '--json', '--kernel', '4.11', image).stdout.replaceAll(image, 'IMAGE')) as { clients: unknown[]; programs: unknown[] };
    const plain = planOf(plainTar);
    const compressed = planOf(input);
    expect(compressed.clients).toEqual(plain.clients);
    expect(compressed.programs).toEqual(plain.programs);
    expect(compressed.clients).toHaveLength(4);
  });

  it.runIf(available)(`binds to ${codec.suffix} (the same compression), verifies, and unbinds to the original tar byte for byte`, () => {
    const out = join(work, `bound-${codec.name}${codec.suffix}`);
    const bound = syslayer('bind', '--kernel', '4.11', input, '-o', out);
    expect(bound.status, bound.stderr).toBe(0);
    // The output is what its name says: the system's own decompressor reads it, and it is a tar.
    const tarBytes = run(codec.decompress, readFileSync(out));
    expect(run(['tar', '-t'], tarBytes).toString()).toContain('./usr/bin/mixed-main');
    const verified = syslayer('verify', out);
    expect(verified.status, verified.stderr).toBe(0);
    expect(verified.stdout).toMatch(/: 4 verified\n/);
    const back = join(work, `back-${codec.name}.tar`);
    expect(syslayer('unbind', out, '-o', back).status).toBe(0);
    expect(readFileSync(back).equals(readFileSync(plainTar))).toBe(true);
  });

  it.runIf(available)('gives the same bytes twice, and writes the compression -o names', () => {
    const a = join(work, `a-${codec.name}${codec.suffix}`);
    const b = join(work, `b-${codec.name}${codec.suffix}`);
    expect(syslayer('bind', '--kernel', '4.11', plainTar, '-o', a).status).toBe(0);
    expect(syslayer('bind', '--kernel', '4.11', plainTar, '-o', b).status).toBe(0);
    expect(readFileSync(a).equals(readFileSync(b))).toBe(true);
    // Written in the codec -o names: it decompresses to a tar of the image.
    expect(run(['tar', '-t'], run(codec.decompress, readFileSync(a))).toString()).toContain('./usr/bin/abi1-demo');
    // And the other way: a compressed input to a plain .tar.
    const plainOut = join(work, `plain-from-${codec.name}.tar`);
    expect(syslayer('bind', '--kernel', '4.11', input, '-o', plainOut).status).toBe(0);
    expect(run(['tar', '-t'], readFileSync(plainOut)).toString()).toContain('./usr/bin/abi1-demo');
  });

  it.runIf(available)('refuses a cut-short stream and compressed data that is not a tar, writing nothing', () => {
    const cut = join(work, `cut${codec.suffix}`);
    const whole = readFileSync(input);
    writeFileSync(cut, whole.subarray(0, Math.floor(whole.length / 2)));
    const out = join(work, `cut-out-${codec.name}.tar`);
    const r = syslayer('bind', '--kernel', '4.11', cut, '-o', out);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`cannot decompress the image \\(${codec.name}\\)`));
    expect(existsSync(out)).toBe(false);
    const notTar = join(work, `text${codec.suffix}`);
    writeFileSync(notTar, run(codec.compress, Buffer.from('hello, this is not a tar archive\n'.repeat(100))));
    const n = syslayer('plan', '--kernel', '4.11', notTar);
    expect(n.status).toBe(2);
    expect(n.stderr).toMatch(new RegExp(`${codec.name}-compressed data that is not a tar archive`));
  });
});

// The integrity manifests a bind leaves in a directory image (DESIGN §11, docs/living-images.md):
// var/lib/syslayer/bound.mtree, which NetBSD's mtree (Debian mtree-netbsd, a tool we did not
// write) validates against the tree, and which fails once a bound file is changed; and
// originals.mtree, the sha256 of each bound file's original bytes. A full unbind removes what
// binding added: the image is the original again, names, types, modes and bytes.
import { beforeAll, describe, expect, it } from 'vitest';
import { chmodSync, cpSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, symlinkSync, writeFileSync, appendFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, syslayer } from './helpers/cli.js';

const work = mkdtempSync(join(tmpdir(), 'syslayer-integrity-'));
const x86 = join(ROOT, 'sdk/prebuilt/x86_64');
const layers = join(x86, 'layers');
const BOUND = ['usr/bin/abi1-demo', 'usr/bin/abi2-demo', 'usr/bin/mixed-main', 'usr/lib/libmixed1.so', 'usr/bin/name with space#1'];
const original = join(work, 'original');

function makeImage(): void {
  for (const d of ['usr/bin', 'usr/lib', 'etc', 'lib/modules/4.11.0']) mkdirSync(join(original, d), { recursive: true });
  for (const p of ['abi1-demo', 'abi2-demo', 'mixed-main']) cpSync(join(x86, 'bin', p), join(original, 'usr/bin', p));
  cpSync(join(x86, 'bin/abi2-demo'), join(original, 'usr/bin/name with space#1')); // mtree escapes its name
  cpSync(join(x86, 'lib/libmixed1.so'), join(original, 'usr/lib/libmixed1.so'));
  chmodSync(join(original, 'usr/bin/abi1-demo'), 0o4750);
  writeFileSync(join(original, 'etc/hostname'), 'integrity\n');
  symlinkSync('abi2-demo', join(original, 'usr/bin/demo'));
}

/** Every entry under `root`: name, type, mode and, for a file, its sha256; for a link, its target. */
function tree(root: string, dir = ''): string[] {
  const out: string[] = [];
  for (const name of readdirSync(join(root, dir)).sort()) {
    const path = dir ? `${dir}/${name}` : name;
    const s = lstatSync(join(root, path));
    const mode = (s.mode & 0o7777).toString(8);
    if (s.isDirectory()) out.push(`${path}/ dir ${mode}`, ...tree(root, path));
    else if (s.isSymbolicLink()) out.push(`${path} -> ${readlinkSync(join(root, path))}`);
    else out.push(`${path} file ${mode} ${createHash('sha256').update(readFileSync(join(root, path))).digest('hex')}`);
  }
  return out;
}

const copyOf = (name: string) => {
  const dir = join(work, name);
  cpSync(original, dir, { recursive: true, verbatimSymlinks: true });
  return dir;
};
const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');
const mtree = (root: string, spec = 'var/lib/syslayer/bound.mtree') => spawnSync('mtree', ['-e', '-f', join(root, spec), '-p', root], { encoding: 'utf8' });

/** The mtree oracle first shows it can tell: a specification of a file with another digest fails. */
function mtreeTellsDigests(): void {
  const dir = mkdtempSync(join(work, 'oracle-'));
  writeFileSync(join(dir, 'f'), 'a');
  writeFileSync(join(dir, 'good'), `. type=dir\n./f type=file sha256digest=${sha256(Buffer.from('a'))}\n`);
  writeFileSync(join(dir, 'bad'), `. type=dir\n./f type=file sha256digest=${sha256(Buffer.from('b'))}\n`);
  expect(mtree(dir, 'good').status, 'mtree accepts a right digest').toBe(0);
  expect(mtree(dir, 'bad').status, 'mtree refuses a wrong digest').not.toBe(0);
}

describe('integrity manifests', () => {
  beforeAll(() => {
    makeImage();
    mtreeTellsDigests();
  });

  for (const how of ['in place', 'to a new directory'] as const) {
    it(`bind ${how}: mtree validates bound.mtree, and fails once a bound file changes`, () => {
      const input = copyOf(`bind-${how.replace(/ /g, '-')}`);
      const bound = how === 'in place' ? input : `${input}-out`;
      const r = syslayer('bind', input, ...(how === 'in place' ? ['--in-place'] : ['-o', bound]), '--layers', layers);
      expect(r.status, r.stderr).toBe(0);
      const spec = readFileSync(join(bound, 'var/lib/syslayer/bound.mtree'), 'utf8');
      expect(spec).toContain('./usr/bin/name\\040with\\040space\\0431 type=file');
      const entries = spec.split('\n').filter((l) => l.includes('type=file'));
      expect(entries.length, 'only the bound files').toBe(BOUND.length);
      const ok = mtree(bound);
      expect(ok.status, ok.stdout + ok.stderr).toBe(0);

      appendFileSync(join(bound, 'usr/lib/libmixed1.so'), 'x');
      const changed = mtree(bound);
      expect(changed.status).not.toBe(0);
      expect(changed.stdout + changed.stderr).toMatch(/usr\/lib\/libmixed1\.so:[\s\S]*sha256/);
    }, 60_000);
  }

  it('originals.mtree holds the sha256 of each bound file\'s original bytes', () => {
    const image = copyOf('originals');
    expect(syslayer('bind', image, '--in-place', '--layers', layers).status).toBe(0);
    const lines = readFileSync(join(image, 'var/lib/syslayer/originals.mtree'), 'utf8').split('\n').filter((l) => l.includes('type=file'));
    for (const path of BOUND) {
      const bytes = readFileSync(join(original, path));
      const name = `./${path.replace(/ /g, '\\040').replace(/#/g, '\\043')}`;
      expect(lines, path).toContain(`${name} type=file size=${bytes.length} sha256digest=${sha256(bytes)}`);
    }
    // mtree itself agrees, on the original tree.
    writeFileSync(join(work, 'originals.mtree'), readFileSync(join(image, 'var/lib/syslayer/originals.mtree')));
    const r = spawnSync('mtree', ['-e', '-f', join(work, 'originals.mtree'), '-p', original], { encoding: 'utf8' });
    expect(r.status, r.stdout + r.stderr).toBe(0);
  }, 60_000);

  it('a full unbind in place gives back the original tree, syslayer\'s own files and directories gone', () => {
    const image = copyOf('unbind-in-place');
    expect(syslayer('bind', image, '--in-place', '--layers', layers).status).toBe(0);
    expect(syslayer('sync', '--root', image, '--layers', layers).status).toBe(0);
    const r = syslayer('unbind', image, '--in-place');
    expect(r.status, r.stderr).toBe(0);
    expect(tree(image)).toEqual(tree(original));
  }, 60_000);

  it('a full unbind to a new directory gives back the original tree', () => {
    const image = copyOf('unbind-copy');
    const bound = join(work, 'unbind-copy-bound');
    const restored = join(work, 'unbind-copy-restored');
    expect(syslayer('bind', image, '-o', bound, '--layers', layers).status).toBe(0);
    expect(tree(bound)).not.toEqual(tree(original));
    const r = syslayer('unbind', bound, '-o', restored);
    expect(r.status, r.stderr).toBe(0);
    expect(tree(restored)).toEqual(tree(original));
  }, 60_000);

  it('an image that had var/lib keeps it after a full unbind; only what binding made goes', () => {
    const image = copyOf('unbind-keeps-var');
    mkdirSync(join(image, 'var/lib/dpkg'), { recursive: true });
    writeFileSync(join(image, 'var/lib/dpkg/status'), '');
    const before = tree(image);
    expect(syslayer('bind', image, '--in-place', '--layers', layers).status).toBe(0);
    expect(syslayer('unbind', image, '--in-place').status).toBe(0);
    expect(tree(image)).toEqual(before);
  }, 60_000);
});

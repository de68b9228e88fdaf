// Small client images for the scale tests (bind --images, --shard, merge): the SDK's x86-64
// examples in a tree with the kernel's module directory, a hardlinked pair, a symlink and a file
// that says which variant it is, with fixed mtimes so that two builds are the same image; and the
// same tree as tarballs packed by GNU tar (name order, numeric owners), plain or compressed.
import { cpSync, existsSync, mkdirSync, symlinkSync, linkSync, writeFileSync, utimesSync, readdirSync, lstatSync, readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { ROOT, syslayer } from './cli.js';

export const LAYERS = join(ROOT, 'sdk/prebuilt/x86_64/layers');
const X86 = join(ROOT, 'sdk/prebuilt/x86_64');
const MTIME = new Date('2024-01-01T00:00:00Z');

/** Every name under `dir` given the fixed mtime (links themselves untouched: Node cannot lutimes a symlink portably). */
function fixTimes(dir: string): void {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    const s = lstatSync(p);
    if (s.isDirectory()) fixTimes(p);
    if (!s.isSymbolicLink()) utimesSync(p, MTIME, MTIME);
  }
  utimesSync(dir, MTIME, MTIME);
}

/**
 * A directory image at `dir`; `variant` changes a file, so images of different variants have
 * different digests. `clients` extra copies of the examples (distinct by a trailer) make it larger.
 */
export function makeClientImage(dir: string, variant: string, clients = 0): string {
  for (const d of ['usr/bin', 'usr/lib', 'etc', 'lib/modules/4.11.0']) mkdirSync(join(dir, d), { recursive: true });
  for (const p of ['abi1-demo', 'abi2-demo', 'mixed-main']) cpSync(join(X86, 'bin', p), join(dir, 'usr/bin', p));
  cpSync(join(X86, 'lib/libmixed1.so'), join(dir, 'usr/lib/libmixed1.so'));
  for (let i = 0; i < clients; i++) {
    const bytes = Buffer.concat([readFileSync(join(X86, 'bin', i % 2 ? 'abi1-demo' : 'abi2-demo')), Buffer.from(`trailer ${variant} ${i}\n`)]);
    writeFileSync(join(dir, 'usr/bin', `client-${i}`), bytes, { mode: 0o755 });
  }
  // A hardlinked pair of clients: bound once, still one inode.
  linkSync(join(dir, 'usr/bin/abi1-demo'), join(dir, 'usr/bin/abi1-demo-again'));
  symlinkSync('abi2-demo', join(dir, 'usr/bin/demo'));
  writeFileSync(join(dir, 'etc/ld.so.conf'), '/usr/lib\n');
  writeFileSync(join(dir, 'etc/variant'), `${variant}\n`);
  fixTimes(dir);
  return dir;
}

/** `dir` packed by GNU tar as `file` (.tar, .tar.gz, .tar.zst or .tar.xz, compressed as its name says). */
export function packImage(dir: string, file: string): string {
  const tar = execFileSync('tar', ['--sort=name', '--numeric-owner', '-C', dir, '-cf', '-', '.'], { maxBuffer: 1 << 28 });
  const compress = file.endsWith('.gz') ? ['gzip', '-9n'] : file.endsWith('.zst') ? ['zstd', '-q', '-c'] : file.endsWith('.xz') ? ['xz', '-c'] : null;
  writeFileSync(file, compress ? execFileSync(compress[0]!, compress.slice(1), { input: tar, maxBuffer: 1 << 28 }) : tar);
  return file;
}

export const sha256File = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');

/**
 * What an output is, to compare two of them: a file's sha256; a directory's canonical listing
 * (`syslayer digest --listing`: names, types, modes, owners, mtimes, content sha256s, links), with
 * the mtimes of what binding wrote under var/lib/syslayer left out (docs/scale.md).
 */
export function outputDigest(path: string): string {
  if (!lstatSync(path).isDirectory()) return sha256File(path);
  // An OCI layout: its files and their bytes (blobs are named by digest; nothing else matters).
  if (existsSync(join(path, 'oci-layout'))) {
    const files = (readdirSync(path, { recursive: true }) as string[]).filter((f) => lstatSync(join(path, f)).isFile()).sort();
    return createHash('sha256').update(files.map((f) => `${f} ${sha256File(join(path, f))}`).join('\n')).digest('hex');
  }
  const r = syslayer('digest', '--listing', path);
  if (r.status !== 0) throw new Error(`digest --listing ${path}: ${r.stderr}`);
  // The state file's bytes are the same in two runs (a copy's state has no stat tuples); only
  // the times of what binding wrote under var/lib/syslayer are this run's.
  const lines = r.stdout.split('\n').map((line) => (/^var(\/lib(\/syslayer(\/[^\t]*)?)?)?\t/.test(line) ? line.replace(/\tmtime=\d+/, '') : line));
  return createHash('sha256').update(lines.join('\n')).digest('hex');
}

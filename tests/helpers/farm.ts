// What the tests that fan a list of images out over an engine (GNU parallel, a Kubernetes Indexed
// Job) share: a small farm's worth of images, a `syslayer` on the PATH as the engine's workers
// would have it, and the digests of a run's outputs to compare runs by. The images are tarballs in
// every compression syslayer reads, each a different tree (its own hostname, its own choice of the
// SDK's clients), each carrying the kernel's module directory so that `--kernel auto` finds 4.11.
// Tarballs, not directories: rsync as parallel runs it (-rlDzR) keeps neither modes nor times, so
// a directory would not arrive as it left.
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { ROOT } from './cli.js';

const SDK = join(ROOT, 'sdk/prebuilt/x86_64');
export const LAYERS = join(SDK, 'layers');

const CLIENTS = ['abi1-demo', 'abi2-demo', 'mixed-main'];
const COMPRESSIONS: { suffix: string; compress: string[] | null }[] = [
  { suffix: '.tar', compress: null },
  { suffix: '.tar.gz', compress: ['gzip', '-9n'] },
  { suffix: '.tar.zst', compress: ['zstd', '-q', '--rm'] },
  { suffix: '.tar.xz', compress: ['xz'] },
];

function makeTree(root: string, index: number): void {
  for (const d of ['usr/bin', 'usr/lib', 'etc', 'lib/modules/4.11.0-1-amd64/kernel']) mkdirSync(join(root, d), { recursive: true });
  // A different subset of clients per image, never empty, so that no two images bind alike.
  CLIENTS.forEach((client, bit) => {
    if (((index + 1) >> bit) & 1 || bit === index % CLIENTS.length) cpSync(join(SDK, 'bin', client), join(root, 'usr/bin', client));
  });
  cpSync(join(SDK, 'lib/libmixed1.so'), join(root, 'usr/lib/libmixed1.so'));
  writeFileSync(join(root, 'etc/hostname'), `farm-image-${index}\n`);
}

/** Writes `count` images into `dir` (created if need be) and returns their file names, in order. */
export function makeImageSet(dir: string, count: number): string[] {
  mkdirSync(dir, { recursive: true });
  const stage = mkdtempSync(join(tmpdir(), 'syslayer-image-set-'));
  try {
    return Array.from({ length: count }, (_, i) => {
      const { suffix, compress } = COMPRESSIONS[i % COMPRESSIONS.length];
      const name = `image-${i}${suffix}`;
      const tree = join(stage, String(i));
      makeTree(tree, i);
      const tar = join(dir, `image-${i}.tar`);
      execFileSync('tar', ['--sort=name', '--mtime=@0', '--owner=0', '--group=0', '-C', tree, '-cf', tar, '.']);
      if (compress) execFileSync(compress[0], [...compress.slice(1), tar]);
      return name;
    });
  } finally {
    rmSync(stage, { recursive: true, force: true });
  }
}

/**
 * A directory holding a `syslayer` that runs this checkout's CLI, to put first on the PATH of the
 * engine's commands: a real farm installs the package on every host, or in its container image.
 */
export function syslayerOnPath(dir: string): string {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'syslayer'), `#!/bin/sh\nexec '${process.execPath}' '${join(ROOT, 'bin/syslayer.js')}' "$@"\n`);
  chmodSync(join(dir, 'syslayer'), 0o755);
  return dir;
}

/** Each file directly in `dir` (an OUTDIR of `bind --images`) -> its sha256. */
export function outputDigests(dir: string): Map<string, string> {
  const digests = new Map<string, string>();
  for (const name of readdirSync(dir).sort()) digests.set(name, createHash('sha256').update(readFileSync(join(dir, name))).digest('hex'));
  return digests;
}

/**
 * The oracle of every engine: one plain `syslayer bind --images LIST -o OUT` of the whole list, in
 * `cwd` (where the list's relative lines point), with `env` (a PATH holding `syslayer`); the
 * digests of what it wrote, checked to be an image and a report for each of the list's `count`.
 */
export function unshardedRun(cwd: string, list: string, out: string, env: NodeJS.ProcessEnv, count: number): Map<string, string> {
  const r = spawnSync('syslayer', ['bind', '--images', list, '-o', out, '--layers', LAYERS, '--json'], { cwd, env, encoding: 'utf8' });
  if (r.error) throw r.error;
  if (r.status !== 0) throw new Error(`the unsharded run exited ${r.status}: ${r.stderr}`);
  const digests = outputDigests(resolve(cwd, out));
  if (digests.size !== 2 * count) throw new Error(`the unsharded run wrote ${digests.size} files for ${count} images: ${[...digests.keys()].join(', ')}`);
  return digests;
}

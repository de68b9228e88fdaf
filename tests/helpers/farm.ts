// What the tests that fan a list of images out over an engine (GNU parallel, a Kubernetes Indexed
// Job) share: a small farm's worth of images, a `syslayer` on the PATH as the engine's workers
// would have it, and the digests of a run's outputs to compare runs by. The images are the scale
// tests' client images (small-images.ts), each of its own variant, packed as tarballs in every
// compression syslayer reads. Tarballs, not directories: rsync as parallel runs it (-rlDzR) keeps
// neither modes nor times, so a directory would not arrive as it left.
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { ROOT } from './cli.js';
import { LAYERS, makeClientImage, packImage, sha256File } from './small-images.js';

export { LAYERS };

const SUFFIXES = ['.tar', '.tar.gz', '.tar.zst', '.tar.xz'];

/** Writes `count` images into `dir` (created if need be) and returns their file names, in order. */
export function makeImageSet(dir: string, count: number): string[] {
  mkdirSync(dir, { recursive: true });
  const stage = mkdtempSync(join(tmpdir(), 'syslayer-image-set-'));
  try {
    return Array.from({ length: count }, (_, i) => {
      const name = `image-${i}${SUFFIXES[i % SUFFIXES.length]}`;
      packImage(makeClientImage(join(stage, String(i)), `farm-${i}`), join(dir, name));
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
  for (const name of readdirSync(dir).sort()) digests.set(name, sha256File(join(dir, name)));
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

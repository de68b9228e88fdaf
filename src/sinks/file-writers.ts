// How rewritten files keep everything but their contents. Node has no API for extended attributes
// and sets timestamps only to the microsecond, so attributes are copied with coreutils' `cp
// --attributes-only --preserve=all` (mode with setuid/setgid, owner, nanosecond timestamps,
// xattrs). That copy comes after the new contents are written: the kernel drops
// `security.capability` whenever a file is written or changes owner. Process start-up is ~9 ms
// here, so a copy serves up to a thousand files, never one per file where it can be helped.
//
// With -o (a private copy renamed into place as a whole) `rewriteFile` overwrites the copy's inode,
// so hardlinks stay by construction, and `copyAttributes` then puts back, from the untouched
// input, what the write disturbed. In place, files are staged instead (staging.ts).
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, ftruncateSync, openSync, writeSync } from 'node:fs';
import { RunError } from '../errors.js';

/**
 * Temporary names: `.<name>.syslayer-<pid>-<n|link|journal|stage>`; a later run removes leftovers
 * (a `stage` directory with everything in it).
 */
export const TEMPORARY_NAME = /^\..+\.syslayer-\d+-(\d+|link|journal|stage)$/;

/** Files per `cp`: far below the argument-length limit, far above the cost of a process. */
const FILES_PER_CP = 1000;

const CP_ATTRIBUTES = ['--attributes-only', '--preserve=all'];

export function writeAll(fd: number, bytes: Uint8Array): void {
  let at = 0;
  while (at < bytes.length) at += writeSync(fd, bytes, at, bytes.length - at);
}

export function rewriteFile(path: string, bytes: Uint8Array): void {
  const fd = openSync(path, 'r+');
  try {
    writeAll(fd, bytes);
    ftruncateSync(fd, bytes.length);
  } finally {
    closeSync(fd);
  }
}

/** Copies the attributes of the file `from` onto the file `to` (one process). */
export function copyFileAttributes(from: string, to: string): void {
  const r = spawnSync('cp', [...CP_ATTRIBUTES, '--no-dereference', '--', from, to], { encoding: 'utf8' });
  if (r.status !== 0) throw new RunError(`cannot copy file attributes: ${r.stderr.trim() || r.error?.message}`);
}

/** Runs `cp` with `args` and then `names`, a thousand at a time, in `cwd`. */
async function cpInBatches(args: readonly string[], names: readonly string[], cwd: string): Promise<void> {
  for (let i = 0; i < names.length; i += FILES_PER_CP) {
    const child = spawn('cp', [...CP_ATTRIBUTES, ...args, '--', ...names.slice(i, i + FILES_PER_CP)], { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    await new Promise<void>((resolve, reject) => {
      child.on('error', reject);
      child.on('close', (code) => (code === 0 ? resolve() : reject(new RunError(`cannot copy file attributes: ${stderr.trim() || `cp exited with ${code}`}`))));
    });
  }
}

/**
 * Copies the attributes of `from/<path>` onto `to/<path>` for each path: `cp --parents` run in
 * `from` keeps each relative path under `to` (one process per directory cost 9.6 s for 2,048
 * clients in 1,024 directories). Asynchronous, so that it overlaps the workers' next files.
 */
export function copyAttributes(from: string, to: string, paths: readonly string[]): Promise<void> {
  return cpInBatches(['--no-dereference', '--parents', '-t', to], paths, from);
}

// How rewritten files get their new contents while keeping everything else about them. Node has
// no API for extended attributes and sets timestamps only to the microsecond, so attributes are
// copied with coreutils' `cp --attributes-only --preserve=all` (mode with setuid/setgid, owner,
// nanosecond timestamps, xattrs). That copy comes after the new contents are written: the kernel
// drops `security.capability` whenever a file is written or changes owner. Process start-up is
// ~9 ms here, so every copy serves up to a thousand files (`cp --parents`), never one.
//
// In place (a user's tree), new contents are staged: `writeStagedFile` writes each one at its own
// relative path under a staging directory in the image root, `copyAttributes` puts the old files'
// attributes on the staged ones, and only then is each renamed over its old name, so a reader, or
// a kill at any moment, sees the old file or the new one, never half of one.
//
// With -o (a private copy renamed into place as a whole) `rewriteFile` overwrites the copy's inode,
// so hardlinks stay by construction, and `copyAttributes` then puts back, from the untouched
// input, what the write disturbed.
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, ftruncateSync, mkdirSync, openSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

let counter = 0;

/**
 * Temporary names: `.<name>.syslayer-<pid>-<n|link|journal|stage>`; a later run removes leftovers
 * (a `stage` directory with everything in it).
 */
export const TEMPORARY_NAME = /^\..+\.syslayer-\d+-(\d+|link|journal|stage)$/;

/** The staging directory of this process in an image root. */
export function stagingDirectory(root: string): string {
  return join(root, `.rewrite.syslayer-${process.pid}-stage`);
}

function writeAll(fd: number, bytes: Uint8Array): void {
  let at = 0;
  while (at < bytes.length) at += writeSync(fd, bytes, at, bytes.length - at);
}

const CP_ATTRIBUTES = ['--attributes-only', '--preserve=all', '--no-dereference'];

function cp(args: string[]): void {
  const r = spawnSync('cp', [...CP_ATTRIBUTES, ...args], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`cannot copy file attributes: ${r.stderr.trim() || r.error?.message}`);
}

/** Writes a new file `stage/path`, making its directories; attributes come later, in a batch. */
export function writeStagedFile(stage: string, path: string, bytes: Uint8Array): void {
  const file = join(stage, path);
  mkdirSync(dirname(file), { recursive: true });
  const fd = openSync(file, 'wx', 0o600);
  try {
    writeAll(fd, bytes);
  } finally {
    closeSync(fd);
  }
}

/**
 * Renames staged files over their old names in `root`. A name on another file system than the
 * stage (a mount inside the image) cannot be renamed to: it is written beside and renamed, with
 * its own attribute copy.
 */
export function commitStagedFile(root: string, stage: string, path: string, bytes: () => Uint8Array): void {
  try {
    renameSync(join(stage, path), join(root, path));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EXDEV') throw error;
    replaceFile(join(root, path), bytes());
  }
}

/** Writes beside `path`, copies its attributes, renames over it: one file, one `cp`. */
function replaceFile(path: string, bytes: Uint8Array): void {
  const temp = join(dirname(path), `.${basename(path)}.syslayer-${process.pid}-${counter++}`);
  const fd = openSync(temp, 'wx', 0o600);
  try {
    writeAll(fd, bytes);
    closeSync(fd);
    cp(['--', path, temp]);
    renameSync(temp, path);
  } catch (error) {
    try { closeSync(fd); } catch { /* already closed */ }
    try { unlinkSync(temp); } catch { /* never created or already renamed */ }
    throw error;
  }
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

export function copyFileAttributes(from: string, to: string): void {
  cp(['--', from, to]);
}

/**
 * Copies the attributes of `from/<path>` onto `to/<path>` for each path: `cp --parents` run in
 * `from` keeps each relative path under `to`, so a few processes serve a whole image (one per
 * directory cost 9.6 s for 2,048 clients in 1,024 directories). Asynchronous, so that the
 * copying overlaps the workers' rewriting of the next files.
 */
export async function copyAttributes(from: string, to: string, paths: readonly string[]): Promise<void> {
  for (let i = 0; i < paths.length; i += 1000) {
    const child = spawn('cp', [...CP_ATTRIBUTES, '--parents', '-t', to, '--', ...paths.slice(i, i + 1000)], { cwd: from, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    await new Promise<void>((resolve, reject) => {
      child.on('error', reject);
      child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`cannot copy file attributes: ${stderr.trim() || `cp exited with ${code}`}`))));
    });
  }
}

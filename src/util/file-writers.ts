// Two ways to give a file new contents while keeping everything else about it.
//
// `replaceFile` (in-place rewrites of a user's tree): writes the new contents beside the file and
// renames over it, so a reader — or a kill at any moment — sees the old file or the new one, never
// half of one. The new inode gets the old one's mode (setuid/setgid/sticky included), owner,
// timestamps and extended attributes (security.capability above all). Node has no xattr API, so
// they are copied with coreutils' `cp --attributes-only --preserve=xattr`, once per rewritten file.
//
// `rewriteFile` (files of a private copy that is renamed into place as a whole): overwrites the
// same inode, so hardlinks and xattrs stay by construction, then puts back mode and timestamps.
import { spawnSync } from 'node:child_process';
import { closeSync, fchmodSync, fchownSync, ftruncateSync, futimesSync, openSync, renameSync, unlinkSync, writeSync, type Stats } from 'node:fs';
import { basename, dirname, join } from 'node:path';

let counter = 0;

/** Temporary files are named `.<name>.syslayer-<pid>-<n>`; a later run removes leftovers (TEMPORARY_NAME). */
export const TEMPORARY_NAME = /^\..+\.syslayer-\d+-\d+$/;

function writeAll(fd: number, bytes: Uint8Array): void {
  let at = 0;
  while (at < bytes.length) at += writeSync(fd, bytes, at, bytes.length - at);
}

function restoreAttributes(fd: number, like: Stats): void {
  // chown first: it clears setuid/setgid, which chmod then puts back.
  if (process.getuid?.() === 0) fchownSync(fd, like.uid, like.gid);
  fchmodSync(fd, like.mode & 0o7777);
  futimesSync(fd, like.atime, like.mtime);
}

export function replaceFile(path: string, bytes: Uint8Array, like: Stats): void {
  const temp = join(dirname(path), `.${basename(path)}.syslayer-${process.pid}-${counter++}`);
  const fd = openSync(temp, 'wx', 0o600);
  try {
    writeAll(fd, bytes);
    const xattrs = spawnSync('cp', ['--attributes-only', '--preserve=xattr', '--no-dereference', '--', path, temp], { encoding: 'utf8' });
    if (xattrs.status !== 0) throw new Error(`cannot copy extended attributes: ${xattrs.stderr.trim()}`);
    restoreAttributes(fd, like);
    closeSync(fd);
    renameSync(temp, path);
  } catch (error) {
    try { closeSync(fd); } catch { /* already closed */ }
    try { unlinkSync(temp); } catch { /* never created or already renamed */ }
    throw error;
  }
}

export function rewriteFile(path: string, bytes: Uint8Array, like: Stats): void {
  const fd = openSync(path, 'r+');
  try {
    writeAll(fd, bytes);
    ftruncateSync(fd, bytes.length);
    restoreAttributes(fd, like);
  } finally {
    closeSync(fd);
  }
}

// Replaces a file by writing its new contents beside it and renaming over it, so a reader (or a
// kill at any moment) sees the old file or the new one, never half of one. The new file gets the
// old one's mode (setuid/setgid/sticky included), owner and timestamps.
import { closeSync, fchmodSync, fchownSync, futimesSync, openSync, renameSync, unlinkSync, writeSync, type Stats } from 'node:fs';
import { basename, dirname, join } from 'node:path';

let counter = 0;

export function writeBeside(path: string, bytes: Uint8Array, like: Stats): void {
  const temp = join(dirname(path), `.${basename(path)}.syslayer-${process.pid}-${counter++}`);
  const fd = openSync(temp, 'wx', 0o600);
  try {
    let at = 0;
    while (at < bytes.length) at += writeSync(fd, bytes, at, bytes.length - at);
    // chown first: it clears setuid/setgid, which chmod then puts back.
    if (process.getuid?.() === 0) fchownSync(fd, like.uid, like.gid);
    fchmodSync(fd, like.mode & 0o7777);
    futimesSync(fd, like.atime, like.mtime);
    closeSync(fd);
    renameSync(temp, path);
  } catch (error) {
    try { closeSync(fd); } catch { /* already closed */ }
    try { unlinkSync(temp); } catch { /* never created or already renamed */ }
    throw error;
  }
}

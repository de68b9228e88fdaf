// Renaming a file over another changes its directory's timestamps; putting them back to the
// nanosecond needs utimensat, which Node only reaches with microseconds. GNU tar has it: the
// directories are archived (entries only, no contents) before anything changes and extracted over
// themselves afterwards, which restores their mtimes exactly, two processes for any number of
// directories (one `touch` per directory cost ~9 ms each). Access times are not in what tar puts
// back: extraction leaves them as they are, and neither renaming nor tar's listing changes them
// (only reading a directory's entries can, and the walk of the scan has done that already).
import { spawnSync } from 'node:child_process';
import { RunError } from '../errors.js';
import { nulSeparated } from '../names/path-bytes.js';
import { TAR_ENV } from '../tar/gnu-tar.js';

const ENTRIES_ONLY = ['--no-recursion', '--numeric-owner', '--format=posix'];

function tar(args: string[], input: Uint8Array | string, what: string): Buffer {
  const r = spawnSync('tar', args, { input, maxBuffer: 1 << 30, env: TAR_ENV });
  if (r.status !== 0) throw new RunError(`cannot ${what}: tar: ${r.stderr?.toString().trim() || r.error?.message}`);
  return r.stdout;
}

/** The metadata of `dirs` (relative to `root`, '' for the root itself), as a tar archive. */
export function captureDirectories(root: string, dirs: Iterable<string>): Buffer {
  // The names as bytes. `--null` implies `--verbatim-files-from`: no backslash unquoted, no
  // leading '-' taken for an option.
  const list = nulSeparated([...dirs].map((d) => (d === '' ? '.' : d)));
  return tar([...ENTRIES_ONLY, '-C', root, '--null', '-T', '-', '-cf', '-'], list, 'note the directory times');
}

/** Puts back the mtimes (and modes and owners, unchanged anyway) that `captureDirectories` noted. */
export function restoreDirectories(root: string, capsule: Buffer): void {
  // Only root may give owners away (and tar refuses --same-owner otherwise): the owners are
  // unchanged anyway, tar is only asked to keep them.
  const owners = process.getuid?.() === 0 ? ['--same-owner'] : ['--no-same-owner'];
  tar([...ENTRIES_ONLY, ...owners, '--same-permissions', '-C', root, '-xf', '-'], capsule, 'restore the directory times');
}

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

/**
 * Every attribute a directory has besides its times: a copy's directories are made from the
 * capsule (see copy-out.ts), and extended attributes and ACLs are then theirs too.
 */
const ALL_ATTRIBUTES = ['--xattrs', '--xattrs-include=*', '--acls'];

/**
 * The metadata of `dirs` (relative to `root`, '' for the root itself), as a tar archive; `all`:
 * with their extended attributes and ACLs, for making the directories elsewhere.
 */
export function captureDirectories(root: string, dirs: Iterable<string>, all = false): Buffer {
  // The names as bytes. `--null` implies `--verbatim-files-from`: no backslash unquoted, no
  // leading '-' taken for an option.
  const list = nulSeparated([...dirs].map((d) => (d === '' ? '.' : d)));
  return tar([...ENTRIES_ONLY, ...(all ? ALL_ATTRIBUTES : []), '-C', root, '--null', '-T', '-', '-cf', '-'], list, 'note the directory times');
}

/**
 * Puts back the mtimes (and modes and owners, unchanged anyway) that `captureDirectories` noted,
 * under `root`, making the directories that are not there; `all` as there.
 */
export function restoreDirectories(root: string, capsule: Buffer, all = false): void {
  // Only root may give owners away (and tar refuses --same-owner otherwise): the owners are
  // unchanged anyway, tar is only asked to keep them.
  const owners = process.getuid?.() === 0 ? ['--same-owner'] : ['--no-same-owner'];
  tar([...ENTRIES_ONLY, ...(all ? ALL_ATTRIBUTES : []), ...owners, '--same-permissions', '-C', root, '-xf', '-'], capsule, 'restore the directory times');
}

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
import { startHelper } from '../util/helper-process.js';

const ENTRIES_ONLY = ['--no-recursion', '--numeric-owner', '--format=posix'];

function tar(args: string[], input: Uint8Array | string, what: string): Buffer {
  const r = spawnSync('tar', args, { input, maxBuffer: 1 << 30, env: TAR_ENV });
  if (r.status !== 0) throw new RunError(`cannot ${what}: tar: ${r.stderr?.toString().trim() || r.error?.message}`);
  return r.stdout;
}

// The names as bytes. `--null` implies `--verbatim-files-from`: no backslash unquoted, no leading
// '-' taken for an option.
const NAMES_ON_STDIN = ['--null', '-T', '-'];
const names = (dirs: Iterable<string>) => nulSeparated([...dirs].map((d) => (d === '' ? '.' : d)));

// Only root may give owners away (and tar refuses --same-owner otherwise): in place the owners are
// unchanged anyway, tar is only asked to keep them.
const OWNERS = () => (process.getuid?.() === 0 ? ['--same-owner'] : ['--no-same-owner']);

/** The metadata of `dirs` (relative to `root`, '' for the root itself), as a tar archive. */
export function captureDirectories(root: string, dirs: Iterable<string>): Buffer {
  return tar([...ENTRIES_ONLY, '-C', root, ...NAMES_ON_STDIN, '-cf', '-'], names(dirs), 'note the directory times');
}

/** Puts back the mtimes (and modes and owners, unchanged anyway) that `captureDirectories` noted. */
export function restoreDirectories(root: string, capsule: Buffer): void {
  tar([...ENTRIES_ONLY, ...OWNERS(), '--same-permissions', '-C', root, '-xf', '-'], capsule, 'restore the directory times');
}

/** Every attribute a directory has besides its times, for a copy's directories. */
const ALL_ATTRIBUTES = ['--xattrs', '--xattrs-include=*', '--acls'];

/**
 * Gives the directories `dirs` of `to` those of `from`, making the missing ones: modes, owners,
 * times, extended attributes, ACLs. One tar archives them, another extracts them, and the
 * archive goes from one to the other through a pipe: a copy of an image with 30,000 directories
 * would hold ~50 MB of it here.
 */
export async function copyDirectories(from: string, to: string, dirs: Iterable<string>): Promise<void> {
  const spawnTar = (args: string[], stdin: 'pipe' | NodeJS.ReadableStream, what: string) =>
    startHelper(['tar', ...args], what, { stdio: [stdin as 'pipe', stdin === 'pipe' ? 'pipe' : 'ignore', 'pipe'], env: TAR_ENV, orphanSafe: true });
  const reader = spawnTar([...ENTRIES_ONLY, ...ALL_ATTRIBUTES, '-C', from, ...NAMES_ON_STDIN, '-cf', '-'], 'pipe', `read the directories of ${from}`);
  const writer = spawnTar([...ENTRIES_ONLY, ...ALL_ATTRIBUTES, ...OWNERS(), '--same-permissions', '-C', to, '-xf', '-'], reader.child.stdout!, `make the directories of ${to}`);
  // The writer has the pipe now; this process's end of it would keep the reader from closing.
  reader.child.stdout!.destroy();
  reader.child.stdin!.end(names(dirs));
  await Promise.all([reader.exited, writer.exited]);
}

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
//
// Names go to `cp` through `xargs -0` (findutils), NUL-separated on its standard input, never as
// our arguments: Node passes arguments as UTF-8 strings, so a name that is not UTF-8 (or a Buffer
// argument) would reach `cp` mangled. xargs also keeps each command line within the system limit.
import { resolve } from 'node:path';
import { spawnSync } from 'node:child_process';
import { closeSync, ftruncateSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { RunError } from '../errors.js';
import { fsPath, nulSeparated } from '../names/path-bytes.js';
import { startHelper, type HelperProcess } from '../util/helper-process.js';

// Temporary names live in temporary-name.ts, which a scan loads without the writers.

/** Files per `cp`: far below the argument-length limit, far above the cost of a process. */
const FILES_PER_CP = 1000;

const CP_ATTRIBUTES = ['--attributes-only', '--preserve=all'];

export function writeAll(fd: number, bytes: Uint8Array): void {
  let at = 0;
  while (at < bytes.length) at += writeSync(fd, bytes, at, bytes.length - at);
}

const PAGE = 4096;
const ZERO_PAGE = Buffer.alloc(PAGE);

/**
 * Writes `bytes` to the new, empty file `fd`, leaving whole pages of zeros as holes: a bound
 * client's reservation is mostly zeros past its layer (12 of the 35 KiB of a small client), and
 * a page not written costs the file system nothing, where writing it cost as much as any other
 * (tmpfs here: ~10 us a page). The contents read back the same.
 */
export function writeNewFile(fd: number, bytes: Uint8Array): void {
  const view = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
  let start = 0; // the first byte not written yet
  for (let page = 0; page + PAGE <= view.length; page += PAGE) {
    if (!view.subarray(page, page + PAGE).equals(ZERO_PAGE)) continue;
    if (page > start) writeAllAt(fd, view, start, page);
    start = page + PAGE;
  }
  if (start < view.length) writeAllAt(fd, view, start, view.length);
  else if (start > 0) ftruncateSync(fd, view.length); // ends in a hole
}

function writeAllAt(fd: number, bytes: Uint8Array, from: number, to: number): void {
  let at = from;
  while (at < to) at += writeSync(fd, bytes, at, to - at, at);
}

/**
 * Writes the new contents of the image's file `path` as a new file under `root`: the stage, or
 * the directory of a copy (a worker does this). Its directory is made when the first file in it
 * is: asking first cost a system call per file.
 */
export function writeNewFileAt(root: string, path: string, bytes: Uint8Array): void {
  const file = fsPath(join(root, path));
  let fd: number;
  try {
    fd = openSync(file, 'wx', 0o600);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    mkdirSync(fsPath(dirname(join(root, path))), { recursive: true });
    fd = openSync(file, 'wx', 0o600);
  }
  try {
    writeNewFile(fd, bytes);
  } finally {
    closeSync(fd);
  }
}

export function rewriteFile(path: string, bytes: Uint8Array): void {
  const fd = openSync(fsPath(path), 'r+');
  try {
    writeAll(fd, bytes);
    ftruncateSync(fd, bytes.length);
  } finally {
    closeSync(fd);
  }
}

/** `xargs -0 [-P n] cp <args> -- <names from stdin>`, a thousand names per `cp` at most. */
const XARGS_CP = (args: readonly string[], parallel = 1) =>
  ['-0', '-r', '-n', String(FILES_PER_CP), ...(parallel > 1 ? ['-P', String(parallel)] : []), '--', 'cp', ...args, '--'];

/** Copies the attributes of the file `from` onto the file `to` (one process; the names go on stdin). */
export function copyFileAttributes(from: string, to: string): void {
  const r = spawnSync('xargs', XARGS_CP([...CP_ATTRIBUTES, '--no-dereference']), { input: nulSeparated([from, to]), encoding: 'utf8' });
  if (r.status !== 0) throw new RunError(`cannot copy file attributes: ${r.stderr.trim() || r.error?.message || `xargs exited with ${r.status}`}`);
}

/**
 * `cp` with `args`, run by xargs on names given as they come (`add`), a thousand per `cp`, by
 * `parallel` of them at once: one process for a whole run, where one per batch cost the main
 * thread ~8 ms each to start (40 batches of 10,000 clients: 0.3 s). `finish` says when every
 * name is copied. If this process is killed, so are they (startHelper, orphanSafe).
 */
export class StreamingCopy {
  private readonly helper: HelperProcess;

  constructor(args: readonly string[], cwd: string, what: string, parallel = 1) {
    this.helper = startHelper(['xargs', ...XARGS_CP(args, parallel)], what, { cwd, stdio: ['pipe', 'ignore', 'pipe'], orphanSafe: true });
  }

  add(names: readonly string[]): void {
    if (names.length > 0) this.helper.child.stdin!.write(nulSeparated(names));
  }

  finish(): Promise<void> {
    this.helper.child.stdin!.end();
    return this.helper.exited;
  }

  /** Stops the copying (after a failure elsewhere). */
  async stop(): Promise<void> {
    this.helper.child.kill();
    await this.helper.exited.catch(() => {});
  }
}

/** Runs `cp` with `args` and then `names` in `cwd`, as many `cp` as xargs makes of them. */
async function cpInBatches(args: readonly string[], names: readonly string[], cwd: string): Promise<void> {
  if (names.length === 0) return;
  const copy = new StreamingCopy(args, cwd, 'copy file attributes');
  copy.add(names);
  await copy.finish();
}

/**
 * Copies the attributes of `from/<path>` onto `to/<path>` for each path: `cp --parents` run in
 * `from` keeps each relative path under `to` (one process per directory cost 9.6 s for 2,048
 * clients in 1,024 directories). Asynchronous, so that it overlaps the workers' next files.
 */
export function copyAttributes(from: string, to: string, paths: readonly string[]): Promise<void> {
  return cpInBatches(ATTRIBUTES_UNDER(to), paths, from);
}

/** copyAttributes for names given as they come: `add` each, then await `finish`. */
export function streamingAttributeCopy(from: string, to: string): StreamingCopy {
  return new StreamingCopy(ATTRIBUTES_UNDER(to), from, 'copy file attributes');
}

// `cp` runs in the source directory: a relative `to` (bind --in-place of a relative image path) would be taken from there.
const ATTRIBUTES_UNDER = (to: string) => [...CP_ATTRIBUTES, '--no-dereference', '--parents', '-t', resolve(to)];

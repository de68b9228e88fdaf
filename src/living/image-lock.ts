// The lock every syslayer run takes before it writes a directory image in place (bind and unbind
// --in-place, sync): flock(2) on `var/lib/syslayer/lock` in the image, which also holds who took
// it, so that a second run can say who it waits for. The kernel releases the lock when its holder
// dies, however it dies: no pid is ever judged alive or dead (after a reboot a dead holder's pid
// may well belong to another process), and no two runs can both take over a stale lock.
//
// Node has no flock(2): util-linux's flock(1), an essential package of Debian, takes it on a
// descriptor this process opened and passes down. The lock belongs to the open file, which stays
// ours when flock exits, and goes when this process closes it or dies.
//
// The holder removes the file as it releases the lock, so a full unbind leaves nothing behind. A
// run that was waiting then holds a lock on a file that is gone: it sees that the name no longer
// leads to its file and starts again on the new one.
import { spawnSync } from 'node:child_process';
import { closeSync, constants, fstatSync, ftruncateSync, lstatSync, mkdirSync, openSync, readFileSync, rmdirSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { RunError } from '../errors.js';
import { startHelper } from '../util/helper-process.js';

import { OWN_DIRECTORY } from '../sinks/own-files.js';

/** The image's own directory of syslayer's state, relative to its root. */
export const STATE_DIRECTORY = OWN_DIRECTORY;
export const LOCK_NAME = 'lock';

export interface LockHolder {
  pid: number;
  command: string;
  /** ISO 8601 time the holder took the lock. */
  since: string;
}

export interface ImageLock {
  /** Directories the lock made (var, var/lib, var/lib/syslayer: those that did not exist), outermost first. */
  readonly created: readonly string[];
  release(): void;
}

/** How long a run waits for the lock by default: long enough for a bind of a rootfs. */
export const DEFAULT_WAIT_SECONDS = 300;

export function describeHolder(h: LockHolder): string {
  return `pid ${h.pid} (syslayer ${h.command}, since ${h.since})`;
}

/**
 * Makes `root`/var/lib/syslayer as needed; returns the directories it made, outermost first. A
 * symlink on that path is refused: the lock, the state and the manifests are written there as
 * root, and an image's `var -> /` would have them written on the host.
 */
export function makeStateDirectory(root: string): string[] {
  const created: string[] = [];
  let path = '';
  for (const part of STATE_DIRECTORY.split('/')) {
    path = path ? `${path}/${part}` : part;
    try {
      mkdirSync(join(root, path), { mode: 0o755 });
      created.push(path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      if (!lstatSync(join(root, path)).isDirectory()) throw new RunError(`${join(root, path)}: not a directory (a symlink?): syslayer keeps its state in ${STATE_DIRECTORY}/ of the image and follows no link out of it`);
    }
  }
  return created;
}

function readHolder(file: string): LockHolder | null {
  try {
    const h = JSON.parse(readFileSync(file, 'utf8')) as LockHolder;
    return Number.isInteger(h.pid) && h.pid > 0 ? h : null;
  } catch {
    return null;
  }
}

/** flock(1)'s arguments for the descriptor passed as its fd 3: `--nonblock`, or waiting up to `seconds`. */
function flockArgs(wait: number | 'nonblock'): string[] {
  return ['flock', '--exclusive', ...(wait === 'nonblock' ? ['--nonblock'] : ['--wait', String(wait)]), '3'];
}

/** Whether the lock on `fd` is ours now; false when another holds it (flock's status 1). */
function tryLock(fd: number): boolean {
  const [command, ...args] = flockArgs('nonblock');
  const r = spawnSync(command!, args, { stdio: ['ignore', 'ignore', 'pipe', fd], encoding: 'utf8' });
  if (r.error) throw new RunError(`cannot lock the image: cannot run flock (util-linux): ${r.error.message}`);
  if (r.status === 0 || r.status === 1) return r.status === 0;
  throw new RunError(`cannot lock the image: ${r.stderr.trim() || `flock exited with ${r.status}`}`);
}

/** Waits for the lock on `fd` in a child, so that this process (a progress spinner, a signal) goes on meanwhile; false when the time ran out. */
async function waitForLock(fd: number, seconds: number): Promise<boolean> {
  const { child, exited } = startHelper(flockArgs(seconds), 'lock the image', { stdio: ['ignore', 'ignore', 'pipe', fd] });
  try {
    await exited;
    return true;
  } catch (error) {
    if (child.exitCode === 1) return false;
    throw error;
  }
}

/** Opens (or makes) the lock file, never through a symlink: the image's own `lock -> /etc/shadow` would be emptied as root. */
function openLockFile(file: string): number {
  try {
    return openSync(file, constants.O_RDWR | constants.O_CREAT | constants.O_NOFOLLOW, 0o644);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ELOOP') throw new RunError(`${file}: a symlink: syslayer follows no link out of the image's ${STATE_DIRECTORY}/`);
    throw error;
  }
}

/** Whether `file` still names the file open as `fd` (the holder before us removed it as it let go). */
function stillNamed(fd: number, file: string): boolean {
  try {
    const open = fstatSync(fd), named = statSync(file);
    return open.ino === named.ino && open.dev === named.dev;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw error;
  }
}

/**
 * Takes the lock of the image at `root` for `command`, waiting up to `waitSeconds` for the run
 * that holds it; throws a RunError naming the holder when the time is up. `onWait` is told once,
 * when the run starts waiting.
 */
export async function takeImageLock(root: string, command: string, waitSeconds = DEFAULT_WAIT_SECONDS, onWait?: (holder: string) => void): Promise<ImageLock> {
  const created: string[] = [];
  const file = join(root, STATE_DIRECTORY, LOCK_NAME);
  const deadline = Date.now() + waitSeconds * 1000;
  let told = false;
  for (;;) {
    // Again on every try: the holder we waited for may have removed the directories it made.
    for (const dir of makeStateDirectory(root)) if (!created.includes(dir)) created.push(dir);
    const fd = openLockFile(file);
    try {
      if (!fstatSync(fd).isFile()) throw new RunError(`${file}: not a regular file: cannot be the image's lock`);
      if (!tryLock(fd)) {
        const holder = readHolder(file);
        const who = holder === null ? `a run that has not said who it is (${file})` : describeHolder(holder);
        const left = (deadline - Date.now()) / 1000;
        if (left > 0 && !told) onWait?.(`${root}: waiting for the image lock, held by ${who}`);
        told = true;
        if (left <= 0 || !(await waitForLock(fd, Math.round(left * 1000) / 1000))) {
          throw new RunError(`${root}: the image is locked, held by ${who}; gave up after ${waitSeconds} s (--wait)`);
        }
      }
      if (!stillNamed(fd, file)) {
        closeSync(fd);
        continue;
      }
      const me: LockHolder = { pid: process.pid, command, since: new Date().toISOString() };
      ftruncateSync(fd, 0);
      writeSync(fd, `${JSON.stringify(me)}\n`, 0);
    } catch (error) {
      closeSync(fd);
      throw error;
    }
    let released = false;
    return {
      created,
      release() {
        if (released) return;
        released = true;
        // Removed while still held: a waiter that then gets the lock sees the name gone and starts again.
        try {
          unlinkSync(file);
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
        } finally {
          closeSync(fd);
        }
      },
    };
  }
}

/** Removes `dirs` (relative to `root`) innermost first, each only when empty. */
export function removeEmptyDirectories(root: string, dirs: readonly string[]): void {
  for (const dir of [...dirs].reverse()) {
    try {
      rmdirSync(join(root, dir));
    } catch {
      return; // not empty (or gone): the outer ones are not empty either
    }
  }
}

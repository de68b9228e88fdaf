// The lock every syslayer run takes before it writes a directory image in place (bind and unbind
// --in-place, sync): `var/lib/syslayer/lock` in the image, made with an exclusive create (O_EXCL),
// holding who took it. Node has no flock(2), and a lock file that names its holder lets a second
// run say who it waits for. A holder that died (its pid is gone on this machine) left a stale lock:
// the next run takes it over. Waiting polls, with a deadline.
//
// The takeover of a stale lock has one narrow race: two runs that both read the same dead pid may
// both remove the file, and the second removal can take away the lock the first has just made.
// Both then run; the window is the time between one run's read and unlink of a dead holder's file.
import { closeSync, mkdirSync, openSync, readFileSync, rmdirSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { RunError } from '../errors.js';

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
const POLL_MS = 100;

export function describeHolder(h: LockHolder): string {
  return `pid ${h.pid} (syslayer ${h.command}, since ${h.since})`;
}

/** Makes `root`/var/lib/syslayer as needed; returns the directories it made, outermost first. */
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

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists, another user's.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Takes the lock of the image at `root` for `command`, waiting up to `waitSeconds` for a live
 * holder; throws a RunError naming the holder when the time is up. `onWait` is told once, when
 * the run starts waiting.
 */
export async function takeImageLock(root: string, command: string, waitSeconds = DEFAULT_WAIT_SECONDS, onWait?: (holder: string) => void): Promise<ImageLock> {
  const created = makeStateDirectory(root);
  const file = join(root, STATE_DIRECTORY, LOCK_NAME);
  const me: LockHolder = { pid: process.pid, command, since: new Date().toISOString() };
  const deadline = Date.now() + waitSeconds * 1000;
  let told = false;
  for (;;) {
    let fd: number;
    try {
      fd = openSync(file, 'wx', 0o644);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const holder = readHolder(file);
      // Unreadable: a holder between its create and its write, or a file cut short by a crash.
      // The first resolves within a poll; a file that stays unreadable past the wait is stale.
      if (holder !== null && !alive(holder.pid)) {
        try {
          unlinkSync(file);
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e; // else another run took it over first
        }
        continue;
      }
      const who = holder === null ? `an unreadable lock file (${file})` : describeHolder(holder);
      if (Date.now() >= deadline) {
        if (holder === null) {
          // Still unreadable after the wait: a crash cut it short. Taken over.
          try {
            unlinkSync(file);
          } catch (e) {
            if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
          }
          continue;
        }
        throw new RunError(`${root}: the image is locked, held by ${who}; gave up after ${waitSeconds} s (--wait)`);
      }
      if (!told) onWait?.(`${root}: waiting for the image lock, held by ${who}`);
      told = true;
      await sleep(Math.min(POLL_MS, Math.max(1, deadline - Date.now())));
      continue;
    }
    try {
      writeSync(fd, `${JSON.stringify(me)}\n`);
    } finally {
      closeSync(fd);
    }
    break;
  }
  let released = false;
  return {
    created,
    release() {
      if (released) return;
      released = true;
      // Only our own lock: a run that took over a lock it thought stale must not lose it to us.
      if (readHolder(file)?.pid === process.pid) unlinkSync(file);
    },
  };
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

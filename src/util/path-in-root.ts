// A path of an image root as a program inside it would see it: the symlinks among its directories
// followed inside the root (an absolute target starts again at the root, `..` stops there), never
// out to the host's files. The last component is not followed: the caller lstats it.
import { lstatSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { decodeName, fsPath } from '../names/path-bytes.js';

/** Links followed before giving up, as the kernel's 40 (ELOOP). */
const MAX_LINKS = 40;

/** The host path of `path` (relative to `root`) with its directories resolved inside `root`; null for a loop. */
export function pathInRoot(root: string, path: string): string | null {
  const pending = path.split('/').filter((c) => c !== '' && c !== '.');
  const last = pending.pop();
  if (last === undefined) return root;
  const resolved: string[] = [];
  let links = 0;
  while (pending.length > 0) {
    const c = pending.shift()!;
    if (c === '..') {
      resolved.pop();
      continue;
    }
    const here = join(root, ...resolved, c);
    let target: string | null = null;
    try {
      if (lstatSync(fsPath(here)).isSymbolicLink()) target = decodeName(readlinkSync(fsPath(here), 'buffer'));
    } catch {
      // Missing: the caller's lstat of the whole path says so.
    }
    if (target === null) {
      resolved.push(c);
      continue;
    }
    if (++links > MAX_LINKS) return null;
    if (target.startsWith('/')) resolved.length = 0;
    pending.unshift(...target.split('/').filter((t) => t !== '' && t !== '.'));
  }
  return join(root, ...resolved, last);
}

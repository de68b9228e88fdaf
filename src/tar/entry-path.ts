// Tar entry names an image may hold, and those it must refuse (DESIGN §7): an absolute name, a
// '..' component, a hardlink to such a name, or an entry below a symlink of the image — each would
// be written outside the output root when the image is extracted.
import type { ImageTree } from '../pipeline/image-tree.js';
import { printable } from '../names/path-bytes.js';

export type EntryCheck = { ok: true; path: string } | { ok: false; reason: string };

export function entryPath(name: string): EntryCheck {
  if (name.startsWith('/')) return { ok: false, reason: `entry '${printable(name)}' has an absolute name` };
  const parts = name.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.includes('..')) return { ok: false, reason: `entry '${printable(name)}' climbs out of the image with '..'` };
  return { ok: true, path: parts.join('/') };
}

/** Refuses an entry whose parent directories pass through a symlink the image already holds. */
export function throughSymlink(tree: ImageTree, path: string): string | null {
  const parts = path.split('/');
  for (let i = 1; i < parts.length; i++) {
    const prefix = parts.slice(0, i).join('/');
    if (tree.get(prefix)?.kind === 'symlink') return `entry '${printable(path)}' would be written through the symlink '${printable(prefix)}'`;
  }
  return null;
}

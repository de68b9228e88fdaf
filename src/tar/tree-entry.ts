// What a tar entry is in the image tree: the tar pass's and the header walk's type names both map
// here, so that the catalog pass and the main pass build the same tree.
import type { TreeEntry } from '../pipeline/image-tree.js';

const FILE_TYPES = new Set(['file', 'contiguous', 'hardlink']);

/** `linkname` is asked for only for a symlink. */
export function treeEntryOf(type: string, linkname: () => string): TreeEntry {
  if (type === 'directory') return { kind: 'dir' };
  if (type === 'symlink') return { kind: 'symlink', target: linkname() };
  return FILE_TYPES.has(type) ? { kind: 'file' } : { kind: 'other' };
}

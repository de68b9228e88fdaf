// Walks a directory image into an ImageTree without following symlinks (readdir's entry types
// come from the directory itself, so no lstat per file is needed for a scan).
import { lstat, opendir, readlink } from 'node:fs/promises';
import type { Dirent, Stats } from 'node:fs';
import { join } from 'node:path';
import { ImageTree, joinPath, type EntryKind } from './tree.js';

/** Directories read at once: enough to hide latency, few enough to keep file handles bounded. */
const PARALLEL_DIRECTORIES = 16;

export async function walkDirectory(root: string): Promise<ImageTree> {
  const tree = new ImageTree();
  const queue: string[] = [''];
  const active = new Set<Promise<void>>();

  const readOne = async (dir: string): Promise<void> => {
    let handle;
    try {
      handle = await opendir(join(root, dir), { bufferSize: 256 });
    } catch (error) {
      tree.unreadable.push({ path: dir, error: (error as Error).message });
      return;
    }
    for await (const dirent of handle) {
      const path = joinPath(dir, dirent.name);
      // Some file systems do not store entry types in directories; only then is lstat needed.
      const kind = kindOf(isTyped(dirent) ? dirent : await lstat(join(root, path)));
      if (kind === 'symlink') {
        tree.add(path, { kind, target: await readlink(join(root, path)) });
      } else {
        tree.add(path, { kind });
      }
      if (kind === 'dir') queue.push(path);
    }
  };

  while (queue.length > 0 || active.size > 0) {
    while (queue.length > 0 && active.size < PARALLEL_DIRECTORIES) {
      const job = readOne(queue.shift()!).finally(() => active.delete(job));
      active.add(job);
    }
    await Promise.race(active);
  }
  return tree;
}

function isTyped(d: Dirent): boolean {
  return d.isFile() || d.isDirectory() || d.isSymbolicLink() || d.isFIFO() || d.isSocket() ||
    d.isCharacterDevice() || d.isBlockDevice();
}

function kindOf(d: Dirent | Stats): EntryKind {
  if (d.isFile()) return 'file';
  if (d.isDirectory()) return 'dir';
  if (d.isSymbolicLink()) return 'symlink';
  return 'other';
}

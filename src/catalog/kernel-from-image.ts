// `--kernel auto`: the kernel version an image was built for, from its module directories
// (lib/modules/<version>/ and usr/lib/modules/<version>/, resolved inside the image).
import type { ImageTree } from '../pipeline/image-tree.js';
import { UsageError } from '../errors.js';
import { parseKernelVersion } from './kernel-version.js';

export function kernelFromImage(image: string, tree: ImageTree): { version: number; text: string } {
  const found = new Set<string>();
  const seenDirs = new Set<string>();
  for (const dir of ['lib/modules', 'usr/lib/modules']) {
    const resolved = tree.resolveDirectory(dir);
    if (resolved === null || seenDirs.has(resolved)) continue;
    seenDirs.add(resolved);
    for (const name of tree.list(resolved)) {
      if (tree.resolveDirectory(`${resolved}/${name}`) !== null && /^\d+\.\d+/.test(name)) found.add(name);
    }
  }
  if (found.size === 0) throw new UsageError(`${image}: --kernel auto found no lib/modules/<version>/ in the image; name the kernel with --kernel <a.b.c>`);
  if (found.size > 1) throw new UsageError(`${image}: --kernel auto is ambiguous: the image has modules for ${[...found].sort().join(', ')}; name one with --kernel`);
  const text = [...found][0]!;
  return { version: parseKernelVersion(text), text };
}

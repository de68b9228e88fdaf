// `--kernel auto`: the kernel version an image was built for, from its module directories
// (lib/modules/<version>/ and usr/lib/modules/<version>/, resolved inside the image). With several,
// the oldest wins (DESIGN §3): every program must run on whichever installed kernel boots, and a
// layer for a newer kernel may make system calls an older one lacks.
import type { ImageTree } from '../pipeline/image-tree.js';
import { UsageError } from '../errors.js';
import { parseKernelVersion } from './kernel-version.js';

const byNumbers = new Intl.Collator('en', { numeric: true });

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
  if (found.size === 0) throw new UsageError(`${image}: --kernel auto found no lib/modules/<version>/ or usr/lib/modules/<version>/ in the image; name the kernel with --kernel <a.b.c>`);
  // Two directories may encode alike (5.10.0-9-amd64, 5.10.0-10-amd64): the name, its numbers
  // compared as numbers, breaks the tie, so the answer does not depend on the listing order.
  const [oldest] = [...found].map((text) => ({ version: parseKernelVersion(text), text }))
    .sort((a, b) => a.version - b.version || byNumbers.compare(a.text, b.text));
  return oldest!;
}

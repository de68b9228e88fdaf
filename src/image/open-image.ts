// Recognises what kind of image a path names. Directory images are read in place; tar images
// come with the whole-image pipeline.
import { statSync } from 'node:fs';

export type ImageKind = 'directory' | 'tar' | 'tar.gz' | 'file';

export class UsageError extends Error {}

/**
 * The run could not be done as a whole, for a reason its message names (an output that cannot be
 * written, a tool that failed, a refused image): reported as such, exit 1, and nothing half-written
 * is left. Anything thrown that is neither this, a UsageError nor a failed system call is a bug.
 */
export class RunError extends Error {}

export async function imageKind(path: string): Promise<ImageKind> {
  let info;
  try {
    // Synchronously: the thread pool's first use (starting its threads) cost every command ~5 ms.
    info = statSync(path);
  } catch (error) {
    throw new UsageError(`${path}: cannot open image: ${(error as Error).message}`);
  }
  if (info.isDirectory()) return 'directory';
  if (/\.tar$/.test(path)) return 'tar';
  if (/\.(tar\.gz|tgz)$/.test(path)) return 'tar.gz';
  return 'file';
}

// Recognises what kind of image a path names. Directory images are read in place; tar images
// come with the whole-image pipeline.
import { statSync } from 'node:fs';
import { UsageError } from '../errors.js';

export type ImageKind = 'directory' | 'tar' | 'tar.gz' | 'file';



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

// An image list (`bind --images LIST`): one input per line, any format the tool reads; blank lines
// and lines starting with `#` are left out; a relative path is taken from the current directory.
// Each output is named after its input's base name, so two inputs of the same base name would
// write one output: a usage error naming both lines, whatever shard runs.
import { readFileSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import { UsageError } from '../errors.js';

export interface ListedImage {
  /** The line as written (trimmed of its line end). */
  given: string;
  /** The input's absolute path. */
  path: string;
  /** The base name its output and report take. */
  name: string;
  /** Its line in the list, from 1. */
  line: number;
}

export function readImageList(list: string): ListedImage[] {
  let text: string;
  try {
    text = readFileSync(list, 'utf8');
  } catch (error) {
    throw new UsageError(`--images ${list}: cannot read the list: ${(error as Error).message}`);
  }
  const images: ListedImage[] = [];
  const seen = new Map<string, ListedImage>();
  text.split('\n').forEach((raw, i) => {
    const given = raw.replace(/\r$/, '');
    if (given.trim() === '' || given.trimStart().startsWith('#')) return;
    if (given === '-') throw new UsageError(`--images ${list}:${i + 1}: standard input cannot be one of many images`);
    const name = basename(given);
    if (name === '' || name === '.' || name === '..') throw new UsageError(`--images ${list}:${i + 1}: '${given}' has no base name to name its output after`);
    const image = { given, path: resolve(given), name, line: i + 1 };
    const other = seen.get(name);
    if (other) throw new UsageError(`--images ${list}: lines ${other.line} ('${other.given}') and ${image.line} ('${given}') would both write ${name}: give them different base names`);
    seen.set(name, image);
    images.push(image);
  });
  if (images.length === 0) throw new UsageError(`--images ${list}: the list names no image`);
  return images;
}

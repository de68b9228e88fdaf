// `-` as the input: standard input cannot be read twice (the catalog pass, then the rewrite), so it
// is spooled to a temporary file first, never held in memory; the file is then an image like any
// other, its format told by its magic bytes.
import { createWriteStream, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { RunError } from '../errors.js';

export interface Spool {
  path: string;
  remove(): void;
}

export async function spoolStandardInput(): Promise<Spool> {
  const dir = mkdtempSync(join(tmpdir(), 'syslayer-stdin-'));
  const path = join(dir, 'image');
  const remove = () => rmSync(dir, { recursive: true, force: true });
  try {
    await pipeline(process.stdin, createWriteStream(path));
  } catch (error) {
    remove();
    throw new RunError(`cannot spool standard input to ${path}: ${(error as Error).message}`);
  }
  return { path, remove };
}

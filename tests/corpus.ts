// The committed corpus of real Debian binaries (corpus/manifest.tsv; scripts/corpus rebuilds it).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './helpers/cli.js';

export interface CorpusFile {
  arch: string;
  package: string;
  version: string;
  file: string;
  sha256: string;
  kind: string;
}

export const CORPUS_DIR = join(ROOT, 'corpus');

export function corpusFiles(): CorpusFile[] {
  const lines = readFileSync(join(CORPUS_DIR, 'manifest.tsv'), 'utf8').trim().split('\n');
  const header = lines.shift()!.split('\t');
  return lines.map((line) => {
    const cells = line.split('\t');
    const row = Object.fromEntries(header.map((h, i) => [h, cells[i] ?? ''])) as Record<string, string>;
    return { arch: row.arch!, package: row.package!, version: row.version!, file: row.file!, sha256: row.sha256!, kind: row.kind! };
  });
}

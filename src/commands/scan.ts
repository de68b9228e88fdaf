// `syslayer scan <image>`: every ELF file of a directory image, its facts (DESIGN §5) and, for
// each object with DT_NEEDED, its dependency closure resolved inside the image root.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ElfFacts, ScanOutcome } from '../core/facts.js';
import { walkDirectory } from '../image/walk-directory.js';
import { imageKind, UsageError } from '../image/open-image.js';
import type { ImageTree } from '../image/tree.js';
import { readLdSoConf } from '../closure/ld-so-conf.js';
import { ClosureResolver, type Closure } from '../closure/resolve.js';
import { WorkerPool } from '../pool/pool.js';
import { Progress } from '../util/progress.js';
import { Timers } from '../util/timers.js';
import { TEMPORARY_NAME } from '../util/file-writers.js';

export type ElfFileRecord = { path: string; size: number } & ElfFacts & { closure: Closure | null };
export type ErrorFileRecord = { path: string; size: number; error: string; errorOffset?: number };
export type FileRecord = ElfFileRecord | ErrorFileRecord;

export interface ScanReport {
  image: string;
  files: FileRecord[];
  counts: { files: number; elf: number; other: number; errors: number; directories: number; symlinks: number; special: number };
  /** Directories of etc/ld.so.conf, as read from the image. */
  ldSoConf: string[];
  /** The image's tree, for commands that go on from the scan (not in the JSON). */
  tree?: ImageTree;
  /** Temporary files of an interrupted rewrite (`.name.syslayer-PID-N`), not scanned. */
  leftovers?: string[];
}

export interface ScanOptions {
  timers?: Timers;
  progress?: Progress;
  threads?: number;
  /** A pool to reuse (the caller closes it); otherwise one is made for this scan. */
  pool?: WorkerPool;
}

export async function scanImage(image: string, options: ScanOptions = {}): Promise<ScanReport> {
  const timers = options.timers ?? new Timers();
  const progress = options.progress ?? Progress.silent();
  const kind = await imageKind(image);
  if (kind !== 'directory') throw new UsageError(`${image}: scan reads directory images (tar images are not supported yet)`);

  // Workers start (load modules, instantiate the core) while the main thread walks the tree.
  const pool = options.pool ?? new WorkerPool(options.threads);
  progress.update('walking the tree');
  const tree = await timers.time('walk', () => walkDirectory(image));
  // Temporary files a killed rewrite left behind are not part of the image: the next rewrite removes them.
  const leftovers: string[] = [];
  const regular: string[] = [];
  for (const [path, e] of tree.paths()) {
    if (e.kind !== 'file' && e.kind !== 'dir') continue;
    if (TEMPORARY_NAME.test(path.slice(path.lastIndexOf('/') + 1))) leftovers.push(path);
    // An in-place rewrite stages its files in a directory of the image root: not the image's.
    else if (e.kind === 'file' && !TEMPORARY_NAME.test(path.split('/', 1)[0]!)) regular.push(path);
  }

  let outcomes: ScanOutcome[];
  try {
    outcomes = await timers.time('read', () =>
      pool.scan(image, regular, (done) => progress.update(`reading ${done}/${regular.length} files`)),
    );
  } finally {
    if (!options.pool) await pool.close();
  }

  progress.update('resolving dependency closures');
  const ldSoConf = await readLdSoConf(tree, imageReader(image));
  const report = await timers.time('closure', () => scanReportFrom(image, tree, ldSoConf, outcomes));
  progress.stop();
  return { ...report, leftovers };
}

/** The report of a scanned image: each ELF file's facts with its closure, and the counts. */
export function scanReportFrom(image: string, tree: ImageTree, ldSoConf: string[], outcomes: ScanOutcome[]): ScanReport {
  const files = resolveClosures(tree, ldSoConf, outcomes);
  const counts = { files: outcomes.length, elf: 0, other: 0, errors: 0, directories: 0, symlinks: 0, special: 0 };
  for (const o of outcomes) {
    if (o.kind === 'elf') counts.elf++;
    else if (o.kind === 'other') counts.other++;
    else counts.errors++;
  }
  for (const [, entry] of tree.paths()) {
    if (entry.kind === 'dir') counts.directories++;
    else if (entry.kind === 'symlink') counts.symlinks++;
    else if (entry.kind === 'other') counts.special++;
  }
  counts.errors += tree.unreadable.length;
  for (const u of tree.unreadable) files.push({ path: u.path, size: 0, error: `cannot list directory: ${u.error}` });
  return { image, files, counts, ldSoConf, tree };
}

export function imageReader(root: string) {
  return async (path: string): Promise<string | null> => {
    try {
      return await readFile(join(root, path), 'utf8');
    } catch {
      return null;
    }
  };
}

function resolveClosures(tree: ImageTree, ldSoConf: string[], outcomes: ScanOutcome[]): FileRecord[] {
  const objects = new Map<string, ElfFacts>();
  for (const o of outcomes) if (o.kind === 'elf') objects.set(o.path, o.facts);
  const resolver = new ClosureResolver(tree, objects, ldSoConf);
  const files: FileRecord[] = [];
  for (const o of outcomes.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))) {
    if (o.kind === 'elf') {
      const closure = o.facts.needed.length > 0 || o.facts.interpreter ? resolver.closureOf(o.path, o.facts) : null;
      files.push({ path: o.path, size: o.size, ...o.facts, closure });
    } else if (o.kind === 'error') {
      files.push({ path: o.path, size: o.size, error: o.error, ...(o.errorOffset !== undefined ? { errorOffset: o.errorOffset } : {}) });
    }
  }
  return files;
}

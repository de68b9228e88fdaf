// `syslayer scan <image>`: every ELF file of a directory image, its facts (DESIGN §5) and, for
// each object with DT_NEEDED, its dependency closure resolved inside the image root.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { availableParallelism } from 'node:os';
import type { ElfFacts, ScanOutcome } from '../core/facts.js';
import { directoryTree, walkDirectories } from '../sources/directory.js';
import type { ImageTree } from '../pipeline/image-tree.js';
import { readLdSoConf } from '../closure/ld-so-conf.js';
import { ClosureResolver, type Closure } from '../closure/resolve.js';
import type { WorkerPool } from '../pool/pool.js';
import { BATCH_FILES } from '../pool/batches.js';
import { SharedScan } from './shared-scan.js';
import { Core, compileCore } from '../core/core.js';
import type { ReaderThreads } from './reader-threads.js';
import { Progress } from '../util/progress.js';
import { Timers } from '../util/timers.js';
import { isTemporaryName, isTemporaryPath } from '../sinks/temporary-name.js';
import { OWN_DIRECTORY, isOwnFile } from '../sinks/own-files.js';
import { decodeName, fsPath } from '../names/path-bytes.js';

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

/**
 * Files a scan walks to before it decides on reader threads of its own, on a machine of more than
 * two cores. A thread is ready ~50 ms after it is made, and then takes files the main thread would
 * read: too late to pay for itself in a rootfs (10,312 files, 150 ms of walking and reading), in
 * time for four copies (41,248 files, 500 ms). The walk runs ahead without reading until it has
 * found this many, about a third of the way through four copies; a smaller tree is walked whole,
 * then read by the main thread.
 *
 * On two cores there are none by default. The benchmark machine (2 cores, shared) seldom has the
 * second core free: with one reader, four rootfs copies took 870-907 ms against 691 ms without
 * (medians of five, same run), each thread reading at half the rate one thread alone does, and a
 * rootfs 555 against 520 ms; C threads opening and reading the same files showed no speedup either
 * at such times (1.7x when the machine was idle). More cores: not measured here.
 */
const READERS_AFTER = 16_384;

/** Reader threads a scan of its own starts when not told how many. */
function defaultReaders(): number {
  const cores = availableParallelism();
  return cores > 2 ? cores - 1 : 0;
}

export async function scanImage(image: string, options: ScanOptions = {}): Promise<ScanReport> {
  const timers = options.timers ?? new Timers();
  const progress = options.progress ?? Progress.silent();

  // The files go to the pool's workers, to reader threads of the scan's own, or to the main
  // thread, in batches as the walk finds them. The workers start (load modules, instantiate the
  // core) while the main thread walks the tree.
  const module = options.pool?.module ?? timers.timeSync('compile core', () => compileCore());
  const tree = directoryTree(image);
  // Temporary files a killed rewrite left behind are not part of the image: the next rewrite removes them.
  const leftovers: string[] = [];
  const core = new Core(module);
  const reading = new SharedScan(options.pool ?? null, core, image, (done, found) => progress.update(`reading: ${done} of ${found} files found so far`));
  const readers = options.pool ? 0 : options.threads ?? defaultReaders();
  let own: ReaderThreads | null = null;
  const startReaders = async () => {
    const { ReaderThreads } = await import('./reader-threads.js');
    const threads = new ReaderThreads(module, readers);
    reading.join(threads);
    return threads;
  };
  // Asked for by number, they start at once; else once the walk shows the tree is large.
  let deciding = readers > 0 && options.threads === undefined;
  if (readers > 0 && !deciding) own = await timers.time('start readers', startReaders);
  progress.update('walking the tree: listing directories');
  try {
    await timers.time('walk and read', async () => {
      let batch: string[] = [];
      let yielded = performance.now();
      let walkMs = 0;
      const walk = imageFiles(image, tree, leftovers);
      for (;;) {
        const started = performance.now();
        const step = walk.next();
        walkMs += performance.now() - started;
        if (step.done) break;
        for (const path of step.value) {
          batch.push(path);
          if (batch.length === BATCH_FILES) {
            reading.add(batch);
            batch = [];
          }
        }
        if (deciding) {
          if (reading.filesFound < READERS_AFTER) continue;
          deciding = false;
          own = await timers.time('start readers', startReaders);
        }
        reading.helpIfBehind();
        // Let the other threads' answers in, and hand them the next batches.
        if (reading.shared && performance.now() - yielded > 1) {
          await new Promise<void>((resolve) => setImmediate(resolve));
          yielded = performance.now();
        }
      }
      if (batch.length > 0) reading.add(batch);
      timers.record('walk', walkMs);
      await reading.finish();
      timers.record('read in main thread', reading.mainThreadMs);
      if (reading.shared) timers.record('wait for threads', reading.waitMs);
    });
  } catch (error) {
    await own?.close();
    throw error;
  }
  // The readers wind down while the closures are resolved.
  const closing = own?.close();
  try {
    progress.update('resolving dependency closures: ld.so rules, inside the image');
    const ldSoConf = await readLdSoConf(tree, imageReader(image));
    const report = await timers.time('closure', () => scanReportFrom(image, tree, ldSoConf, reading.outcomes, reading.other));
    progress.stop();
    return { ...report, leftovers };
  } finally {
    await closing;
  }
}

/**
 * The walk of a directory image into `tree`, one directory at a time: yields the regular files of
 * each that belong to the image. Temporary files and directories an interrupted rewrite left
 * (`.name.syslayer-PID-N`, a staging directory) go to `leftovers` instead: the next rewrite removes them.
 */
export function* imageFiles(image: string, tree: ImageTree, leftovers: string[]): Generator<string[]> {
  for (const { dir, files, dirs } of walkDirectories(image, tree)) {
    // An in-place rewrite stages its files in a directory of the image root: not the image's.
    const slash = dir.indexOf('/');
    if (isTemporaryName(slash < 0 ? dir : dir.slice(0, slash))) continue;
    for (const path of dirs) if (isTemporaryPath(path)) leftovers.push(path);
    const kept: string[] = [];
    // syslayer's own state in the image (living/, docs/living-images.md) is not the image's.
    const own = dir === OWN_DIRECTORY;
    for (const path of files) {
      if (isTemporaryPath(path)) leftovers.push(path);
      else if (!own || !isOwnFile(path)) kept.push(path);
    }
    yield kept;
  }
}

/**
 * The report of a scanned image: each ELF file's facts with its closure, and the counts.
 * `outcomes` need not list non-ELF files: `otherFiles` counts those it leaves out.
 */
export function scanReportFrom(image: string, tree: ImageTree, ldSoConf: string[], outcomes: ScanOutcome[], otherFiles = 0): ScanReport {
  const files = resolveClosures(tree, ldSoConf, outcomes);
  const counts = { files: outcomes.length + otherFiles, elf: 0, other: otherFiles, errors: 0, directories: 0, symlinks: 0, special: 0 };
  for (const o of outcomes) {
    if (o.kind === 'elf') counts.elf++;
    else if (o.kind === 'other') counts.other++;
    else counts.errors++;
  }
  counts.directories = tree.count('dir');
  counts.symlinks = tree.count('symlink');
  counts.special = tree.count('other');
  counts.errors += tree.unreadable.length;
  for (const u of tree.unreadable) files.push({ path: u.path, size: 0, error: `cannot list directory: ${u.error}` });
  return { image, files, counts, ldSoConf, tree };
}

export function imageReader(root: string) {
  // Read synchronously: a few small files, and the thread pool's first use (its threads
  // starting) cost a scan 10-30 ms.
  return async (path: string): Promise<string | null> => {
    try {
      // Decoded as names are: an include of a directory whose name is not UTF-8 still resolves.
      return decodeName(readFileSync(fsPath(join(root, path))));
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
      files.push(elfFileRecord(o.path, o.size, o.facts, closure));
    } else if (o.kind === 'error') {
      files.push({ path: o.path, size: o.size, error: o.error, ...(o.errorOffset !== undefined ? { errorOffset: o.errorOffset } : {}) });
    }
  }
  return files;
}

/**
 * The record of an ELF file in the report: its facts, in their order, between its path and size
 * and its closure. Spelled out, not spread: V8 builds an object with a spread inside a literal
 * property by property, and JSON.stringify of the report then took twice as long (a client
 * image's 3,004 ELF files: 12 ms against 6). TypeScript checks that no fact is left out.
 */
function elfFileRecord(path: string, size: number, f: ElfFacts, closure: Closure | null): ElfFileRecord {
  return {
    path, size, class: f.class, endian: f.endian, machine: f.machine, machineName: f.machineName, type: f.type,
    osabi: f.osabi, osabiName: f.osabiName, abiVersion: f.abiVersion, flags: f.flags, entry: f.entry,
    phnum: f.phnum, shnum: f.shnum, interpreter: f.interpreter, soname: f.soname, needed: f.needed,
    rpath: f.rpath, runpath: f.runpath, dtFlags: f.dtFlags, dtFlags1: f.dtFlags1, linkage: f.linkage,
    buildId: f.buildId, abiTag: f.abiTag, syslayer: f.syslayer, closure,
  };
}

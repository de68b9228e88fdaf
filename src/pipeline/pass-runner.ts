// Who does the one pass's work (bind-in-one-pass.ts): the pool's workers, or the main thread
// alone. On two cores a copy's `cp` processes need one of them: there the main thread alone ran
// `bind -o` of the clients image in less time and CPU than two workers beside it (piscina's
// workers cost ~0.2 s of CPU to start, and their results are copied back).
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { Core, compileCore } from '../core/core.js';
import type { Layer } from '../catalog/catalog.js';
import type { WorkerPool } from '../pool/pool.js';
import { passFiles, type FilePassResult, type FilePassTask } from '../transform/file-pass.js';
import { bindFile, type Destination, type FileOutcome } from '../transform/file-operations.js';
import { renameStagedFiles } from '../sinks/staging.js';
import type { Job } from './rewrite-directory.js';

export interface PassRunner {
  /** A core of this thread (the catalog is linked with it). */
  readonly core: Core;
  /** Runs the pass over one batch; batches run one after the other here, or side by side in workers. */
  pass(task: FilePassTask): Promise<FilePassResult>;
  /** Binds `jobs` (hardlinked clients) from `root` to `to`. */
  bind(root: string, to: Destination, catalog: readonly Layer[], targetKernel: number, jobs: Job[]): Promise<FileOutcome[]>;
  /** Renames staged files over their old names. */
  renameStaged(root: string, stage: string, paths: readonly string[]): Promise<void>;
  close(): Promise<void>;
}

/**
 * Workers for a pass: `threads` if given (0: none); by default one per core for a pass in place,
 * and for a copy one per core but two (its `cp` processes take two).
 */
export function passWorkers(threads: number | undefined, copying: boolean): number {
  if (threads !== undefined) return threads;
  const cores = availableParallelism();
  return copying ? Math.max(0, cores - 2) : cores;
}

export async function passRunner(workers: number): Promise<PassRunner> {
  if (workers === 0) return mainThreadRunner(new Core(compileCore()));
  const { openPool } = await import('../pool/pool.js');
  return poolRunner(openPool(workers));
}

function poolRunner(pool: WorkerPool): PassRunner {
  return {
    core: new Core(pool.module),
    pass: (task) => pool.passFiles(task),
    bind: (root, to, catalog, targetKernel, jobs) => pool.bind(root, { to, catalog, targetKernel }, jobs),
    renameStaged: (root, stage, paths) => pool.renameStaged(root, stage, paths),
    close: () => pool.close(),
  };
}

/**
 * Puts each linked image of `catalog` into `core`'s memory once, as a pool worker does
 * (workers/resident-catalog.ts): binding then reads it there instead of copying it in for every
 * client. The catalog was linked by this same core (PassRunner.core), so its images are this run's.
 */
function makeResident(core: Core, catalog: readonly Layer[]): void {
  for (const layer of catalog) {
    for (const linked of layer.images.values()) linked.address ??= core.makeResident(linked.image);
  }
}

function mainThreadRunner(core: Core): PassRunner {
  // One batch at a time, each after a turn of the event loop: the names of the last one reach
  // the `cp` processes meanwhile.
  let queue = Promise.resolve();
  const inTurn = <T>(work: () => T): Promise<T> => {
    const turn = queue.then(() => new Promise<T>((resolve, reject) => setImmediate(() => {
      try {
        resolve(work());
      } catch (error) {
        reject(error);
      }
    })));
    queue = turn.then(() => {}, () => {});
    return turn;
  };
  return {
    core,
    pass: (task) => inTurn(() => {
      makeResident(core, task.catalog);
      return passFiles(core, task);
    }),
    bind: (root, to, catalog, targetKernel, jobs) => inTurn(() =>
      jobs.map((j) => bindFile(core, { file: join(root, j.path), path: j.path, layer: catalog[j.layer]!, targetKernel }, to))),
    renameStaged: async (root, stage, paths) => renameStagedFiles(root, stage, paths),
    close: async () => {},
  };
}

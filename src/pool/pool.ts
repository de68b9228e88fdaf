// The worker pool: piscina, one long-lived core instance per worker, batched tasks.
import { Piscina } from 'piscina';
import { availableParallelism } from 'node:os';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { compileCore } from '../core/core.js';
import { packageRoot } from '../util/package-root.js';
import type { Layer } from '../catalog/layer.js';
import type { Destination, FileOutcome } from '../transform/file-operations.js';
import type { FilePassResult, FilePassTask } from '../transform/file-pass.js';
import type { BindBatch, EntryBatch, FilePassBatch, RenameBatch, EntryBatchReply, PoolWorkerData, ScanBatch, ScanBatchResult, UnbindBatch, VerifyBatch } from './tasks.js';
import { batches } from './batches.js';
import { shareCatalog, type SharedCatalog } from './shared-catalog.js';


const workerModule = (name: string) => join(packageRoot(), 'dist', 'workers', name);
const REWRITE_WORKER = workerModule('core-worker.js');

/**
 * piscina loads a task's module with require() first and falls back to import(). Node 20.19 and
 * later let require() load our ES modules, and that path crashed a worker now and then with a V8
 * fatal error ("v8::Module::IsGraphAsync must be used on an instantiated module"), killing the
 * run: seen about once in ten test runs binding a tarball. Without require(esm) in the workers,
 * piscina imports them, as on earlier Node versions.
 */
const WORKER_EXEC_ARGV = [...process.execArgv,
  ...(process.allowedNodeEnvironmentFlags.has('--experimental-require-module') ? ['--no-experimental-require-module'] : [])];

export class WorkerPool {
  private readonly piscina: Piscina;
  /** The compiled core the workers instantiate; the main thread makes its own instance from it too. */
  readonly module: WebAssembly.Module;

  /** Tasks the workers hold at once (one each): more wait in the pool's queue. */
  readonly capacity: number;

  /** Each catalog of the run, shared with the workers once (the tasks name it by reference). */
  private readonly shared = new WeakMap<readonly Layer[], SharedCatalog>();
  /**
   * The same catalogs by content: with many images per run (bind --images), each image loads its
   * catalog again, and one that links to the same layers is shared with the workers only once.
   */
  private readonly sharedByContent = new Map<string, SharedCatalog>();

  constructor(threads = Math.max(1, availableParallelism())) {
    this.module = compileCore();
    const workerData: PoolWorkerData = { module: this.module };
    this.piscina = new Piscina({
      // Workers start with the scan task loaded; the rewrite tasks load with the first of them.
      filename: workerModule('scan-worker.js'),
      workerData,
      minThreads: threads,
      maxThreads: threads,
      execArgv: WORKER_EXEC_ARGV,
      idleTimeout: 60_000,
    });
    this.capacity = threads;
    // A run that fails closes the pool with tasks still in flight; their answers arrive to a pool
    // that no longer knows them, which piscina reports as an 'error' event. Only then is it expected.
    this.piscina.on('error', (error) => {
      if (!this.closing) process.nextTick(() => { throw error; });
    });
  }

  private closing = false;

  private share(catalog: readonly Layer[]): SharedCatalog {
    let shared = this.shared.get(catalog);
    if (!shared) {
      const content = catalogContent(catalog);
      shared = this.sharedByContent.get(content);
      if (!shared) this.sharedByContent.set(content, (shared = shareCatalog(catalog)));
      this.shared.set(catalog, shared);
    }
    return shared;
  }

  /** Kept open by withRunPool for the images of a run: close() leaves it to that. */
  private held = false;

  /** Runs one task per batch on the named worker export; `onDone` hears the running file count. */
  private async runAll<T, R>(name: string, tasks: T[], count: (t: T) => number, onDone?: (done: number) => void): Promise<R[]> {
    let done = 0;
    const results = await Promise.all(
      tasks.map(async (task) => {
        const out = (await this.piscina.run(task, { name, filename: REWRITE_WORKER })) as R[];
        done += count(task);
        onDone?.(done);
        return out;
      }),
    );
    return results.flat();
  }

  /** Scans one batch of files of a directory image: a scan hands out batches as its walk finds files. */
  scanBatch(batch: ScanBatch): Promise<ScanBatchResult> {
    return this.piscina.run(batch, { name: 'scan' }) as Promise<ScanBatchResult>;
  }

  /** Binds files of a directory image; each entry's `layer` indexes `base.catalog`. */
  bind(root: string, base: { to: Destination; catalog: readonly Layer[]; targetKernel: number }, entries: BindBatch['entries'], onDone?: (done: number) => void): Promise<FileOutcome[]> {
    const catalog = this.share(base.catalog);
    const tasks: BindBatch[] = batches(entries).map((e) => ({ root, to: base.to, catalog, targetKernel: base.targetKernel, entries: e }));
    return this.runAll('bind', tasks, (t) => t.entries.length, onDone);
  }

  /** Scans files of a directory image and binds the clients the decision binds, in one pass. */
  passFiles(task: FilePassTask): Promise<FilePassResult> {
    const batch: FilePassBatch = { ...task, catalog: this.share(task.catalog) };
    return this.piscina.run(batch, { name: 'passFiles', filename: REWRITE_WORKER }) as Promise<FilePassResult>;
  }

  /** Renames staged files into place, the workers sharing them out. */
  async renameStaged(root: string, stage: string, paths: readonly string[]): Promise<void> {
    const share = Math.ceil(paths.length / this.capacity);
    if (share === 0) return;
    const tasks: RenameBatch[] = batches(paths, share).map((p) => ({ root, stage, paths: p }));
    await Promise.all(tasks.map((task) => this.piscina.run(task, { name: 'renameStaged', filename: REWRITE_WORKER })));
  }

  unbind(root: string, to: UnbindBatch['to'], paths: string[], onDone?: (done: number) => void): Promise<FileOutcome[]> {
    const tasks: UnbindBatch[] = batches(paths).map((p) => ({ root, to, paths: p }));
    return this.runAll('unbind', tasks, (t) => t.paths.length, onDone);
  }

  verify(root: string, base: { catalog: readonly Layer[]; kernel: number | null }, paths: string[], onDone?: (done: number) => void): Promise<FileOutcome[]> {
    const catalog = this.share(base.catalog);
    const tasks: VerifyBatch[] = batches(paths).map((p) => ({ root, catalog, kernel: base.kernel, paths: p }));
    return this.runAll('verify', tasks, (t) => t.paths.length, onDone);
  }

  /**
   * A batch of in-memory files (tar entries): one result each, in order. Their bytes, views of
   * `batch.buffer` (which must be the caller's alone, and so not a slab of Node's pool of small
   * Buffers), are moved to the worker, not copied: the buffer is detached by this call and comes
   * back in the reply. New bytes come back moved too, in buffers of their own.
   */
  entries(batch: Omit<EntryBatch, 'catalog'> & { catalog: readonly Layer[] }): Promise<EntryBatchReply> {
    for (const e of batch.entries) {
      if (e.bytes.buffer !== batch.buffer) throw new Error(`${e.path}: its bytes are not in the batch's buffer`);
    }
    const task: EntryBatch = { ...batch, catalog: this.share(batch.catalog) };
    return this.piscina.run(task, { name: 'entries', filename: REWRITE_WORKER, transferList: [batch.buffer] }) as Promise<EntryBatchReply>;
  }

  async close(): Promise<void> {
    if (this.held) return;
    this.closing = true;
    await this.piscina.destroy();
  }

  /** The run-wide pools, held open while `work` runs (see withRunPool). */
  static async holding<T>(work: (retire: () => Promise<void>) => Promise<T>): Promise<T> {
    const pools = new Map<number | undefined, WorkerPool>();
    const retire = async () => {
      const open = [...pools.values()];
      pools.clear();
      await Promise.all(open.map((p) => {
        p.held = false;
        return p.close();
      }));
    };
    runWide = (threads) => {
      const held = pools.get(threads) ?? Object.assign(new WorkerPool(threads), { held: true });
      pools.set(threads, held);
      return held;
    };
    try {
      return await work(retire);
    } finally {
      runWide = null;
      await retire();
    }
  }
}

/** A catalog's identity by content: each layer's fields and the sha256 of its linked images. */
function catalogContent(catalog: readonly Layer[]): string {
  const h = createHash('sha256');
  for (const { images, linkErrors, ...fields } of catalog) {
    h.update(JSON.stringify(fields)).update(JSON.stringify([...linkErrors]));
    for (const [abi, linked] of images) h.update(`${abi} ${linked.slotCount} ${linked.implemented.join()}`).update(linked.image);
  }
  return h.digest('hex');
}

/** While bind --images runs: the pools its images share, one per worker count asked for (made when first wanted). */
let runWide: ((threads: number | undefined) => WorkerPool) | null = null;

/**
 * A pool for one run: while bind --images runs, the run-wide one of that many workers (a directory
 * image asks for fewer than a tarball: its cp processes take two cores), else a pool of its own.
 * Either way the caller closes it when done (a no-op for a run-wide one).
 */
export function openPool(threads?: number): WorkerPool {
  return runWide ? runWide(threads) : new WorkerPool(threads);
}

/**
 * Runs `work` (many images, one after the other) with pools that every image's run shares, so
 * that workers start once and each distinct catalog is shared with them once. After an image
 * failed, `retire` closes them (their tasks may still be in flight) and the next image gets fresh
 * ones.
 */
export const withRunPool = WorkerPool.holding;

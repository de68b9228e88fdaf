// The worker pool: piscina, one long-lived core instance per worker, batched tasks.
import { Piscina } from 'piscina';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { compileCore } from '../core/core.js';
import { packageRoot } from '../util/package-root.js';
import type { FileOutcome } from '../transform/file-operations.js';
import type { EntryTask, EntryResult } from '../transform/entry-operations.js';
import type { BindBatch, PoolWorkerData, ScanBatch, ScanBatchResult, UnbindBatch, VerifyBatch } from './tasks.js';
import { batches } from './batches.js';


const workerModule = (name: string) => join(packageRoot(), 'dist', 'workers', name);
const REWRITE_WORKER = workerModule('core-worker.js');

export class WorkerPool {
  private readonly piscina: Piscina;
  /** The compiled core the workers instantiate; the main thread makes its own instance from it too. */
  readonly module: WebAssembly.Module;

  /** Tasks the workers hold at once (one each): more wait in the pool's queue. */
  readonly capacity: number;

  constructor(threads = Math.max(1, availableParallelism())) {
    this.module = compileCore();
    const workerData: PoolWorkerData = { module: this.module };
    this.piscina = new Piscina({
      // Workers start with the scan task loaded; the rewrite tasks load with the first of them.
      filename: workerModule('scan-worker.js'),
      workerData,
      minThreads: threads,
      maxThreads: threads,
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

  bind(root: string, base: Omit<BindBatch, 'root' | 'entries'>, entries: BindBatch['entries'], onDone?: (done: number) => void): Promise<FileOutcome[]> {
    const tasks: BindBatch[] = batches(entries).map((e) => ({ root, ...base, entries: e }));
    return this.runAll('bind', tasks, (t) => t.entries.length, onDone);
  }

  unbind(root: string, to: UnbindBatch['to'], paths: string[], onDone?: (done: number) => void): Promise<FileOutcome[]> {
    const tasks: UnbindBatch[] = batches(paths).map((p) => ({ root, to, paths: p }));
    return this.runAll('unbind', tasks, (t) => t.paths.length, onDone);
  }

  verify(root: string, base: Omit<VerifyBatch, 'root' | 'paths'>, paths: string[], onDone?: (done: number) => void): Promise<FileOutcome[]> {
    const tasks: VerifyBatch[] = batches(paths).map((p) => ({ root, ...base, paths: p }));
    return this.runAll('verify', tasks, (t) => t.paths.length, onDone);
  }

  /** One in-memory file (a tar entry); results come back in whatever order workers finish. */
  entry(task: EntryTask): Promise<EntryResult> {
    return this.piscina.run(task, { name: 'entry', filename: REWRITE_WORKER }) as Promise<EntryResult>;
  }

  async close(): Promise<void> {
    this.closing = true;
    await this.piscina.destroy();
  }
}

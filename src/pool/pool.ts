// The worker pool: piscina, one long-lived core instance per worker, batched tasks.
import { Piscina } from 'piscina';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { compileCore } from '../core/core.js';
import { packageRoot } from '../util/package-root.js';
import type { ScanOutcome } from '../core/facts.js';
import type { PoolWorkerData, ScanBatch } from './tasks.js';

/** Files per task: large enough that the message round trip is noise, small enough to balance. */
const BATCH_FILES = 64;
/** Bytes per task, so a batch of large libraries does not keep one worker busy alone. */
const BATCH_BYTES = 32 * 1024 * 1024;

export interface ScanFile {
  path: string;
  /** Size if known in advance (for batching); 0 when unknown. */
  size: number;
}

export class WorkerPool {
  private readonly piscina: Piscina;

  constructor(threads = Math.max(1, availableParallelism())) {
    const workerData: PoolWorkerData = { module: compileCore() };
    this.piscina = new Piscina({
      filename: join(packageRoot(), 'dist', 'workers', 'scan-worker.js'),
      workerData,
      minThreads: threads,
      maxThreads: threads,
      idleTimeout: 60_000,
    });
  }

  /** Scans the files of a directory image; calls `onDone` as each batch completes. */
  async scanFiles(root: string, files: ScanFile[], onDone?: (done: number) => void): Promise<ScanOutcome[]> {
    const batches: ScanBatch[] = [];
    let current: string[] = [];
    let bytes = 0;
    for (const file of files) {
      current.push(file.path);
      bytes += file.size;
      if (current.length >= BATCH_FILES || bytes >= BATCH_BYTES) {
        batches.push({ root, paths: current });
        current = [];
        bytes = 0;
      }
    }
    if (current.length > 0) batches.push({ root, paths: current });
    let done = 0;
    const results = await Promise.all(
      batches.map(async (batch) => {
        const outcomes = (await this.piscina.run(batch)) as ScanOutcome[];
        done += outcomes.length;
        onDone?.(done);
        return outcomes;
      }),
    );
    return results.flat();
  }

  async close(): Promise<void> {
    await this.piscina.destroy();
  }
}

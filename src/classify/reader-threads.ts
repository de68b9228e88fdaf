// The threads that read files beside the main thread in a directory scan of its own (no pool
// given). The main thread hears a thread's answers only between the directories of its walk and
// between its own batches, a millisecond or more apart: each thread holds DEPTH batches so that it
// always has the next. With two, a reader of four rootfs copies stood idle for 260-450 ms of a
// 500-800 ms read (150-180 waits longer than 0.2 ms); with eight, 35-220 ms.
import { Worker } from 'node:worker_threads';
import { join } from 'node:path';
import { packageRoot } from '../util/package-root.js';
import type { ScanBatch, ScanBatchResult } from '../pool/tasks.js';
import type { BatchScanners } from './shared-scan.js';

const DEPTH = 8;

interface Reader {
  worker: Worker;
  waiting: { resolve: (r: ScanBatchResult) => void; reject: (e: Error) => void }[];
}

export class ReaderThreads implements BatchScanners {
  private readonly readers: Reader[] = [];
  readonly capacity: number;

  constructor(module: WebAssembly.Module, threads: number) {
    const entry = join(packageRoot(), 'dist', 'src', 'classify', 'reader-thread.js');
    for (let i = 0; i < threads; i++) {
      const reader: Reader = { worker: new Worker(entry, { workerData: { module } }), waiting: [] };
      reader.worker.on('message', (result: ScanBatchResult) => reader.waiting.shift()!.resolve(result));
      const fail = (error: Error) => {
        for (const w of reader.waiting.splice(0)) w.reject(error);
      };
      reader.worker.on('error', fail);
      reader.worker.on('exit', (code) => fail(new Error(`a reader thread exited (code ${code}) with batches unanswered`)));
      this.readers.push(reader);
    }
    this.capacity = threads * DEPTH;
  }

  /** Scans a batch on the thread that holds the fewest. */
  scanBatch(batch: ScanBatch): Promise<ScanBatchResult> {
    let reader = this.readers[0]!;
    for (const r of this.readers) if (r.waiting.length < reader.waiting.length) reader = r;
    return new Promise((resolve, reject) => {
      reader.waiting.push({ resolve, reject });
      reader.worker.postMessage(batch);
    });
  }

  async close(): Promise<void> {
    await Promise.all(this.readers.map((r) => r.worker.terminate()));
  }
}

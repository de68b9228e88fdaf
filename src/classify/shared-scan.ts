// A directory scan shared between the main thread and the pool's workers, if it has any. The walk
// hands in batches of files as it finds them; each goes to a worker while one is free, and the
// main thread scans batches itself when more wait than the workers take (they are busy, or still
// starting) and once its walk is done: it takes them from the end of the queue while the workers
// take them from the front, so that all finish together. Without a pool it scans them all.
//
// Why the main thread scans at all: a worker is ready 120-200 ms after the pool is made (on the
// 2-core machine of the benchmarks), later than the walk of a whole rootfs ends (100 ms).
import type { Core } from '../core/core.js';
import type { ScanOutcome } from '../core/facts.js';
import type { WorkerPool } from '../pool/pool.js';
import type { ScanBatchResult } from '../pool/tasks.js';

export class SharedScan {
  /** ELF files and failures, in the order their batches finished. */
  readonly outcomes: ScanOutcome[] = [];
  /** Files that are not ELF: only counted. */
  other = 0;
  private readonly waiting: string[][] = [];
  private readonly running: Promise<void>[] = [];
  private inFlight = 0;
  private found = 0;
  private done = 0;
  /** Time the main thread spent scanning. */
  mainThreadMs = 0;

  constructor(
    /** Without a pool, the main thread scans every batch. */
    private readonly pool: WorkerPool | null,
    private readonly core: Core,
    private readonly root: string,
    private readonly onProgress: (done: number, found: number) => void = () => {},
  ) {}

  /** A batch of files the walk found. */
  add(paths: string[]): void {
    this.found += paths.length;
    this.waiting.push(paths);
    this.dispatch();
  }

  /** Scans a waiting batch in this thread if more are waiting than the workers hold. */
  helpIfBehind(): void {
    if (this.waiting.length > (this.pool?.capacity ?? 0)) this.scanHere(this.waiting.pop()!);
  }

  /** Scans what is left, with the workers, and waits for them. */
  async finish(): Promise<void> {
    while (this.waiting.length > 0) {
      this.scanHere(this.waiting.pop()!);
      // Lets completions in, so that the workers get the next batches from the front.
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    await Promise.all(this.running);
  }

  private dispatch(): void {
    if (!this.pool) return;
    const pool = this.pool;
    while (this.inFlight < pool.capacity && this.waiting.length > 0) {
      const paths = this.waiting.shift()!;
      this.inFlight++;
      const scanned = pool.scanBatch({ root: this.root, paths }).then((result) => {
        this.inFlight--;
        this.record(result, paths.length);
        this.dispatch();
      });
      // A failed batch (a bug) is reported by finish(), not as an unhandled rejection meanwhile.
      scanned.catch(() => {});
      this.running.push(scanned);
    }
  }

  private scanHere(paths: string[]): void {
    const start = performance.now();
    const result = this.core.scanFiles(this.root, paths);
    this.mainThreadMs += performance.now() - start;
    this.record(result, paths.length);
  }

  private record(result: ScanBatchResult, files: number): void {
    for (const o of result.outcomes) this.outcomes.push(o);
    this.other += result.other;
    this.done += files;
    this.onProgress(this.done, this.found);
  }
}

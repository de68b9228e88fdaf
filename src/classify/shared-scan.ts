// A directory scan shared between the main thread and other threads, if it has any: the pool's
// workers (bind, verify), or reader threads of its own that a large scan starts on the way. The
// walk hands in batches of files as it finds them; each goes to a thread while one has room, and
// the main thread scans batches itself when more wait than the threads hold (they are busy, or
// still starting) and once its walk is done: it takes them from the end of the queue while the
// threads take them from the front, so that all finish together. Without threads it scans them all.
//
// Why the main thread scans at all: a worker is ready 45-200 ms after it is made (on the 2-core
// machine of the benchmarks), later than the walk of a whole rootfs ends (100 ms).
import type { Core } from '../core/core.js';
import type { ScanOutcome } from '../core/facts.js';
import type { ScanBatch, ScanBatchResult } from '../pool/tasks.js';

/** Threads that scan batches beside the main thread: the run's pool, or a scan's own readers. */
export interface BatchScanners {
  /** Batches they hold at once. */
  readonly capacity: number;
  scanBatch(batch: ScanBatch): Promise<ScanBatchResult>;
}

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
  /** Time the main thread, its own share done, waited for the other threads' last batches. */
  waitMs = 0;

  constructor(
    /** Without threads (yet), the main thread scans every batch. */
    private threads: BatchScanners | null,
    private readonly core: Core,
    private readonly root: string,
    private readonly onProgress: (done: number, found: number) => void = () => {},
  ) {}

  /** Files found so far. */
  get filesFound(): number {
    return this.found;
  }

  /** Whether other threads take part: the walk then lets their answers in now and then. */
  get shared(): boolean {
    return this.threads !== null;
  }

  /** Threads that join the scan on the way; they take batches from now on. */
  join(threads: BatchScanners): void {
    this.threads = threads;
    this.dispatch();
  }

  /** A batch of files the walk found. */
  add(paths: string[]): void {
    this.found += paths.length;
    this.waiting.push(paths);
    this.dispatch();
  }

  /** Scans a waiting batch in this thread if more are waiting than the other threads hold. */
  helpIfBehind(): void {
    if (this.waiting.length > (this.threads?.capacity ?? 0)) this.scanHere(this.waiting.pop()!);
  }

  /** Scans what is left, with the other threads, and waits for them. */
  async finish(): Promise<void> {
    while (this.waiting.length > 0) {
      this.scanHere(this.waiting.pop()!);
      // Lets completions in, so that the other threads get the next batches from the front.
      if (this.threads) await new Promise<void>((resolve) => setImmediate(resolve));
    }
    const start = performance.now();
    await Promise.all(this.running);
    this.waitMs = performance.now() - start;
  }

  private dispatch(): void {
    const threads = this.threads;
    if (!threads) return;
    while (this.inFlight < threads.capacity && this.waiting.length > 0) {
      const paths = this.waiting.shift()!;
      this.inFlight++;
      const scanned = threads.scanBatch({ root: this.root, paths }).then((result) => {
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

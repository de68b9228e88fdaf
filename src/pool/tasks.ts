// What the main thread sends to pool workers, and what they are started with.

export interface PoolWorkerData {
  /** The compiled core, shared by every worker (each makes its own instance). */
  module: WebAssembly.Module;
}

/** A batch of files of one directory image, scanned by one worker task. */
export interface ScanBatch {
  root: string;
  paths: string[];
}

// What the main thread sends to pool workers, and what they are started with.
import type { Layer } from '../catalog/catalog.js';
import type { ScanOutcome } from '../core/facts.js';
import type { Destination } from '../transform/file-operations.js';

export interface PoolWorkerData {
  /** The compiled core, shared by every worker (each makes its own instance). */
  module: WebAssembly.Module;
}

/** Files of one directory image, scanned by one worker task. */
export interface ScanBatch {
  root: string;
  paths: string[];
}

/** What a scan task sends back: ELF files and failures; other files only as a count. */
export interface ScanBatchResult {
  outcomes: ScanOutcome[];
  other: number;
}

/**
 * Clients to bind, read from `root` and written to `to`; `layer` indexes `catalog` (layers are
 * linked once, in the main thread).
 */
export interface BindBatch {
  root: string;
  to: Destination;
  catalog: Layer[];
  targetKernel: number;
  entries: { path: string; layer: number }[];
}

export interface UnbindBatch {
  root: string;
  to: Destination;
  paths: string[];
}

export interface VerifyBatch {
  root: string;
  paths: string[];
  catalog: Layer[];
  /** Check the selection for this kernel; null: for the kernel each bind record names. */
  kernel: number | null;
}

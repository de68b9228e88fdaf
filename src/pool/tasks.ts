// What the main thread sends to pool workers, and what they are started with.
import type { ScanOutcome } from '../core/facts.js';
import type { Destination } from '../transform/file-operations.js';
import type { EntryResult, EntryTask } from '../transform/entry-operations.js';
import type { FilePassTask } from '../transform/file-pass.js';
import type { SharedCatalog } from './shared-catalog.js';

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
 * linked once, in the main thread, and shared with the workers once: shared-catalog.ts).
 */
export interface BindBatch {
  root: string;
  to: Destination;
  catalog: SharedCatalog;
  targetKernel: number;
  entries: { path: string; layer: number }[];
}

/** Files of a directory image to scan and, for the clients the decision binds, bind (file-pass.ts). */
export type FilePassBatch = Omit<FilePassTask, 'catalog'> & { catalog: SharedCatalog };

/** Staged files (with their attributes) to rename over their old names. */
export interface RenameBatch {
  root: string;
  stage: string;
  paths: string[];
}

export interface UnbindBatch {
  root: string;
  to: Destination;
  paths: string[];
}

export interface VerifyBatch {
  root: string;
  paths: string[];
  catalog: SharedCatalog;
  /** Check the selection for this kernel; null: for the kernel each bind record names. */
  kernel: number | null;
}

/**
 * Entries of a stream image (a tarball), their bytes views of one buffer that moves to the worker
 * with the task (transferred: the sender's views are detached) and back with the reply.
 */
export interface EntryBatch {
  op: EntryTask['op'];
  catalog: SharedCatalog;
  /** The target kernel; for verify, 0 means: the kernel each bind record names. */
  targetKernel: number;
  buffer: ArrayBuffer;
  entries: { path: string; bytes: Uint8Array }[];
}

/** One result per entry, in order (new bytes, when there are any, in buffers of their own), and the batch's buffer, moved back. */
export interface EntryBatchReply {
  results: EntryResult[];
  buffer: ArrayBuffer;
}

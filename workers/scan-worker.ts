// The scan task of a pool worker: a batch of files of a directory image, read by the worker
// itself. Workers start with this module only; the rewrite operations (core-worker.ts) load with
// the first rewrite task, so the workers of a scan are ready sooner (their imports cost ~50 ms of a
// worker's start).
import { core } from './worker-core.js';
import type { ScanBatch, ScanBatchResult } from '../src/pool/tasks.js';

export function scan(batch: ScanBatch): ScanBatchResult {
  return core.scanFiles(batch.root, batch.paths);
}

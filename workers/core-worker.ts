// The rewrite tasks of a pool worker: binding, unbinding or verifying a batch of files, each read
// and written by the worker itself, or one in-memory tar entry. They use the worker's one instance
// of the core (worker-core.ts); the scan task is in scan-worker.ts.
import { join } from 'node:path';
import { core } from './worker-core.js';
import type { BindBatch, UnbindBatch, VerifyBatch } from '../src/pool/tasks.js';
import { bindFile, unbindFile, verifyFile, type FileOutcome } from '../src/transform/file-operations.js';
import { processEntry, type EntryTask, type EntryResult } from '../src/transform/entry-operations.js';

export function bind(batch: BindBatch): FileOutcome[] {
  return batch.entries.map((e) =>
    bindFile(core, { file: join(batch.root, e.path), path: e.path, layer: batch.catalog[e.layer]!, targetKernel: batch.targetKernel }, batch.to));
}

export function unbind(batch: UnbindBatch): FileOutcome[] {
  return batch.paths.map((path) => unbindFile(core, join(batch.root, path), path, batch.to));
}

export function verify(batch: VerifyBatch): FileOutcome[] {
  return batch.paths.map((path) => verifyFile(core, join(batch.root, path), path, batch.catalog, batch.kernel));
}

/** One in-memory entry of a tar image (clients are small: the new bytes are simply cloned back). */
export function entry(task: EntryTask): EntryResult {
  return processEntry(core, task);
}

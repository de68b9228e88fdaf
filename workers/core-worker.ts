// The rewrite tasks of a pool worker: binding, unbinding or verifying a batch of files, each read
// and written by the worker itself, or a batch of in-memory tar entries. They use the worker's one
// instance of the core (worker-core.ts) and the catalog it keeps resident (resident-catalog.ts);
// the scan task is in scan-worker.ts.
import { join } from 'node:path';
import { move, transferableSymbol, valueSymbol } from 'piscina';
import { core } from './worker-core.js';
import { residentCatalog } from './resident-catalog.js';
import type { BindBatch, EntryBatch, FilePassBatch, RenameBatch, EntryBatchReply, UnbindBatch, VerifyBatch } from '../src/pool/tasks.js';
import { bindFile, unbindFile, verifyFile, type FileOutcome } from '../src/transform/file-operations.js';
import { renameStagedFiles } from '../src/sinks/staging.js';
import { processEntry, type EntryResult } from '../src/transform/entry-operations.js';
import { passFiles as passFilesWith, type FilePassResult } from '../src/transform/file-pass.js';

export function bind(batch: BindBatch): FileOutcome[] {
  const catalog = residentCatalog(batch.catalog);
  return batch.entries.map((e) =>
    bindFile(core, { file: join(batch.root, e.path), path: e.path, layer: catalog[e.layer]!, targetKernel: batch.targetKernel }, batch.to));
}

export function passFiles(batch: FilePassBatch): FilePassResult {
  return passFilesWith(core, { ...batch, catalog: residentCatalog(batch.catalog) });
}

export function renameStaged(batch: RenameBatch): void {
  renameStagedFiles(batch.root, batch.stage, batch.paths);
}

export function unbind(batch: UnbindBatch): FileOutcome[] {
  return batch.paths.map((path) => unbindFile(core, join(batch.root, path), path, batch.to));
}

export function verify(batch: VerifyBatch): FileOutcome[] {
  const catalog = residentCatalog(batch.catalog);
  return batch.paths.map((path) => verifyFile(core, join(batch.root, path), path, catalog, batch.kernel));
}

/**
 * In-memory entries of a tar image, moved here with the task in one buffer. The buffer goes back
 * with the reply, to be freed there: dropped here, it would wait for this thread's garbage
 * collector, which runs seldom (a worker makes little garbage), and peak RSS binding a tarball of
 * a rootfs and 4,000 clients was ~60 MiB higher so. New bytes go back moved too, each in a buffer
 * of its own.
 */
export function entries(batch: EntryBatch): unknown {
  const catalog = residentCatalog(batch.catalog);
  const transfer: ArrayBuffer[] = [batch.buffer];
  const results = batch.entries.map(({ path, bytes }): EntryResult => {
    const r = processEntry(core, { op: batch.op, path, bytes, catalog, targetKernel: batch.targetKernel });
    if (r.bytes) transfer.push(r.bytes.buffer as ArrayBuffer);
    return r;
  });
  const reply: EntryBatchReply = { results, buffer: batch.buffer };
  return move({ [transferableSymbol]: transfer, [valueSymbol]: reply });
}

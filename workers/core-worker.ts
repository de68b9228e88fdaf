// A piscina worker. It keeps one instance of the WebAssembly core for its whole life (compiled
// once by the main thread, handed over in workerData) and does its own file I/O, a batch of files
// per task: scanning, binding, unbinding or verifying them.
import { workerData } from 'piscina';
import { join } from 'node:path';
import { Core } from '../src/core/core.js';
import type { ScanOutcome } from '../src/core/facts.js';
import type { PoolWorkerData, ScanBatch, BindBatch, UnbindBatch, VerifyBatch } from '../src/pool/tasks.js';
import { bindFile, unbindFile, verifyFile, type FileOutcome } from '../src/bind/file-operations.js';
import { processEntry, type EntryTask, type EntryResult } from '../src/bind/entry-operations.js';

const { module } = workerData as PoolWorkerData;
const core = new Core(module);

export function scan(batch: ScanBatch): ScanOutcome[] {
  return batch.paths.map((path) => scanOne(batch.root, path));
}

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

function scanOne(root: string, path: string): ScanOutcome {
  let size = 0;
  try {
    const result = core.scanFile(join(root, path));
    size = result.size;
    const record = result.record;
    if (record.status === 'elf') return { path, kind: 'elf', size, facts: record.facts };
    if (record.status === 'not-elf') return { path, kind: 'other', size };
    return { path, kind: 'error', size, error: record.error, errorOffset: record.errorOffset };
  } catch (error) {
    // I/O failures (permissions, a file removed during the walk) are per-file outcomes too.
    return { path, kind: 'error', size, error: (error as NodeJS.ErrnoException).code
      ? `cannot read: ${(error as Error).message}` : `internal error: ${(error as Error).message}` };
  }
}

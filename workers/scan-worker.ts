// A piscina worker that scans batches of files. It keeps one instance of the WebAssembly core for
// its whole life (compiled once by the main thread, handed over in workerData) and reads the files
// itself, straight into the core's memory.
import { workerData } from 'piscina';
import { join } from 'node:path';
import { Core } from '../src/core/core.js';
import type { ScanOutcome } from '../src/core/facts.js';
import type { ScanBatch, PoolWorkerData } from '../src/pool/tasks.js';

const { module } = workerData as PoolWorkerData;
const core = new Core(module);

export default function scanBatch(batch: ScanBatch): ScanOutcome[] {
  return batch.paths.map((path) => scanOne(batch.root, path));
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

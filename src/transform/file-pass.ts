// One pass over files of a directory image, in a worker: each file is opened once, scanned, and
// a client the pipeline's one decision binds is bound from the bytes the scan read and written
// to the destination. The on-disk sibling of entry-operations.ts (tar entries); a bind that first
// planned the whole image read every client twice and the image's file names three times.
import { closeSync, fstatSync, openSync } from 'node:fs';
import { join } from 'node:path';
import { holdsWhole, type Core } from '../core/core.js';
import type { ScanOutcome } from '../core/facts.js';
import type { Layer } from '../catalog/catalog.js';
import { decide, type Decision } from '../pipeline/decide.js';
import { fsPath } from '../names/path-bytes.js';
import { bindLoadedFile, cannotRewrite, type Destination, type FileOutcome } from './file-operations.js';

export interface FilePassTask {
  root: string;
  paths: readonly string[];
  to: Destination;
  catalog: readonly Layer[];
  targetKernel: number;
}

export interface FilePassResult {
  /** ELF files and failures, as a scan reports them; other files only counted. */
  scanned: ScanOutcome[];
  other: number;
  /** The decision for each client (bind or refuse). */
  decisions: [string, Decision][];
  /** What binding did to each client decided `bind` here. */
  outcomes: FileOutcome[];
  /**
   * Clients decided `bind` that have other names (hardlinks): left alone here, for the caller to
   * rewrite once per inode with all its names.
   */
  linked: { path: string; layer: number }[];
}

export function passFiles(core: Core, task: FilePassTask): FilePassResult {
  const result: FilePassResult = { scanned: [], other: 0, decisions: [], outcomes: [], linked: [] };
  // join(root, path) for the walk's normalized paths, without normalizing each again.
  const base = join(task.root, '.');
  const prefix = base === '.' ? '' : base.endsWith('/') ? base : `${base}/`;
  for (const path of task.paths) {
    let fd = -1;
    try {
      fd = openSync(fsPath(prefix + path), 'r');
      const { size, record } = core.scanOpenFile(fd);
      if (record.status === 'not-elf') {
        result.other++;
        continue;
      }
      if (record.status === 'error') {
        result.scanned.push({ path, kind: 'error', size: size!, error: record.error, errorOffset: record.errorOffset });
        continue;
      }
      result.scanned.push({ path, kind: 'elf', size: size!, facts: record.facts });
      const decision = decide(record.facts, task.catalog, task.targetKernel);
      if (decision.action === 'pass' || decision.action === 'keep') continue;
      result.decisions.push([path, decision]);
      if (decision.action !== 'bind') continue;
      if (fstatSync(fd).nlink > 1) {
        result.linked.push({ path, layer: decision.layer });
        continue;
      }
      result.outcomes.push(bindHere(core, fd, size!, path, prefix + path, task, decision.layer));
    } catch (error) {
      // I/O failures (permissions, a file removed during the walk) are per-file outcomes too.
      result.scanned.push({ path, kind: 'error', size: 0, error: (error as NodeJS.ErrnoException).code
        ? `cannot read: ${(error as Error).message}` : `internal error: ${(error as Error).message}` });
    } finally {
      if (fd >= 0) closeSync(fd);
    }
  }
  return result;
}

function bindHere(core: Core, fd: number, size: number, path: string, file: string, task: FilePassTask, layer: number): FileOutcome {
  try {
    const length = holdsWhole(size) ? size : core.loadOpenFile(fd, size);
    return bindLoadedFile(core, length, { file, path, layer: task.catalog[layer]!, targetKernel: task.targetKernel }, task.to);
  } catch (error) {
    return cannotRewrite(path, error);
  }
}

// One pass over files of a directory image, in a worker: each file is opened once, scanned, and
// a client the pipeline's one decision binds is bound from the bytes the scan read and written
// to the destination. The on-disk sibling of entry-operations.ts (tar entries); a bind that first
// planned the whole image read every client twice and the image's file names three times.
import { closeSync, fstatSync, openSync } from 'node:fs';
import { holdsWhole, pathPrefix, readFailure, type Core } from '../core/core.js';
import type { ScanOutcome } from '../core/facts.js';
import type { Layer } from '../catalog/layer.js';
import { decide, type Decision } from '../pipeline/decide.js';
import { fsPath } from '../names/path-bytes.js';
import { bindLoadedFile, cannotRewrite, type Destination, type FileOutcome } from './file-operations.js';

export interface FilePassTask {
  root: string;
  paths: readonly string[];
  to: Destination;
  catalog: readonly Layer[];
  targetKernel: number;
  /**
   * A copy (-o) needs every file this pass does not write, to copy it as it is, and must know
   * every hardlinked one; in place, files not written stay where they are.
   */
  listPlain: boolean;
  /**
   * Not root: the user this run is (its effective uid), whose files it writes are all owned by
   * it. Files it reads that another user owns are counted (`othersOwn`). Root: null.
   */
  runAs: number | null;
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
   * Files with other names (hardlinks), left alone here for the caller, which writes each inode
   * once for all its names: clients decided `bind` (with their layer) and, with `listPlain`, any
   * other file (layer null).
   */
  linked: { path: string; layer: number | null }[];
  /** With `listPlain`: the files this pass did not write, to be copied as they are. */
  plain: string[];
  /** With `runAs`: files written or copied here whose owner is another user, who loses them. */
  othersOwn: number;
}

export function passFiles(core: Core, task: FilePassTask): FilePassResult {
  const result: FilePassResult = { scanned: [], other: 0, decisions: [], outcomes: [], linked: [], plain: [], othersOwn: 0 };
  const prefix = pathPrefix(task.root);
  for (const path of task.paths) {
    let fd = -1;
    try {
      fd = openSync(fsPath(prefix + path), 'r');
      const { size, record } = core.scanOpenFile(fd);
      let layer: number | null = null;
      if (record.status === 'not-elf') {
        result.other++;
      } else if (record.status === 'error') {
        result.scanned.push({ path, kind: 'error', size: size!, error: record.error, errorOffset: record.errorOffset });
      } else {
        result.scanned.push({ path, kind: 'elf', size: size!, facts: record.facts });
        const decision = decide(record.facts, task.catalog, task.targetKernel);
        if (decision.action === 'bind' || decision.action === 'refuse') result.decisions.push([path, decision]);
        if (decision.action === 'bind') layer = decision.layer;
      }
      if (layer === null && !task.listPlain) continue;
      const stat = fstatSync(fd);
      if (task.runAs !== null && stat.uid !== task.runAs) result.othersOwn++;
      if (stat.nlink > 1) {
        result.linked.push({ path, layer });
      } else if (layer === null) {
        result.plain.push(path);
      } else {
        const outcome = bindHere(core, fd, size!, path, prefix + path, task, layer);
        result.outcomes.push(outcome);
        if (task.listPlain && outcome.status !== 'bound') result.plain.push(path);
      }
    } catch (error) {
      result.scanned.push(readFailure(path, error));
      // A copy then tries it too, and says what it could not copy.
      if (task.listPlain) result.plain.push(path);
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

// `syslayer sync`: the incremental bind of a directory image in place (DESIGN §11). It is the
// one-pass `bind --in-place` (pipeline/bind-in-one-pass.ts) with a scope: only the files whose
// stat tuple differs from what the image's state recorded are read, and of those, a client whose
// bytes hash to what the state recorded is skipped too (a `touch`, a copy of the same bytes).
// When the target kernel or the catalog is not the one the state recorded, every file is read:
// that is how the kernel hooks re-bind when the oldest installed kernel changes.
//
// After any bind of a directory image (bind --in-place, bind -o DIR, sync) `recordBinding`
// writes the state and the integrity manifests (image-state.ts); after an unbind that restored
// every client, `forgetBinding` removes them and the directories binding made for them.
import { join } from 'node:path';
import { Core, compileCore } from '../core/core.js';
import type { Layer } from '../catalog/layer.js';
import type { KernelOption } from '../catalog/kernel-version.js';
import { directoryTree } from '../sources/directory.js';
import { imageFiles } from '../classify/scan-directory.js';
import { fsPath } from '../names/path-bytes.js';
import type { Plan } from '../pipeline/plan.js';
import type { FileOutcome } from '../transform/file-operations.js';
import type { Timers } from '../util/timers.js';
import type { Progress } from '../util/progress.js';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { UsageError } from '../errors.js';
import {
  catalogDigest, newState, observeFile, readImageState, removeImageState, sha256Hex, statKey, writeImageState,
  type ClientResult, type FileState, type ImageState,
} from './image-state.js';
import { STATE_DIRECTORY, makeStateDirectory, removeEmptyDirectories, takeImageLock } from './image-lock.js';
import { captureDirectories, restoreDirectories } from '../sinks/directory-times.js';
import { formatKernelVersion } from '../catalog/kernel-version.js';
import { checkLayerDirs } from '../catalog/layer-dirs.js';

/** What sync looked at, and what it did: the report's `sync` object (docs/report-json.md). */
export interface SyncSummary {
  /** Regular files of the image. */
  files: number;
  /** Whether every file was read: no usable state, or another kernel or catalog. */
  full: boolean;
  /** Why every file was read (null for an incremental run). */
  why: string | null;
  /** Files read by the pass (their stat changed and, for a client, its bytes too). */
  examined: number;
  /** Files left alone: unchanged since the state was written. */
  skipped: number;
  /** Of those, files whose stat changed but whose bytes the state recorded (hash confirmed). */
  confirmed: number;
  bound: number;
  /** Clients examined that were bound that way already. */
  unchanged: number;
  refused: number;
}

export interface SyncRequest {
  root: string;
  kernel: KernelOption;
  layerDirs: readonly string[];
  threads?: number;
  /** Seconds to wait for the image lock. */
  wait?: number;
  timers: Timers;
  progress: Progress;
}

export interface SyncResult {
  plan: Plan;
  outcomes: FileOutcome[];
  warnings: string[];
  sync: SyncSummary;
}

/** Each client's result, by path, from a bind's outcomes (refusals included). */
function clientResults(outcomes: readonly FileOutcome[]): Map<string, ClientResult> {
  const m = new Map<string, ClientResult>();
  for (const o of outcomes) {
    if (o.status === 'error') m.set(o.path, { status: 'refused', reason: o.error });
    else if ((o.status === 'bound' || o.status === 'unchanged') && o.layer !== undefined && o.abi !== undefined) m.set(o.path, { status: 'bound', layer: o.layer, abi: o.abi, digests: o.digests });
  }
  return m;
}

export interface Recording {
  kernel: number;
  catalog: readonly Layer[] | string;
  outcomes: readonly FileOutcome[];
  /** The files the bind read; null: all of them. The others keep their previous entries. */
  examined: ReadonlySet<string> | null;
  previous: ImageState | null;
  /** Directories made for var/lib/syslayer by this run. */
  created: readonly string[];
  /**
   * A new copy's state records no stat tuples (`stat: ""`): its inodes and ctimes are this run's,
   * a state that held them would differ between two runs of the same bind, and the copy is often
   * moved (unpacked, rsynced) before it is synced anyway. Its first sync reads every file once.
   */
  statless?: boolean;
}

/**
 * Writes the state and the manifests of the bound directory image at `root`, from the image as
 * it is now: every regular file is stat'ed; a client the run looked at has the digests its
 * worker computed, or (a refusal) is read and hashed here.
 */
export function recordBinding(root: string, r: Recording): ImageState {
  const results = clientResults(r.outcomes);
  let core: Core | null = null;
  const files: Record<string, FileState> = {};
  for (const path of [...imageFiles(root, directoryTree(root), [])].flat()) {
    const seen = statKey(root, path);
    if (seen === null) continue;
    const stat = r.statless ? '' : seen;
    const before = r.previous?.files[path];
    if (r.examined !== null && !r.examined.has(path) && before !== undefined) {
      files[path] = { ...before, stat };
      continue;
    }
    try {
      files[path] = observeFile(() => (core ??= new Core(compileCore())), root, path, stat, results.get(path));
    } catch {
      // Unreadable now: no entry, so the next sync reads it again.
    }
  }
  const created = [...new Set([...(r.previous?.created ?? []), ...r.created])];
  const state = newState(r.kernel, typeof r.catalog === 'string' ? r.catalog : catalogDigest(r.catalog), created, files);
  writeImageState(root, state);
  return state;
}

/**
 * After a bind of `image` to the new directory `root`: its state, as if bound in place, but with
 * no stat tuples (Recording.statless): two runs of one bind write the same state. The directories
 * binding made are the input's (its state says which) and those made now.
 */
export function recordCopy(image: string, root: string, r: Omit<Recording, 'examined' | 'previous' | 'created'>): void {
  const created = makeStateDirectory(root);
  const input = readImageState(image);
  recordBinding(root, { ...r, examined: null, previous: null, created: [...('state' in input ? input.state.created : []), ...created], statless: true });
}

/**
 * After an unbind that restored every client: removes the state, the manifests and (once the
 * lock is gone) the directories binding made, so the image is the original again. Returns those
 * directories, for the caller to remove when it has released the lock.
 */
export function forgetBinding(image: string, root: string): string[] {
  const s = readImageState(image);
  removeImageState(root);
  return 'state' in s ? s.state.created : [];
}

export { removeEmptyDirectories, takeImageLock };

/**
 * The times of the root and of var, var/lib and var/lib/syslayer as they are (those that exist),
 * each kept apart: `restore` puts back those that still exist (an unbind may have removed some).
 */
export function noteDirectoryTimes(root: string): { restore(): void } {
  const noted: [string, Buffer][] = [];
  let path = '';
  for (const part of ['', ...STATE_DIRECTORY.split('/')]) {
    path = part === '' ? '' : path ? `${path}/${part}` : part;
    if (!statSync(join(root, path), { throwIfNoEntry: false })?.isDirectory()) break;
    noted.push([path, captureDirectories(root, [path])]);
  }
  return {
    restore() {
      for (const [dir, capsule] of noted.reverse()) if (existsSync(join(root, dir))) restoreDirectories(root, capsule);
    },
  };
}

/** The sync of the directory image `req.root`: locks it, binds what changed, records the state. */
export async function syncImage(req: SyncRequest, onWait?: (message: string) => void): Promise<SyncResult> {
  checkLayerDirs(req.layerDirs);
  if (!statSync(req.root, { throwIfNoEntry: false })?.isDirectory()) throw new UsageError(`--root ${req.root}: not a directory (sync binds a directory image in place)`);
  const times = noteDirectoryTimes(req.root);
  const lock = await takeImageLock(req.root, 'sync', req.wait, onWait);
  try {
    return await syncLocked(req, lock.created);
  } finally {
    lock.release();
    // A run that failed before writing the state leaves no directory it made.
    removeEmptyDirectories(req.root, lock.created);
    times.restore();
  }
}

async function syncLocked(req: SyncRequest, created: readonly string[]): Promise<SyncResult> {
  const { root } = req;
  const warnings: string[] = [];
  const read = readImageState(root);
  const previous = 'state' in read ? read.state : null;
  if ('problem' in read) warnings.push(`${read.problem}: every file is read, and the state is rebuilt from the image`);

  const summary: SyncSummary = { files: 0, full: true, why: null, examined: 0, skipped: 0, confirmed: 0, bound: 0, unchanged: 0, refused: 0 };
  let examined: Set<string> | null = null;
  let digest = '';
  const scope = (files: readonly string[], target: { kernel: number; catalog: readonly Layer[] }): readonly string[] => {
    const own = files;
    summary.files = own.length;
    digest = catalogDigest(target.catalog);
    const kernelText = formatKernelVersion(target.kernel);
    if (previous === null) summary.why = 'no usable state';
    else if (previous.kernel !== kernelText) summary.why = `the target kernel changed from ${previous.kernel} to ${kernelText}`;
    else if (previous.catalog !== digest) summary.why = 'the catalog changed (layer names, revisions or objects)';
    if (summary.why !== null) return own;
    summary.full = false;
    const chosen = own.filter((path) => changed(root, path, previous!.files[path], summary));
    examined = new Set(chosen);
    return chosen;
  };

  const input = { kind: 'directory' as const, path: root, name: root };
  const { bindInOnePass } = await import('../pipeline/bind-in-one-pass.js');
  const done = await bindInOnePass(input, {
    kernel: req.kernel, layerDirs: req.layerDirs, threads: req.threads, timers: req.timers, progress: req.progress, output: { kind: 'in-place' }, scope,
  });
  await req.timers.time('record state', async () => recordBinding(root, { kernel: done.plan.kernel, catalog: digest, outcomes: done.outcomes, examined, previous, created }));
  summary.examined = examined === null ? summary.files : (examined as Set<string>).size;
  summary.skipped = summary.files - summary.examined;
  for (const o of done.outcomes) {
    if (o.status === 'bound') summary.bound++;
    else if (o.status === 'unchanged') summary.unchanged++;
    else if (o.status === 'error') summary.refused++;
  }
  return { ...done, warnings: [...warnings, ...done.warnings], sync: summary };
}

/** Whether the file at `path` must be read again: its stat changed, and its bytes too (when the state knows them). */
function changed(root: string, path: string, before: FileState | undefined, summary: SyncSummary): boolean {
  if (before === undefined) return true;
  const now = statKey(root, path);
  if (now === before.stat) return false;
  if (before.outcome === 'other') return true;
  // The state knows the bytes: a file touched, or replaced by the same bytes, needs no bind.
  try {
    if (sha256Hex(readFileSync(fsPath(join(root, path)))) === before.sha256) {
      summary.confirmed++;
      return false;
    }
  } catch {
    // unreadable: the pass says why
  }
  return true;
}

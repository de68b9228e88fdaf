// `syslayer bind`, `unbind` and `verify` over a directory image or one file: plan (scan and
// select) in the main thread, then the clients go to the worker pool in batches.
import { linkSync, lstatSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { makePlan, type Plan } from './plan.js';
import { prepareOutput, type OutputTarget } from '../sinks/directory-copy.js';
import { openPool, type WorkerPool } from '../pool/pool.js';
import { batches } from '../pool/batches.js';
import { wasWritten, type Destination, type FileOutcome } from '../transform/file-operations.js';
import { copyAttributes, copyFileAttributes } from '../sinks/file-writers.js';
import { commitStagedFiles, makeStage } from '../sinks/staging.js';
import { captureDirectories, restoreDirectories } from '../sinks/directory-times.js';
import type { ImageInput } from '../sources/detect.js';
import type { ImageOutput } from '../sinks/choose-output.js';
import type { KernelOption } from '../catalog/kernel-version.js';

/** An image read where it is: a directory, or one file. */
export type LocalInput = ImageInput & { kind: 'directory' | 'file' };
import { dirName } from './image-tree.js';
import { fsPath } from '../names/path-bytes.js';
import type { Timers } from '../util/timers.js';
import type { Progress } from '../util/progress.js';

export interface RewriteOptions {
  kernel: KernelOption;
  layerDirs: readonly string[];
  output: ImageOutput & { kind: 'in-place' | 'directory' | 'file' };
  threads?: number;
  timers: Timers;
  progress: Progress;
}


/** A client to rewrite: its path in the image and, for bind, the index of its layer. */
export interface Job {
  path: string;
  layer: number;
}

/**
 * A whole image is committed even when some files failed (they pass through unchanged and the
 * report names them); a single file that failed produces no output at all.
 */
async function finish(target: OutputTarget, single: boolean, outcomes: FileOutcome[]): Promise<void> {
  if (single && outcomes.some((o) => o.status === 'error')) await target.abandon();
  else target.commit();
}

async function withPool<T>(threads: number | undefined, work: (pool: WorkerPool) => Promise<T>): Promise<T> {
  const pool = openPool(threads);
  try {
    return await work(pool);
  } finally {
    await pool.close();
  }
}

/** Hardlinked names share one inode, which is rewritten once: the first name of each inode leads. */
export function groupByInode(root: string, jobs: readonly { path: string }[]): Map<string, string[]> {
  const groups = new Map<string, string[]>();
  const leaderOf = new Map<string, string>();
  for (const job of jobs) {
    const st = lstatSync(fsPath(join(root, job.path)));
    const key = `${st.dev}:${st.ino}`;
    const leader = leaderOf.get(key);
    if (leader === undefined) {
      leaderOf.set(key, job.path);
      groups.set(job.path, [job.path]);
    } else {
      groups.get(leader)!.push(job.path);
    }
  }
  return groups;
}

/**
 * The other names of each rewritten inode. In a copy (-o) the inode was rewritten, so they already
 * see the new contents; in place a new inode replaced the first name, so the others are linked to
 * it (link beside, rename over).
 */
export function followHardlinks(root: string, relinkAliases: boolean, groups: Map<string, string[]>, outcomes: FileOutcome[]): FileOutcome[] {
  const all: FileOutcome[] = [];
  for (const outcome of outcomes) {
    all.push(outcome);
    for (const alias of (groups.get(outcome.path) ?? []).slice(1)) {
      if (relinkAliases && wasWritten(outcome)) relink(root, outcome.path, alias);
      all.push({ ...outcome, path: alias });
    }
  }
  return all;
}

/**
 * In place, the names of a hardlinked client are replaced one after the other, so a kill between
 * them would leave the names on different inodes for good. A journal of the groups, written
 * before and removed after, lets the next run join them again: the leader (replaced first) is
 * linked over the other names. Its name matches the temporary-file pattern, so scans skip it.
 */
const JOURNAL = /^\.hardlinks\.syslayer-\d+-journal$/;

function writeJournal(root: string, groups: Map<string, string[]>): string | null {
  const linked = [...groups.values()].filter((names) => names.length > 1);
  if (linked.length === 0) return null;
  const path = join(root, `.hardlinks.syslayer-${process.pid}-journal`);
  writeFileSync(path, JSON.stringify(linked), { flush: true });
  return path;
}

/** Joins the names of `root` that the journals among `leftovers` (read in `journals`, by default `root`) list. */
export function healFromJournals(root: string, leftovers: readonly string[], journals = root): void {
  for (const leftover of leftovers.filter((p) => JOURNAL.test(basename(p)))) {
    let groups: string[][];
    try {
      // JSON keeps names that are not UTF-8: their escaped bytes are written as \udcXX escapes.
      groups = JSON.parse(readFileSync(fsPath(join(journals, leftover)), 'utf8')) as string[][];
    } catch {
      continue; // cut short by the kill before anything was replaced
    }
    for (const [leader, ...aliases] of groups) {
      for (const alias of aliases) relink(root, leader!, alias);
    }
  }
}

/** Makes `alias` another name of `leader`'s inode (link beside, rename over). */
function relink(root: string, leader: string, alias: string): void {
  const a = lstatSync(fsPath(join(root, leader)));
  const b = lstatSync(fsPath(join(root, alias)), { throwIfNoEntry: false });
  // rename(2) between two names of one inode does nothing and would leave the temporary name.
  if (b && a.dev === b.dev && a.ino === b.ino) return;
  const temp = fsPath(join(root, dirname(alias), `.${basename(alias)}.syslayer-${process.pid}-link`));
  rmSync(temp, { force: true });
  linkSync(fsPath(join(root, leader)), temp);
  renameSync(temp, fsPath(join(root, alias)));
}

type Run = (pool: WorkerPool, plan: Plan, root: string, to: Destination, jobs: Job[]) => Promise<FileOutcome[]>;
type Choose = (plan: Plan) => { jobs: Job[]; refused: FileOutcome[] };

/** Plans, prepares the output, rewrites the chosen clients with `run`, and commits. */
async function rewriteClients(input: LocalInput, o: RewriteOptions, choose: Choose, run: Run): Promise<{ plan: Plan; outcomes: FileOutcome[] }> {
  const image = input.path;
  const single = input.kind === 'file';
  const inPlace = o.output.kind === 'in-place';
  return withPool(o.threads, async (pool) => {
    // -o: the copy (cp -a, in the background) and the plan both only read the input.
    const target = prepareOutput(image, single, o.output);
    try {
      const plan = await o.timers.time('plan', () => makePlan(input, { kernel: o.kernel, layerDirs: o.layerDirs, pool, timers: o.timers, progress: o.progress }));
      await o.timers.time('copy', () => target.ready);
      const root = single ? dirname(target.work) : target.work;
      removeLeftovers(root, plan.scan.leftovers ?? []);
      const { jobs, refused } = choose(plan);
      const located = jobs.map((j) => ({ ...j, path: single ? basename(target.work) : j.path }));
      const groups = groupByInode(root, located);
      const leaders = located.filter((j) => groups.has(j.path));
      o.progress.update(`rewriting: ${groups.size} files`);
      const all = inPlace
        ? await rewriteInPlace(root, groups, leaders, (to, chunk) => run(pool, plan, root, to, chunk), o.timers)
        : await rewriteCopy(groups, leaders, (to, chunk) => run(pool, plan, single ? root : image, to, chunk), o.timers, root,
          async (written) => {
            if (!single) await copyAttributes(image, root, written);
            else if (written.length > 0) copyFileAttributes(image, target.work);
          });
      if (single) for (const out of all) out.path = plan.clients[0]!.path;
      const result = [...all, ...refused];
      await finish(target, single, result);
      return { plan, outcomes: result };
    } catch (error) {
      await target.abandon();
      throw error;
    }
  });
}

/** What an interrupted run left: the hardlink groups its journal names are joined again first. */
export function removeLeftovers(root: string, leftovers: readonly string[]): void {
  healFromJournals(root, leftovers);
  for (const leftover of leftovers) rmSync(fsPath(join(root, leftover)), { recursive: true, force: true });
}

/** Clients per commit: the first ones are committed while the workers still rewrite the rest. */
const COMMIT_FILES = 256;

/**
 * Runs `work` on `jobs` in chunks and `commit` on each chunk's outcomes as soon as it is done,
 * while the workers go on with the next chunks; returns every outcome, in job order.
 */
async function inChunks(jobs: Job[], work: (jobs: Job[]) => Promise<FileOutcome[]>, commit: (outcomes: FileOutcome[]) => Promise<void>): Promise<FileOutcome[]> {
  const chunks = batches(jobs, COMMIT_FILES).map((chunk) => work(chunk).then(async (outcomes) => {
    await commit(outcomes);
    return outcomes;
  }));
  // Every chunk settles before anything is cleaned up, even when one failed.
  const settled = await Promise.allSettled(chunks);
  const failed = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
  return settled.flatMap((r) => (r as PromiseFulfilledResult<FileOutcome[]>).value);
}

/**
 * In place: every new file is staged, the old files' attributes are copied onto the staged ones
 * in a few `cp` processes, and only then is each renamed over its old name. The directories whose
 * entries that changes are noted first, so their times can be put back.
 */
export async function rewriteInPlace(root: string, groups: Map<string, string[]>, jobs: Job[], work: (to: Destination, jobs: Job[]) => Promise<FileOutcome[]>, timers: Timers): Promise<FileOutcome[]> {
  // Every name's directory (hardlinked names are relinked), and the root: the staging directory
  // and the hardlink journal are made there.
  const capsule = captureDirectories(root, new Set(['', ...[...groups.values()].flat().map(dirName)]));
  const stage = makeStage(root);
  const journal = writeJournal(root, groups);
  try {
    const outcomes = await timers.time('rewrite', () => inChunks(jobs, (chunk) => work({ root: stage, how: 'create' }, chunk), async (done) => {
      await commitStagedFiles(root, stage, done.filter(wasWritten).map((x) => x.path));
    }));
    return followHardlinks(root, true, groups, outcomes);
  } finally {
    await timers.time('cleanup', () => {
      rmSync(stage, { recursive: true, force: true });
      if (journal) rmSync(journal, { force: true });
      restoreDirectories(root, capsule);
    });
  }
}

/**
 * -o: each file of the private copy at `root` is overwritten (read from the input, which is the
 * same bytes); `copyBack` puts back from the input what writing disturbed.
 */
async function rewriteCopy(groups: Map<string, string[]>, jobs: Job[], work: (to: Destination, jobs: Job[]) => Promise<FileOutcome[]>, timers: Timers,
  root: string, copyBack: (written: string[]) => Promise<void>): Promise<FileOutcome[]> {
  const outcomes = await timers.time('rewrite', () => inChunks(jobs, (chunk) => work({ root, how: 'rewrite' }, chunk),
    (done) => copyBack(done.filter(wasWritten).map((x) => x.path))));
  return followHardlinks(root, false, groups, outcomes);
}

export function bindImage(input: LocalInput, o: RewriteOptions): Promise<{ plan: Plan; outcomes: FileOutcome[] }> {
  return rewriteClients(
    input,
    o,
    (plan) => ({
      jobs: plan.clients.filter((c) => c.layer !== null).map((c) => ({ path: c.path, layer: c.layer! })),
      refused: plan.clients.filter((c) => c.layer === null).map((c) => ({ path: c.path, status: 'error' as const, error: c.error! })),
    }),
    (pool, plan, root, to, jobs) => pool.bind(root, { to, catalog: plan.catalog, targetKernel: plan.kernel }, jobs),
  );
}

export function unbindImage(input: LocalInput, o: RewriteOptions): Promise<{ plan: Plan; outcomes: FileOutcome[] }> {
  return rewriteClients(
    input,
    { ...o, kernel: { kind: 'none' } },
    (plan) => ({ jobs: plan.clients.filter((c) => c.bound).map((c) => ({ path: c.path, layer: -1 })), refused: [] }),
    (pool, _plan, root, to, jobs) => pool.unbind(root, to, jobs.map((j) => j.path)),
  );
}

export function verifyImage(input: LocalInput, o: Omit<RewriteOptions, 'output'>): Promise<{ plan: Plan; outcomes: FileOutcome[] }> {
  const image = input.path;
  return withPool(o.threads, async (pool) => {
    // Without a kernel, each file is checked against the kernel its own bind record names.
    const plan = await o.timers.time('plan', () => makePlan(input, { kernel: o.kernel, layerDirs: o.layerDirs, pool, timers: o.timers, progress: o.progress }));
    const root = plan.single ? dirname(image) : image;
    const paths = plan.clients.map((c) => (plan.single ? basename(image) : c.path));
    const outcomes = await o.timers.time('verify', () => pool.verify(root, { catalog: plan.catalog, kernel: o.kernel.kind === 'recorded' ? null : plan.kernel }, paths));
    return { plan, outcomes };
  });
}

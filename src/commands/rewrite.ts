// `syslayer bind`, `unbind` and `verify` over a directory image or one file: plan (scan and
// select) in the main thread, then the clients go to the worker pool in batches.
import { linkSync, lstatSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { makePlan, type Plan } from './plan.js';
import { prepareOutput, type OutputTarget } from '../image/output-target.js';
import { WorkerPool } from '../pool/pool.js';
import type { FileOutcome, WriteMode } from '../bind/file-operations.js';
import { copyAttributes, copyFileAttributes, restoreTimes } from '../util/file-writers.js';
import type { Timers } from '../util/timers.js';
import type { Progress } from '../util/progress.js';

export interface RewriteOptions {
  kernel: string | null;
  layerDirs: readonly string[];
  output?: string;
  inPlace: boolean;
  threads?: number;
  timers: Timers;
  progress: Progress;
}

export interface RewriteReport {
  command: 'bind' | 'unbind' | 'verify';
  plan: Plan;
  outcomes: FileOutcome[];
}

/** A client to rewrite: its path in the image and, for bind, the index of its layer. */
interface Job {
  path: string;
  layer: number;
}

/**
 * A whole image is committed even when some files failed (they pass through unchanged and the
 * report names them); a single file that failed produces no output at all.
 */
function finish(target: OutputTarget, single: boolean, outcomes: FileOutcome[]): void {
  if (single && outcomes.some((o) => o.status === 'error')) target.abandon();
  else target.commit();
}

async function withPool<T>(threads: number | undefined, work: (pool: WorkerPool) => Promise<T>): Promise<T> {
  const pool = new WorkerPool(threads);
  try {
    return await work(pool);
  } finally {
    await pool.close();
  }
}

/** Hardlinked names share one inode, which is rewritten once: the first name of each inode leads. */
function groupByInode(root: string, jobs: Job[]): Map<string, string[]> {
  const groups = new Map<string, string[]>();
  const leaderOf = new Map<string, string>();
  for (const job of jobs) {
    const st = lstatSync(join(root, job.path));
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
 * The other names of each rewritten inode. A 'rewrite' kept the inode, so they already see the
 * new contents; a 'replace' made a new inode, so they are linked to it (link beside, rename over).
 */
function followHardlinks(root: string, mode: WriteMode, groups: Map<string, string[]>, outcomes: FileOutcome[]): FileOutcome[] {
  const all: FileOutcome[] = [];
  for (const outcome of outcomes) {
    all.push(outcome);
    for (const alias of (groups.get(outcome.path) ?? []).slice(1)) {
      if (mode === 'replace' && (outcome.status === 'bound' || outcome.status === 'unbound')) relink(root, outcome.path, alias);
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

function healFromJournals(root: string, leftovers: readonly string[]): void {
  for (const leftover of leftovers.filter((p) => JOURNAL.test(basename(p)))) {
    let groups: string[][];
    try {
      groups = JSON.parse(readFileSync(join(root, leftover), 'utf8')) as string[][];
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
  const a = lstatSync(join(root, leader));
  const b = lstatSync(join(root, alias), { throwIfNoEntry: false });
  // rename(2) between two names of one inode does nothing and would leave the temporary name.
  if (b && a.dev === b.dev && a.ino === b.ino) return;
  const temp = join(root, dirname(alias), `.${basename(alias)}.syslayer-${process.pid}-link`);
  rmSync(temp, { force: true });
  linkSync(join(root, leader), temp);
  renameSync(temp, join(root, alias));
}

/** Plans, prepares the output, rewrites the chosen clients with `run`, and commits. */
async function rewriteClients(
  image: string,
  o: RewriteOptions,
  choose: (plan: Plan) => { jobs: Job[]; refused: FileOutcome[] },
  run: (pool: WorkerPool, plan: Plan, root: string, mode: WriteMode, jobs: Job[]) => Promise<FileOutcome[]>,
): Promise<{ plan: Plan; outcomes: FileOutcome[] }> {
  return withPool(o.threads, async (pool) => {
    const plan = await o.timers.time('plan', () => makePlan(image, { kernel: o.kernel, layerDirs: o.layerDirs, pool, timers: o.timers, progress: o.progress }));
    const target = await o.timers.time('copy', () => prepareOutput(image, plan.single, o.output, o.inPlace));
    try {
      const root = plan.single ? dirname(target.work) : target.work;
      healFromJournals(root, plan.scan.leftovers ?? []);
      for (const leftover of plan.scan.leftovers ?? []) rmSync(join(root, leftover), { force: true });
      // -o rewrites a private copy, renamed into place as a whole: files can be overwritten in place.
      const mode: WriteMode = o.inPlace ? 'replace' : 'rewrite';
      const { jobs, refused } = choose(plan);
      const located = jobs.map((j) => ({ ...j, path: plan.single ? basename(target.work) : j.path }));
      const groups = groupByInode(root, located);
      // Renaming over a file changes its directory's times: note them to put them back.
      const directories = new Map<string, { atime: bigint; mtime: bigint }>();
      if (mode === 'replace') {
        // The root too: the hardlink journal is written there.
        for (const j of [{ path: 'journal' }, ...located]) {
          const dir = join(root, dirname(j.path));
          if (!directories.has(dir)) {
            const st = lstatSync(dir, { bigint: true });
            directories.set(dir, { atime: st.atimeNs, mtime: st.mtimeNs });
          }
        }
      }
      o.progress.update(`rewriting ${groups.size} files`);
      const journal = mode === 'replace' ? writeJournal(root, groups) : null;
      const outcomes = await o.timers.time('rewrite', () => run(pool, plan, root, mode, located.filter((j) => groups.has(j.path))));
      const all = followHardlinks(root, mode, groups, outcomes);
      if (journal) rmSync(journal, { force: true });
      await o.timers.time('attributes', () => {
        if (mode === 'replace') {
          for (const [dir, t] of directories) restoreTimes(dir, t.atime, t.mtime);
          return;
        }
        // Writing disturbed timestamps and dropped security.capability; the input still has them.
        const rewritten = outcomes.filter((x) => x.status === 'bound' || x.status === 'unbound').map((x) => x.path);
        if (plan.single) for (const _ of rewritten) copyFileAttributes(image, target.work);
        else copyAttributes(image, root, rewritten);
      });
      if (plan.single) for (const out of all) out.path = plan.clients[0]!.path;
      const result = [...all, ...refused];
      finish(target, plan.single, result);
      return { plan, outcomes: result };
    } catch (error) {
      target.abandon();
      throw error;
    }
  });
}

export async function bindImage(image: string, o: RewriteOptions): Promise<RewriteReport> {
  const r = await rewriteClients(
    image,
    o,
    (plan) => ({
      jobs: plan.clients.filter((c) => c.layer !== null).map((c) => ({ path: c.path, layer: c.layer! })),
      refused: plan.clients.filter((c) => c.layer === null).map((c) => ({ path: c.path, status: 'error' as const, error: c.error! })),
    }),
    (pool, plan, root, mode, jobs) => pool.bind(root, { mode, catalog: plan.catalog, targetKernel: plan.kernel }, jobs),
  );
  return { command: 'bind', ...r };
}

export async function unbindImage(image: string, o: RewriteOptions): Promise<RewriteReport> {
  const r = await rewriteClients(
    image,
    { ...o, kernel: null },
    (plan) => ({ jobs: plan.clients.filter((c) => c.bound).map((c) => ({ path: c.path, layer: -1 })), refused: [] }),
    (pool, _plan, root, mode, jobs) => pool.unbind(root, mode, jobs.map((j) => j.path)),
  );
  return { command: 'unbind', ...r };
}

export function verifyImage(image: string, o: Omit<RewriteOptions, 'output' | 'inPlace'>): Promise<RewriteReport> {
  return withPool(o.threads, async (pool) => {
    // Without a kernel, each file is checked against the kernel its own bind record names.
    const kernel = o.kernel === 'recorded' ? null : o.kernel;
    const plan = await o.timers.time('plan', () => makePlan(image, { kernel, layerDirs: o.layerDirs, pool, timers: o.timers, progress: o.progress }));
    const root = plan.single ? dirname(image) : image;
    const paths = plan.clients.map((c) => (plan.single ? basename(image) : c.path));
    const outcomes = await o.timers.time('verify', () => pool.verify(root, { catalog: plan.catalog, kernel: kernel === null ? null : plan.kernel }, paths));
    return { command: 'verify' as const, plan, outcomes };
  });
}

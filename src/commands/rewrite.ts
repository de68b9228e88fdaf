// `syslayer bind`, `unbind` and `verify` over a directory image or one file: plan (scan and
// select) in the main thread, then the files go to the worker pool in batches.
import { basename, join } from 'node:path';
import { makePlan, type Plan } from './plan.js';
import { prepareOutput, type OutputTarget } from '../image/output-target.js';
import { WorkerPool } from '../pool/pool.js';
import type { FileOutcome } from '../bind/file-operations.js';
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

export function bindImage(image: string, o: RewriteOptions): Promise<RewriteReport> {
  return withPool(o.threads, async (pool) => {
    const plan = await o.timers.time('plan', () => makePlan(image, { kernel: o.kernel, layerDirs: o.layerDirs, pool, timers: o.timers, progress: o.progress }));
    const target = await o.timers.time('copy', () => prepareOutput(image, plan.single, o.output, o.inPlace));
    try {
      const root = plan.single ? join(target.work, '..') : target.work;
      const entries = plan.clients.filter((c) => c.layer !== null).map((c) => ({ path: plan.single ? basename(target.work) : c.path, layer: c.layer! }));
      const refused: FileOutcome[] = plan.clients.filter((c) => c.layer === null).map((c) => ({ path: c.path, status: 'error', error: c.error! }));
      o.progress.update(`binding ${entries.length} clients`);
      const outcomes = await o.timers.time('bind', () => pool.bind(root, { catalog: plan.catalog, targetKernel: plan.kernel }, entries));
      if (plan.single) for (const out of outcomes) out.path = plan.clients[0]!.path;
      finish(target, plan.single, [...outcomes, ...refused]);
      return { command: 'bind' as const, plan, outcomes: [...outcomes, ...refused] };
    } catch (error) {
      target.abandon();
      throw error;
    }
  });
}

export function unbindImage(image: string, o: RewriteOptions): Promise<RewriteReport> {
  return withPool(o.threads, async (pool) => {
    const plan = await o.timers.time('plan', () => makePlan(image, { kernel: null, layerDirs: o.layerDirs, pool, timers: o.timers, progress: o.progress }));
    const target = await o.timers.time('copy', () => prepareOutput(image, plan.single, o.output, o.inPlace));
    try {
      const root = plan.single ? join(target.work, '..') : target.work;
      const paths = plan.clients.filter((c) => c.bound).map((c) => (plan.single ? basename(target.work) : c.path));
      const outcomes = await o.timers.time('unbind', () => pool.unbind(root, paths));
      if (plan.single) for (const out of outcomes) out.path = plan.clients[0]!.path;
      finish(target, plan.single, outcomes);
      return { command: 'unbind' as const, plan, outcomes };
    } catch (error) {
      target.abandon();
      throw error;
    }
  });
}

export function verifyImage(image: string, o: Omit<RewriteOptions, 'output' | 'inPlace'>): Promise<RewriteReport> {
  return withPool(o.threads, async (pool) => {
    // The plan's kernel is only needed to check the rule against; default to each record's own.
    const plan = await o.timers.time('plan', () => makePlan(image, { kernel: o.kernel === 'recorded' ? null : o.kernel, layerDirs: o.layerDirs, pool, timers: o.timers, progress: o.progress }));
    const root = plan.single ? join(image, '..') : image;
    const paths = plan.clients.map((c) => (plan.single ? basename(image) : c.path));
    const kernel = o.kernel === 'recorded' ? null : plan.kernel;
    const outcomes = await o.timers.time('verify', () => pool.verify(root, { catalog: plan.catalog, kernel }, paths));
    return { command: 'verify' as const, plan, outcomes };
  });
}


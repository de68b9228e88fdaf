// scan, plan, bind, unbind and verify: each a typed function from its options to its report and
// exit status. They run the one pipeline (src/pipeline/run.ts) and print nothing.
import { runPipeline, type CommandName, type RunReport, type RunRequest } from '../pipeline/run.js';

/** 0: all well; 1: some files failed (the report names each, with its reason); 2: usage error. */
export type ExitStatus = 0 | 1 | 2;

export interface CommandResult {
  report: RunReport;
  status: ExitStatus;
}

/** Whether the run left anything undone: what decides the exit status, for every source alike. */
function statusOf(r: RunReport): ExitStatus {
  switch (r.command) {
    case 'scan': return r.plan.scan.counts.errors > 0 ? 1 : 0;
    case 'plan': return r.plan.clients.some((c) => c.layer === null) ? 1 : 0;
    default: return r.outcomes.some((o) => o.status === 'error') ? 1 : 0;
  }
}

async function run(command: CommandName, request: Omit<RunRequest, 'command'>): Promise<CommandResult> {
  const report = await runPipeline({ command, ...request });
  return { report, status: statusOf(report) };
}

export type ImageRequest = Omit<RunRequest, 'command' | 'output' | 'inPlace'>;
export type RewriteRequest = Omit<RunRequest, 'command'>;

/** Every ELF file of an image, its facts and dependency closure. */
export const scan = (r: ImageRequest) => run('scan', r);
/** What bind would do, writing nothing. */
export const plan = (r: ImageRequest) => run('plan', r);
/** The selected layer written into every client. */
export const bind = (r: RewriteRequest) => run('bind', r);
/** Every bound client back to its original bytes. */
export const unbind = (r: RewriteRequest) => run('unbind', r);
/** The incremental bind in place of a directory image: only what changed since the last run. Status 0 unless it cannot proceed at all. */
export async function sync(r: import('../living/sync.js').SyncRequest, onWait?: (message: string) => void): Promise<CommandResult> {
  const done = await (await import('../living/sync.js')).syncImage(r, onWait);
  const report: RunReport = { command: 'sync', plan: done.plan, outcomes: done.outcomes, imageOnStandardOutput: false, warnings: done.warnings, sync: done.sync };
  // A client that cannot be bound is left as it was, reported and recorded: sync, which the
  // package hooks run, fails only when it cannot proceed at all (it throws then).
  return { report, status: 0 };
}

/** Every bound client re-derived from its original, and its layer checked against the rule. */
export const verify = (r: ImageRequest) => run('verify', r);

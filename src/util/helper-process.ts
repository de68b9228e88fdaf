// The programs syslayer runs beside itself (cp and xargs, GNU tar, zstd and xz): started, their
// standard error kept, their exit awaited. One place says what a failed helper means: the run
// could not be done (a RunError naming what was being done and the helper's own words).
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { RunError } from '../errors.js';

export interface HelperProcess {
  child: ChildProcess;
  /**
   * Resolves when the helper exits with status 0; rejects otherwise, or when it cannot start.
   * Already handled: awaiting it is the caller's business, an unawaited failure is not a crash.
   */
  exited: Promise<void>;
}

const onPath = (command: string) => (process.env.PATH ?? '').split(':').some((dir) => dir !== '' && existsSync(join(dir, command)));
let hasSetpriv: boolean | undefined; // looked up when a helper is first started, not on import (workers never start one)

/**
 * `argv` under setpriv (util-linux), which makes the kernel stop it if this process is killed: no
 * orphan goes on writing into a work directory that the next run removes. Without setpriv, as is.
 */
export function orphanSafe(argv: readonly string[]): string[] {
  return (hasSetpriv ??= onPath('setpriv')) ? ['setpriv', '--pdeathsig', 'KILL', '--', ...argv] : [...argv];
}

/**
 * Runs `argv` (stderr must be 'pipe' in `options.stdio`, or left out). `what` completes "cannot
 * …": `copy the image to out/`. `orphanSafe`: the helper dies with this process (helpers that write
 * into a work directory, which an interrupted run leaves to be removed).
 */
export function startHelper(argv: readonly string[], what: string, options: SpawnOptions & { orphanSafe?: boolean } = {}): HelperProcess {
  const { orphanSafe: dieWithUs = false, ...spawnOptions } = options;
  const run = dieWithUs ? orphanSafe(argv) : [...argv];
  const child = spawn(run[0]!, run.slice(1), spawnOptions);
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const exited = new Promise<void>((resolve, reject) => {
    child.on('error', (error) => reject(new RunError(`cannot ${what}: cannot run ${argv[0]}: ${error.message}`)));
    child.on('close', (code, signal) => {
      if (code === 0) resolve();
      else reject(new RunError(`cannot ${what}: ${stderr.trim() || `${argv[0]} exited with ${code ?? `signal ${signal}`}`}`));
    });
  });
  exited.catch(() => {});
  // A helper that exits early leaves an EPIPE on our writes: its exit status is the news, not that.
  child.stdin?.on('error', () => {});
  return { child, exited };
}

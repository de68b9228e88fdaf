// Outputs are written beside their final name and moved there at the end, so that a failed or
// killed run leaves nothing half-written at that name (DESIGN §6): `-o` directories and single
// files, tarballs, and directories extracted from a tar stream all go through here.
import { lstatSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { UsageError } from '../errors.js';

/**
 * The work path of this process beside `final` (`.<name>.syslayer-tmp-<pid>`). Work paths that
 * killed runs left beside the same name are removed first: they are ours.
 */
export function workBeside(final: string): string {
  const prefix = `.${basename(final)}.syslayer-tmp-`;
  if (!lstatSync(dirname(final), { throwIfNoEntry: false })?.isDirectory()) {
    throw new UsageError(`${final}: cannot write there: ${dirname(final)} is not a directory`);
  }
  for (const name of readdirSync(dirname(final))) {
    if (name.startsWith(prefix)) rmSync(join(dirname(final), name), { recursive: true, force: true });
  }
  return join(dirname(final), `${prefix}${process.pid}`);
}

/**
 * Moves the finished `work` to `final`. A file replaces a file in one rename; a directory in
 * the way is moved aside first (rename(2) cannot replace a non-empty directory) and removed.
 */
export function commitWork(work: string, final: string): void {
  if (lstatSync(final, { throwIfNoEntry: false })?.isDirectory()) {
    const old = `${work}.old`;
    renameSync(final, old);
    renameSync(work, final);
    rmSync(old, { recursive: true, force: true });
  } else {
    renameSync(work, final);
  }
}

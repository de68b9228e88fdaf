// Where a rewrite goes. `--in-place` rewrites files of the image itself (each by write-beside
// and rename). `-o` makes a copy first — `cp -a` with reflinks where the file system has them,
// so modes, owners, timestamps, xattrs, hardlinks, devices and fifos all come along — into a
// directory beside the destination, rewrites that, and renames it into place at the end: an
// interrupted run leaves no half-written output at the final name.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { UsageError } from './open-image.js';

export interface OutputTarget {
  /** The directory (or, for one file, the file) to rewrite in place. */
  work: string;
  /** Moves the work into place; call after every file is done. */
  commit(): void;
  /** Removes the work after a failure (a no-op in place). */
  abandon(): void;
}

export function prepareOutput(image: string, single: boolean, output: string | undefined, inPlace: boolean): OutputTarget {
  if (inPlace === (output !== undefined)) throw new UsageError('say where the result goes: -o <path> or --in-place');
  if (inPlace) return { work: image, commit() {}, abandon() {} };
  const final = resolve(output!);
  if (final === resolve(image)) throw new UsageError(`-o ${output} is the input itself: use --in-place`);
  const work = join(dirname(final), `.${basename(final)}.syslayer-tmp-${process.pid}`);
  // Work directories of earlier runs that were killed are ours to remove.
  const prefix = `.${basename(final)}.syslayer-tmp-`;
  for (const name of readdirSync(dirname(final))) {
    if (name.startsWith(prefix)) rmSync(join(dirname(final), name), { recursive: true, force: true });
  }
  const r = spawnSync('cp', ['-a', '--reflink=auto', '--', single ? image : `${resolve(image)}/.`, work], { encoding: 'utf8' });
  if (r.status !== 0) {
    rmSync(work, { recursive: true, force: true });
    throw new Error(`cannot copy ${image} to ${work}: ${r.stderr.trim() || r.error?.message}`);
  }
  return {
    work,
    commit() {
      if (existsSync(final)) {
        const old = `${work}.old`;
        renameSync(final, old);
        renameSync(work, final);
        rmSync(old, { recursive: true, force: true });
      } else {
        renameSync(work, final);
      }
    },
    abandon() {
      rmSync(work, { recursive: true, force: true });
    },
  };
}

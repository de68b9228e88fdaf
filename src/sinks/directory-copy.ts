// Where a rewrite goes. `--in-place` rewrites files of the image itself (staged and renamed over
// their old names). `-o` makes a copy first — `cp -a` with reflinks where the file system has them,
// so modes, owners, timestamps, xattrs, hardlinks, devices and fifos all come along — into a
// directory beside the destination, rewrites that, and renames it into place at the end: an
// interrupted run leaves no half-written output at the final name. The copy runs in the background
// (`ready`) so that the caller can plan the rewrite, which only reads the input, at the same time.
import { rmSync } from 'node:fs';
import { resolve } from 'node:path';
import { startHelper } from '../util/helper-process.js';
import { commitWork, workBeside } from './work-beside.js';

export interface OutputTarget {
  /** The directory (or, for one file, the file) to rewrite in place. */
  work: string;
  /** Resolves when `work` holds the complete copy (at once in place). */
  ready: Promise<void>;
  /** Moves the work into place; call after every file is done. */
  commit(): void;
  /** Stops the copy and removes the work after a failure (a no-op in place). */
  abandon(): Promise<void>;
}

/** The output of a directory image or one file: in place, or a copy at `output.path`. */
export function prepareOutput(image: string, single: boolean, output: { kind: 'in-place' } | { kind: 'directory' | 'file'; path: string }): OutputTarget {
  if (output.kind === 'in-place') return { work: image, ready: Promise.resolve(), commit() {}, async abandon() {} };
  const final = resolve(output.path);
  const work = workBeside(final);
  const copy = startHelper(['cp', '-a', '--reflink=auto', '--', single ? image : `${resolve(image)}/.`, work], `copy ${image} to ${work}`,
    { stdio: ['ignore', 'ignore', 'pipe'], orphanSafe: true });
  return {
    work,
    ready: copy.exited,
    commit() {
      commitWork(work, final);
    },
    async abandon() {
      copy.child.kill();
      await copy.exited.catch(() => {});
      rmSync(work, { recursive: true, force: true });
    },
  };
}

// Where the one pass of `bind` (bind-in-one-pass.ts) puts an image: the image itself
// (pass-in-place.ts) or a new directory (pass-to-copy.ts). The pass hands each finished batch to
// the sink while the workers go on; at the end the sink completes the output.
import type { Destination, FileOutcome } from '../transform/file-operations.js';
import type { FilePassResult } from '../transform/file-pass.js';
import type { Job } from './rewrite-directory.js';

/** Files with other names, which the pass left alone: `layer` for a client to bind, else null. */
export type LinkedFile = FilePassResult['linked'][number];

/** The clients among `linked`: those the pass decided to bind, with their layer. */
export function linkedClients(linked: readonly LinkedFile[]): Job[] {
  return linked.flatMap((l) => (l.layer === null ? [] : [{ path: l.path, layer: l.layer }]));
}

/** Binds hardlinked clients, one name of each inode, writing them to `to`. */
export type BindJobs = (to: Destination, jobs: Job[]) => Promise<FileOutcome[]>;

export interface PassSink {
  /** Where the workers write bound files. */
  readonly to: Destination;
  /** Whether the pass lists the files it does not write (FilePassTask.listPlain). */
  readonly listPlain: boolean;
  /** A batch is done: its names go on to what completes them. */
  batchDone(result: FilePassResult): void;
  /**
   * Every batch is done. Completes the output (hardlinked files included, bound with `bind`);
   * `meanwhile` runs while the sink waits for its helpers. Returns the outcomes of the
   * hardlinked clients. After a failure the output is as before the run.
   */
  finish(linked: LinkedFile[], bind: BindJobs, meanwhile: () => Promise<void>): Promise<FileOutcome[]>;
  /** Undoes what the sink began, after a failure before `finish`. */
  abandon(): Promise<void>;
}

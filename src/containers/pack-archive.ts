// An oci-archive or docker archive: the finished image directory packed into one tar, written
// beside its final name and renamed there (or to standard output), the same bytes every run.
import { createWriteStream, readdirSync, rmSync } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { RunError } from '../errors.js';
import { packContainerFiles } from '../tar/gnu-tar.js';
import { commitWork, workBeside } from '../sinks/work-beside.js';

/** `final` null: standard output. */
export async function packArchive(dir: string, final: string | null): Promise<void> {
  const tar = packContainerFiles(dir, readdirSync(dir).sort());
  if (final === null) {
    await Promise.all([pipeline(tar.child.stdout!, process.stdout, { end: false }), tar.exited]).catch((error: Error) => {
      throw new RunError(`cannot write the image to standard output: ${error.message}`);
    });
    return;
  }
  const temp = workBeside(final);
  try {
    await Promise.all([pipeline(tar.child.stdout!, createWriteStream(temp)), tar.exited]);
    commitWork(temp, final);
  } catch (error) {
    rmSync(temp, { force: true });
    throw new RunError(`${final}: ${(error as Error).message}`);
  }
}

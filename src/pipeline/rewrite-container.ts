// scan, plan, bind, unbind and verify of a container image (DESIGN §10, docs/containers.md): an
// OCI image layout, an oci-archive or a docker archive, read where it is (an archive at its
// entries' offsets), its layers worked on by container-pass.ts, and the new image written beside
// the output (container-output.ts) and moved or packed there at the end, so that a failed run
// leaves nothing at the output.
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { ImageInput } from '../sources/detect.js';
import { STANDARD_STREAM, type ImageOutput } from '../sinks/choose-output.js';
import { commitWork, workBeside } from '../sinks/work-beside.js';
import { archiveFiles, directoryFiles } from '../containers/image-files.js';
import { readImageSet } from '../containers/image-set.js';
import { ContainerWriter } from '../containers/container-output.js';
import { packArchive } from '../containers/pack-archive.js';
import type { FileOutcome } from '../transform/file-operations.js';
import type { Plan } from './plan.js';
import type { TarRunOptions } from './rewrite-stream.js';
import { runContainer } from './container-pass.js';

/** The whole command on a container image: read it, run it, and write the result where -o says. */
export async function runContainerImage(input: ImageInput & { kind: 'container' }, output: ImageOutput, o: TarRunOptions): Promise<{ plan: Plan; outcomes: FileOutcome[] }> {
  const files = input.archive ? archiveFiles(input.path, input.name) : directoryFiles(input.path, input.name);
  const set = readImageSet(files, input.format);
  if (output.kind === 'none') {
    const run = await runContainer(set, { ...o, layoutWork: null });
    return { plan: run.plan, outcomes: run.outcomes };
  }
  if (output.kind !== 'container') throw new Error(`a container image is not written ${output.kind}`);
  const toStdout = output.path === STANDARD_STREAM;
  const final = toStdout ? null : resolve(output.path);
  // An archive is packed from a directory of its own, beside the final name (packing writes its own work file there).
  const work = final === null ? mkdtempSync(join(tmpdir(), 'syslayer-image-')) : workBeside(output.archive ? `${final}.layout` : final);
  mkdirSync(work, { recursive: true });
  try {
    const run = await runContainer(set, { ...o, layoutWork: work });
    await o.timers.time('write image', () => new ContainerWriter(set, work, run.rewritten, input.archive ? null : input.path).write());
    if (!output.archive) commitWork(work, final!);
    else await o.timers.time('pack archive', () => packArchive(work, final));
    return { plan: run.plan, outcomes: run.outcomes };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

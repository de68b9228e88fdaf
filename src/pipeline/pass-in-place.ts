// The in-place sink of the one pass: bound files are written to the stage (staging.ts), given
// their old files' attributes by one `cp` stream as batches end, and renamed over their old names
// by the workers once the stream is done, so that a kill at any moment leaves each file old or
// new. The root's times are noted before the stage is made in it, the other directories' before
// the renames; all are put back at the end. Hardlinked clients go through the grouped rewrite of
// rewrite-directory.ts afterwards (a journal joins their names again after a kill).
import { rmSync } from 'node:fs';
import { dirName } from './image-tree.js';
import { groupByInode, rewriteInPlace } from './rewrite-directory.js';
import { linkedClients, type PassSink } from './pass-sink.js';
import { wasWritten } from '../transform/file-operations.js';
import { makeStage } from '../sinks/staging.js';
import { streamingAttributeCopy } from '../sinks/file-writers.js';
import { captureDirectories, restoreDirectories } from '../sinks/directory-times.js';
import type { Timers } from '../util/timers.js';

export function inPlaceSink(image: string, renameStaged: (stage: string, paths: readonly string[]) => Promise<void>, timers: Timers): PassSink {
  const rootTimes = captureDirectories(image, ['']);
  const stage = makeStage(image);
  const attributes = streamingAttributeCopy(image, stage);
  const written: string[] = [];
  let directoryTimes: Buffer | null = null;

  const cleanUp = () => timers.time('cleanup', async () => {
    await attributes.stop();
    rmSync(stage, { recursive: true, force: true });
    if (directoryTimes) restoreDirectories(image, directoryTimes);
    restoreDirectories(image, rootTimes);
  });

  return {
    to: { root: stage, how: 'create' },
    listPlain: false,
    batchDone(result) {
      const names = result.outcomes.filter(wasWritten).map((o) => o.path);
      for (const name of names) written.push(name);
      attributes.add(names);
    },
    async finish(linked, bind, meanwhile) {
      try {
        await timers.time('attributes', () => attributes.finish());
        directoryTimes = captureDirectories(image, new Set(written.map(dirName)));
        const renamed = timers.beside('rename', () => renameStaged(stage, written));
        // Awaited below either way: a failed rename is not left unhandled while `meanwhile` runs.
        renamed.catch(() => {});
        await meanwhile();
        await renamed;
      } finally {
        await cleanUp();
      }
      if (linked.length === 0) return [];
      const jobs = linkedClients(linked); // in place, only clients are listed anyway
      const groups = groupByInode(image, jobs);
      return rewriteInPlace(image, groups, jobs.filter((j) => groups.has(j.path)), bind, timers);
    },
    abandon: cleanUp,
  };
}

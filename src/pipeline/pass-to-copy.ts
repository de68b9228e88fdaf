// The copy sink of the one pass (`bind -o DIR` of a directory image): the new directory is built
// beside its final name and renamed into place at the end (work-beside.ts). Each file the pass
// does not write goes, as its batch ends, to `cp -a --parents` run by xargs two at a time; bound
// files are written there by the workers and given their old attributes by one `cp
// --attributes-only` stream; hardlinked files are copied or bound once and linked; last, every
// directory gets the input's attributes (made if empty) through tar (directory-times.ts), which
// puts back their times too, after the files changed them.
//
// Before this, `cp -a` copied the whole image in one process while the plan read it, and the
// clients were then written a second time: 3.7 s for the clients image on tmpfs, where `cp -a`
// alone took 1.9 s.
import { linkSync, mkdirSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { followHardlinks, groupByInode, healFromJournals } from './rewrite-directory.js';
import type { ImageTree } from './image-tree.js';
import { linkedClients, type PassSink } from './pass-sink.js';
import { wasWritten } from '../transform/file-operations.js';
import { StreamingCopy, streamingAttributeCopy } from '../sinks/file-writers.js';
import { isTemporaryPath } from '../sinks/temporary-name.js';
import { copyDirectories } from '../sinks/directory-times.js';
import { commitWork, workBeside } from '../sinks/work-beside.js';
import { fsPath } from '../names/path-bytes.js';
import type { Timers } from '../util/timers.js';

/** `cp -a` processes at once: the copy is most of the work, and this machine has two cores. */
const COPIES_AT_ONCE = 2;

export function copySink(image: string, tree: ImageTree, leftovers: readonly string[], output: string, timers: Timers): PassSink {
  const final = resolve(output);
  const work = workBeside(final);
  const kept = keptEntries(tree);
  mkdirSync(work);
  makeDirectories(work, kept.directories);
  const copy = new StreamingCopy(['-a', '--reflink=auto', '--parents', '-t', work], image, `copy ${image} to ${work}`, COPIES_AT_ONCE);
  copy.add(kept.others);
  const attributes = streamingAttributeCopy(image, work);

  const abandon = async () => {
    await Promise.all([copy.stop(), attributes.stop()]);
    rmSync(work, { recursive: true, force: true });
  };

  return {
    to: { root: work, how: 'create' },
    listPlain: true,
    batchDone(result) {
      copy.add(result.plain);
      attributes.add(result.outcomes.filter(wasWritten).map((o) => o.path));
    },
    async finish(linked, bind, meanwhile) {
      try {
        const groups = groupByInode(image, linked);
        const leaders = linked.filter((l) => groups.has(l.path));
        const clients = linkedClients(leaders);
        const bound = clients.length > 0 ? await bind({ root: work, how: 'create' }, clients) : [];
        const written = new Set(bound.filter(wasWritten).map((o) => o.path));
        attributes.add([...written]);
        copy.add(leaders.map((l) => l.path).filter((p) => !written.has(p)));
        const done = timers.beside('copy', () => Promise.all([copy.finish(), attributes.finish()]));
        done.catch(() => {}); // awaited below, after `meanwhile`
        await meanwhile();
        await done;
        for (const [leader, ...aliases] of groups.values()) {
          for (const alias of aliases) linkInto(work, leader!, alias);
        }
        // Names an interrupted in-place rewrite of the input left on different inodes are one again.
        healFromJournals(work, leftovers, image);
        // Deepest first: extracting a directory that is not there yet (an empty one) changes its
        // parent, whose own entry then comes later and sets its times last.
        await copyDirectories(image, work, [...kept.directories].reverse());
        commitWork(work, final);
        return followHardlinks(work, false, groups, bound);
      } catch (error) {
        await abandon();
        throw error;
      }
    },
    abandon,
  };
}

/**
 * Makes every directory of the copy before any file goes in. Two `cp --parents` at once (and a
 * worker writing a bound file) may otherwise both find a parent missing, and the one whose mkdir
 * comes second fails with "cannot make directory …: File exists" (seen in CI). Their attributes
 * come from the input at the end (copyDirectories).
 */
function makeDirectories(root: string, directories: readonly string[]): void {
  for (const dir of directories) if (dir !== '') mkdirSync(fsPath(join(root, dir)), { recursive: true });
}

/** Links `alias` to `leader` under `root`, making its directory if nothing was copied there yet. */
function linkInto(root: string, leader: string, alias: string): void {
  const target = fsPath(join(root, alias));
  try {
    linkSync(fsPath(join(root, leader)), target);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    mkdirSync(fsPath(dirname(join(root, alias))), { recursive: true });
    linkSync(fsPath(join(root, leader)), target);
  }
}

/**
 * The directories, and the entries that are neither files nor directories (symlinks, devices,
 * fifos), of the image's tree, without what an interrupted in-place rewrite left: temporary
 * names and everything under them.
 */
function keptEntries(tree: ImageTree): { directories: string[]; others: string[] } {
  const directories: string[] = [];
  const others: string[] = [];
  const dropped: string[] = [];
  const isDropped = (path: string) => dropped.some((d) => path.startsWith(`${d}/`));
  for (const [path, entry] of tree.paths()) {
    if (entry.kind === 'file') continue;
    if (path !== '' && (isTemporaryPath(path) || isDropped(path))) {
      if (entry.kind === 'dir') dropped.push(path);
      continue;
    }
    if (entry.kind === 'dir') directories.push(path);
    else others.push(path);
  }
  return { directories, others };
}

// The shard sink of the one pass (`bind IMAGE --shard i/n -o SHARDOUT`, docs/scale.md): only the
// share's bound clients are written, each at its path under the shard's `files/` directory,
// hardlinked ones once per inode (under the first name the pass met); nothing else of the image
// is copied. `merge` puts them into a copy of the image as the copy sink would have.
import { mkdirSync } from 'node:fs';
import { followHardlinks, groupByInode } from './rewrite-directory.js';
import { linkedClients, type PassSink } from './pass-sink.js';

export function shardSink(image: string, files: string): PassSink {
  mkdirSync(files, { recursive: true });
  const to = { root: files, how: 'create' as const };
  return {
    to,
    listPlain: false,
    batchDone() {},
    async finish(linked, bind, meanwhile) {
      // Without listPlain, `linked` holds clients only; the share holds every name of a group.
      const groups = groupByInode(image, linked);
      const clients = linkedClients(linked.filter((l) => groups.has(l.path)));
      const bound = clients.length > 0 ? await bind(to, clients) : [];
      await meanwhile();
      return followHardlinks(files, false, groups, bound);
    },
    // The caller removes the shard's work directory.
    async abandon() {},
  };
}

// `--shard i/n`: which share of the work this process does (DESIGN §13, docs/scale.md). A share
// is decided by a hash of a name the work is known by before anything is read: an image list's
// entry by its output name (its key would need the image's digest, so every shard would read
// every image), one image's client by its hardlink group's first path. The hash, not the order
// a list or a walk gives, decides: n processes on any machines take disjoint shares that cover
// the whole, whatever order they see things in.
import { createRequire } from 'node:module';
import { UsageError } from '../errors.js';

export interface Shard {
  /** 0 ≤ index < count. */
  index: number;
  count: number;
}

/** `i/n` as given on the command line: whole numbers, 0 ≤ i < n. */
export function parseShard(text: string): Shard {
  const m = /^(\d+)\/(\d+)$/.exec(text.trim());
  if (!m) throw new UsageError(`--shard wants i/n (share i of n, counted from 0, e.g. 0/4), not '${text}'`);
  const [index, count] = [Number(m[1]), Number(m[2])];
  if (!Number.isSafeInteger(index) || !Number.isSafeInteger(count) || count < 1) throw new UsageError(`--shard ${text}: n must be a whole number of at least 1`);
  if (index >= count) throw new UsageError(`--shard ${text}: the index must be below n (shards are counted from 0: 0/${count} to ${count - 1}/${count})`);
  return { index, count };
}

// node:crypto is loaded when a share is first asked for: the command line parses --shard with
// this module, and every other command would pay for loading it.
const crypto = (): typeof import('node:crypto') => createRequire(import.meta.url)('node:crypto');

/** The share a name falls in: the first 48 bits of its sha256, modulo n. */
function shareOf(name: Uint8Array | string, count: number): number {
  const digest = crypto().createHash('sha256').update(name).digest();
  return digest.readUIntBE(0, 6) % count;
}

export const inShard = (name: Uint8Array | string, shard: Shard | null) => shard === null || shareOf(name, shard.count) === shard.index;

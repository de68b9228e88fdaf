// One huge image in shards (docs/scale.md): which files a shard's pass reads, and the shard
// result's manifest. A file's share is that of its hardlink group's least name in byte order (a
// file with one name: its own), so every name of an inode is in one shard, and the share depends
// on nothing but the names: n processes on any machines split the image alike.
import { lstatSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { RunError } from '../errors.js';
import { encodeName, fsPath } from '../names/path-bytes.js';
import type { FileOutcome } from '../transform/file-operations.js';
import type { PassScope } from '../pipeline/bind-in-one-pass.js';
import type { KeyParts } from './run-key.js';
import { inShard, type Shard } from './shard.js';

/** The files of the image under `root` that are in `shard`. */
export function shareScope(root: string, shard: Shard): PassScope {
  return (files) => {
    const groups = new Map<string, string[]>();
    const share = new Set<string>();
    for (const path of files) {
      let st;
      try {
        st = lstatSync(fsPath(join(root, path)), { bigint: true });
      } catch {
        // Gone since the walk: the pass says so, in the shard its name falls in.
        if (inShard(encodeName(path), shard)) share.add(path);
        continue;
      }
      if (st.nlink === 1n) {
        if (inShard(encodeName(path), shard)) share.add(path);
        continue;
      }
      const inode = `${st.dev}:${st.ino}`;
      const names = groups.get(inode);
      if (names) names.push(path);
      else groups.set(inode, [path]);
    }
    for (const names of groups.values()) {
      const least = names.map(encodeName).reduce((a, b) => (Buffer.compare(a, b) <= 0 ? a : b));
      if (inShard(least, shard)) for (const n of names) share.add(n);
    }
    // In the pass's order: a group's first name in it is the one its bytes are written under.
    return files.filter((f) => share.has(f));
  };
}

export const MANIFEST = 'manifest.json';
export const FILES = 'files';
const FORMAT = 'syslayer-shard';
const VERSION = 1;

/** What a shard result holds beside `files/`: enough for merge to check it and to record the bind. */
export interface ShardManifest {
  format: typeof FORMAT;
  version: typeof VERSION;
  key: string;
  keyParts: KeyParts;
  shard: Shard;
  /** The image as the shard's command line named it. */
  image: string;
  /** The target kernel (KERNEL_VERSION encoding) and the catalog's digest, as the state records them. */
  kernel: number;
  catalog: string;
  /** Every outcome of the share's clients, as the unsharded bind has them. */
  outcomes: FileOutcome[];
  /** The bound files under files/, with their sha256: the other names of a group are not there. */
  files: { path: string; sha256: string }[];
}

export function newManifest(m: Omit<ShardManifest, 'format' | 'version'>): ShardManifest {
  return { format: FORMAT, version: VERSION, ...m };
}

/** The manifest of the shard result `dir`; a RunError names the directory and what is wrong. */
export function readManifest(dir: string): ShardManifest {
  let m: Partial<ShardManifest>;
  try {
    m = JSON.parse(readFileSync(join(dir, MANIFEST), 'utf8')) as Partial<ShardManifest>;
  } catch (error) {
    throw new RunError(`${dir}: not a shard result (bind IMAGE --shard i/n -o ${dir} makes one): cannot read ${MANIFEST}: ${(error as Error).message}`);
  }
  if (m.format !== FORMAT || m.version !== VERSION || typeof m.key !== 'string' || !m.shard || !Number.isInteger(m.shard.index) || !Number.isInteger(m.shard.count)
    || !Array.isArray(m.outcomes) || !Array.isArray(m.files) || typeof m.kernel !== 'number' || typeof m.catalog !== 'string') {
    throw new RunError(`${dir}: ${MANIFEST} is not a shard manifest of this version (format ${FORMAT}, version ${VERSION})`);
  }
  return m as ShardManifest;
}

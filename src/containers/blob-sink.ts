// Where a rewritten layer goes: compressed as its media type says, into a file of the output
// layout's blob directory, hashed twice on the way (the uncompressed tar for the config's diff_id,
// the stored bytes for the descriptor's digest), and named by its digest once complete.
import { createWriteStream, mkdirSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { compressor, type Compression } from '../tar/compression.js';
import type { TarSink } from '../sinks/tar-sink.js';
import { blobPath } from './digest.js';
import { Measure } from './layer-stream.js';

export interface WrittenBlob {
  /** Its path in the output layout: blobs/sha256/<hex>. */
  path: string;
  digest: string;
  size: number;
  /** The digest of the uncompressed tar. */
  diffId: string;
}

export interface BlobSink extends TarSink {
  /** After `done`: what was written, now at its name. */
  written(): WrittenBlob;
}

export function blobSink(layout: string, compression: Compression): BlobSink {
  mkdirSync(join(layout, 'blobs/sha256'), { recursive: true });
  const temp = join(layout, 'blobs/sha256', `.incoming-${process.pid}-${Math.random().toString(36).slice(2)}`);
  const tar = new Measure();
  const stored = new Measure();
  const squeeze = compressor(compression);
  const file = createWriteStream(temp);
  const done = squeeze ? pipeline(tar, squeeze, stored, file) : pipeline(tar, stored, file);
  done.catch(() => {});
  let result: WrittenBlob | null = null;
  return {
    stream: tar,
    done,
    commit() {
      const digest = stored.digest();
      result = { path: blobPath(digest), digest, size: stored.bytes, diffId: tar.digest() };
      renameSync(temp, join(layout, result.path));
    },
    abandon() {
      tar.destroy();
      rmSync(temp, { force: true });
    },
    written() {
      if (result === null) throw new Error('the blob is not committed');
      return result;
    },
  };
}

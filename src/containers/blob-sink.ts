// Where a rewritten layer goes. The pass writes the layer's tar uncompressed into a work file of
// the output layout, hashed on the way (the config's diff_id). Only a layer in which something
// changed is then compressed as its media type says into its blob, hashed again (the
// descriptor's digest) and named by that digest: most layers of an image hold ELF files but no
// client, and compressing them (gzip at ~30 MB/s) only to throw the result away cost more than
// writing the tar once more to the page cache.
import { createReadStream, createWriteStream, mkdirSync, renameSync, rmSync } from 'node:fs';
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
  /** After `done`, for a layer that changed: its blob, compressed and named by its digest. */
  seal(): Promise<WrittenBlob>;
}

export function blobSink(layout: string, compression: Compression): BlobSink {
  const dir = join(layout, 'blobs/sha256');
  mkdirSync(dir, { recursive: true });
  const work = join(dir, `.incoming-${process.pid}-${Math.random().toString(36).slice(2)}`);
  const tar = new Measure();
  const done = pipeline(tar, createWriteStream(work));
  done.catch(() => {});
  const remove = () => {
    rmSync(work, { force: true });
    rmSync(`${work}.z`, { force: true });
  };
  return {
    stream: tar,
    done,
    // Nothing to move at the pass's end: seal() makes the blob, abandon() removes the work.
    commit() {},
    abandon() {
      tar.destroy();
      remove();
    },
    async seal() {
      const diffId = tar.digest();
      let stored = work;
      let digest = diffId;
      let size = tar.bytes;
      const squeeze = compressor(compression);
      if (squeeze) {
        const measure = new Measure();
        stored = `${work}.z`;
        await pipeline(createReadStream(work, { highWaterMark: 1 << 20 }), squeeze, measure, createWriteStream(stored));
        rmSync(work, { force: true });
        digest = measure.digest();
        size = measure.bytes;
      }
      const path = blobPath(digest);
      renameSync(stored, join(layout, path));
      return { path, digest, size, diffId };
    },
  };
}

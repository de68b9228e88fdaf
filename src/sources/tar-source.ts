// An image as one uncompressed tar stream: a tarball decompressed as its magic bytes said, or a
// directory packed by GNU tar (when the output is a tar stream, the directory goes through the
// same pass as a tarball would).
import { createReadStream } from 'node:fs';
import type { Readable } from 'node:stream';
import { decompressor } from '../tar/compression.js';
import { packDirectory } from '../tar/gnu-tar.js';
import type { ImageInput } from './detect.js';

export interface TarSource {
  stream: Readable;
  /**
   * Settles when whatever produces the stream has ended: a failure there (GNU tar packing, a
   * corrupt gzip stream) fails the pass, and an archive cut short is never committed.
   */
  done: Promise<void>;
}

export function openTarSource(input: ImageInput): TarSource {
  if (input.kind === 'directory') {
    const tar = packDirectory(input.path);
    return { stream: tar.child.stdout!, done: tar.exited };
  }
  if (input.kind !== 'tar') throw new Error(`${input.path} is not read as a tar stream`);
  // 1 MiB reads: the default 64 KiB made 5,000 reads of the clients tarball, 0.6 s of a 3.6 s scan.
  const file = createReadStream(input.path, { highWaterMark: 1 << 20 });
  const inflate = input.compression === 'none' ? null : decompressor(input.compression);
  const stream = inflate ?? file;
  if (inflate) {
    file.on('error', (error) => inflate.destroy(error));
    file.pipe(inflate);
  }
  const done = new Promise<void>((ok, fail) => stream.on('end', ok).on('error', fail));
  done.catch(() => {}); // awaited by the pass, which sees the same error through the stream first
  return { stream, done };
}

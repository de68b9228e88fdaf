// A layer's tar stream, read from its blob and checked on the way: the stored bytes against the
// descriptor's digest and size, the uncompressed tar against the config's diff_id. A mismatch is
// found at the end of the stream, after the pass has read every entry, so it fails the pass
// (`done` rejects) and nothing of the image is committed.
import { createHash } from 'node:crypto';
import { Transform } from 'node:stream';
import { ImageError } from '../errors.js';
import { COMPRESSIONS, decompressor, type Compression } from '../tar/compression.js';
import type { TarSource } from '../sources/tar-source.js';
import type { ImageFiles } from './image-files.js';
import type { LayerRef } from './image-set.js';

/** A pass-through that hashes what goes through it and counts it. */
export class Measure extends Transform {
  private readonly hash = createHash('sha256');
  bytes = 0;

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: () => void): void {
    this.hash.update(chunk);
    this.bytes += chunk.length;
    this.push(chunk);
    done();
  }

  private done: string | null = null;

  /** `sha256:<hex>`, once the stream has ended. */
  digest(): string {
    return (this.done ??= `sha256:${this.hash.digest('hex')}`);
  }
}

/** A classic docker archive does not say how a layer is compressed: its first bytes do. */
export function layerCompressionOf(files: ImageFiles, layer: LayerRef): Compression {
  if (layer.compression !== null) return layer.compression;
  const head = files.head(layer.path, 8);
  const c = COMPRESSIONS.find((f) => f.supported && f.magic.every((b, i) => head[i] === b));
  return (c?.name as Compression | undefined) ?? 'none';
}

export function openLayer(files: ImageFiles, layer: LayerRef, what: string): TarSource {
  const stored = files.stream(layer.path);
  const inflate = decompressor(layerCompressionOf(files, layer));
  const tarMeasure = new Measure();
  // An uncompressed layer's stored bytes are its tar: one hash serves both checks.
  const storedMeasure = inflate ? new Measure() : tarMeasure;
  const fail = (error: Error) => tarMeasure.destroy(error instanceof ImageError ? error : new ImageError(`${what}: ${error.message}`));
  stored.on('error', fail);
  if (inflate) {
    storedMeasure.on('error', fail);
    inflate.on('error', fail);
    stored.pipe(storedMeasure).pipe(inflate).pipe(tarMeasure);
  } else {
    stored.pipe(tarMeasure);
  }
  const done = new Promise<void>((ok, no) => {
    tarMeasure.on('error', no);
    tarMeasure.on('end', () => {
      if (layer.digest !== null && storedMeasure.digest() !== layer.digest) {
        no(new ImageError(`${what}: blob ${layer.digest} does not match its digest: its bytes are ${storedMeasure.digest()}`));
      } else if (layer.size !== null && storedMeasure.bytes !== layer.size) {
        no(new ImageError(`${what}: blob is ${storedMeasure.bytes} bytes, its descriptor says ${layer.size}`));
      } else if (tarMeasure.digest() !== layer.diffId) {
        no(new ImageError(`${what}: its uncompressed tar is ${tarMeasure.digest()}, the config's diff_id says ${layer.diffId}`));
      } else ok();
    });
  });
  done.catch(() => {});
  return { stream: tarMeasure, done };
}

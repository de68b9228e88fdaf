// The files a container image is made of (oci-layout, index.json, manifest.json, blobs), where
// they are: a directory (an OCI image layout), or the entries of a plain tar archive (an
// oci-archive or a `docker save` archive), read at their offsets in the archive without
// extracting it. Names are '/'-separated and relative; an archive's './' prefixes are dropped.
import { closeSync, createReadStream, existsSync, openSync, readFileSync, readSync, statSync } from 'node:fs';
import { join, posix } from 'node:path';
import { Readable } from 'node:stream';
import { ImageError } from '../errors.js';
import { walkTarHeaders } from '../tar/header-walk.js';
import { decodeName } from '../names/path-bytes.js';

export interface ImageFiles {
  /** The image's name, for messages. */
  name: string;
  has(path: string): boolean;
  size(path: string): number;
  /** The whole file (manifests, configs, indexes: small). */
  read(path: string): Buffer;
  /** Its first bytes (up to n), to tell its compression. */
  head(path: string, n: number): Buffer;
  /** The file as a stream (layers: large). */
  stream(path: string): Readable;
}

/** `length` bytes at `offset` of the file at `path`. */
function readAt(path: string, offset: number, length: number, file: string, image: string): Buffer {
  const bytes = Buffer.alloc(length);
  const fd = openSync(path, 'r');
  try {
    for (let at = 0; at < length;) {
      const n = readSync(fd, bytes, at, length - at, offset + at);
      if (n === 0) throw new ImageError(`${image}: ${file} is cut short`);
      at += n;
    }
  } finally {
    closeSync(fd);
  }
  return bytes;
}

const clean = (path: string) => path.replace(/^(\.\/)+/, '').replace(/^\/+/, '');

/** The files of an OCI image layout directory. Paths are taken as given: callers check them first. */
export function directoryFiles(dir: string, name: string): ImageFiles {
  const at = (path: string) => join(dir, clean(path));
  return {
    name,
    has: (path) => existsSync(at(path)) && statSync(at(path)).isFile(),
    size: (path) => statSync(at(path)).size,
    read: (path) => readFileSync(at(path)),
    head: (path, n) => readAt(at(path), 0, Math.min(n, statSync(at(path)).size), path, name),
    stream: (path) => createReadStream(at(path), { highWaterMark: 1 << 20 }),
  };
}

interface Span {
  offset: number;
  size: number;
}

/** The regular files of a plain tar archive, by name, found by one walk over its headers. */
export function archiveFiles(path: string, name: string): ImageFiles {
  const spans = new Map<string, Span>();
  // skopeo's classic docker archives link <id>/layer.tar to ../<digest>.tar: followed once all is read.
  const links: [string, string][] = [];
  const fd = openSync(path, 'r');
  try {
    for (const entry of walkTarHeaders({ fd, name })) {
      if (entry.type === 'symlink' || entry.type === 'hardlink') {
        const from = clean(decodeName(entry.name));
        const to = decodeName(entry.linkname);
        links.push([from, entry.type === 'hardlink' ? clean(to) : posix.normalize(posix.join(posix.dirname(from), to))]);
        continue;
      }
      if (entry.type !== 'file') continue;
      if (entry.sparse !== null) throw new ImageError(`${name}: ${decodeName(entry.name)} is a sparse file: not a container image's blob`);
      spans.set(clean(decodeName(entry.name)), { offset: entry.dataOffset, size: entry.dataSize });
    }
  } finally {
    closeSync(fd);
  }
  for (const [from, to] of links) {
    const target = spans.get(to);
    if (target) spans.set(from, target);
  }
  const span = (file: string): Span => {
    const s = spans.get(clean(file));
    if (s === undefined) throw new ImageError(`${name}: the archive has no file ${file}`);
    return s;
  };
  return {
    name,
    has: (file) => spans.has(clean(file)),
    size: (file) => span(file).size,
    read: (file) => readAt(path, span(file).offset, span(file).size, file, name),
    head: (file, n) => readAt(path, span(file).offset, Math.min(n, span(file).size), file, name),
    stream(file) {
      const s = span(file);
      return s.size === 0 ? Readable.from([]) : createReadStream(path, { start: s.offset, end: s.offset + s.size - 1, highWaterMark: 1 << 20 });
    },
  };
}

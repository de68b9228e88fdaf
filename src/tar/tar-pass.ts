// One streaming pass over a tar image (.tar or .tar.gz), optionally writing a rewritten copy in
// the same entry order. Memory stays bounded whatever the image's size: regular files up to
// BUFFERED_FILE bytes are held while a worker looks at them, at most WINDOW bytes of them at once
// (so several workers stay busy), and larger files stream straight through. Output is written
// beside its final name and renamed at the end; a failed or killed pass leaves no output there.
//
// The files to look at go to the visitor in groups (GROUP_FILES files or GROUP_BYTES bytes), each
// sent when it is full, or sooner when the window is full and its oldest file waits in the group.
// A group's bytes are copied into a buffer the visitor may move to a worker and back. The pass
// keeps each file's own bytes (slices of the chunks read) to write it if it stays as it was, so a
// group buffer never goes to the output, and is filled again for a later group: made once, used
// all run. (Made anew for each group and left to the garbage collector, they raised peak RSS
// binding a tarball of a Debian rootfs and 4,000 clients by ~25 MiB, 4 runs each.)
//
// The window counts what is held: a visited file's new bytes once they are back (a bound client is
// about twice its original's size). Peak RSS binding that tarball to a tarball, by window: 32 MiB
// 270-300 MiB, 16 MiB 240-280, 8 MiB 230-260, 4 MiB 225-235 (benchmarks/RESULTS.md); less
// held means less promoted to the old generation and freed late. 8 MiB still keeps two workers
// busy (eight groups of clients).
import './binary-pax.js';
import tarStream, { type Headers } from 'tar-stream';
import { createReadStream, createWriteStream, openSync, rmSync } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import type { Readable } from 'node:stream';
import { createGunzip, createGzip } from 'node:zlib';
import { ImageTree } from '../pipeline/image-tree.js';
import { entryPath, throughSymlink } from './entry-path.js';
import { ImageError, UsageError } from '../errors.js';
import { startsElf } from '../core/elf-magic.js';
import { commitWork, workBeside } from '../sinks/work-beside.js';

/** Regular files up to this size are held in memory (syslayer clients are far smaller). */
const BUFFERED_FILE = 16 * 1024 * 1024;
/** Bytes of held files waiting for their turn to be written (for visited files: the bytes that came back). */
const WINDOW = 8 * 1024 * 1024;
/**
 * Files per group visited at once (for the pool: per task, so the message round trip is noise),
 * and the group's bytes: enough groups fit in the window to keep every worker busy.
 */
const GROUP_FILES = 64;
const GROUP_BYTES = 1024 * 1024;
/** Bytes of a file `wants` is shown at least (all of a shorter file). */
const HEAD = 64;


export const isGzip = (path: string) => /\.(tar\.gz|tgz)$/.test(path);

export interface TarPassOptions {
  /** The image's name, for messages and to tell gzip by its extension. */
  input: string;
  /** The tar stream to read, when it is not the file `input` (a directory packed by GNU tar). */
  source?: NodeJS.ReadableStream;
  /** Settles when the process producing `source` has ended: a failure there fails the pass. */
  sourceDone?: Promise<void>;
  /** Where to write the rewritten image: a .tar or .tar.gz file, a stream (GNU tar extracting), or null. */
  output: string | NodeJS.WritableStream | null;
  /** Looks at a group of regular files, in entry order: see FileGroup and Visited. */
  visit: (group: FileGroup) => Promise<Visited>;
  /**
   * Which regular files `visit` wants, by path and first bytes (HEAD of them, or the whole file):
   * the others pass by (default: ELF files).
   */
  wants?: (path: string, head: Buffer) => boolean;
  /**
   * Which regular files can be wanted at all, by path. Without an output, the others are not even
   * read into memory (the catalog pass looks at a few files of a whole image).
   */
  mayWant?: (path: string) => boolean;
}

/**
 * Files to visit, their bytes back to back in a buffer of the pass's own (never a slice of Node's
 * pool of small buffers, which other buffers share). The buffer is lent to the visitor, which may
 * move it to another thread and back, and gives it back with the result.
 */
export interface FileGroup {
  buffer: ArrayBuffer;
  files: VisitedFile[];
}

export interface Visited {
  /** Each file's new bytes, or null to keep it as it was. */
  replaced: (Buffer | null)[];
  /** The group's buffer given back (after a move, the new ArrayBuffer), or null when it is lost. */
  buffer: ArrayBuffer | null;
}

export interface VisitedFile {
  path: string;
  /** A view of the group's buffer. */
  bytes: Buffer;
}

/**
 * An entry's bytes as the tar stream gave them: slices of the chunks read, not copied. A held
 * file keeps those chunks; the window counts the file's size, and the files held are contiguous
 * in the stream, so the chunks kept span about as many bytes.
 */
async function readEntry(stream: AsyncIterable<Buffer>, size: number): Promise<Buffer[]> {
  const chunks: Buffer[] = [];
  let at = 0;
  for await (const c of stream) {
    chunks.push(c);
    at += c.length;
  }
  if (at !== size) throw new Error(`an entry's contents are ${at} bytes, its header says ${size}`);
  return chunks;
}

function headOf(chunks: Buffer[]): Buffer {
  if (chunks.length === 1 || (chunks[0]?.length ?? 0) >= HEAD) return chunks[0] ?? Buffer.alloc(0);
  return Buffer.concat(chunks).subarray(0, HEAD);
}

interface Held {
  header: Headers;
  /** A file's bytes as read (a visited file's until new bytes replace them). */
  chunks: Buffer[] | null;
  size: number;
  /** A visited file's new bytes, or null, once its group has been looked at. */
  result: Promise<Buffer | null> | null;
  /** The group it was visited in. */
  group: number;
}

interface Pending {
  path: string;
  chunks: Buffer[];
  size: number;
  resolve(bytes: Buffer | null): void;
  reject(error: unknown): void;
}

/** Reads every entry, checks its name, and builds the image tree; returns the tree. */
export async function tarPass(o: TarPassOptions): Promise<ImageTree> {
  const tree = new ImageTree();
  const wants = o.wants ?? ((_path: string, bytes: Buffer) => startsElf(bytes));
  // The output file is opened before anything is read: a place that cannot be written to is
  // reported as such (the failed open names it), not as a stream torn down halfway.
  let temp: string | null = null;
  let outputFd: number | null = null;
  try {
    temp = typeof o.output === 'string' ? workBeside(o.output) : null;
    outputFd = temp ? openSync(temp, 'w', 0o666) : null;
  } catch (error) {
    // Nobody will read the source: a producer (GNU tar packing a directory) must not wait on it.
    (o.source as Readable | undefined)?.destroy();
    throw error;
  }
  const extract = tarStream.extract();
  const into = extract as unknown as NodeJS.WritableStream;
  const source = o.source ? pipeline(o.source, into)
    : isGzip(o.input) ? pipeline(createReadStream(o.input), createGunzip(), into) : pipeline(createReadStream(o.input), into);
  source.catch(() => {}); // the loop below sees the error through the extract stream

  let sink: Promise<void> | null = null;
  let pack: tarStream.Pack | null = null;
  if (typeof o.output === 'string') {
    pack = tarStream.pack();
    const from = pack as unknown as NodeJS.ReadableStream;
    const file = createWriteStream(temp!, { fd: outputFd! });
    sink = isGzip(o.output) ? pipeline(from, createGzip(), file) : pipeline(from, file);
    sink.catch(() => {});
  } else if (o.output) {
    pack = tarStream.pack();
    sink = pipeline(pack as unknown as NodeJS.ReadableStream, o.output);
    sink.catch(() => {});
  }
  /** Writes an entry: a file's bytes in as many pieces as they are, nothing for other entries. */
  const write = (header: Headers, chunks: Buffer[] | null) =>
    new Promise<void>((resolve, reject) => {
      const size = chunks ? chunks.reduce((n, c) => n + c.length, 0) : header.size;
      const sink = pack!.entry({ ...header, size }, (error) => (error ? reject(error) : resolve()));
      if (!chunks) return;
      for (const c of chunks) sink.write(c);
      sink.end();
    });

  // Group buffers given back, for the next groups; at most this many are kept (a few more are in
  // flight: the window bounds those).
  const spare: ArrayBuffer[] = [];
  const SPARE = Math.ceil(WINDOW / GROUP_BYTES) + 2;
  const bufferFor = (size: number): ArrayBuffer => {
    let best = -1;
    spare.forEach((b, i) => {
      if (b.byteLength >= size && (best < 0 || b.byteLength < spare[best]!.byteLength)) best = i;
    });
    return best >= 0 ? spare.splice(best, 1)[0]! : new ArrayBuffer(Math.max(size, GROUP_BYTES));
  };
  const giveBack = (buffer: ArrayBuffer | null) => {
    if (buffer && buffer.byteLength > 0 && spare.length < SPARE) spare.push(buffer);
  };

  // The group being filled, and its number (the groups before it are with the visitor).
  let group: Pending[] = [];
  let groupBytes = 0;
  let groupNumber = 0;
  const sendGroup = () => {
    const pending = group;
    group = [];
    groupBytes = 0;
    groupNumber++;
    if (pending.length === 0) return;
    const buffer = bufferFor(pending.reduce((n, f) => n + f.size, 0));
    let at = 0;
    const files = pending.map(({ path, chunks, size }) => {
      const bytes = Buffer.from(buffer, at, size);
      let into = 0;
      for (const c of chunks) into += c.copy(bytes, into);
      at += size;
      return { path, bytes };
    });
    const visited = (async () => o.visit({ buffer, files }))();
    visited.then(({ replaced, buffer: back }) => {
      giveBack(back);
      pending.forEach((f, i) => f.resolve(replaced[i] ?? null));
    }, (error) => pending.forEach((f) => f.reject(error)));
  };
  const visit = (path: string, chunks: Buffer[], size: number): Promise<Buffer | null> => {
    const result = new Promise<Buffer | null>((resolve, reject) => group.push({ path, chunks, size, resolve, reject }));
    groupBytes += size;
    if (group.length >= GROUP_FILES || groupBytes >= GROUP_BYTES) sendGroup();
    return result;
  };

  const held: Held[] = [];
  let heldBytes = 0;
  const flushOne = async () => {
    const h = held.shift()!;
    if (h.result && h.group === groupNumber) sendGroup(); // it waits in the group being filled
    const replaced = h.result ? await h.result : null;
    heldBytes -= h.size;
    if (pack) await write(h.header, replaced ? [replaced] : h.chunks);
  };

  try {
    for await (const entry of extract) {
      const header = entry.header;
      const checked = entryPath(header.name);
      if (!checked.ok) throw new ImageError(`${o.input}: ${checked.reason}`);
      const path = checked.path;
      const escape = throughSymlink(tree, path);
      if (escape) throw new ImageError(`${o.input}: ${escape}`);
      if (header.type === 'link') {
        const target = entryPath(header.linkname ?? '');
        if (!target.ok) throw new ImageError(`${o.input}: hardlink '${path}' points outside the image: ${target.reason}`);
      }
      if (path !== '') {
        tree.add(path, header.type === 'directory' ? { kind: 'dir' } : header.type === 'symlink' ? { kind: 'symlink', target: header.linkname ?? '' }
          : header.type === 'file' || header.type === 'contiguous-file' || header.type === 'link' ? { kind: 'file' } : { kind: 'other' });
      }

      if (!pack && o.mayWant && !o.mayWant(path)) {
        entry.resume();
        continue;
      }
      if (header.type !== 'file' && header.type !== 'contiguous-file') {
        entry.resume();
        if (pack) held.push({ header, chunks: null, size: 0, result: null, group: -1 });
      } else if ((header.size ?? 0) > BUFFERED_FILE) {
        // Too big to hold: let everything before it out, then stream it through untouched.
        while (held.length > 0) await flushOne();
        if (pack) await pipeline(entry as unknown as NodeJS.ReadableStream, pack.entry(header) as unknown as NodeJS.WritableStream);
        else entry.resume();
        continue;
      } else {
        const size = header.size ?? 0;
        const chunks = await readEntry(entry, size);
        if (wants(path, headOf(chunks))) {
          const inGroup = groupNumber;
          const result = visit(path, chunks, size);
          // Its own bytes are kept to write it if it stays as it was; with no output, not at all.
          const h: Held = { header, chunks: pack ? chunks : null, size, result, group: inGroup };
          // New bytes take the place of the file's in the window (a bound client is twice its
          // original's size). This runs before the flushOne that waits for the same result: it was
          // registered first.
          result.then((replaced) => {
            if (!replaced) return;
            h.chunks = null;
            heldBytes += replaced.length - h.size;
            h.size = replaced.length;
          }, () => {}); // a failure is seen when its turn comes
          held.push(h);
          heldBytes += size;
        } else if (pack) {
          held.push({ header, chunks, size, result: null, group: -1 });
          heldBytes += size;
        }
      }
      while (heldBytes > WINDOW || held.length > 4096) await flushOne();
    }
    while (held.length > 0) await flushOne();
    await source;
    await o.sourceDone; // an archive cut short by its producer must not be committed
    if (pack && sink) {
      pack.finalize();
      await sink;
      if (temp && typeof o.output === 'string') commitWork(temp, o.output);
    }
    return tree;
  } catch (error) {
    extract.destroy();
    pack?.destroy();
    if (temp) rmSync(temp, { force: true });
    if (error instanceof ImageError || error instanceof UsageError) throw error;
    throw new ImageError(`${o.input}: ${(error as Error).message}`);
  }
}

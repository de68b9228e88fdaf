// One streaming pass over a tar stream, optionally writing a rewritten copy in the same entry
// order. Memory stays bounded whatever the image's size: regular files up to
// BUFFERED_FILE bytes are held while a worker looks at them, at most WINDOW bytes of them at once
// (so several workers stay busy), and larger files stream straight through. Measured here: 189
// MiB peak RSS for a 1.2 GB tarball, 192 MiB for 2.4 GB (with 64/64 MiB: 323 and 375 MiB). Where the
// stream comes from and goes to (files, compression, GNU tar, standard input and output) is the
// business of src/sources/ and src/sinks/.
import './binary-pax.js';
import tarStream, { type Headers } from 'tar-stream';
import { pipeline } from 'node:stream/promises';
import { ImageTree } from '../pipeline/image-tree.js';
import { entryPath, throughSymlink } from './entry-path.js';
import { ImageError, RunError, UsageError } from '../errors.js';
import type { TarSource } from '../sources/tar-source.js';
import type { TarSink } from '../sinks/tar-sink.js';
import { startsElf } from '../core/elf-magic.js';
import { treeEntryOf } from './tree-entry.js';
import { decodeEntryNames, headerToWrite } from './entry-names.js';
import { printable } from '../names/path-bytes.js';

/** Regular files up to this size are held in memory (syslayer clients are far smaller). */
const BUFFERED_FILE = 16 * 1024 * 1024;
/** Bytes of held files waiting for their turn to be written. */
const WINDOW = 32 * 1024 * 1024;



export interface TarPassOptions {
  /** The image's name, for messages. */
  name: string;
  /** The image as an uncompressed tar stream (src/sources/tar-source.ts). */
  source: TarSource;
  /** Where the rewritten tar stream goes (src/sinks/tar-sink.ts), or null: nothing is written. */
  output: TarSink | null;
  /** Looks at a regular file's bytes; resolves to new bytes, or null to keep them. */
  visit: (path: string, bytes: Buffer) => Promise<Buffer | null>;
  /** Which regular files `visit` wants (by path and contents): the others pass by (default: ELF files). */
  wants?: (path: string, bytes: Buffer) => boolean;
  /**
   * Which regular files can be wanted at all, by path. Without an output, the others are not even
   * read into memory (the catalog pass looks at a few files of a whole image).
   */
  mayWant?: (path: string) => boolean;
}

async function readAll(stream: AsyncIterable<Buffer>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c);
  return Buffer.concat(chunks);
}

interface Held {
  header: Headers;
  bytes: Buffer | null;
  result: Promise<Buffer | null>;
}

/**
 * Reads every entry, checks its name, and builds the image tree; returns the tree once the output
 * (if any) has every byte. The caller commits or abandons the output.
 */
export async function tarPass(o: TarPassOptions): Promise<ImageTree> {
  const tree = new ImageTree();
  const wants = o.wants ?? ((_path: string, bytes: Buffer) => startsElf(bytes));
  // Names as bytes, one char each: entry-names.ts makes names of them.
  const extract = tarStream.extract({ filenameEncoding: 'latin1' });
  const input = pipeline(o.source.stream, extract as unknown as NodeJS.WritableStream);
  input.catch(() => {}); // the loop below sees the error through the extract stream

  const pack = o.output ? tarStream.pack() : null;
  const output = pack ? pipeline(pack as unknown as NodeJS.ReadableStream, o.output!.stream) : null;
  let outputFailure: Error | null = null;
  output?.catch((error: Error) => (outputFailure = error));
  const write = (header: Headers, bytes: Buffer | null) =>
    new Promise<void>((resolve, reject) => {
      const sink = pack!.entry(headerToWrite(bytes ? { ...header, size: bytes.length } : header), bytes ?? undefined, (error) => (error ? reject(error) : resolve()));
      // When the output fails (a reader closed standard output), the pack destroys the entry with
      // that error: the callback reports it; the event must not go unheard.
      sink.on('error', () => {});
    });

  const held: Held[] = [];
  let heldBytes = 0;
  const flushOne = async () => {
    const h = held.shift()!;
    const replaced = await h.result;
    heldBytes -= h.bytes?.length ?? 0;
    if (pack) await write(h.header, replaced ?? h.bytes);
  };

  try {
    for await (const entry of extract) {
      const header = entry.header;
      decodeEntryNames(header);
      const checked = entryPath(header.name);
      if (!checked.ok) throw new ImageError(`${o.name}: ${checked.reason}`);
      const path = checked.path;
      const escape = throughSymlink(tree, path);
      if (escape) throw new ImageError(`${o.name}: ${escape}`);
      if (header.type === 'link') {
        const target = entryPath(header.linkname ?? '');
        if (!target.ok) throw new ImageError(`${o.name}: hardlink '${printable(path)}' points outside the image: ${target.reason}`);
      }
      if (path !== '') {
        tree.add(path, treeEntryOf(header.type ?? 'file', () => header.linkname ?? ''));
      }

      if (!pack && o.mayWant && !o.mayWant(path)) {
        entry.resume();
        continue;
      }
      if (header.type !== 'file' && header.type !== 'contiguous-file') {
        entry.resume();
        held.push({ header, bytes: null, result: Promise.resolve(null) });
      } else if ((header.size ?? 0) > BUFFERED_FILE) {
        // Too big to hold: let everything before it out, then stream it through untouched.
        while (held.length > 0) await flushOne();
        if (pack) await pipeline(entry as unknown as NodeJS.ReadableStream, pack.entry(headerToWrite(header)) as unknown as NodeJS.WritableStream);
        else entry.resume();
        continue;
      } else {
        const bytes = await readAll(entry);
        const result = wants(path, bytes) ? o.visit(path, bytes) : Promise.resolve(null);
        result.catch(() => {});
        held.push({ header, bytes, result });
        heldBytes += bytes.length;
      }
      while (heldBytes > WINDOW || held.length > 4096) await flushOne();
    }
    while (held.length > 0) await flushOne();
    await input;
    await o.source.done; // an archive cut short by its producer must not be committed
    if (pack) {
      pack.finalize();
      await output;
      await o.output!.done;
    }
    return tree;
  } catch (thrown) {
    // When the output failed (a full disk, a reader that closed standard output), the pass broke
    // off writing into the torn-down pack: the output's failure is the cause to report. It is
    // known once the events already queued have run.
    await new Promise((resolve) => setImmediate(resolve));
    const error = (outputFailure as Error | null) ?? thrown;
    extract.destroy();
    pack?.destroy();
    o.source.stream.destroy();
    if (error instanceof RunError || error instanceof UsageError) throw error;
    throw new ImageError(`${o.name}: ${(error as Error).message}`);
  }
}

// One streaming pass over a tar stream, optionally writing a rewritten copy. The copy is the input
// itself, byte for byte, except where a visited file's contents changed: there the entry's data is
// replaced and its size field (and, if it has one, its PAX `size` record) and checksum are
// rewritten; every other byte of every header — names of any encoding, PAX records, xattrs, GNU
// long names, sparse maps, times to the nanosecond, unknown entry types — and the archive's end
// blocks go through as they came. So an unbind of a bound tarball gives back the original bytes.
//
// Why not a tar library here: tar-stream, the one we used, decodes each header and encodes it
// again (its pack writes its own headers, so names, PAX records and field formats change), and
// even with nothing to do, its extract -> pack took 15.7 s for a 1.2 GB tarball where bsdtar took
// 7.4 s and cat 7.1 s (2-core machine, busy). Passing bytes through needs only the few fields in
// tar-header.ts. The header walk (header-walk.ts) is the same reading for a file at offsets.
//
// Memory stays bounded whatever the image's size: regular files up to BUFFERED_FILE bytes are held
// while `visit` looks at them, at most WINDOW bytes of them at once (so several workers stay busy),
// and larger entries stream straight through. Where the stream comes from and goes to (files,
// compression, GNU tar, standard input and output) is the business of src/sources/ and src/sinks/.
//
// The files to look at go to the visitor in groups (GROUP_FILES files or GROUP_BYTES bytes), each
// sent when it is full, or sooner when the window is full and its oldest file waits in the group.
// A group's bytes are copied into one buffer of its own, which the visitor may move to a worker:
// the pass keeps each entry as it came (views of the chunks read) to write it if it stays as it
// was. The window counts what is held: a visited file's new bytes once they are back (a bound
// client is about twice its original's size). `wants` sees a file's first bytes, not a copy of
// all of them (that copy of every file up to 16 MiB raised peak RSS binding the 1.2 GB tarball of
// tar-memory.mjs by ~20 MiB).
import type { Writable } from 'node:stream';
import { ImageTree } from '../pipeline/image-tree.js';
import { entryPath, throughSymlink } from './entry-path.js';
import { ImageError, RunError, UsageError } from '../errors.js';
import type { TarSource } from '../sources/tar-source.js';
import type { TarSink } from '../sinks/tar-sink.js';
import { startsElf } from '../core/elf-magic.js';
import { treeEntryOf } from './tree-entry.js';
import { decodeName, printable } from '../names/path-bytes.js';
import { ByteQueue } from '../util/byte-queue.js';
import { BLOCK, checksumMatches, entryType, field, headerName, numberField, padded, paxRecord, parsePax, setSize, type PaxRecord } from './tar-header.js';

/** Regular files up to this size are held in memory (syslayer clients are far smaller). */
const BUFFERED_FILE = 16 * 1024 * 1024;
/** Bytes of held files waiting for their turn to be written (for visited files: the bytes that came back). */
const WINDOW = 32 * 1024 * 1024;
/**
 * Files per group visited at once (for the pool: per task, so the message round trip is noise),
 * and the group's bytes: many groups fit in the window, to keep every worker busy.
 */
const GROUP_FILES = 64;
const GROUP_BYTES = 1024 * 1024;
/** Bytes of a file `wants` is shown at least (all of a shorter file). */
const HEAD = 64;
/** Output is written in pieces of about this size: one write per entry would be 100,000 writes. */
const WRITE_SIZE = 1024 * 1024;
/** The longest GNU long name or PAX header taken (xattrs can be long; no name comes near). */
const MAX_META = 16 * 1024 * 1024;

export interface TarPassOptions {
  /** The image's name, for messages. */
  name: string;
  /** The image as an uncompressed tar stream (src/sources/tar-source.ts). */
  source: TarSource;
  /** Where the rewritten tar stream goes (src/sinks/tar-sink.ts), or null: nothing is written. */
  output: TarSink | null;
  /** Looks at a group of regular files, in entry order; resolves to each one's new bytes, or null to keep it. */
  visit: (group: FileGroup) => Promise<(Buffer | null)[]>;
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
 * Files to visit, their bytes back to back in one buffer made for the group (never a slice of
 * Node's pool of small buffers, which other buffers share). The buffer is the visitor's: it may
 * move it to another thread; the pass keeps no reference to it.
 */
export interface FileGroup {
  buffer: ArrayBuffer;
  files: VisitedFile[];
}

export interface VisitedFile {
  path: string;
  /** A view of the group's buffer. */
  bytes: Buffer;
}

/** A file waiting in the group being filled: its bytes as read. */
interface Pending {
  path: string;
  data: Buffer[];
  size: number;
  resolve(bytes: Buffer | null): void;
  reject(error: unknown): void;
}

/** The type bytes the pass treats apart (the others: entryType in tar-header.ts). */
const TYPE = { directory: 0x35, sparse: 0x53, longName: 0x4c, longLink: 0x4b, pax: 0x78, solarisPax: 0x58, paxGlobal: 0x67 } as const;

/** An extended header before an entry ('L', 'K', 'x'): its blocks as they came, and what they say. */
interface Meta {
  type: number;
  header: Buffer;
  /** Its data with the padding, as it came. */
  data: Buffer;
  body: Buffer;
  records: PaxRecord[] | null;
}

/** An entry's header blocks: extended headers, the header, GNU sparse extension blocks. */
interface Head {
  meta: Meta[];
  header: Buffer;
  extensions: Buffer[];
}

interface Held {
  /** The entry as it came, to write when it stays as it was (empty without an output). */
  raw: Buffer[];
  /** Bytes of file data held (for a visited file, once new bytes are back: theirs). */
  weight: number;
  /** For a visited file: its head, what the visit made of it, and the group it went in. */
  visit: { head: Head; result: Promise<Buffer | null>; group: number } | null;
}

/** A file's first HEAD bytes (or all of a shorter one), from its slices of the chunks read. */
function headOf(data: Buffer[]): Buffer {
  if (data.length <= 1 || data[0]!.length >= HEAD) return data[0] ?? Buffer.alloc(0);
  const first: Buffer[] = [];
  for (let n = 0; n < HEAD && first.length < data.length; n += first[first.length - 1]!.length) first.push(data[first.length]!);
  return Buffer.concat(first).subarray(0, HEAD);
}

const isZero = (block: Buffer) => {
  for (let i = 0; i < BLOCK; i++) if (block[i] !== 0) return false;
  return true;
};

/** The head of a file whose contents became `size` bytes long. */
function resized(head: Head, size: number): Buffer[] {
  const parts: Buffer[] = [];
  for (const m of head.meta) {
    if (m.records?.some((r) => r.key === 'size')) {
      const body = Buffer.concat(m.records.map((r) => (r.key === 'size' ? paxRecord('size', Buffer.from(String(size))) : r.raw)));
      const header = Buffer.from(m.header);
      setSize(header, body.length);
      parts.push(header, body, Buffer.alloc(padded(body.length) - body.length));
    } else {
      parts.push(m.header, m.data);
    }
  }
  const header = Buffer.from(head.header);
  setSize(header, size);
  return [...parts, header, ...head.extensions];
}

/** Writes pieces of the output in order, gathered into writes of about WRITE_SIZE, with backpressure. */
class Writer {
  private parts: Buffer[] = [];
  private bytes = 0;
  /** Why the output failed (a full disk, a reader that closed standard output), once it has. */
  failure: Error | null = null;

  constructor(private readonly stream: Writable) {
    stream.on('error', (error) => (this.failure ??= error));
  }

  async write(pieces: readonly Buffer[]): Promise<void> {
    for (const p of pieces) {
      if (p.length === 0) continue;
      this.parts.push(p);
      this.bytes += p.length;
    }
    if (this.bytes >= WRITE_SIZE) await this.flush();
  }

  async flush(): Promise<void> {
    if (this.failure) throw this.failure;
    if (this.bytes === 0) return;
    // Pieces are views of the chunks read (never reused by their producers); many small ones are
    // gathered into one copy.
    const chunk = this.parts.length === 1 ? this.parts[0]! : Buffer.concat(this.parts, this.bytes);
    this.parts = [];
    this.bytes = 0;
    if (this.stream.write(chunk)) return;
    await new Promise<void>((resolve, reject) => {
      const done = (error?: Error) => {
        this.stream.off('drain', done);
        this.stream.off('error', done);
        this.stream.off('close', closed);
        if (error) reject(error);
        else resolve();
      };
      const closed = () => done(this.failure ?? new Error('the output closed'));
      this.stream.on('drain', done).on('error', done).on('close', closed);
    });
  }

  async end(): Promise<void> {
    await this.flush();
    this.stream.end();
  }
}

/**
 * Reads every entry, checks its name, and builds the image tree; returns the tree once the output
 * (if any) has every byte. The caller commits or abandons the output.
 */
export async function tarPass(o: TarPassOptions): Promise<ImageTree> {
  const tree = new ImageTree();
  const wants = o.wants ?? ((_path: string, bytes: Buffer) => startsElf(bytes));
  const input = new ByteQueue(o.source.stream);
  const out = o.output ? new Writer(o.output.stream) : null;
  const fail = (at: number, problem: string) => new ImageError(`${o.name}: header at byte ${at}: ${problem}`);

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
    const buffer = Buffer.allocUnsafeSlow(pending.reduce((n, f) => n + f.size, 0)).buffer as ArrayBuffer;
    let at = 0;
    const files = pending.map(({ path, data, size }) => {
      const bytes = Buffer.from(buffer, at, size);
      let into = 0;
      for (const d of data) into += d.copy(bytes, into);
      at += size;
      return { path, bytes };
    });
    const visited = (async () => o.visit({ buffer, files }))();
    visited.then((replaced) => pending.forEach((f, i) => f.resolve(replaced[i] ?? null)), (error) => pending.forEach((f) => f.reject(error)));
  };
  const visit = (path: string, data: Buffer[], size: number): Promise<Buffer | null> => {
    const result = new Promise<Buffer | null>((resolve, reject) => group.push({ path, data, size, resolve, reject }));
    groupBytes += size;
    if (group.length >= GROUP_FILES || groupBytes >= GROUP_BYTES) sendGroup();
    return result;
  };

  const held: Held[] = [];
  let heldBytes = 0;
  const flushOne = async () => {
    const h = held.shift()!;
    if (h.visit && h.visit.group === groupNumber) sendGroup(); // it waits in the group being filled
    const replaced = h.visit ? await h.visit.result : null;
    heldBytes -= h.weight;
    if (!out) return;
    if (replaced) await out.write([...resized(h.visit!.head, replaced.length), replaced, Buffer.alloc(padded(replaced.length) - replaced.length)]);
    else await out.write(h.raw);
  };
  const hold = async (h: Held) => {
    held.push(h);
    heldBytes += h.weight;
    while (heldBytes > WINDOW || held.length > 4096) await flushOne();
  };
  /** The next `n` bytes, which the archive must have. */
  const need = async (n: number, at: number, what: string) => {
    if ((await input.fill(n)) < n) throw fail(at, `the archive ends inside ${what}`);
  };
  /** Passes `n` bytes through to the output (or skips them), a chunk at a time. */
  const passThrough = async (n: number, at: number) => {
    for (let left = n; left > 0;) {
      if ((await input.fill(1)) === 0) throw fail(at, `the archive ends ${left} bytes before the end of this entry's data`);
      const pieces = input.takeSome(left);
      for (const p of pieces) left -= p.length;
      if (out) await out.write(pieces);
    }
  };

  const globals = new Map<string, Buffer>();
  let meta: Meta[] = [];
  try {
    for (;;) {
      const at = input.position;
      const got = await input.fill(BLOCK);
      if (got === 0) {
        if (meta.length > 0) throw fail(at, 'the archive ends after an extended header, before its entry');
        break; // no end blocks: GNU tar accepts such an archive too
      }
      if (got < BLOCK) throw fail(at, `truncated header: the archive ends ${got} bytes into it`);
      const block = input.take(BLOCK);
      if (isZero(block)) {
        if (meta.length > 0) throw fail(at, 'a zero block follows an extended header instead of its entry');
        // The end: the zero blocks and whatever follows them (the record's padding) go as they are.
        while (held.length > 0) await flushOne();
        if (out) await out.write([block]);
        while ((await input.fill(1)) > 0) {
          const rest = input.takeSome(WRITE_SIZE);
          if (out) await out.write(rest);
        }
        break;
      }
      if (!checksumMatches(block)) throw fail(at, at === 0 ? 'not a tar archive (the first header\'s checksum does not match)' : 'checksum does not match: the archive is corrupt');
      const type = block[156]!;
      const stored = numberField(block, 124, 12);
      if (typeof stored !== 'number') throw fail(at, `size field '${printable(block.toString('latin1', 124, 136))}' is ${stored}`);

      if (type === TYPE.longName || type === TYPE.longLink || type === TYPE.pax || type === TYPE.solarisPax || type === TYPE.paxGlobal) {
        if (stored > MAX_META) throw fail(at, `an extended header of ${stored} bytes (at most ${MAX_META} taken)`);
        await need(padded(stored), at, 'an extended header');
        const data = input.take(padded(stored));
        const body = data.subarray(0, stored);
        const isPax = type !== TYPE.longName && type !== TYPE.longLink;
        const records = isPax ? parsePax(body) : null;
        if (isPax && records === null) throw fail(at, 'malformed PAX extended header');
        if (type === TYPE.paxGlobal) {
          for (const r of records!) globals.set(r.key, r.value);
          await hold({ raw: out ? [block, data] : [], weight: 0, visit: null });
        } else {
          meta.push({ type, header: block, data, body, records });
        }
        continue;
      }

      // GNU's old sparse format: the header's map continues in extension blocks.
      const extensions: Buffer[] = [];
      if (type === TYPE.sparse && block[482] !== 0) {
        for (let more = true; more;) {
          await need(BLOCK, input.position, 'a sparse header');
          const ext = input.take(BLOCK);
          extensions.push(ext);
          more = ext[504] !== 0;
        }
      }

      // What the extended headers say wins over the header's fields: the entry's own PAX records,
      // then global ones, then GNU long names.
      const pax = new Map(globals);
      let longName: Buffer | null = null;
      let longLink: Buffer | null = null;
      for (const m of meta) {
        if (m.type === TYPE.longName) longName = field(m.body, 0, m.body.length);
        else if (m.type === TYPE.longLink) longLink = field(m.body, 0, m.body.length);
        else for (const r of m.records!) pax.set(r.key, r.value);
      }
      const nameBytes = pax.get('path') ?? longName ?? headerName(block);
      const linkBytes = pax.get('linkpath') ?? longLink ?? field(block, 157, 100);
      const paxSize = pax.get('size');
      const size = paxSize !== undefined && paxSize.length > 0 ? Number(paxSize.toString('latin1')) : stored;
      if (!Number.isSafeInteger(size) || size < 0) throw fail(at, `PAX size '${printable(paxSize!.toString('latin1'))}' is not a number`);
      const kind = entryType(type, nameBytes);
      // GNU tar reads no data after a directory's header, whatever its size field says.
      const dataSize = type === TYPE.directory ? 0 : size;
      const head: Head = { meta, header: block, extensions };
      meta = [];

      const checked = entryPath(decodeName(nameBytes));
      if (!checked.ok) throw new ImageError(`${o.name}: ${checked.reason}`);
      const path = checked.path;
      const escape = throughSymlink(tree, path);
      if (escape) throw new ImageError(`${o.name}: ${escape}`);
      if (kind === 'hardlink') {
        const target = entryPath(decodeName(linkBytes));
        if (!target.ok) throw new ImageError(`${o.name}: hardlink '${printable(path)}' points outside the image: ${target.reason}`);
      }
      if (path !== '') tree.add(path, treeEntryOf(kind, () => decodeName(linkBytes)));

      const headBlocks = [...head.meta.flatMap((m) => [m.header, m.data]), block, ...extensions];
      // A sparse file's stored data is not its contents: it goes through as it is.
      const regular = (kind === 'file' || kind === 'contiguous') && type !== TYPE.sparse;
      const looked = regular && dataSize <= BUFFERED_FILE && (out !== null || !o.mayWant || o.mayWant(path));
      if (!looked) {
        // Not to be looked at: what is held goes first, then this entry streams through.
        if (out) {
          while (held.length > 0) await flushOne();
          await out.write(headBlocks);
        }
        await passThrough(padded(dataSize), at);
        continue;
      }
      await need(padded(dataSize), at, `the data of '${printable(path)}'`);
      const data = input.slices(dataSize);
      const padding = input.slices(padded(dataSize) - dataSize);
      const raw = out ? [...headBlocks, ...data, ...padding] : [];
      if (wants(path, headOf(data))) {
        const inGroup = groupNumber;
        const result = visit(path, data, dataSize);
        const h: Held = { raw, weight: dataSize, visit: { head, result, group: inGroup } };
        // New bytes take the place of the entry's in the window, and what it came as is let go.
        // (This runs before the flushOne that waits for the same result: it was registered first.)
        result.then((replaced) => {
          if (!replaced) return;
          h.raw = [];
          heldBytes += replaced.length - h.weight;
          h.weight = replaced.length;
        }, () => {}); // a failure is seen in order, by flushOne
        await hold(h);
      } else {
        await hold({ raw, weight: dataSize, visit: null });
      }
    }
    while (held.length > 0) await flushOne();
    await o.source.done; // an archive cut short by its producer must not be committed
    if (out) {
      await out.end();
      await o.output!.done;
    }
    return tree;
  } catch (thrown) {
    // When the output failed (a full disk, a reader that closed standard output), that is the
    // cause to report; it is known once the events already queued have run.
    await new Promise((resolve) => setImmediate(resolve));
    const error = out?.failure ?? thrown;
    o.source.stream.destroy();
    if (error instanceof RunError || error instanceof UsageError) throw error;
    throw new ImageError(`${o.name}: ${(error as Error).message}`);
  }
}

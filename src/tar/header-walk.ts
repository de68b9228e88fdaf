// The entries of a plain (uncompressed) tar file, read header by header at their offsets: entry
// data is skipped, not read, unless a caller asks for it. This is what a catalog pass needs (the
// shape of the tree, a few small files read whole) without reading every byte of the archive.
//
//   for (const entry of walkTarHeaders('rootfs.tar')) {
//     entry.name        // Buffer: the name's bytes as stored (never decoded here), e.g. "./usr/lib/"
//     entry.type        // 'file' | 'hardlink' | 'symlink' | 'directory' | 'char' | 'block' | 'fifo' | 'contiguous' | 'other'
//     entry.linkname    // Buffer: a symlink's target or a hardlink's first name (empty otherwise)
//     entry.size        // the content's length: what read() returns (a sparse file's expanded size)
//     entry.dataOffset  // where the stored bytes begin in the archive, entry.dataSize how many there are
//     entry.read()      // the content, read now (entry.read(position, length) for a part of it)
//   }
//
// walkTarHeaders(path) opens the file and closes it when the loop ends (break included); entries
// can read their data until then. walkTarHeaders({ fd, name }) reads an fd that the caller owns
// and closes; `name` is only for messages. Reads are pread()s (readSync at a position), so the fd's
// own offset is neither used nor moved.
//
// What it reads. Header blocks are checked (checksum, as unsigned or signed sums, as GNU tar
// accepts) and decoded: ustar names with their prefix (POSIX magic only: GNU's header keeps other
// fields there; star's 131-byte prefix too), GNU long names and long links ('L', 'K', the part
// before their first NUL), PAX extended headers ('x', and Solaris 'X'; 'g' globals apply to every
// entry after them until a later global changes them) of which `path`, `linkpath` and `size` are
// used (an empty value unsets the keyword), sizes in octal or GNU base-256. A PAX value (the
// entry's own, else a global one) wins over a GNU long name, which wins over the header's field. Records of other keywords (xattrs, times)
// are checked for their framing but their values are skipped, never copied. Names keep their
// trailing '/' and leading "./" as stored.
//
// Types follow GNU tar: '0', NUL and '7' with a name ending in '/' are directories (old and BSD
// tars wrote them so); 'D' (GNU dumpdir) is a directory. Data follows every header but a
// directory's ('5': GNU tar skips `size` bytes after any other type, and none after '5', whatever
// its size field says). A hardlink normally has no data; content is the first name's.
//
// Sparse files: GNU's old 'S' headers (map in the header and its extension blocks) and PAX sparse
// entries of versions 0.0 (GNU.sparse.offset/numbytes records), 0.1 (GNU.sparse.map) and 1.0 (map
// at the start of the data) are files whose `name` is the real one (GNU.sparse.name) and whose
// `size` is the real size; `sparse` lists the stored chunks, and read() expands the holes to zeros.
// Other sparse versions are refused.
//
// Defences. Every size is checked against the file's size before anything is read or allocated
// for it, and names, PAX values and sparse maps are copied at their exact length, within caps
// (MAX_NAME_BYTES, MAX_SPARSE_CHUNKS) that no real image comes near. A problem is a TarFormatError
// (an ImageError: the image is refused as a whole) whose message names the archive, the byte
// offset of the header at fault and the problem, on one line: "rootfs.tar: header at byte 5120:
// checksum 6520 (octal) does not match the header's sum 6521". Two zero blocks end the archive
// (as does the end of the file on a block boundary; what follows the end is not read); one zero
// block followed by a header is an error, as is a header cut short by the end of the file.
//
// Measured (benchmarks/tar-header-walk.mjs, a Debian rootfs tarball of 12,864 entries and 303 MB,
// page cache warm, on a loaded 2-core machine): about 45 ms and 4,316 reads of 71 MB, where
// tar-stream takes 400-900 ms over every byte; with a 632 MB tarball added as two entries, the
// walk still reads 71 MB, where reading the whole file fetches all 932 MB from disk when cold.
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { ImageError } from '../errors.js';
import { COMPRESSIONS } from './compression.js';
import { BLOCK, entryType, field, headerName, numberField as readNumber, padded, type TarEntryType } from './tar-header.js';

export type { TarEntryType };

/** One stored chunk of a sparse file: `length` bytes of content at `offset`, stored at `archiveOffset`. */
export interface SparseChunk {
  readonly offset: number;
  readonly length: number;
  readonly archiveOffset: number;
}

/** A plain tar file to read: an fd the caller owns, and the name to put in messages. */
export interface TarSource {
  fd: number;
  name: string;
}

export interface WalkOptions {
  /**
   * Bytes read at once when looking for a header (default 16 KiB, a multiple of 512). Headers of
   * small files lie close together and one read brings several; after a large file, one read
   * brings the next header and what follows it. Each read costs a system call, each byte a copy:
   * on a Debian rootfs tarball (12,864 entries, 303 MB) 512 bytes took 38,594 reads and 16 KiB
   * 4,316 reads of 71 MB, the fastest; 64 KiB read 116 MB (benchmarks/tar-header-walk.mjs).
   */
  readAhead?: number;
}

/** The archive is malformed at a byte offset: the message names the archive, the offset and the problem. */
export class TarFormatError extends ImageError {
  constructor(
    readonly archive: string,
    readonly offset: number,
    readonly problem: string,
  ) {
    super(`${archive}: header at byte ${offset}: ${problem}`);
  }
}

/** Longest name, link target or PAX path accepted (Linux's PATH_MAX is 4096). */
export const MAX_NAME_BYTES = 1 << 20;
/** Most chunks accepted in one sparse map (each costs an object). */
export const MAX_SPARSE_CHUNKS = 1 << 20;
const DEFAULT_READ_AHEAD = 16 * 1024;
const ZERO_BLOCK: Buffer = Buffer.alloc(BLOCK);
const EMPTY: Buffer = Buffer.alloc(0);
const NO_PAX: PaxValues = Object.freeze({});

/** One entry: its name and type, where its data is, and a way to read it. */
export interface TarEntry {
  /** The name's bytes, as the archive holds them (PAX path, GNU long name or ustar prefix/name). */
  readonly name: Buffer;
  readonly type: TarEntryType;
  /** The header's type byte ('0' is 0x30), for the types `type` calls 'other' and for the sparse 'S'. */
  readonly typeflag: number;
  /** A symlink's target or a hardlink's first name, bytes as stored; empty for every other type. */
  readonly linkname: Buffer;
  /** The content's length in bytes: the stored size, or a sparse file's real size. */
  readonly size: number;
  /** The byte offset of the entry's first header block (its 'L', 'K' or 'x' blocks included). */
  readonly headerOffset: number;
  /** The byte offset of its stored data (after a PAX 1.0 sparse map). */
  readonly dataOffset: number;
  /** How many bytes of data are stored there (fewer than `size` for a sparse file). */
  readonly dataSize: number;
  /** For a sparse file, its stored chunks in order; null otherwise. */
  readonly sparse: readonly SparseChunk[] | null;
  /**
   * Reads `length` bytes of the content from `position` (by default all of it) into a new buffer
   * of exactly that length; a sparse file's holes read as zeros. Only while the walk that yielded
   * the entry is open.
   */
  read(position?: number, length?: number): Buffer;
}

class Entry implements TarEntry {
  constructor(
    private readonly archive: ArchiveFile,
    readonly name: Buffer,
    readonly type: TarEntryType,
    readonly typeflag: number,
    readonly linkname: Buffer,
    readonly size: number,
    readonly headerOffset: number,
    readonly dataOffset: number,
    readonly dataSize: number,
    readonly sparse: readonly SparseChunk[] | null,
  ) {}

  read(position = 0, length = this.size - position): Buffer {
    if (!Number.isSafeInteger(position) || !Number.isSafeInteger(length) || position < 0 || length < 0 || position + length > this.size) {
      throw new RangeError(`read(${position}, ${length}) is outside the ${this.size} bytes of this entry`);
    }
    if (!this.sparse) return this.archive.copy(this.dataOffset + position, length, this.headerOffset);
    const out = Buffer.alloc(length); // holes read as zeros
    const end = position + length;
    const chunks = this.sparse;
    // The first chunk that ends after `position`: chunks are sorted and do not overlap.
    let lo = 0;
    let hi = chunks.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (chunks[mid]!.offset + chunks[mid]!.length <= position) lo = mid + 1;
      else hi = mid;
    }
    for (let i = lo; i < chunks.length && chunks[i]!.offset < end; i++) {
      const c = chunks[i]!;
      const from = Math.max(c.offset, position);
      const to = Math.min(c.offset + c.length, end);
      if (to > from) this.archive.copyInto(out, from - position, c.archiveOffset + (from - c.offset), to - from, this.headerOffset);
    }
    return out;
  }
}

/**
 * The entries of the plain tar file `source` (a path, opened and closed here, or an fd the caller
 * owns), in archive order. Throws a TarFormatError at the first malformed header.
 */
export function* walkTarHeaders(source: string | TarSource, options: WalkOptions = {}): Generator<TarEntry, void, undefined> {
  const own = typeof source === 'string';
  const name = own ? source : source.name;
  const fd = own ? openSync(source, 'r') : source.fd;
  let archive: ArchiveFile | null = null;
  try {
    const stat = fstatSync(fd);
    if (!stat.isFile()) throw new ImageError(`${name}: not a regular file (a plain tar file is read at offsets)`);
    const readAhead = Math.max(BLOCK, Math.floor((options.readAhead ?? DEFAULT_READ_AHEAD) / BLOCK) * BLOCK);
    archive = new ArchiveFile(fd, name, stat.size, readAhead);
    yield* entries(archive);
  } finally {
    if (archive) archive.closed = true;
    if (own) closeSync(fd);
  }
}

/** The file, read at offsets through one read-ahead buffer. */
class ArchiveFile {
  closed = false;
  private readonly window: Buffer;
  /** The window as 32-bit words, to sum a header four bytes at a time. */
  private readonly words: Uint32Array;
  private windowStart = 0;
  private windowEnd = 0;

  constructor(
    readonly fd: number,
    readonly name: string,
    readonly size: number,
    readAhead: number,
  ) {
    this.window = Buffer.allocUnsafeSlow(readAhead);
    this.words = new Uint32Array(this.window.buffer, this.window.byteOffset, readAhead >>> 2);
  }

  get readAhead(): number {
    return this.window.length;
  }

  /**
   * Bytes [position, position + length) as a view that stays valid until the next view(); the
   * caller has checked that they lie within the file, and length is at most readAhead.
   */
  view(position: number, length: number, headerAt: number): Buffer {
    if (position < this.windowStart || position + length > this.windowEnd) {
      // From the block boundary when that still covers the bytes asked for: headers stay aligned.
      const aligned = position - (position % BLOCK);
      const start = position + length <= aligned + this.window.length ? aligned : position;
      const n = Math.min(this.window.length, this.size - start);
      this.windowEnd = this.windowStart = start;
      this.readFully(this.window, 0, n, start, headerAt);
      this.windowEnd = start + n;
    }
    return this.window.subarray(position - this.windowStart, position - this.windowStart + length);
  }

  /**
   * The unsigned sum of the header block at `position` (just returned by view()), with its
   * checksum field counted as spaces. By 32-bit words, two bytes per 16-bit lane: 128 words add at
   * most 128 * 2 * 255 = 65280 to a lane, so no lane overflows into the next.
   */
  headerSum(position: number): number {
    const offset = position - this.windowStart;
    let lanes = 0;
    if (offset % 4 === 0) {
      const w = this.words;
      for (let i = offset >>> 2, end = i + BLOCK / 4; i < end; i++) {
        const word = w[i]!;
        lanes += (word & 0x00ff00ff) + ((word >>> 8) & 0x00ff00ff);
      }
      lanes = (lanes % 0x10000) + Math.floor(lanes / 0x10000);
    } else {
      for (let i = offset; i < offset + BLOCK; i++) lanes += this.window[i]!;
    }
    let field = 0;
    for (let i = offset + 148; i < offset + 156; i++) field += this.window[i]!;
    return lanes - field + 8 * 0x20;
  }

  /** Bytes [position, position + length) in a new buffer of that length. */
  copy(position: number, length: number, headerAt: number): Buffer {
    const out = Buffer.allocUnsafe(length);
    this.copyInto(out, 0, position, length, headerAt);
    return out;
  }

  copyInto(target: Buffer, at: number, position: number, length: number, headerAt: number): void {
    if (position >= this.windowStart && position + length <= this.windowEnd) {
      this.window.copy(target, at, position - this.windowStart, position - this.windowStart + length);
    } else {
      this.readFully(target, at, length, position, headerAt);
    }
  }

  private readFully(target: Buffer, at: number, length: number, position: number, headerAt: number): void {
    if (this.closed) throw new Error(`${this.name}: read after the walk over it ended`);
    let done = 0;
    while (done < length) {
      const n = readSync(this.fd, target, at + done, length - done, position + done);
      // The size was checked against fstat: a short read means the file shrank under us.
      if (n === 0) throw new TarFormatError(this.name, headerAt, `the file ended at byte ${position + done}, before the ${length} bytes at byte ${position} (it shrank while being read)`);
      done += n;
    }
  }
}

/** PAX values that matter here; null is a keyword unset by an empty value. */
interface PaxValues {
  path?: Buffer | null;
  linkpath?: Buffer | null;
  size?: number | null;
}

/** What the 'L', 'K' and 'x' blocks before an entry said about it. */
interface Pending {
  /** Offset of the first of those blocks. */
  at: number;
  longName: Buffer | null;
  longLink: Buffer | null;
  pax: PaxValues;
  sparse: PaxSparse | null;
}

/** The GNU.sparse.* records of a PAX header. */
interface PaxSparse {
  major?: number;
  minor?: number;
  name?: Buffer;
  realSize?: number;
  numBlocks?: number;
  /** 0.0: GNU.sparse.offset and GNU.sparse.numbytes in turn; 0.1: GNU.sparse.map. */
  map: number[];
  hasMap: boolean;
}

function* entries(archive: ArchiveFile): Generator<TarEntry, void, undefined> {
  const globals: PaxValues = {};
  let pending: Pending | null = null;
  let pos = 0;
  for (;;) {
    const left = archive.size - pos;
    if (left <= 0) {
      if (pending) throw new TarFormatError(archive.name, pending.at, 'the file ends before the entry this extended header describes');
      return;
    }
    if (left < BLOCK) {
      if (pos === 0) compressed(archive, archive.view(0, left, 0));
      throw new TarFormatError(archive.name, pos, `truncated header: the file ends ${left} bytes into it`);
    }
    let block: Buffer = archive.view(pos, BLOCK, pos);
    if (block.equals(ZERO_BLOCK)) {
      if (pending) throw new TarFormatError(archive.name, pos, `a zero block follows the extended header at byte ${pending.at} instead of its entry`);
      endOfArchive(archive, pos);
      return;
    }
    checkHeader(archive, block, pos);

    const typeflag = block[156]!;
    const stored = headerSize(archive, block, pos);
    const dataAt = pos + BLOCK;
    switch (typeflag) {
      case 0x4c: // 'L': GNU long name
      case 0x4b: {
        // 'K': GNU long link
        const what = typeflag === 0x4c ? 'gnu long name' : 'gnu long link';
        checkExtent(archive, pos, dataAt, stored);
        if (stored > MAX_NAME_BYTES) throw new TarFormatError(archive.name, pos, `${what} of ${stored} bytes is longer than the ${MAX_NAME_BYTES} accepted`);
        let value = archive.copy(dataAt, stored, pos);
        const nul = value.indexOf(0);
        if (nul >= 0) value = Buffer.from(value.subarray(0, nul)); // the copy, at its exact length
        pending ??= fresh(pos);
        if (typeflag === 0x4c) pending.longName = value;
        else pending.longLink = value;
        pos = dataAt + padded(stored);
        continue;
      }
      case 0x78: // 'x': PAX extended header
      case 0x58: // 'X': Solaris's, the same records
      case 0x67: {
        // 'g': PAX global header
        checkExtent(archive, pos, dataAt, stored);
        if (typeflag === 0x67) {
          if (pending) throw new TarFormatError(archive.name, pos, `a global extended header follows the extended header at byte ${pending.at} instead of its entry`);
          readPax(archive, pos, dataAt, dataAt + stored, globals, null);
        } else {
          pending ??= fresh(pos);
          readPax(archive, pos, dataAt, dataAt + stored, pending.pax, pending);
        }
        pos = dataAt + padded(stored);
        continue;
      }
    }

    // An entry. Everything needed from the block is taken before any other read moves the window.
    // A copy: the window the block lies in is read again for the next entry.
    let name: Buffer = Buffer.from(headerName(block));
    const linkField = field(block, 157, 100);
    let linkname = linkField.length > 0 ? Buffer.from(linkField) : EMPTY;
    const oldSparse = typeflag === 0x53 ? oldGnuSparseHeader(archive, block, pos) : null; // 'S'
    block = EMPTY; // not to be used past here

    const at = pending?.at ?? pos;
    const pax = pending?.pax ?? NO_PAX;
    name = pick(pax.path, globals.path) ?? pending?.longName ?? name;
    linkname = pick(pax.linkpath, globals.linkpath) ?? pending?.longLink ?? linkname;
    let dataSize = pick(pax.size, globals.size) ?? stored;
    if (typeflag === 0x35) dataSize = 0; // '5': GNU tar skips no data after a directory
    let dataOffset = dataAt;
    let size = dataSize;
    let sparse: SparseChunk[] | null = null;

    if (oldSparse) {
      dataOffset = oldSparse.dataOffset;
      checkExtent(archive, pos, dataOffset, dataSize);
      sparse = placeChunks(archive, pos, oldSparse.map, oldSparse.realSize, dataOffset, dataSize);
      size = oldSparse.realSize;
    } else {
      checkExtent(archive, pos, dataOffset, dataSize);
      const s = pending?.sparse;
      if (s && (s.major !== undefined || s.minor !== undefined || s.hasMap || s.realSize !== undefined || s.name !== undefined)) {
        const version = `${s.major ?? 0}.${s.minor ?? 0}`;
        if (s.realSize === undefined) throw new TarFormatError(archive.name, at, `sparse entry (pax version ${version}) has no real size`);
        let map = s.map;
        if (version === '1.0') {
          const parsed = sparseMapInData(archive, at, dataOffset, dataSize);
          map = parsed.map;
          dataSize -= parsed.mapBytes;
          dataOffset += parsed.mapBytes;
        } else if (version !== '0.0' && version !== '0.1') {
          throw new TarFormatError(archive.name, at, `sparse entry of pax version ${version}: only 0.0, 0.1 and 1.0 are read`);
        } else if (!s.hasMap) {
          throw new TarFormatError(archive.name, at, `sparse entry (pax version ${version}) has no map`);
        }
        if (s.numBlocks !== undefined && s.numBlocks !== map.length / 2) {
          throw new TarFormatError(archive.name, at, `sparse map has ${map.length / 2} chunks but GNU.sparse.numblocks says ${s.numBlocks}`);
        }
        sparse = placeChunks(archive, at, map, s.realSize, dataOffset, dataSize);
        size = s.realSize;
        if (s.name) name = s.name;
      }
    }

    const type = entryType(typeflag, name);
    if (type !== 'hardlink' && type !== 'symlink') linkname = EMPTY;
    yield new Entry(archive, name, type, typeflag, linkname, size, at, dataOffset, dataSize, sparse);
    pending = null;
    pos = dataOffset + padded(dataSize);
  }
}

const fresh = (at: number): Pending => ({ at, longName: null, longLink: null, pax: {}, sparse: null });

/** A per-entry value wins over a global one; null (unset by an empty value) means neither. */
function pick<T>(own: T | null | undefined, global: T | null | undefined): T | undefined {
  if (own !== undefined) return own ?? undefined;
  return global ?? undefined;
}

/** Bytes shown in a message: printable ASCII as is, the rest as \xNN, so a message stays one line. */
function show(bytes: Buffer): string {
  let s = '';
  for (const b of bytes) s += b >= 0x20 && b < 0x7f && b !== 0x5c && b !== 0x27 ? String.fromCharCode(b) : `\\x${b.toString(16).padStart(2, '0')}`;
  return `'${s}'`;
}

/** A number field (tar-header.ts reads it), or a TarFormatError naming the field and its bytes. */
function numberField(archive: ArchiveFile, block: Buffer, at: number, start: number, length: number, field: string): number {
  const value = readNumber(block, start, length);
  if (typeof value === 'number') return value;
  throw new TarFormatError(archive.name, at, `${field} field ${show(block.subarray(start, start + length))} is ${value}`);
}

function headerSize(archive: ArchiveFile, block: Buffer, at: number): number {
  return numberField(archive, block, at, 124, 12, 'size');
}

/** The checksum: the header's bytes summed with its own field as spaces, unsigned (or signed, as some old tars did). */
function checkHeader(archive: ArchiveFile, block: Buffer, at: number): void {
  const unsigned = archive.headerSum(at);
  let expected: number;
  try {
    expected = numberField(archive, block, at, 148, 8, 'checksum');
  } catch (error) {
    if (at === 0) compressed(archive, block);
    throw error;
  }
  if (expected === unsigned) return;
  let high = 0;
  for (let i = 0; i < BLOCK; i++) if (block[i]! >= 0x80 && (i < 148 || i >= 156)) high++;
  if (expected === unsigned - 256 * high) return;
  if (at === 0) {
    compressed(archive, block);
    throw new TarFormatError(archive.name, 0, `not a tar archive: the first header's checksum ${expected.toString(8)} (octal) does not match its sum ${unsigned.toString(8)}`);
  }
  throw new TarFormatError(archive.name, at, `checksum ${expected.toString(8)} (octal) does not match the header's sum ${unsigned.toString(8)}`);
}

/** A first header that is no header: say so when the file is compressed. */
function compressed(archive: ArchiveFile, start: Buffer): void {
  const kind = COMPRESSIONS.find((c) => start.length >= c.magic.length && c.magic.every((byte, i) => start[i] === byte));
  if (kind) throw new TarFormatError(archive.name, 0, `${kind.name}-compressed data, not a plain tar file`);
}

/** Data of `length` bytes at `start` must lie within the file: checked before anything reads it. */
function checkExtent(archive: ArchiveFile, at: number, start: number, length: number): void {
  if (start + length > archive.size) {
    throw new TarFormatError(archive.name, at, `size ${length} (data at byte ${start}) runs past the end of the file (${archive.size} bytes)`);
  }
}

/** One zero block was found at `pos`: a second must follow (or the end of the file). */
function endOfArchive(archive: ArchiveFile, pos: number): void {
  const next = pos + BLOCK;
  const left = archive.size - next;
  if (left <= 0) return;
  const second = archive.view(next, Math.min(left, BLOCK), pos);
  if (second.equals(ZERO_BLOCK.subarray(0, second.length))) return;
  throw new TarFormatError(archive.name, pos, `a lone zero block is followed by data at byte ${next}, not by a second zero block`);
}

/** A PAX record's value, copied at its exact length. */
function paxBytes(archive: ArchiveFile, at: number, p: number, key: string, valueAt: number, valueLength: number): Buffer {
  if (valueLength > MAX_NAME_BYTES) paxFail(archive, at, p, `${key} of ${valueLength} bytes is longer than the ${MAX_NAME_BYTES} accepted`);
  return archive.copy(valueAt, valueLength, at);
}

/** A PAX record's decimal value. */
function paxNumber(archive: ArchiveFile, at: number, p: number, key: string, valueAt: number, valueLength: number): number {
  const text = valueLength <= 16 ? archive.view(valueAt, valueLength, at).toString('latin1') : '';
  if (!/^[0-9]+$/.test(text)) paxFail(archive, at, p, `${key} value ${show(archive.view(valueAt, Math.min(valueLength, 32), at))} is not a decimal number`);
  const n = Number(text);
  if (!Number.isSafeInteger(n)) paxFail(archive, at, p, `${key} value ${text} is over 2^53`);
  return n;
}

function paxFail(archive: ArchiveFile, at: number, p: number, problem: string): never {
  throw new TarFormatError(archive.name, at, `pax record at byte ${p}: ${problem}`);
}

/**
 * Parses the PAX records in [start, end) into `into`, and the GNU.sparse.* ones into
 * `entry.sparse` when the header is an entry's (not a global one).
 */
function readPax(archive: ArchiveFile, at: number, start: number, end: number, into: PaxValues, entry: Pending | null): void {
  const fail = (p: number, problem: string): never => paxFail(archive, at, p, problem);
  let p = start;
  while (p < end) {
    // "<length> <key>=<value>\n", the length in decimal counting the whole record. One view
    // usually holds the record and the ones after it.
    const rec = archive.view(p, Math.min(end - p, archive.readAhead), at);
    let digits = 0;
    let length = 0;
    while (digits < rec.length && digits <= 15 && rec[digits]! >= 0x30 && rec[digits]! <= 0x39) length = length * 10 + rec[digits++]! - 0x30;
    if (digits === 0 || digits > 15 || rec[digits] !== 0x20) fail(p, `${show(rec.subarray(0, 20))} does not start with a decimal length and a space`);
    if (length < digits + 4) fail(p, `length ${length} is too short for a record`);
    if (p + length > end) fail(p, `length ${length} runs past the end of the extended header (byte ${end})`);
    const keyAt = digits + 1;
    let eq = rec.indexOf(0x3d, keyAt);
    if (eq >= length) eq = -1; // in a record after this one
    if (eq < 0) fail(p, length <= rec.length ? 'has no \'=\'' : `has no '=' in its first ${rec.length} bytes`);
    if (eq === keyAt) fail(p, 'has an empty keyword');
    if (eq > length - 2) fail(p, 'has no \'=\' before its end');
    const valueAt = p + eq + 1;
    const valueLength = length - eq - 2;
    // Only the keywords used here are decoded (4, 8 or 14 to 20 bytes, "GNU.sparse.*" for the
    // long ones); times, xattrs and the rest are skipped as bytes.
    const keyLength = eq - keyAt;
    const key = keyLength === 4 || keyLength === 8 || (keyLength >= 14 && keyLength <= 20 && rec[keyAt] === 0x47) ? rec.toString('latin1', keyAt, eq) : '';
    const newline = length <= rec.length ? rec[length - 1] : archive.view(p + length - 1, 1, at)[0];
    if (newline !== 0x0a) fail(p, 'does not end with a newline');
    if (key === '') {
      p += length;
      continue;
    }
    const bytes = () => paxBytes(archive, at, p, key, valueAt, valueLength);
    const number = () => paxNumber(archive, at, p, key, valueAt, valueLength);
    switch (key) {
      case 'path':
        into.path = valueLength === 0 ? null : bytes();
        break;
      case 'linkpath':
        into.linkpath = valueLength === 0 ? null : bytes();
        break;
      case 'size':
        into.size = valueLength === 0 ? null : number();
        break;
    }
    if (entry && key.startsWith('GNU.sparse.')) {
      const sparse = (entry.sparse ??= { map: [], hasMap: false });
      switch (key) {
        case 'GNU.sparse.major':
          sparse.major = number();
          break;
        case 'GNU.sparse.minor':
          sparse.minor = number();
          break;
        case 'GNU.sparse.name':
          sparse.name = bytes();
          break;
        case 'GNU.sparse.realsize': // 1.0
        case 'GNU.sparse.size': // 0.0 and 0.1
          sparse.realSize = number();
          break;
        case 'GNU.sparse.numblocks':
          sparse.numBlocks = number();
          break;
        case 'GNU.sparse.offset': // 0.0: offset and numbytes in turn, one pair per chunk
        case 'GNU.sparse.numbytes': {
          const isOffset = key === 'GNU.sparse.offset';
          if ((sparse.map.length % 2 === 0) !== isOffset) fail(p, `${key} is out of turn (GNU.sparse.offset and GNU.sparse.numbytes alternate)`);
          if (sparse.map.length >= 2 * MAX_SPARSE_CHUNKS) fail(p, `sparse map of more than ${MAX_SPARSE_CHUNKS} chunks`);
          sparse.map.push(number());
          sparse.hasMap = true;
          break;
        }
        case 'GNU.sparse.map': {
          // 0.1: "offset,size,offset,size,..."
          if (valueLength > 2 * MAX_SPARSE_CHUNKS * 17) fail(p, `sparse map of ${valueLength} bytes is longer than ${MAX_SPARSE_CHUNKS} chunks can be`);
          const text = archive.copy(valueAt, valueLength, at).toString('latin1');
          if (!/^[0-9]+(,[0-9]+)*$/.test(text)) fail(p, 'GNU.sparse.map is not a list of decimal numbers');
          const values = text.split(',').map(Number);
          if (values.length % 2 !== 0) fail(p, 'GNU.sparse.map has an odd count of numbers');
          if (!values.every(Number.isSafeInteger)) fail(p, 'GNU.sparse.map holds a number over 2^53');
          sparse.map = values;
          sparse.hasMap = true;
          break;
        }
      }
    }
    p += length;
  }
}

/** An old GNU 'S' header's map (4 slots in the header, 21 per extension block) and where its data begins. */
function oldGnuSparseHeader(archive: ArchiveFile, header: Buffer, at: number): { map: number[]; realSize: number; dataOffset: number } {
  const map: number[] = [];
  const slots = (block: Buffer, start: number, count: number): boolean => {
    for (let i = 0; i < count; i++) {
      const s = start + i * 24;
      if (block[s + 12] === 0) return false; // an empty slot ends the map
      if (map.length >= 2 * MAX_SPARSE_CHUNKS) throw new TarFormatError(archive.name, at, `sparse map of more than ${MAX_SPARSE_CHUNKS} chunks`);
      map.push(numberField(archive, block, at, s, 12, 'sparse offset'), numberField(archive, block, at, s + 12, 12, 'sparse size'));
    }
    return true;
  };
  const realSize = numberField(archive, header, at, 483, 12, 'sparse real size');
  let more = slots(header, 386, 4) && header[482] !== 0;
  let next = at + BLOCK;
  while (more) {
    if (archive.size - next < BLOCK) throw new TarFormatError(archive.name, at, `truncated sparse extension block at byte ${next}`);
    const ext = archive.view(next, BLOCK, at);
    more = slots(ext, 0, 21) && ext[504] !== 0;
    next += BLOCK;
  }
  return { map, realSize, dataOffset: next };
}

/** A PAX 1.0 sparse map: decimal numbers, one a line (count, then offset and size per chunk), padded to a block. */
function sparseMapInData(archive: ArchiveFile, at: number, start: number, size: number): { map: number[]; mapBytes: number } {
  const end = start + size;
  let p = start;
  const line = (): number => {
    const text = archive.view(p, Math.min(end - p, 17), at);
    const nl = text.indexOf(0x0a);
    if (nl <= 0 || !/^[0-9]+$/.test(text.toString('latin1', 0, nl))) {
      throw new TarFormatError(archive.name, at, `sparse map at byte ${p}: ${show(text)} is not a decimal number and a newline`);
    }
    p += nl + 1;
    return Number(text.toString('latin1', 0, nl));
  };
  if (p >= end) throw new TarFormatError(archive.name, at, 'sparse entry (pax version 1.0) has no map in its data');
  const count = line();
  // Each number takes at least two bytes: a map that cannot fit the data is refused before it is read.
  if (count > MAX_SPARSE_CHUNKS || count * 4 > end - p) throw new TarFormatError(archive.name, at, `sparse map of ${count} chunks cannot fit the entry's ${size} bytes`);
  const map: number[] = [];
  for (let i = 0; i < 2 * count; i++) {
    if (p >= end) throw new TarFormatError(archive.name, at, `sparse map of ${count} chunks runs past the entry's ${size} bytes`);
    map.push(line());
  }
  const mapBytes = padded(p - start);
  if (mapBytes > size) throw new TarFormatError(archive.name, at, `sparse map of ${mapBytes} bytes (padded) is longer than the entry's ${size} bytes`);
  return { map, mapBytes };
}

/** Chunks must be in order, apart, within the real size, and fill the stored bytes exactly. */
function placeChunks(archive: ArchiveFile, at: number, map: number[], realSize: number, dataOffset: number, dataSize: number): SparseChunk[] {
  const chunks: SparseChunk[] = [];
  let stored = 0;
  let covered = 0;
  for (let i = 0; i < map.length; i += 2) {
    const offset = map[i]!;
    const length = map[i + 1]!;
    if (offset < covered) throw new TarFormatError(archive.name, at, `sparse chunk ${i / 2} at ${offset} overlaps or precedes the one before (which ends at ${covered})`);
    if (offset + length > realSize) throw new TarFormatError(archive.name, at, `sparse chunk ${i / 2} (${length} bytes at ${offset}) ends past the real size ${realSize}`);
    chunks.push({ offset, length, archiveOffset: dataOffset + stored });
    stored += length;
    covered = offset + length;
  }
  if (stored !== dataSize) throw new TarFormatError(archive.name, at, `sparse map holds ${stored} bytes but the entry stores ${dataSize}`);
  return chunks;
}

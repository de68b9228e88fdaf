// The entries of an uncompressed tar stream with the metadata a canonical listing needs (type,
// mode, owners by number, mtime, link target, device numbers, xattrs) and the sha256 of each
// file's content, hashed as it streams by: nothing but one header is held. This is what
// `syslayer digest` and the run key read (src/scale/input-digest.ts). The tar pass (tar-pass.ts)
// copies headers through without decoding these fields; the header walk (header-walk.ts) reads a
// plain file at offsets; neither hashes content, hence this third, read-only reader. It knows
// nothing of ELF.
import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { ImageError } from '../errors.js';
import { ByteQueue } from '../util/byte-queue.js';
import { BLOCK, checksumMatches, entryType, field, headerName, numberField, padded, parsePax, type TarEntryType } from './tar-header.js';

export interface ListedEntry {
  /** The name's bytes as stored (PAX path, GNU long name or ustar prefix/name). */
  name: Buffer;
  type: TarEntryType;
  /** Permission bits with setuid, setgid and sticky (07777). */
  mode: number;
  uid: number;
  gid: number;
  /** Seconds since the epoch, whole (a PAX mtime's fraction dropped: see docs/scale.md). */
  mtime: number;
  size: number;
  /** A symlink's target or a hardlink's first name; empty otherwise. */
  linkname: Buffer;
  devmajor: number;
  devminor: number;
  /** `SCHILY.xattr.<name>` records: name and value bytes. */
  xattrs: [string, Buffer][];
  /** sha256 (hex) of a regular file's content; null for every other type. */
  sha256: string | null;
}

const TYPE = { longName: 0x4c, longLink: 0x4b, pax: 0x78, solarisPax: 0x58, paxGlobal: 0x67, sparse: 0x53 } as const;
/** The longest GNU long name or PAX header taken (xattrs can be long; no name comes near). */
const MAX_META = 16 * 1024 * 1024;

/** Every entry of `stream` (an uncompressed tar), in archive order; an ImageError names `archive` and the byte offset at fault. */
export async function* listTar(stream: Readable | AsyncIterable<Buffer>, archive: string): AsyncGenerator<ListedEntry> {
  const q = new ByteQueue(stream as AsyncIterable<Buffer>);
  const fail = (at: number, problem: string): never => { throw new ImageError(`${archive}: header at byte ${at}: ${problem}`); };
  const number = (block: Buffer, start: number, length: number, what: string, at: number): number => {
    const n = numberField(block, start, length);
    return typeof n === 'number' ? n : fail(at, `${what} is ${n}`);
  };
  let globals = new Map<string, Buffer>();
  let longName: Buffer | null = null;
  let longLink: Buffer | null = null;
  let pax = new Map<string, Buffer>();
  for (;;) {
    const at = q.position;
    if (await q.fill(BLOCK) < BLOCK) {
      if (q.available === 0) return; // the end of the stream on a block boundary ends the archive, as GNU tar takes it
      fail(at, 'the stream ends inside a header');
    }
    const block = Buffer.from(q.take(BLOCK));
    if (block.every((b) => b === 0)) {
      // The end blocks. What follows (GNU tar pads to its record size) is read to the stream's
      // end, unlooked at, so that whatever writes it (GNU tar packing a directory) ends too: a
      // stream left paused keeps its child's exit from being seen.
      for (let had = q.available; await q.fill(had + 1) > had; had = q.available) q.takeSome(q.available);
      return;
    }
    if (!checksumMatches(block)) fail(at, 'checksum does not match the header');
    const typeflag = block[156]!;
    const size = number(block, 124, 12, 'size', at);
    if (typeflag === TYPE.longName || typeflag === TYPE.longLink || typeflag === TYPE.pax || typeflag === TYPE.solarisPax || typeflag === TYPE.paxGlobal) {
      if (size > MAX_META) fail(at, `an extended header of ${size} bytes (at most ${MAX_META} taken)`);
      if (await q.fill(padded(size)) < padded(size)) fail(at, 'the stream ends inside an extended header');
      const data = Buffer.from(q.take(padded(size))).subarray(0, size);
      if (typeflag === TYPE.longName) longName = field(data, 0, data.length);
      else if (typeflag === TYPE.longLink) longLink = field(data, 0, data.length);
      else {
        const records = parsePax(data) ?? fail(at, 'malformed PAX records');
        const into = typeflag === TYPE.paxGlobal ? (globals = new Map(globals)) : pax;
        for (const r of records) into.set(r.key, r.value);
      }
      continue;
    }
    const value = (key: string) => pax.get(key) ?? globals.get(key);
    const paxNumber = (key: string, fallback: number) => {
      const v = value(key);
      if (v === undefined || v.length === 0) return fallback;
      const n = Number(v.toString('latin1'));
      return Number.isFinite(n) ? n : fail(at, `PAX ${key} '${v.toString('latin1')}' is not a number`);
    };
    if (typeflag === TYPE.sparse || value('GNU.sparse.major') !== undefined || value('GNU.sparse.map') !== undefined || value('GNU.sparse.numblocks') !== undefined) {
      fail(at, 'a sparse file: its canonical listing is not read (pack the image without --sparse)');
    }
    const name = value('path') ?? longName ?? headerName(block);
    const type = entryType(typeflag, name);
    const xattrs: [string, Buffer][] = [];
    for (const [key, v] of [...globals, ...pax]) if (key.startsWith('SCHILY.xattr.')) xattrs.push([key.slice('SCHILY.xattr.'.length), v]);
    const entry: ListedEntry = {
      name,
      type,
      mode: number(block, 100, 8, 'mode', at) & 0o7777,
      uid: paxNumber('uid', number(block, 108, 8, 'uid', at)),
      gid: paxNumber('gid', number(block, 116, 8, 'gid', at)),
      mtime: Math.floor(paxNumber('mtime', number(block, 136, 12, 'mtime', at))),
      size: paxNumber('size', size),
      linkname: value('linkpath') ?? longLink ?? field(block, 157, 100),
      devmajor: type === 'char' || type === 'block' ? number(block, 329, 8, 'devmajor', at) : 0,
      devminor: type === 'char' || type === 'block' ? number(block, 337, 8, 'devminor', at) : 0,
      xattrs: xattrs.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
      sha256: null,
    };
    longName = longLink = null;
    pax = new Map();
    // GNU tar skips `size` bytes after every type but a directory's.
    const stored = type === 'directory' ? 0 : entry.size;
    const hash = type === 'file' || type === 'contiguous' ? createHash('sha256') : null;
    let left = stored;
    while (left > 0) {
      if (await q.fill(1) === 0) fail(at, `the stream ends inside the data of ${name.toString('latin1')}`);
      for (const piece of q.takeSome(left)) {
        hash?.update(piece);
        left -= piece.length;
      }
    }
    const pad = padded(stored) - stored;
    if (pad > 0) {
      if (await q.fill(pad) < pad) fail(at, 'the stream ends inside the padding of an entry');
      q.take(pad);
    }
    entry.sha256 = hash?.digest('hex') ?? null;
    yield entry;
  }
}

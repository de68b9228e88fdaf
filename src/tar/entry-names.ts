// Entry names of a tar image as bytes (DESIGN §9). tar-pass reads with tar-stream's
// `filenameEncoding: 'latin1'`, and binary-pax.ts decodes PAX `path` and `linkpath` as latin1 too,
// so every name tar-stream hands out — ustar name and prefix, GNU long names ('L', 'K'), PAX
// records — is its bytes, one char each. They become the lossless name form (src/names/) here,
// once per entry, and are written back from it: an entry keeps its exact name bytes.
import type { Headers } from 'tar-stream';
import { decodeName, hasEscapedBytes } from '../names/path-bytes.js';

const NON_ASCII = /[^\x00-\x7f]/;

/** tar-stream's header with the PAX records it read (its type declarations leave them out). */
type PaxHeaders = Headers & { pax?: Record<string, string> | null };

/** A latin1 string of name bytes as a name: ASCII, the common case, is both already. */
const nameOf = (bytes: string) => (NON_ASCII.test(bytes) ? decodeName(Buffer.from(bytes, 'latin1')) : bytes);

/**
 * Turns the names of a header just read into names. The PAX `path` and `linkpath` records are
 * dropped from `header.pax`: they are `name` and `linkname` now, which pack writes back.
 */
export function decodeEntryNames(header: PaxHeaders): void {
  header.name = nameOf(header.name);
  if (header.linkname) header.linkname = nameOf(header.linkname);
  if (header.pax) {
    const { path: _path, linkpath: _linkpath, ...rest } = header.pax;
    header.pax = rest;
  }
}

/**
 * The header to hand tar-stream's pack. Its ustar encoder falls back to a PAX header for a name
 * that is not ASCII, but writes a link target of up to 100 bytes into the ustar field as UTF-8:
 * one that is not UTF-8 is sent through PAX as well.
 */
export function headerToWrite(header: PaxHeaders): PaxHeaders {
  if (!header.pax && header.linkname && hasEscapedBytes(header.linkname)) return { ...header, pax: {} };
  return header;
}

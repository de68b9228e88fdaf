// tar-stream decodes and encodes every PAX record value as UTF-8, which mangles binary values:
// GNU tar stores extended attributes as `SCHILY.xattr.<name>` records holding the raw bytes, and
// `security.capability` is binary; and a name that is not UTF-8 is stored as its raw bytes too.
// We keep tar-stream (a maintained streaming tar library) and replace only its two PAX record
// codecs with byte-exact ones, installed on the module object that tar-stream's extract and pack
// both call through:
// - xattr values travel as latin1 strings (one char per byte);
// - `path` and `linkpath` as latin1 strings as well, like the header's name fields when tar-stream
//   reads with `filenameEncoding: 'latin1'` (tar-pass.ts), so that every name tar-stream hands
//   out is its bytes, one char each, whichever header it came from; tar-pass decodes them once;
// - every other value (uname, gname, times, ...) in the lossless name form (src/names/), which is
//   the plain UTF-8 string whenever the value is UTF-8.
// On the way out, `path` and `linkpath` are the names in that lossless form (tar-pass sets them).
// A header holding a value that is not UTF-8 starts with `hdrcharset=BINARY`, POSIX's word for
// "these values are bytes, not UTF-8". Measured with the extractors at hand: GNU tar 1.34 does not
// know the keyword ("Ignoring unknown extended header keyword", exit 0) and takes every value as
// bytes anyway, so it extracts the exact name either way; bsdtar (libarchive) needs it: without
// it, the name that GNU tar itself writes (raw bytes, no hdrcharset) makes bsdtar exit 1 with
// "Pathname can't be converted from UTF-8"; Python's tarfile reads both. So: the keyword, and the
// GNU tar that extracts a tar -> directory run is told not to warn about it (gnu-tar.ts).
import { createRequire } from 'node:module';
import { decodeName, encodeName, hasEscapedBytes } from '../names/path-bytes.js';

const require = createRequire(import.meta.url);
const headers = require('tar-stream/headers.js') as {
  decodePax(buf: Buffer): Record<string, string>;
  encodePax(opts: { name?: string; linkname?: string; pax?: Record<string, string> }): Buffer;
};

const isBinaryKey = (key: string) => key.startsWith('SCHILY.xattr.') || key.startsWith('LIBARCHIVE.xattr.');
const isNameKey = (key: string) => key === 'path' || key === 'linkpath';
/** The values POSIX says hdrcharset applies to. */
const CHARSET_KEYS = ['path', 'linkpath', 'uname', 'gname'];

/** One record, "<length> <key>=<value>\n", whose length counts itself, in bytes. */
function record(key: string, value: Buffer): Buffer {
  const body = Buffer.concat([Buffer.from(` ${key}=`, 'utf8'), value, Buffer.from('\n')]);
  let digits = String(body.length).length;
  while (String(body.length + digits).length !== digits) digits++;
  return Buffer.concat([Buffer.from(String(body.length + digits)), body]);
}

function decodePax(buf: Buffer): Record<string, string> {
  const result: Record<string, string> = {};
  let at = 0;
  while (at < buf.length) {
    const space = buf.indexOf(0x20, at);
    if (space < 0) break;
    const length = Number(buf.toString('latin1', at, space));
    if (!Number.isInteger(length) || length <= 0 || at + length > buf.length) break;
    const body = buf.subarray(space + 1, at + length - 1); // without the newline
    const equals = body.indexOf(0x3d);
    if (equals < 0) break;
    const key = body.toString('utf8', 0, equals);
    const value = body.subarray(equals + 1);
    result[key] = isBinaryKey(key) || isNameKey(key) ? value.toString('latin1') : decodeName(value);
    at += length;
  }
  return result;
}

function encodePax(opts: { name?: string; linkname?: string; pax?: Record<string, string> }): Buffer {
  const pax: Record<string, string> = { ...(opts.pax ?? {}) };
  delete pax.hdrcharset; // said again below if it still applies
  if (opts.name) pax.path = opts.name;
  if (opts.linkname) pax.linkpath = opts.linkname;
  const records = Object.entries(pax).map(([key, value]) => record(key, isBinaryKey(key) ? Buffer.from(value, 'latin1') : encodeName(value)));
  if (CHARSET_KEYS.some((key) => pax[key] !== undefined && hasEscapedBytes(pax[key]!))) records.unshift(record('hdrcharset', Buffer.from('BINARY')));
  return Buffer.concat(records);
}

headers.decodePax = decodePax;
headers.encodePax = encodePax;

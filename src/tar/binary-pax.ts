// tar-stream decodes and encodes every PAX record value as UTF-8, which mangles binary values:
// GNU tar stores extended attributes as `SCHILY.xattr.<name>` records holding the raw bytes, and
// `security.capability` is binary. We keep tar-stream (a maintained streaming tar library) and
// replace only its two PAX record codecs with byte-exact ones: xattr values travel as latin1
// strings (one char per byte), every other value as UTF-8, as the PAX standard says. They are
// installed on the module object that tar-stream's extract and pack both call through.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const headers = require('tar-stream/headers.js') as {
  decodePax(buf: Buffer): Record<string, string>;
  encodePax(opts: { name?: string; linkname?: string; pax?: Record<string, string> }): Buffer;
};

const isBinaryKey = (key: string) => key.startsWith('SCHILY.xattr.') || key.startsWith('LIBARCHIVE.xattr.');

/** One record, "<length> <key>=<value>\n", whose length counts itself, in bytes. */
function record(key: string, value: string): Buffer {
  const body = Buffer.concat([Buffer.from(` ${key}=`, 'utf8'), Buffer.from(value, isBinaryKey(key) ? 'latin1' : 'utf8'), Buffer.from('\n')]);
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
    result[key] = body.toString(isBinaryKey(key) ? 'latin1' : 'utf8', equals + 1);
    at += length;
  }
  return result;
}

function encodePax(opts: { name?: string; linkname?: string; pax?: Record<string, string> }): Buffer {
  const pax: Record<string, string> = { ...(opts.pax ?? {}) };
  if (opts.name) pax.path = opts.name;
  if (opts.linkname) pax.linkpath = opts.linkname;
  return Buffer.concat(Object.entries(pax).map(([key, value]) => record(key, value)));
}

headers.decodePax = decodePax;
headers.encodePax = encodePax;

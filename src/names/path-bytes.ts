// File names are bytes on Linux and in tar; JavaScript strings are UTF-16. A name travels through
// syslayer as a string in Python's "surrogateescape" form (PEP 383), which is lossless: a name
// that is valid UTF-8 is the ordinary string (nothing to do on the common path), and each byte
// that is not part of valid UTF-8 becomes the lone surrogate U+DC80 + (byte - 0x80) — such bytes
// are always >= 0x80, as every byte below is ASCII. A lone U+DC80..U+DCFF therefore always means
// an escaped byte: valid UTF-8 never decodes to a lone surrogate (encoded surrogates are invalid
// UTF-8 and are escaped byte by byte), and a surrogate pair is one code point, never matched by
// the `u`-flag regular expressions below.
//
// Names are decoded once where they enter (a directory listing, a tar header) and encoded only
// where they leave: to the kernel (`fsPath`), to a helper process (`encodeName`), to a tar header,
// to a person (`printable`) or to JSON (`pathFields`, `withNameBytes`).

/** An escaped byte: a lone surrogate U+DC80..U+DCFF (a pair is one code point under `u`). */
const ESCAPED = /[\udc80-\udcff]/u;
/** What `printable` rewrites: escaped bytes, C0 controls, DEL and the backslash. */
const UNPRINTABLE = /[\x00-\x1f\x7f\\\udc80-\udcff]/u;

/** Whether this process has decoded a name that is not UTF-8: until then a report needs no pass for them. */
let escapedSeen = false;

/** Whether `s` holds escaped bytes, i.e. is not the UTF-8 decoding of its bytes. */
export function hasEscapedBytes(s: string): boolean {
  return ESCAPED.test(s);
}

/** The name the bytes `buf` spell. */
export function decodeName(buf: Uint8Array): string {
  const b = Buffer.isBuffer(buf) ? buf : Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  const s = b.toString('utf8');
  // Node replaces each bad sequence with U+FFFD: without one, the decoding was exact.
  if (s.indexOf('\ufffd') < 0) return s;
  return decodeCarefully(b);
}

/** UTF-8 decoding by the Unicode standard's table of well-formed sequences; other bytes escaped. */
function decodeCarefully(b: Uint8Array): string {
  const units: number[] = [];
  let escaped = false;
  let i = 0;
  while (i < b.length) {
    const c = b[i]!;
    if (c < 0x80) {
      units.push(c);
      i++;
      continue;
    }
    const n = sequenceLength(b, i);
    if (n === 0) {
      units.push(0xdc00 + c);
      escaped = true;
      i++;
      continue;
    }
    let cp = n === 2 ? c & 0x1f : n === 3 ? c & 0x0f : c & 0x07;
    for (let k = 1; k < n; k++) cp = (cp << 6) | (b[i + k]! & 0x3f);
    if (cp >= 0x10000) {
      cp -= 0x10000;
      units.push(0xd800 + (cp >> 10), 0xdc00 + (cp & 0x3ff));
    } else {
      units.push(cp);
    }
    i += n;
  }
  if (escaped) escapedSeen = true;
  let out = '';
  for (let at = 0; at < units.length; at += 4096) out += String.fromCharCode(...units.slice(at, at + 4096));
  return out;
}

/** The length of the well-formed UTF-8 sequence at `b[i]` (a byte >= 0x80), or 0 (Unicode table 3-7). */
function sequenceLength(b: Uint8Array, i: number): number {
  const c = b[i]!;
  const cont = (k: number, lo = 0x80, hi = 0xbf) => i + k < b.length && b[i + k]! >= lo && b[i + k]! <= hi;
  if (c >= 0xc2 && c <= 0xdf) return cont(1) ? 2 : 0;
  if (c === 0xe0) return cont(1, 0xa0) && cont(2) ? 3 : 0;
  if ((c >= 0xe1 && c <= 0xec) || c === 0xee || c === 0xef) return cont(1) && cont(2) ? 3 : 0;
  if (c === 0xed) return cont(1, 0x80, 0x9f) && cont(2) ? 3 : 0; // no encoded surrogates
  if (c === 0xf0) return cont(1, 0x90) && cont(2) && cont(3) ? 4 : 0;
  if (c >= 0xf1 && c <= 0xf3) return cont(1) && cont(2) && cont(3) ? 4 : 0;
  if (c === 0xf4) return cont(1, 0x80, 0x8f) && cont(2) && cont(3) ? 4 : 0;
  return 0;
}

/**
 * The bytes of the name `s`. Any other lone surrogate (which decodeName never makes) is encoded as
 * Node encodes it, as U+FFFD.
 */
export function encodeName(s: string): Buffer {
  if (!ESCAPED.test(s)) return Buffer.from(s, 'utf8');
  const parts: Buffer[] = [];
  let run = '';
  for (const ch of s) {
    const cp = ch.codePointAt(0)!;
    if (cp >= 0xdc80 && cp <= 0xdcff) {
      if (run !== '') parts.push(Buffer.from(run, 'utf8'));
      run = '';
      parts.push(Buffer.of(cp - 0xdc00));
    } else {
      run += ch;
    }
  }
  if (run !== '') parts.push(Buffer.from(run, 'utf8'));
  return Buffer.concat(parts);
}

/** What to hand Node's fs for the path `s`: `s` itself, or its bytes when it holds escaped bytes. */
export function fsPath(s: string): string | Buffer {
  return ESCAPED.test(s) ? encodeName(s) : s;
}

/** Names, NUL-terminated, as `xargs -0` and `tar --null -T -` read them on standard input. */
export function nulSeparated(names: Iterable<string>): Buffer {
  const parts: Buffer[] = [];
  const nul = Buffer.of(0);
  for (const name of names) parts.push(encodeName(name), nul);
  return Buffer.concat(parts);
}

/**
 * A name for a person to read, one line, that still says which bytes it is: a byte that is not
 * UTF-8 and a control character (newline, tab, escape, ... U+0000-U+001F and DEL) are written
 * `\xNN` (two lower-case hex digits), a backslash `\\`; everything else as it is. Reading `\xNN`
 * as the byte NN and `\\` as a backslash gives back the exact name.
 */
export function printable(s: string): string {
  if (!UNPRINTABLE.test(s)) return s;
  let out = '';
  for (const ch of s) {
    const cp = ch.codePointAt(0)!;
    if (ch === '\\') out += '\\\\';
    else if (cp < 0x20 || cp === 0x7f) out += `\\x${cp.toString(16).padStart(2, '0')}`;
    else if (cp >= 0xdc80 && cp <= 0xdcff) out += `\\x${(cp - 0xdc00).toString(16)}`;
    else out += ch;
  }
  return out;
}

/**
 * A name for JSON: the exact string when JSON can hold it (any valid UTF-8, newlines too); when
 * the name is not UTF-8, its printable form with `pathBase64`, the exact bytes.
 */
export function pathFields(s: string): { path: string; pathBase64?: string } {
  if (!ESCAPED.test(s)) return { path: s };
  return { path: printable(s), pathBase64: encodeName(s).toString('base64') };
}

/**
 * A copy of a JSON-bound value in which every string field holding a name that is not UTF-8 is
 * replaced by its printable form, followed by a field `<name>Base64` with the exact bytes
 * (`path` -> `pathBase64`, `neededBy` -> `neededByBase64`, ...); such a string in an array is
 * replaced by its printable form only. Values without escaped bytes come back as they are.
 * jsonWithNameBytes skips this pass until such a name has been decoded: then there is nothing to find.
 */
export function withNameBytes<T>(value: T): T {
  return rewrite(value) as T;
}

/** `withNameBytes(value)` when this process has decoded a name that is not UTF-8, else `value` itself. */
export function jsonWithNameBytes<T>(value: T): T {
  return escapedSeen ? withNameBytes(value) : value;
}

function rewrite(value: unknown): unknown {
  if (typeof value === 'string') return ESCAPED.test(value) ? printable(value) : value;
  if (Array.isArray(value)) return value.map(rewrite);
  if (value === null || typeof value !== 'object' || value instanceof Map || value instanceof Set) return value;
  if (typeof (value as { toJSON?: unknown }).toJSON === 'function') return value;
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) {
    if (typeof v === 'string' && ESCAPED.test(v)) {
      out[key] = printable(v);
      out[`${key}Base64`] = encodeName(v).toString('base64');
    } else {
      out[key] = rewrite(v);
    }
  }
  return out;
}

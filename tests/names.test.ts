// Names as bytes (src/names/path-bytes.ts): the surrogateescape form is lossless for any bytes,
// is the plain UTF-8 decoding whenever that is exact, and agrees with Python's own codec (PEP 383,
// the oracle) byte string by byte string; printable and the JSON fields say which bytes a name is.
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { decodeName, encodeName, fsPath, hasEscapedBytes, nulSeparated, pathFields, printable, withNameBytes } from '../src/names/path-bytes.js';

/** A deterministic generator (xorshift32), so that a failure can be replayed. */
function random(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13; x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5; x >>>= 0;
    return x;
  };
}

/** Byte strings rich in near-UTF-8: valid sequences, truncated ones, encoded surrogates, overlongs. */
function byteStrings(count: number, seed = 7): Buffer[] {
  const next = random(seed);
  const pieces = [
    [0x61], [0x2f], [0x0a], [0x5c], [0xc3, 0xa9], [0xe9], [0xff], [0xfe], [0x80], [0xc3], [0xe2, 0x82], [0xe2, 0x82, 0xac],
    [0xf0, 0x9f, 0x98, 0x80], [0xf0, 0x90, 0x82, 0x80], [0xf0, 0x9f], [0xed, 0xa0, 0x80], [0xed, 0xb2, 0x80], [0xed, 0x9f, 0xbf],
    [0xc0, 0xaf], [0xe0, 0x80, 0xaf], [0xf4, 0x90, 0x80, 0x80], [0xf5], [0xef, 0xbf, 0xbd], [0x00],
  ];
  const out: Buffer[] = [];
  for (let i = 0; i < count; i++) {
    const bytes: number[] = [];
    const n = next() % 12;
    for (let k = 0; k < n; k++) {
      if (next() % 4 === 0) bytes.push(next() % 256);
      else bytes.push(...pieces[next() % pieces.length]!);
    }
    out.push(Buffer.from(bytes));
  }
  return out;
}

describe('decodeName and encodeName', () => {
  it('round-trip every byte string', () => {
    for (const bytes of byteStrings(20_000)) {
      const name = decodeName(bytes);
      expect(encodeName(name).equals(bytes), `${bytes.toString('hex')} -> ${JSON.stringify(name)}`).toBe(true);
    }
  });

  it('round-trip every single byte and every pair of bytes', () => {
    for (let a = 0; a < 256; a++) {
      expect(encodeName(decodeName(Buffer.of(a)))).toEqual(Buffer.of(a));
      for (let b = 0x80; b < 256; b += 3) expect(encodeName(decodeName(Buffer.of(a, b)))).toEqual(Buffer.of(a, b));
    }
  });

  it('give the plain UTF-8 string for valid UTF-8, a literal U+FFFD included', () => {
    for (const s of ['', 'usr/bin/abi2-demo', 'naïve-ünïcode', 'new\nline', '\u{1f600}/\u{10080}', 'a\ufffdb', 'caf\\xe9']) {
      expect(decodeName(Buffer.from(s, 'utf8'))).toBe(s);
      expect(encodeName(s)).toEqual(Buffer.from(s, 'utf8'));
      expect(hasEscapedBytes(s)).toBe(false);
      expect(fsPath(s)).toBe(s);
    }
  });

  it('escape each byte that is not UTF-8 as U+DC80..U+DCFF', () => {
    expect(decodeName(Buffer.from('caf\xe9', 'latin1'))).toBe('caf\udce9');
    expect(decodeName(Buffer.of(0xed, 0xa0, 0x80))).toBe('\udced\udca0\udc80'); // an encoded surrogate is not UTF-8
    expect(decodeName(Buffer.of(0xc3, 0xa9, 0xc3))).toBe('é\udcc3');
    expect(hasEscapedBytes('caf\udce9')).toBe(true);
    // The low half of a surrogate pair is not an escaped byte: U+10080 is D800 DC80 in UTF-16.
    expect(hasEscapedBytes('\u{10080}')).toBe(false);
    expect(fsPath('d/caf\udce9')).toEqual(Buffer.from('d/caf\xe9', 'latin1'));
  });

  it('agree with Python\'s surrogateescape codec', () => {
    const samples = byteStrings(3000, 99);
    const input = samples.map((b) => b.toString('hex')).join('\n');
    const py = spawnSync('python3', ['-c', [
      'import sys',
      'for line in sys.stdin.read().split("\\n"):',
      '    s = bytes.fromhex(line).decode("utf-8", "surrogateescape")',
      '    print(s.encode("utf-16-le", "surrogatepass").hex())',
    ].join('\n')], { input, encoding: 'utf8' });
    expect(py.status, py.stderr).toBe(0);
    const expected = py.stdout.trim().split('\n');
    samples.forEach((bytes, i) => {
      expect(Buffer.from(decodeName(bytes), 'utf16le').toString('hex'), bytes.toString('hex')).toBe(expected[i]);
    });
  });
});

describe('printable', () => {
  it('writes bytes that are not UTF-8, control characters and the backslash as escapes', () => {
    expect(printable('usr/bin/naïve')).toBe('usr/bin/naïve');
    expect(printable('caf\udce9')).toBe('caf\\xe9');
    expect(printable('new\nline\t\x7f')).toBe('new\\x0aline\\x09\\x7f');
    expect(printable('a\\b')).toBe('a\\\\b');
    expect(printable('\u{10080}')).toBe('\u{10080}');
  });

  it('is read back to the exact bytes', () => {
    const unescape = (p: string) => {
      const bytes: number[] = [];
      for (let i = 0; i < p.length;) {
        if (p[i] === '\\' && p[i + 1] === '\\') { bytes.push(0x5c); i += 2; }
        else if (p[i] === '\\' && p[i + 1] === 'x') { bytes.push(parseInt(p.slice(i + 2, i + 4), 16)); i += 4; }
        else { const ch = String.fromCodePoint(p.codePointAt(i)!); bytes.push(...Buffer.from(ch, 'utf8')); i += ch.length; }
      }
      return Buffer.from(bytes);
    };
    for (const bytes of byteStrings(5000, 3)) {
      const p = printable(decodeName(bytes));
      expect(p).not.toMatch(/[\x00-\x1f\x7f]/);
      expect(unescape(p).equals(bytes), `${bytes.toString('hex')} -> ${p}`).toBe(true);
    }
  });
});

describe('JSON fields', () => {
  it('carry the exact bytes in base64 only for names that are not UTF-8', () => {
    expect(pathFields('new\nline')).toEqual({ path: 'new\nline' });
    expect(pathFields('caf\udce9')).toEqual({ path: 'caf\\xe9', pathBase64: Buffer.from('caf\xe9', 'latin1').toString('base64') });
    const report = { files: [{ path: 'caf\udce9', size: 1, closure: { resolved: [{ name: 'libc.so.6', path: 'lib/libc.so.6', neededBy: 'x\udcff' }] } }], list: ['a\udcfe'] };
    expect(withNameBytes(report)).toEqual({
      files: [{ path: 'caf\\xe9', pathBase64: 'Y2Fm6Q==', size: 1, closure: { resolved: [{ name: 'libc.so.6', path: 'lib/libc.so.6', neededBy: 'x\\xff', neededByBase64: 'eP8=' }] } }],
      list: ['a\\xfe'],
    });
  });

  it('sends names to helpers NUL-separated, as bytes', () => {
    expect(nulSeparated(['a', 'caf\udce9', 'new\nline'])).toEqual(Buffer.from('a\0caf\xe9\0new\nline\0', 'latin1'));
  });
});

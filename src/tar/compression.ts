// The compressions a tar image may come in, told by their magic bytes (never by a file name), and
// by the name an output is given. Only those marked supported have a codec here; the others are
// recognised so that a usage error can name them.
//
// zlib is loaded when a codec is first wanted: most commands never want one, and loading it cost
// every command ~3 ms.
import { createRequire } from 'node:module';
import type { Duplex } from 'node:stream';
import { codecStream, decodePrefix } from './external-codec.js';

export const zlib = (): typeof import('node:zlib') => createRequire(import.meta.url)('node:zlib');

export type Compression = 'none' | 'gzip' | 'zstd' | 'xz';

interface Format {
  name: string;
  magic: readonly number[];
  /** Output names that ask for it. */
  suffixes: readonly string[];
  supported: boolean;
}

/**
 * The system programs of the compressions Node has no codec for (external-codec.ts), with the
 * settings that make the same input give the same bytes: zstd's output does not depend on its
 * thread count; xz's does, unless the threads are fixed (two) with a fixed block size.
 */
const PROGRAMS: Record<'zstd' | 'xz', { compress: string[]; decompress: string[] }> = {
  zstd: { compress: ['zstd', '-q', '-c', '-3', '-T0'], decompress: ['zstd', '-q', '-d', '-c'] },
  xz: { compress: ['xz', '-q', '-c', '-6', '-T2', '--block-size=16MiB'], decompress: ['xz', '-q', '-d', '-c', '-T0'] },
};

export const COMPRESSIONS: readonly (Format & { name: Compression | string })[] = [
  { name: 'gzip', magic: [0x1f, 0x8b], suffixes: ['.tar.gz', '.tgz'], supported: true },
  { name: 'zstd', magic: [0x28, 0xb5, 0x2f, 0xfd], suffixes: ['.tar.zst', '.tar.zstd', '.tzst'], supported: true },
  { name: 'xz', magic: [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00], suffixes: ['.tar.xz', '.txz'], supported: true },
  { name: 'bzip2', magic: [0x42, 0x5a, 0x68], suffixes: ['.tar.bz2', '.tbz2', '.tbz'], supported: false },
  { name: 'lz4', magic: [0x04, 0x22, 0x4d, 0x18], suffixes: ['.tar.lz4'], supported: false },
  { name: 'lzip', magic: [0x4c, 0x5a, 0x49, 0x50], suffixes: ['.tar.lz'], supported: false },
  { name: 'compress (.Z)', magic: [0x1f, 0x9d], suffixes: ['.tar.Z', '.taZ'], supported: false },
];

const orList = (items: readonly string[]) => (items.length < 2 ? items.join('') : `${items.slice(0, -1).join(', ')} or ${items.at(-1)}`);
const SUPPORTED = () => COMPRESSIONS.filter((c) => c.supported);

/** The tar images syslayer reads, for messages and help: "plain, gzip, zstd or xz". */
export const TAR_FORMATS = orList(['plain', ...SUPPORTED().map((c) => c.name)]);

/** The names of the tar images syslayer writes: ".tar, .tar.gz (.tgz), .tar.zst (.tar.zstd, .tzst) or .tar.xz (.txz)". */
export const TAR_OUTPUT_NAMES = orList(['.tar', ...SUPPORTED().map((c) => `${c.suffixes[0]}${c.suffixes.length > 1 ? ` (${c.suffixes.slice(1).join(', ')})` : ''}`)]);

/**
 * Gzip as written: level 6 (zlib's and GNU gzip's default) and no time stamp or name in the
 * header (zlib writes neither), so the same input gives the same bytes.
 */
export function compressor(c: Compression): Duplex | null {
  if (c === 'gzip') return zlib().createGzip({ level: 6 });
  return c === 'none' ? null : codecStream(PROGRAMS[c].compress, `compress the image with ${c}`);
}

export function decompressor(c: Compression): Duplex | null {
  if (c === 'gzip') return zlib().createGunzip();
  return c === 'none' ? null : codecStream(PROGRAMS[c].decompress, `decompress the image (${c})`);
}

/** The start of what a compressed image holds, from the first bytes of its file. */
export function decompressedPrefix(c: Exclude<Compression, 'none'>, head: Uint8Array): Buffer {
  if (c === 'gzip') {
    try {
      return zlib().gunzipSync(head, { finishFlush: 2 /* Z_SYNC_FLUSH: a prefix is enough */ });
    } catch {
      return Buffer.alloc(0);
    }
  }
  return decodePrefix(PROGRAMS[c].decompress, head);
}

/** Archive suffixes that are no tar image syslayer writes: an output so named is refused. */
const OTHER_ARCHIVES = ['.zip', '.7z', '.rar', '.cpio', '.gz', '.zst', '.xz', '.bz2', '.lz4', '.tar.Z'];

export type OutputFormat = { kind: 'tar'; compression: Compression } | { kind: 'refused'; reason: string } | { kind: 'other' };

/** What an output's name asks for: a tar of some compression, something we cannot write, or neither. */
export function outputFormatOf(name: string): OutputFormat {
  if (name.endsWith('.tar')) return { kind: 'tar', compression: 'none' };
  for (const c of COMPRESSIONS) {
    const suffix = c.suffixes.find((s) => name.endsWith(s));
    if (suffix === undefined) continue;
    return c.supported ? { kind: 'tar', compression: c.name as Compression }
      : { kind: 'refused', reason: `${suffix} asks for a tar compressed with ${c.name}; syslayer writes ${TAR_OUTPUT_NAMES}` };
  }
  const other = OTHER_ARCHIVES.find((s) => name.endsWith(s));
  if (other) return { kind: 'refused', reason: `syslayer does not write ${other} files; name a directory or ${TAR_OUTPUT_NAMES}` };
  return { kind: 'other' };
}

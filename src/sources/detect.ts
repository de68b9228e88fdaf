// What an input is, from what it holds, never from its name (DESIGN §9): a directory, a tar
// archive (plain or compressed: the compression is told by its magic bytes), or one ELF file.
// Anything else is a usage error that names what was seen, so a format we cannot read is never
// taken for "one other file" and passed with exit 0.
import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { UsageError } from '../errors.js';
import { startsElf } from '../core/elf-magic.js';
import { COMPRESSIONS, TAR_FORMATS, decompressedPrefix, type Compression } from '../tar/compression.js';
import { checksumMatches } from '../tar/tar-header.js';
import { containerArchiveFormat, isOciLayout, type ContainerFormat } from './detect-container.js';

/** `path` is where the bytes are; `name` is what the user called the image (`-` for standard input). */
export type ImageInput =
  | { kind: 'directory'; path: string; name: string }
  | { kind: 'file'; path: string; name: string }
  | { kind: 'tar'; path: string; name: string; compression: Compression }
  /** A container image: an OCI image layout (a directory, or a tar of one) or a docker archive. */
  | { kind: 'container'; path: string; name: string; format: ContainerFormat; archive: boolean };

/** The bytes looked at: a tar header is 512 bytes, its magic at 257. */
const SNIFF = 1024;

/** `ustar\0` (POSIX) or `ustar ` (GNU) at offset 257 of the first header; a pre-POSIX (v7) header has no magic, and its checksum is what identifies it. */
function isTarHeader(b: Uint8Array): boolean {
  if (b.length < 512) return false;
  const block = Buffer.from(b.buffer, b.byteOffset, 512);
  const magic = block.toString('latin1', 257, 263);
  return magic === 'ustar\0' || magic === 'ustar ' || (block[0] !== 0 && checksumMatches(block));
}

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes.subarray(0, 8)).toString('hex').replace(/(..)/g, '$1 ').trim();
}

/** Whether the first bytes of a compressed stream decompress to a tar header. */
function holdsTar(c: Exclude<Compression, 'none'>, head: Uint8Array): boolean {
  const start = decompressedPrefix(c, head);
  // Too short a prefix to tell: the tar reader will say what is wrong.
  return start.length < 512 || isTarHeader(start);
}

export function detectInput(path: string, name = path): ImageInput {
  const label = name === '-' ? 'standard input' : name;
  let info;
  try {
    // Synchronously: the thread pool's first use (starting its threads) cost every command ~5 ms.
    info = statSync(path);
  } catch (error) {
    throw new UsageError(`${label}: cannot open image: ${(error as Error).message}`);
  }
  if (info.isDirectory()) return isOciLayout(path) ? { kind: 'container', path, name, format: 'oci', archive: false } : { kind: 'directory', path, name };
  if (!info.isFile()) throw new UsageError(`${label}: not an image: neither a directory nor a regular file`);
  const head = new Uint8Array(SNIFF);
  const fd = openSync(path, 'r');
  let n: number;
  try {
    n = readSync(fd, head, 0, SNIFF, 0);
  } finally {
    closeSync(fd);
  }
  const bytes = head.subarray(0, n);
  if (n === 0) throw new UsageError(`${label}: empty file: not an image`);
  if (startsElf(bytes, n)) return { kind: 'file', path, name };
  if (isTarHeader(bytes)) {
    const format = containerArchiveFormat(path, label, bytes);
    return format ? { kind: 'container', path, name, format, archive: true } : { kind: 'tar', path, name, compression: 'none' };
  }
  for (const c of COMPRESSIONS) {
    if (!c.magic.every((byte, i) => bytes[i] === byte)) continue;
    if (!c.supported) throw new UsageError(`${label}: ${c.name}-compressed data: syslayer reads tar images ${TAR_FORMATS}`);
    if (!holdsTar(c.name as Exclude<Compression, 'none'>, bytes)) throw new UsageError(`${label}: ${c.name}-compressed data that is not a tar archive`);
    return { kind: 'tar', path, name, compression: c.name as Compression };
  }
  throw new UsageError(`${label}: not an image: neither a directory, a tar archive (${TAR_FORMATS}) nor an ELF file (it starts with ${hex(bytes)})`);
}

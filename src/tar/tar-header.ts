// The fields of a tar header block that a rewrite reads or changes, as bytes: name (ustar prefix
// and name), link name, type, size (octal or GNU base-256), checksum; and PAX records. Everything
// else in a header is carried through as it was, so only these need code.
export const BLOCK = 512;

export const padded = (n: number) => Math.ceil(n / BLOCK) * BLOCK;

/** The end of a NUL-terminated field: its first NUL, or its last byte + 1. */
export function fieldEnd(block: Buffer, start: number, length: number): number {
  const nul = block.indexOf(0, start);
  return nul < 0 || nul > start + length ? start + length : nul;
}

/** The bytes of field [start, start + length) up to its first NUL. */
export function field(block: Buffer, start: number, length: number): Buffer {
  return block.subarray(start, fieldEnd(block, start, length));
}

/** Why a number field could not be read. */
export type NumberProblem = 'a negative base-256 number' | 'a base-256 number over 2^53' | 'not an octal number';

/**
 * A number field: octal (leading spaces, then digits, ended by NUL or space, or filling the
 * field, as GNU tar accepts; all NULs read as 0, as old tars left some), or GNU base-256
 * (big-endian; bit 6 of the first byte is the sign, its low 6 bits the top of the value).
 */
export function numberField(block: Buffer, start: number, length: number): number | NumberProblem {
  const b0 = block[start]!;
  if (b0 & 0x80) {
    if (b0 & 0x40) return 'a negative base-256 number';
    let value = b0 & 0x3f;
    for (let i = start + 1; i < start + length; i++) {
      value = value * 256 + block[i]!;
      if (value > Number.MAX_SAFE_INTEGER) return 'a base-256 number over 2^53';
    }
    return value;
  }
  let i = start;
  const end = start + length;
  while (i < end && block[i] === 0x20) i++;
  let value = 0;
  while (i < end && block[i]! >= 0x30 && block[i]! <= 0x37) value = value * 8 + (block[i++]! - 0x30);
  return i < end && block[i] !== 0 && block[i] !== 0x20 ? 'not an octal number' : value;
}

export type TarEntryType = 'file' | 'hardlink' | 'symlink' | 'directory' | 'char' | 'block' | 'fifo' | 'contiguous' | 'other';

/**
 * What an entry is, as GNU tar reads it: '0', NUL and '7' with a name ending in '/' are
 * directories (old and BSD tars wrote them so); 'D' (GNU dumpdir) is a directory; 'S' (GNU's old
 * sparse format) is a regular file.
 */
export function entryType(typeflag: number, name: Buffer): TarEntryType {
  switch (typeflag) {
    case 0:
    case 0x30:
    case 0x37:
      if (name[name.length - 1] === 0x2f) return 'directory';
      return typeflag === 0x37 ? 'contiguous' : 'file';
    case 0x53:
      return 'file';
    case 0x31:
      return 'hardlink';
    case 0x32:
      return 'symlink';
    case 0x33:
      return 'char';
    case 0x34:
      return 'block';
    case 0x35:
    case 0x44:
      return 'directory';
    case 0x36:
      return 'fifo';
    default:
      return 'other';
  }
}

/** Whether the header's checksum field matches its bytes, as an unsigned or (old tars) a signed sum. */
export function checksumMatches(block: Buffer): boolean {
  const stored = numberField(block, 148, 8);
  if (typeof stored !== 'number') return false;
  let unsigned = 0;
  let signed = 0;
  for (let i = 0; i < BLOCK; i++) {
    const b = i >= 148 && i < 156 ? 0x20 : block[i]!;
    unsigned += b;
    signed += b > 127 ? b - 256 : b;
  }
  return stored === unsigned || stored === signed;
}

/** Writes `size` into the header's size field and recomputes its checksum ("%06o\0 ", as GNU tar). */
export function setSize(block: Buffer, size: number): void {
  if (size < 8 ** 11) {
    block.write(`${size.toString(8).padStart(11, '0')}\0`, 124, 'latin1');
  } else {
    block.fill(0, 124, 136);
    block[124] = 0x80;
    let n = size;
    for (let i = 135; i > 124 && n > 0; i--) {
      block[i] = n % 256;
      n = Math.floor(n / 256);
    }
  }
  block.fill(0x20, 148, 156);
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += block[i]!;
  block.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
}

/** The entry's name from the block: the ustar prefix joined to the name field (POSIX magic only). */
export function headerName(block: Buffer): Buffer {
  const name = field(block, 0, 100);
  const posix = block.toString('latin1', 257, 263) === 'ustar\0';
  if (!posix) return name;
  // star keeps times after a 131-byte prefix and says so with "tar\0" at the end of the block.
  const prefix = field(block, 345, block.toString('latin1', 508, 512) === 'tar\0' ? 131 : 155);
  return prefix.length > 0 ? Buffer.concat([prefix, Buffer.from('/'), name]) : name;
}

export interface PaxRecord {
  key: string;
  value: Buffer;
  /** The record as it was: written back unchanged unless its value changes. */
  raw: Buffer;
}

/** The records of a PAX extended header's data; null when it is malformed. */
export function parsePax(data: Buffer): PaxRecord[] | null {
  const records: PaxRecord[] = [];
  let at = 0;
  while (at < data.length) {
    if (data[at] === 0) break; // padding some writers leave
    const space = data.indexOf(0x20, at);
    if (space < 0) return null;
    const length = Number(data.toString('latin1', at, space));
    if (!Number.isSafeInteger(length) || length <= space - at || at + length > data.length || data[at + length - 1] !== 0x0a) return null;
    const equals = data.indexOf(0x3d, space + 1);
    if (equals < 0 || equals >= at + length) return null;
    records.push({ key: data.toString('utf8', space + 1, equals), value: data.subarray(equals + 1, at + length - 1), raw: data.subarray(at, at + length) });
    at += length;
  }
  return records;
}

/** One record, "<length> <key>=<value>\n", whose length counts itself. */
export function paxRecord(key: string, value: Buffer): Buffer {
  const body = Buffer.concat([Buffer.from(` ${key}=`, 'utf8'), value, Buffer.from('\n')]);
  let digits = String(body.length).length;
  while (String(body.length + digits).length !== digits) digits++;
  return Buffer.concat([Buffer.from(String(body.length + digits)), body]);
}

// The fields of a tar header block that a rewrite reads or changes, as bytes: name (ustar prefix
// and name), link name, type, size (octal or GNU base-256), checksum; and PAX records. Everything
// else in a header is carried through as it was, so only these need code.
export const BLOCK = 512;

export const padded = (n: number) => Math.ceil(n / BLOCK) * BLOCK;

/** The bytes of field [start, start + length) up to its first NUL. */
export function field(block: Buffer, start: number, length: number): Buffer {
  const end = block.indexOf(0, start);
  return block.subarray(start, end < 0 || end > start + length ? start + length : end);
}

/** An octal field (digits between optional spaces and NULs) or a GNU base-256 one; NaN when neither. */
export function numberField(block: Buffer, start: number, length: number): number {
  if (block[start]! & 0x80) {
    if (block[start] === 0xff) return Number.NaN; // negative: no size is
    let n = block[start]! & 0x7f;
    for (let i = start + 1; i < start + length; i++) n = n * 256 + block[i]!;
    return Number.isSafeInteger(n) ? n : Number.NaN;
  }
  const text = block.toString('latin1', start, start + length).replace(/[\0 ]+$/, '').replace(/^ +/, '');
  return /^[0-7]*$/.test(text) ? (text === '' ? 0 : Number.parseInt(text, 8)) : Number.NaN;
}

/** Whether the header's checksum field matches its bytes, as an unsigned or (old tars) a signed sum. */
export function checksumMatches(block: Buffer): boolean {
  const stored = numberField(block, 148, 8);
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
  const prefix = field(block, 345, 155);
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

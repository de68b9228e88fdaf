// Byte access to the file under examination. The file sits in WebAssembly memory at `fileBase`;
// offsets are file offsets (u64, as ELF has them). Callers check ranges with `fits` before they
// load: the loads themselves do no checking, so a missed check reads neighbouring memory rather
// than trapping (the debug build asserts instead). Byte order is passed explicitly (STYLE.md).
//
// The file may be only partly loaded: JavaScript reads it in CHUNK_SIZE chunks, on demand. `fits`
// is where a range is first touched, so it is also where a missing chunk is noticed: it records
// the range and the scan ends with SR_STATUS_NEED_BYTES; JavaScript loads it and scans again.
// A scan of a 100 MB library so reads its headers, notes and dynamic strings, not its code.
import { SR_CHUNK_SIZE } from './generated/scan-record';

const CHUNK_SHIFT: u64 = <u64>ctz(SR_CHUNK_SIZE);

let fileBase: usize = 0;
let fileLen: u64 = 0;
/** One byte per chunk, non-zero once loaded; unused when the whole file is loaded. */
let chunkMap: usize = 0;
let chunkMapCapacity: usize = 0;
let wholeFileLoaded: bool = true;
let needFrom: u64 = 0;
let needTo: u64 = 0;
let needing: bool = false;

export function setFile(base: usize, len: u64): void {
  fileBase = base;
  fileLen = len;
  needing = false;
  needFrom = u64.MAX_VALUE;
  needTo = 0;
}

/** Starts tracking which chunks of a `len`-byte file are loaded: none yet. */
export function resetChunks(len: u64): void {
  const count = <usize>((len + <u64>SR_CHUNK_SIZE - 1) >> CHUNK_SHIFT);
  if (count > chunkMapCapacity) {
    if (chunkMap != 0) heap.free(chunkMap);
    chunkMap = heap.alloc(count);
    chunkMapCapacity = count;
  }
  memory.fill(chunkMap, 0, count);
  wholeFileLoaded = false;
}

export function markLoaded(off: u64, len: u64): void {
  if (len == 0) return;
  const last = (off + len - 1) >> CHUNK_SHIFT;
  for (let c = off >> CHUNK_SHIFT; c <= last; c++) store<u8>(chunkMap + <usize>c, 1);
}

export function markWholeFileLoaded(): void {
  wholeFileLoaded = true;
}

export function needsBytes(): bool {
  return needing;
}

export function neededOffset(): u64 {
  return needFrom;
}

export function neededLength(): u64 {
  return needTo - needFrom;
}

function loaded(off: u64, size: u64): bool {
  if (wholeFileLoaded || size == 0) return true;
  const last = (off + size - 1) >> CHUNK_SHIFT;
  let all = true;
  for (let c = off >> CHUNK_SHIFT; c <= last; c++) {
    if (load<u8>(chunkMap + <usize>c) == 0) { all = false; break; }
  }
  if (all) return true;
  needing = true;
  if (off < needFrom) needFrom = off;
  if (off + size > needTo) needTo = off + size;
  return false;
}

@inline function checkLoaded(off: u64, size: u64): void {
  if (ASC_NO_ASSERT) return;
  if (wholeFileLoaded) return;
  for (let c = off >> CHUNK_SHIFT; c <= (off + size - 1) >> CHUNK_SHIFT; c++) {
    assert(load<u8>(chunkMap + <usize>c) != 0, 'core read a chunk it had not checked with fits');
  }
}

export function fileLength(): u64 {
  return fileLen;
}

export function fileAddress(off: u64): usize {
  return fileBase + <usize>off;
}

/**
 * True when [off, off + size) lies inside the file and is loaded. Written so that no sum can
 * overflow. A range inside the file that is not loaded yet is recorded as needed (see above).
 */
export function fits(off: u64, size: u64): bool {
  return off <= fileLen && size <= fileLen - off && loaded(off, size);
}

/** No file the wasm32 core holds, and no ELF32 offset or size, reaches 4 GiB. */
const RANGE_LIMIT: u64 = 1 << 32;

/**
 * Where an error about a range that does not fit its container points: the definition of error
 * offsets for every range check in the core (a table, a section, a segment, a note). The range is
 * [off, off + size), read from the fields at `offField` and `sizeField`, in a container ending at
 * `end` (the end of the file, or of a note region).
 * - A range no file could hold (it reaches 4 GiB) is the fault of one field: the offset field when
 *   the start alone already lies past `end`, else the size (or count) field.
 * - Any other range that runs past `end` is reported at `end`, where the bytes ran out. A cut file
 *   looks exactly like a wrong offset or count there, so the scanner cannot honestly name the field;
 *   the message still names the fields and their values.
 */
export function rangeFault(off: u64, size: u64, end: u64, offField: u64, sizeField: u64): u64 {
  const impossible = off >= RANGE_LIMIT || size >= RANGE_LIMIT || off + size >= RANGE_LIMIT;
  if (!impossible) return end;
  return off > end ? offField : sizeField;
}

@inline export function ld8(off: u64): u32 {
  checkLoaded(off, 1);
  return <u32>load<u8>(fileBase + <usize>off);
}

@inline export function ld16(off: u64, le: bool): u32 {
  checkLoaded(off, 2);
  const v = load<u16>(fileBase + <usize>off);
  return <u32>(le ? v : bswap<u16>(v));
}

@inline export function ld32(off: u64, le: bool): u32 {
  checkLoaded(off, 4);
  const v = load<u32>(fileBase + <usize>off);
  return le ? v : bswap<u32>(v);
}

@inline export function ld64(off: u64, le: bool): u64 {
  checkLoaded(off, 8);
  const v = load<u64>(fileBase + <usize>off);
  return le ? v : bswap<u64>(v);
}

/** Length of the NUL-terminated string at `off`, or -1 when no NUL comes before `end`. */
export function cstrlen(off: u64, end: u64): i64 {
  if (end > fileLen) end = fileLen;
  for (let p = off; p < end; p++) {
    checkLoaded(p, 1);
    if (load<u8>(fileBase + <usize>p) == 0) return <i64>(p - off);
  }
  return -1;
}

/** True when the bytes at `off` equal the ASCII `text` followed by a NUL. */
export function equalsCString(off: u64, end: u64, text: string): bool {
  const n = <u64>text.length;
  if (off > end || n + 1 > end - off || !fits(off, n + 1)) return false;
  for (let i: u64 = 0; i < n; i++) {
    if (<u32>load<u8>(fileBase + <usize>(off + i)) != <u32>text.charCodeAt(<i32>i)) return false;
  }
  return load<u8>(fileBase + <usize>(off + n)) == 0;
}

export function hex(v: u64): string {
  return '0x' + v.toString(16);
}

// Stores into the file in memory, for the binder. Callers have laid out the whole result first
// (and grown the area), so these do not check.
@inline export function st16(off: u64, v: u32, le: bool): void {
  store<u16>(fileBase + <usize>off, le ? <u16>v : bswap<u16>(<u16>v));
}

@inline export function st32(off: u64, v: u32, le: bool): void {
  store<u32>(fileBase + <usize>off, le ? v : bswap<u32>(v));
}

@inline export function st64(off: u64, v: u64, le: bool): void {
  store<u64>(fileBase + <usize>off, le ? v : bswap<u64>(v));
}

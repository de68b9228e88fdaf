// Byte access to the file under examination. The file sits in WebAssembly memory at `fileBase`;
// offsets are file offsets (u64, as ELF has them). Callers check ranges with `fits` before they
// load: the loads themselves do no checking, so a missed check reads neighbouring memory rather
// than trapping. Byte order is passed explicitly on every load (STYLE.md).

let fileBase: usize = 0;
let fileLen: u64 = 0;

export function setFile(base: usize, len: u64): void {
  fileBase = base;
  fileLen = len;
}

export function fileLength(): u64 {
  return fileLen;
}

export function fileAddress(off: u64): usize {
  return fileBase + <usize>off;
}

/** True when [off, off + size) lies inside the file. Written so that no sum can overflow. */
export function fits(off: u64, size: u64): bool {
  return off <= fileLen && size <= fileLen - off;
}

@inline export function ld8(off: u64): u32 {
  return <u32>load<u8>(fileBase + <usize>off);
}

@inline export function ld16(off: u64, le: bool): u32 {
  const v = load<u16>(fileBase + <usize>off);
  return <u32>(le ? v : bswap<u16>(v));
}

@inline export function ld32(off: u64, le: bool): u32 {
  const v = load<u32>(fileBase + <usize>off);
  return le ? v : bswap<u32>(v);
}

@inline export function ld64(off: u64, le: bool): u64 {
  const v = load<u64>(fileBase + <usize>off);
  return le ? v : bswap<u64>(v);
}

/** Length of the NUL-terminated string at `off`, or -1 when no NUL comes before `end`. */
export function cstrlen(off: u64, end: u64): i64 {
  if (end > fileLen) end = fileLen;
  for (let p = off; p < end; p++) {
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

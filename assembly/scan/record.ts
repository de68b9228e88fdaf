// Writes the compact scan record (layout generated from data/scan-record.json) that JavaScript
// reads through a typed-array view: one record per file, no per-field calls across the boundary.
import { SR_SIZE, SR_NONE } from '../generated/scan-record';

let base: usize = heap.alloc(<usize>SR_SIZE);
let needed: usize = 0;
let neededCapacity: u32 = 0;
let errorBytes: ArrayBuffer = new ArrayBuffer(0);

export function recordAddress(): usize {
  return base;
}

export function clearRecord(): void {
  memory.fill(base, 0, <usize>SR_SIZE);
}

export function putU32(field: u32, value: u32): void {
  store<u32>(base + <usize>field, value);
}

export function putU64(field: u32, value: u64): void {
  store<u64>(base + <usize>field, value);
}

export function putString(field: u32, offset: u64, length: u64): void {
  store<u32>(base + <usize>field, <u32>offset);
  store<u32>(base + <usize>field + 4, <u32>length);
}

export function putAbsent(field: u32): void {
  store<u32>(base + <usize>field, SR_NONE);
  store<u32>(base + <usize>field + 4, 0);
}

/** The UTF-8 message goes into memory the record points at; it lives until the next record. */
export function putError(field: u32, text: string): void {
  errorBytes = String.UTF8.encode(text);
  store<u32>(base + <usize>field, <u32>changetype<usize>(errorBytes));
  store<u32>(base + <usize>field + 4, <u32>errorBytes.byteLength);
}

/** Room for `count` (offset, length) pairs of DT_NEEDED strings; returns its address. */
export function neededArea(count: u32): usize {
  if (count > neededCapacity) {
    needed = needed == 0 ? heap.alloc(<usize>count * 8) : heap.realloc(needed, <usize>count * 8);
    neededCapacity = count;
  }
  return needed;
}

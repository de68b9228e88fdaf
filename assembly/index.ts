// The core's memory contract (STYLE.md, "A fixed memory contract"). JavaScript asks for an input
// area big enough for a file, reads the file straight into it, and calls an entry point with the
// length; the entry point returns the address of a compact record to read through a view.
// Addresses stay valid until the next call; memory may grow on any call, so views are re-created.
import { scanFile } from './scan/scan';

let input: usize = 0;
let inputCapacity: usize = 0;

/** Address of an input area of at least `size` bytes (its contents are not preserved). */
export function inputArea(size: usize): usize {
  if (size > inputCapacity) {
    if (input != 0) heap.free(input);
    // Grow geometrically so a run over growing files reallocates O(log n) times.
    let capacity = inputCapacity < 65536 ? <usize>65536 : inputCapacity;
    while (capacity < size) capacity = capacity * 2 > capacity ? capacity * 2 : size;
    input = heap.alloc(capacity);
    inputCapacity = capacity;
  }
  return input;
}

/** Scans the `length` bytes in the input area; returns the record's address. */
export function scan(length: usize): usize {
  return scanFile(input, <u64>length);
}

// The core's memory contract (STYLE.md, "A fixed memory contract"). JavaScript asks for an input
// area big enough for a file and reads the file straight into it, whole or in chunks (telling the
// core which chunks it loaded); an entry point takes the length and returns the address of a
// compact record to read through a view. A scan that needs an unloaded chunk says so in its
// record, and JavaScript loads it and scans again. Addresses stay valid until the next call;
// memory may grow on any call, so JavaScript re-creates its views after each.
import { scanFile } from './scan/scan';
import { resetChunks, markLoaded, markWholeFileLoaded } from './bytes';

let input: usize = 0;
let inputCapacity: usize = 0;

/**
 * Address of an input area of at least `size` bytes, taken to hold a whole file. Growing keeps
 * the bytes already there, so JavaScript can read a file's first chunk before it knows its size.
 */
export function inputArea(size: usize): usize {
  if (size > inputCapacity) {
    // Grow geometrically so a run over growing files reallocates O(log n) times.
    let capacity = inputCapacity < 65536 ? <usize>65536 : inputCapacity;
    while (capacity < size) capacity = capacity * 2 > capacity ? capacity * 2 : size;
    input = input == 0 ? heap.alloc(capacity) : heap.realloc(input, capacity);
    inputCapacity = capacity;
  }
  markWholeFileLoaded();
  return input;
}

/** The file of `size` bytes in the input area will be loaded in chunks: none is loaded yet. */
export function loadingInChunks(size: usize): void {
  resetChunks(<u64>size);
}

/** JavaScript has read bytes [offset, offset + length) of the file into the input area. */
export function chunksLoaded(offset: usize, length: usize): void {
  markLoaded(<u64>offset, <u64>length);
}

/** Scans the `length` bytes in the input area; returns the record's address. */
export function scan(length: usize): usize {
  return scanFile(input, <u64>length);
}

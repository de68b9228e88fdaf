// The input area: where JavaScript puts the file the core works on, and where the binder grows
// it in place (the bound file is the original plus appended bytes).
import { setFile } from './bytes';

let input: usize = 0;
let inputCapacity: usize = 0;

export function inputAddress(): usize {
  return input;
}

/**
 * Makes the area at least `size` bytes, keeping its first `keep` bytes; returns its (maybe new)
 * address. Only those are copied: realloc would copy, and so touch page by page, the whole old
 * area, most of which a scan never reads (the area grows to 8 MiB for a Debian rootfs's largest
 * ELF file, of which the scan reads a few chunks): its 954 ELF files took 80 ms, not 120-140.
 */
export function growInput(size: usize, keep: usize): usize {
  if (size > inputCapacity) {
    // Grow geometrically so a run over growing files reallocates O(log n) times.
    let capacity = inputCapacity < 65536 ? <usize>65536 : inputCapacity;
    while (capacity < size) capacity = capacity * 2 > capacity ? capacity * 2 : size;
    const fresh = heap.alloc(capacity);
    if (input != 0) {
      memory.copy(fresh, input, keep < inputCapacity ? keep : inputCapacity);
      heap.free(input);
    }
    input = fresh;
    inputCapacity = capacity;
  }
  return input;
}

/** Grows the area for a file being rewritten in place and points the byte helpers at it. */
export function growFile(size: u64): void {
  growInput(<usize>size, inputCapacity);
  setFile(input, size);
}

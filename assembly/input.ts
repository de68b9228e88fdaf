// The input area: where JavaScript puts the file the core works on, and where the binder grows
// it in place (the bound file is the original plus appended bytes).
import { setFile } from './bytes';

let input: usize = 0;
let inputCapacity: usize = 0;

export function inputAddress(): usize {
  return input;
}

/** Makes the area at least `size` bytes, keeping its contents; returns its (maybe new) address. */
export function growInput(size: usize): usize {
  if (size > inputCapacity) {
    // Grow geometrically so a run over growing files reallocates O(log n) times.
    let capacity = inputCapacity < 65536 ? <usize>65536 : inputCapacity;
    while (capacity < size) capacity = capacity * 2 > capacity ? capacity * 2 : size;
    input = input == 0 ? heap.alloc(capacity) : heap.realloc(input, capacity);
    inputCapacity = capacity;
  }
  return input;
}

/** Grows the area for a file being rewritten in place and points the byte helpers at it. */
export function growFile(size: u64): void {
  growInput(<usize>size);
  setFile(input, size);
}

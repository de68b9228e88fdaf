// The core's memory contract (STYLE.md, "A fixed memory contract"). JavaScript asks for an input
// area big enough for a file and reads the file straight into it, whole or in chunks (telling the
// core which chunks it loaded); an entry point takes the length and returns the address of a
// compact record to read through a view. A scan that needs an unloaded chunk says so in its
// record, and JavaScript loads it and scans again. Addresses stay valid until the next call;
// memory may grow on any call, so JavaScript re-creates its views after each.
import { scanFile } from './scan/scan';
import { resetChunks, markLoaded, markWholeFileLoaded, setFile } from './bytes';
import { resetError, hasFailed, errorMessage, errorOffset } from './errors';
import { Record } from './record';
import { ElfFile } from './elf/file';
import { LinkResult, linkLayer } from './link/link';
import { LR_SIZE, LR_STATUS, LR_STATUS_OK, LR_STATUS_ERROR, LR_SLOT_COUNT, LR_IMAGE_PTR, LR_IMAGE_LEN, LR_SLOTS_IMPLEMENTED, LR_ERROR_OFFSET, LR_ERROR } from './generated/link-record';

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

let scratch: usize = 0;
let scratchCapacity: usize = 0;

/** Address of a second area of at least `size` bytes, for arguments other than the file. */
export function scratchArea(size: usize): usize {
  if (size > scratchCapacity) {
    scratch = scratch == 0 ? heap.alloc(size) : heap.realloc(scratch, size);
    scratchCapacity = size;
  }
  return scratch;
}

const linkRecord = new Record(LR_SIZE);
const linkResult = new LinkResult();
const linkElf = new ElfFile();

/**
 * Links the layer object of `length` bytes in the input area for the slot names in the scratch
 * area (`namesLength` bytes: UTF-8 names, each ended by a NUL, slot 0 first).
 */
export function link(length: usize, namesLength: usize): usize {
  setFile(input, <u64>length);
  resetError();
  linkRecord.clear();
  const names = new Array<string>();
  let start: usize = 0;
  for (let i: usize = 0; i < namesLength; i++) {
    if (load<u8>(scratch + i) != 0) continue;
    names.push(String.UTF8.decodeUnsafe(scratch + start, i - start));
    start = i + 1;
  }
  if (linkLayer(linkElf, names, linkResult) && !hasFailed()) {
    linkRecord.u32(LR_STATUS, LR_STATUS_OK);
    linkRecord.u32(LR_SLOT_COUNT, linkResult.slotCount);
    linkRecord.u32(LR_IMAGE_PTR, <u32>linkResult.image);
    linkRecord.u32(LR_IMAGE_LEN, <u32>linkResult.length);
    linkRecord.u64(LR_SLOTS_IMPLEMENTED, linkResult.implemented);
  } else {
    linkRecord.u32(LR_STATUS, LR_STATUS_ERROR);
    linkRecord.u64(LR_ERROR_OFFSET, errorOffset());
    linkRecord.error(LR_ERROR, errorMessage());
  }
  return linkRecord.base;
}

// The core's memory contract (STYLE.md, "A fixed memory contract"). JavaScript asks for an input
// area big enough for a file and reads the file straight into it, whole or in chunks (telling the
// core which chunks it loaded); an entry point takes the length and returns the address of a
// compact record to read through a view. A scan that needs an unloaded chunk says so in its
// record, and JavaScript loads it and scans again. Addresses stay valid until the next call;
// memory may grow on any call, so JavaScript re-creates its views after each.
import { scanFile } from './scan/scan';
import { resetChunks, markLoaded, markWholeFileLoaded, setFile, fileLength } from './bytes';
import { resetError, hasFailed, errorMessage, errorOffset } from './errors';
import { Record } from './record';
import { growInput, inputAddress } from './input';
import { ElfFile } from './elf/file';
import { LinkResult, linkLayer } from './link/link';
import { Client, openClient, checkBindable, detachBinding } from './bind/client';
import { BindLayout, bindClient } from './bind/bind';
import {
  BR_SIZE, BR_STATUS, BR_STATUS_OK, BR_STATUS_ERROR, BR_WAS_BOUND, BR_OUTPUT_PTR, BR_OUTPUT_LEN, BR_ORIGINAL_LEN,
  BR_RESERVATION_SIZE, BR_ABI, BR_MACHINE, BR_REC_TARGET_KERNEL, BR_REC_ABI_MIN, BR_REC_ABI_MAX, BR_REC_KERNEL_MIN,
  BR_REC_REVISION, BR_REC_CLIENT_ABI, BR_REC_IMAGE_LEN, BR_REC_ORIGINAL_SHA, BR_REC_RESERVATION_SHA, BR_REC_LAYER_NAME,
  BR_ERROR_OFFSET, BR_ERROR, BR_STATUS_RECORD_MISMATCH,
} from './generated/bind-record';
import { LR_SIZE, LR_STATUS, LR_STATUS_OK, LR_STATUS_ERROR, LR_SLOT_COUNT, LR_IMAGE_PTR, LR_IMAGE_LEN, LR_SLOTS_IMPLEMENTED, LR_ERROR_OFFSET, LR_ERROR } from './generated/link-record';

/**
 * Address of an input area of at least `size` bytes, taken to hold a whole file. Growing keeps
 * its first `keep` bytes, so JavaScript can read a file's first bytes before it knows its size.
 */
export function inputArea(size: usize, keep: usize): usize {
  const address = growInput(size, keep);
  markWholeFileLoaded();
  return address;
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
  return scanFile(inputAddress(), <u64>length);
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

/**
 * Address of an area of `size` bytes that stays where it is until `releaseResident`: what a pool
 * worker keeps for the whole run, such as each linked layer image of the catalog, which `bind`
 * then reads in place instead of having it copied in for every client.
 */
export function residentArea(size: usize): usize {
  return heap.alloc(size);
}

/** Gives back an area of `residentArea` (the catalog it held was replaced). */
export function releaseResident(address: usize): void {
  heap.free(address);
}

const linkRecord = new Record(LR_SIZE);
const linkResult = new LinkResult();
const linkElf = new ElfFile();

/**
 * Links the layer object of `length` bytes in the input area for the slot names in the scratch
 * area (`namesLength` bytes: UTF-8 names, each ended by a NUL, slot 0 first).
 */
export function link(length: usize, namesLength: usize): usize {
  setFile(inputAddress(), <u64>length);
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

const bindRecord = new Record(BR_SIZE);
const client = new Client();
const bindLayout = new BindLayout();

function bindFailed(): usize {
  bindRecord.u32(BR_STATUS, client.recordMismatch ? BR_STATUS_RECORD_MISMATCH : BR_STATUS_ERROR);
  bindRecord.u64(BR_ERROR_OFFSET, errorOffset());
  bindRecord.error(BR_ERROR, errorMessage());
  return bindRecord.base;
}

function describeClient(): usize {
  const n = client.note;
  bindRecord.u32(BR_STATUS, BR_STATUS_OK);
  bindRecord.u32(BR_WAS_BOUND, client.wasBound ? 1 : 0);
  bindRecord.u32(BR_ORIGINAL_LEN, <u32>fileLength());
  bindRecord.u32(BR_ABI, client.abi);
  bindRecord.u32(BR_MACHINE, client.elf.machine);
  if (client.wasBound) {
    bindRecord.u32(BR_REC_TARGET_KERNEL, n.targetKernel);
    bindRecord.u32(BR_REC_ABI_MIN, n.abiMin);
    bindRecord.u32(BR_REC_ABI_MAX, n.abiMax);
    bindRecord.u32(BR_REC_KERNEL_MIN, n.kernelMin);
    bindRecord.u32(BR_REC_REVISION, n.revision);
    bindRecord.u32(BR_REC_CLIENT_ABI, n.clientAbi);
    bindRecord.u32(BR_REC_IMAGE_LEN, <u32>n.imageLength);
    bindRecord.str(BR_REC_ORIGINAL_SHA, <u64>inputAddress() + n.originalSha, 32);
    bindRecord.str(BR_REC_RESERVATION_SHA, <u64>inputAddress() + n.reservationSha, 32);
    bindRecord.str(BR_REC_LAYER_NAME, <u64>inputAddress() + n.name, n.nameLength);
  }
  bindRecord.u32(BR_OUTPUT_PTR, <u32>inputAddress());
  bindRecord.u32(BR_OUTPUT_LEN, <u32>fileLength());
  return bindRecord.base;
}

/**
 * Opens the client of `length` bytes in the input area and, when it is bound, undoes the binding
 * in place. The record says what the original is and what the old bind record held; JavaScript
 * checks the original's SHA-256 before trusting it (then calls `check` to bind).
 */
export function prepare(length: usize): usize {
  resetError();
  bindRecord.clear();
  if (!openClient(client, inputAddress(), <u64>length) || hasFailed()) return bindFailed();
  return describeClient();
}

/**
 * For a bound file whose bind record no longer matches it (rewritten by strip or objcopy after
 * binding): takes the file as it is, with its binding detached, as the new original.
 */
export function detach(length: usize): usize {
  resetError();
  bindRecord.clear();
  client.recordMismatch = false;
  if (!detachBinding(client, inputAddress(), <u64>length) || hasFailed()) return bindFailed();
  return describeClient();
}

/** Checks everything that would make binding refuse the prepared client. */
export function check(): usize {
  client.recordMismatch = false;
  resetError();
  bindRecord.clear();
  if (!checkBindable(client) || hasFailed()) return bindFailed();
  describeClient();
  bindRecord.u32(BR_RESERVATION_SIZE, <u32>client.elf.phMemsz(<u32>client.reservation.segment));
  return bindRecord.base;
}

/**
 * Binds the client `check` accepted, with the BIND_PARAMS record and the layer's name in the
 * scratch area; the record says where the linked image is. The bound file replaces the input
 * area's contents.
 */
export function bind(): usize {
  resetError();
  bindRecord.clear();
  if (!bindClient(client, scratch, bindLayout) || hasFailed()) return bindFailed();
  bindRecord.u32(BR_STATUS, BR_STATUS_OK);
  bindRecord.u32(BR_OUTPUT_PTR, <u32>inputAddress());
  bindRecord.u32(BR_OUTPUT_LEN, <u32>bindLayout.total);
  bindRecord.u32(BR_ORIGINAL_LEN, <u32>bindLayout.original);
  return bindRecord.base;
}

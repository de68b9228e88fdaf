// One instance of the WebAssembly core and the way JavaScript feeds it files. The module is
// compiled once per process (or once per run and handed to every worker); each worker keeps one
// instance for its whole life. File bytes are read straight into the core's memory.
import { readFileSync, openSync, readSync, fstatSync, closeSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../util/package-root.js';
import { decodeScanRecord, type DecodedRecord, type ScanResult } from './scan-record.js';
import { decodeLinkRecord } from './link-record.js';
import { decodeBindRecord, type CoreOutcome, type PreparedClient } from './bind-record.js';
import { BIND_PARAMS, BIND_PARAMS_SIZE } from './generated/bind-params-record.js';
import { SR_CHUNK_SIZE } from './generated/scan-record.js';
import type { ScanOutcome } from './facts.js';
import { startsElf } from './elf-magic.js';
import { fsPath } from '../names/path-bytes.js';

interface CoreExports {
  memory: WebAssembly.Memory;
  inputArea(size: number, keep: number): number;
  loadingInChunks(size: number): void;
  chunksLoaded(offset: number, length: number): void;
  scan(length: number): number;
  scratchArea(size: number): number;
  link(length: number, namesLength: number): number;
  prepare(length: number): number;
  detach(length: number): number;
  check(): number;
  bind(): number;
  residentArea(size: number): number;
  releaseResident(address: number): void;
}

/** What the binder writes into a client besides the image (docs/abi.md, the bind record). */
export interface BindParams {
  targetKernel: number;
  layerAbiMin: number;
  layerAbiMax: number;
  layerKernelMin: number;
  layerRevision: number;
  layerName: string;
  clientAbi: number;
  image: Uint8Array;
  /** Where `image` is resident in this core's memory (`makeResident`); without it, it is copied in for this call. */
  imageAddress?: number;
  originalSha256: Buffer;
  reservationSha256: Buffer;
}

/** A layer linked for one slot table: the bytes for the reservation, and which slots it fills. */
export interface LinkedImage {
  image: Uint8Array;
  slotCount: number;
  /** implemented[i] is true when the layer defines the function of slot i. */
  implemented: boolean[];
  /**
   * Where the image is resident in the memory of the core that binds with it: a pool worker puts
   * each image of the catalog there once (src/pool/shared-catalog.ts), and bind reads it in place.
   */
  address?: number;
}

export type LinkOutcome = { ok: true; linked: LinkedImage } | { ok: false; error: string; errorOffset: number };

/**
 * The first read of every file: it answers "is this ELF?". Only an ELF file gets the rest of its
 * first chunk, then further chunks where the core looks. Most files of an image are not ELF, and
 * a 4 KiB read costs them less than a whole 64 KiB chunk did (10,312 files of a Debian rootfs:
 * 120-128 ms against 147-152 ms to open, read into core memory and close).
 */
const FIRST_READ = 4096;

export function corePath(debug = process.env.SYSLAYER_CORE_DEBUG === '1'): string {
  return join(packageRoot(), 'build', debug ? 'syslayer.debug.wasm' : 'syslayer.wasm');
}

export function compileCore(path = corePath()): WebAssembly.Module {
  return new WebAssembly.Module(readFileSync(path));
}

const NOT_ELF: ScanResult = Object.freeze({ status: 'not-elf' });
/** A non-ELF file longer than the first read: its size was not measured. */
const LONG_NOT_ELF = Object.freeze({ size: null, record: NOT_ELF });

export class Core {
  private readonly exports: CoreExports;
  private inputAddress = 0;
  /** A view of the first-read area, kept while nothing else asks for the input area. */
  private firstView: Uint8Array | null = null;

  constructor(module: WebAssembly.Module) {
    const instance = new WebAssembly.Instance(module, {
      env: {
        abort(_message: number, _file: number, line: number, column: number): never {
          // Only an assertion in the debug build lands here: a bug in the core, not bad input.
          throw new Error(`syslayer core aborted at line ${line}:${column}`);
        },
      },
    });
    this.exports = instance.exports as unknown as CoreExports;
  }

  /**
   * A view of `size` bytes of core memory to read a file into, holding the first `keep` bytes of
   * the last one. Invalid after the next call.
   */
  inputView(size: number, keep = 0): Uint8Array {
    this.firstView = null; // the area may move
    this.inputAddress = this.exports.inputArea(size, keep);
    return new Uint8Array(this.exports.memory.buffer, this.inputAddress, size);
  }

  /** The input area of the last inputView, through a view made now (memory may have grown). */
  private currentView(size: number): Uint8Array {
    return new Uint8Array(this.exports.memory.buffer, this.inputAddress, size);
  }

  /** Scans the first `length` bytes of the last input view. */
  private scanInput(length: number): DecodedRecord {
    const record = this.exports.scan(length);
    return decodeScanRecord(this.exports.memory, record, this.inputAddress);
  }

  /** Links a layer object for the slot names of one ABI (slot 0 first). */
  linkLayer(layer: Uint8Array, slotNames: readonly string[]): LinkOutcome {
    this.inputView(layer.length).set(layer);
    const names = Buffer.from(slotNames.map((n) => `${n}\0`).join(''), 'utf8');
    new Uint8Array(this.exports.memory.buffer, this.exports.scratchArea(names.length), names.length).set(names);
    const record = decodeLinkRecord(this.exports.memory, this.exports.link(layer.length, names.length));
    return record;
  }

  /** Reads a whole file into the input area; returns its length. */
  loadFile(path: string): number {
    const fd = openSync(fsPath(path), 'r');
    try {
      return this.loadOpenFile(fd, fstatSync(fd).size);
    } finally {
      closeSync(fd);
    }
  }

  /** Reads the `size` bytes of the open file `fd` into the input area; returns `size`. */
  loadOpenFile(fd: number, size: number): number {
    readFully(fd, this.inputView(size), 0, size);
    return size;
  }

  /** Copies bytes held in JavaScript (a tar entry) into the input area; returns their length. */
  loadBytes(bytes: Uint8Array): number {
    this.inputView(bytes.length).set(bytes);
    return bytes.length;
  }

  /** Scans the whole file loaded in the input area (loadFile or loadBytes). */
  scanLoaded(length: number): ScanResult {
    const record = this.scanInput(length);
    if (record.status === 'need-bytes') throw new Error('the core asked for bytes of a file it holds whole');
    return record;
  }

  /**
   * Opens the client loaded in the input area and undoes its binding in place if it has one.
   * The caller checks the restored original against the old record's SHA-256.
   */
  prepare(length: number): CoreOutcome<{ prepared: PreparedClient }> {
    return decodeBindRecord(this.exports.memory, this.exports.prepare(length));
  }

  /** Takes the loaded bound file, binding detached, as a new original (its record did not match). */
  detach(length: number): CoreOutcome<{ prepared: PreparedClient }> {
    return decodeBindRecord(this.exports.memory, this.exports.detach(length));
  }

  /** Checks everything that would make binding refuse the prepared client. */
  check(): CoreOutcome<{ prepared: PreparedClient }> {
    return decodeBindRecord(this.exports.memory, this.exports.check());
  }

  /** The first `length` bytes of the input area: after prepare, the original file. */
  inputBytes(length: number): Uint8Array {
    return this.currentView(length);
  }

  /**
   * Copies bytes that stay for the run (a linked layer image) into core memory once; returns
   * their address, valid until `releaseResident`.
   */
  makeResident(bytes: Uint8Array): number {
    const address = this.exports.residentArea(Math.max(1, bytes.length));
    new Uint8Array(this.exports.memory.buffer, address, bytes.length).set(bytes);
    return address;
  }

  releaseResident(address: number): void {
    this.exports.releaseResident(address);
  }

  /** Binds the client the last prepare accepted. The result is in the input area. */
  bind(p: BindParams): CoreOutcome<{ output: Uint8Array }> {
    const name = Buffer.from(p.layerName, 'utf8');
    const imageAt = BIND_PARAMS_SIZE + Math.ceil(name.length / 8) * 8;
    const copied = p.imageAddress === undefined;
    const base = this.exports.scratchArea(imageAt + (copied ? p.image.length : 0));
    const memory = this.exports.memory.buffer;
    const view = new DataView(memory, base, imageAt);
    const put = (f: keyof typeof BIND_PARAMS, v: number) => view.setUint32(BIND_PARAMS[f].offset, v, true);
    put('targetKernel', p.targetKernel);
    put('layerAbiMin', p.layerAbiMin);
    put('layerAbiMax', p.layerAbiMax);
    put('layerKernelMin', p.layerKernelMin);
    put('layerRevision', p.layerRevision);
    put('clientAbi', p.clientAbi);
    put('imageLength', p.image.length);
    put('nameLength', name.length);
    put('imagePtr', copied ? base + imageAt : p.imageAddress!);
    new Uint8Array(memory, base + BIND_PARAMS.originalSha.offset, 32).set(p.originalSha256);
    new Uint8Array(memory, base + BIND_PARAMS.reservationSha.offset, 32).set(p.reservationSha256);
    new Uint8Array(memory, base + BIND_PARAMS_SIZE, name.length).set(name);
    if (copied) new Uint8Array(memory, base + imageAt, p.image.length).set(p.image);
    const r = decodeBindRecord(this.exports.memory, this.exports.bind());
    if (!r.ok) return r;
    this.inputAddress = r.outputPtr; // the binder may have moved the area to grow it
    this.firstView = null;
    return { ok: true, output: new Uint8Array(this.exports.memory.buffer, r.outputPtr, r.outputLen) };
  }

  /**
   * Scans a file held in JavaScript (a tar entry). Like a file on disk, it is copied into core
   * memory only as far as the scan reads it: its first chunk, then the chunks the core asks for.
   * Most ELF files of an image are not clients, and their code never needs to be there; nor do the
   * pages of the input area it would fill (the area grows to the largest file, and a page once
   * touched stays resident for the worker's life). `whole`: the file is all loaded, as binding needs.
   */
  scanBytes(bytes: Uint8Array): { record: ScanResult; whole: boolean } {
    const size = bytes.length;
    if (size <= SR_CHUNK_SIZE) return { record: this.scanLoaded(this.loadBytes(bytes)), whole: true };
    this.inputView(size).set(bytes.subarray(0, SR_CHUNK_SIZE));
    this.exports.loadingInChunks(size);
    this.exports.chunksLoaded(0, SR_CHUNK_SIZE);
    for (;;) {
      const record = this.scanInput(size);
      if (record.status !== 'need-bytes') return { record, whole: false };
      const from = Math.floor(record.offset / SR_CHUNK_SIZE) * SR_CHUNK_SIZE;
      const to = Math.min(size, Math.ceil((record.offset + record.length) / SR_CHUNK_SIZE) * SR_CHUNK_SIZE);
      this.currentView(size).set(bytes.subarray(from, to), from);
      this.exports.chunksLoaded(from, to - from);
    }
  }

  /**
   * Scans a file on disk: its first bytes decide whether it is ELF; only then is the rest read.
   * Returns the file's size with the record. Throws only for I/O errors.
   */
  scanFile(path: string): { size: number; record: ScanResult } {
    const fd = openSync(fsPath(path), 'r');
    try {
      const { size, record } = this.scanOpenFile(fd);
      return { size: size ?? fstatSync(fd).size, record };
    } finally {
      closeSync(fd);
    }
  }

  /**
   * Scans files `root/path` of a directory image. Non-ELF files are only counted (the report
   * lists ELF files and failures), so their sizes are not asked for.
   */
  scanFiles(root: string, paths: readonly string[]): { outcomes: ScanOutcome[]; other: number } {
    const outcomes: ScanOutcome[] = [];
    let other = 0;
    const prefix = pathPrefix(root);
    for (const path of paths) {
      let fd = -1;
      try {
        fd = openSync(fsPath(prefix + path), 'r');
        const { size, record } = this.scanOpenFile(fd);
        if (record.status === 'not-elf') other++;
        else if (record.status === 'elf') outcomes.push({ path, kind: 'elf', size: size!, facts: record.facts });
        else outcomes.push({ path, kind: 'error', size: size!, error: record.error, errorOffset: record.errorOffset });
      } catch (error) {
        outcomes.push(readFailure(path, error));
      } finally {
        if (fd >= 0) closeSync(fd);
      }
    }
    return { outcomes, other };
  }

  /**
   * Scans an open file. The size is null for a non-ELF file longer than the first read (it was
   * not measured); ELF files and failures always come with theirs. A file of at most one chunk
   * is then whole in the input area (`holdsWhole`), as binding needs it.
   */
  scanOpenFile(fd: number): { size: number | null; record: ScanResult } {
    // Non-ELF files never reach the core: the view is made once, not per file.
    let view = this.firstView;
    if (view === null || view.buffer !== this.exports.memory.buffer) view = this.firstView = this.inputView(FIRST_READ);
    const first = readSync(fd, view, 0, FIRST_READ, 0);
    if (!startsElf(view, first)) {
      return first < FIRST_READ ? { size: first, record: NOT_ELF } : LONG_NOT_ELF;
    }
    let size = first;
    if (first === FIRST_READ) {
      // The rest of the first chunk. A file that ends before it is then whole, and its size known
      // without fstat: most ELF files (683 of a rootfs's 954, 2,733 of a client image's 3,004).
      size = readUpTo(fd, this.inputView(SR_CHUNK_SIZE, first), first, SR_CHUNK_SIZE);
      if (size === SR_CHUNK_SIZE) {
        size = fstatSync(fd).size;
        if (size > SR_CHUNK_SIZE) {
          this.inputView(size, SR_CHUNK_SIZE);
          this.exports.loadingInChunks(size);
          this.exports.chunksLoaded(0, SR_CHUNK_SIZE);
        }
      }
    }
    // Each round loads at least one new chunk, so this ends; in practice in two to four rounds.
    for (;;) {
      const record = this.scanInput(size);
      if (record.status !== 'need-bytes') return { size, record };
      const from = Math.floor(record.offset / SR_CHUNK_SIZE) * SR_CHUNK_SIZE;
      const to = Math.min(size, Math.ceil((record.offset + record.length) / SR_CHUNK_SIZE) * SR_CHUNK_SIZE);
      readFully(fd, this.currentView(size), from, to);
      this.exports.chunksLoaded(from, to - from);
    }
  }
}

/** What joins `root` and a path of its walk (normalized already): join() without normalizing each path again. */
export function pathPrefix(root: string): string {
  const base = join(root, '.');
  return base === '.' ? '' : base.endsWith('/') ? base : `${base}/`;
}

/** A file that could not be read, as a scan reports it: I/O failures (permissions, a file removed during the walk) are per-file outcomes too. */
export function readFailure(path: string, error: unknown): ScanOutcome {
  return { path, kind: 'error', size: 0, error: (error as NodeJS.ErrnoException).code ? `cannot read: ${(error as Error).message}` : `internal error: ${(error as Error).message}` };
}

/** Whether a scanned ELF file of `size` bytes is all in the input area: the scan read its first chunk whole. */
export const holdsWhole = (size: number) => size <= SR_CHUNK_SIZE;

/** Reads bytes [from, to) of a file into `view` at the same offsets, or up to its end; returns where it stopped. */
function readUpTo(fd: number, view: Uint8Array, from: number, to: number): number {
  let at = from;
  while (at < to) {
    const n = readSync(fd, view, at, to - at, at);
    if (n === 0) break;
    at += n;
  }
  return at;
}

/** readUpTo, for bytes the file's size says are there. */
function readFully(fd: number, view: Uint8Array, from: number, to: number): void {
  const at = readUpTo(fd, view, from, to);
  if (at < to) throw new Error(`file shrank while being read (got ${at} of ${to} bytes)`);
}

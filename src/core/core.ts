// The core in Node: the module compiled from build/ (once per process, or once per run and handed
// to every worker), and files read straight into the core's memory (memory-core.ts has the rest).
import { readFileSync, openSync, readSync, fstatSync, closeSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../util/package-root.js';
import type { ScanResult } from './scan-record.js';
import { MemoryCore } from './memory-core.js';
import { SR_CHUNK_SIZE } from './generated/scan-record.js';
import type { ScanOutcome } from './facts.js';
import { startsElf } from './elf-magic.js';
import { fsPath } from '../names/path-bytes.js';

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

export class Core extends MemoryCore {
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

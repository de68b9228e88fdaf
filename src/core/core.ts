// One instance of the WebAssembly core and the way JavaScript feeds it files. The module is
// compiled once per process (or once per run and handed to every worker); each worker keeps one
// instance for its whole life. File bytes are read straight into the core's memory.
import { readFileSync, openSync, readSync, fstatSync, closeSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../util/package-root.js';
import { decodeScanRecord, type DecodedRecord } from './scan-record.js';

interface CoreExports {
  memory: WebAssembly.Memory;
  inputArea(size: number): number;
  scan(length: number): number;
}

/** Reads of a non-ELF file stop after this many bytes: enough for the magic number. */
const SNIFF_BYTES = 64 * 1024;

export function corePath(debug = process.env.SYSLAYER_CORE_DEBUG === '1'): string {
  return join(packageRoot(), 'build', debug ? 'syslayer.debug.wasm' : 'syslayer.wasm');
}

export function compileCore(path = corePath()): WebAssembly.Module {
  return new WebAssembly.Module(readFileSync(path));
}

export class Core {
  private readonly exports: CoreExports;
  private inputAddress = 0;

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

  /** A view of `size` bytes of core memory to read a file into. Invalid after the next call. */
  inputView(size: number): Uint8Array {
    this.inputAddress = this.exports.inputArea(size);
    return new Uint8Array(this.exports.memory.buffer, this.inputAddress, size);
  }

  /** Scans the first `length` bytes of the last input view. */
  scanInput(length: number): DecodedRecord {
    const record = this.exports.scan(length);
    return decodeScanRecord(this.exports.memory, record, this.inputAddress);
  }

  scanBytes(bytes: Uint8Array): DecodedRecord {
    this.inputView(bytes.length).set(bytes);
    return this.scanInput(bytes.length);
  }

  /**
   * Scans a file on disk: its first bytes decide whether it is ELF; only then is the rest read.
   * Returns the file's size with the record. Throws only for I/O errors.
   */
  scanFile(path: string): { size: number; record: DecodedRecord } {
    const fd = openSync(path, 'r');
    try {
      const size = fstatSync(fd).size;
      const first = Math.min(size, SNIFF_BYTES);
      let view = this.inputView(size);
      readFully(fd, view, 0, first);
      if (!(first >= 4 && view[0] === 0x7f && view[1] === 0x45 && view[2] === 0x4c && view[3] === 0x46)) {
        return { size, record: { status: 'not-elf' } };
      }
      view = this.inputView(size); // the memory may have grown since; views go stale then
      readFully(fd, view, first, size);
      return { size, record: this.scanInput(size) };
    } finally {
      closeSync(fd);
    }
  }
}

function readFully(fd: number, view: Uint8Array, from: number, to: number): void {
  let at = from;
  while (at < to) {
    const n = readSync(fd, view, at, to - at, at);
    if (n === 0) throw new Error(`file shrank while being read (got ${at} of ${to} bytes)`);
    at += n;
  }
}

// One instance of the WebAssembly core, fed bytes held in JavaScript. Nothing here touches a file,
// so the report page's inspector (a browser worker) runs the same class; core.ts adds reading
// files straight into the core's memory. Each pool worker keeps one instance for its whole life.
import { decodeScanRecord, type DecodedRecord, type ScanResult } from './scan-record.js';
import { decodeLinkRecord } from './link-record.js';
import { decodeBindRecord, type CoreOutcome, type PreparedClient } from './bind-record.js';
import { BIND_PARAMS, BIND_PARAMS_SIZE } from './generated/bind-params-record.js';
import { SR_CHUNK_SIZE } from './generated/scan-record.js';

export interface CoreExports {
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
  originalSha256: Uint8Array;
  reservationSha256: Uint8Array;
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

const UTF8 = new TextEncoder();

export class MemoryCore {
  protected readonly exports: CoreExports;
  protected inputAddress = 0;
  /** A view of the first-read area, kept while nothing else asks for the input area. */
  protected firstView: Uint8Array | null = null;

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
  protected currentView(size: number): Uint8Array {
    return new Uint8Array(this.exports.memory.buffer, this.inputAddress, size);
  }

  /** Scans the first `length` bytes of the last input view. */
  protected scanInput(length: number): DecodedRecord {
    const record = this.exports.scan(length);
    return decodeScanRecord(this.exports.memory, record, this.inputAddress);
  }

  /** Links a layer object for the slot names of one ABI (slot 0 first). */
  linkLayer(layer: Uint8Array, slotNames: readonly string[]): LinkOutcome {
    this.inputView(layer.length).set(layer);
    const names = UTF8.encode(slotNames.map((n) => `${n}\0`).join(''));
    new Uint8Array(this.exports.memory.buffer, this.exports.scratchArea(names.length), names.length).set(names);
    const record = decodeLinkRecord(this.exports.memory, this.exports.link(layer.length, names.length));
    return record;
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
    const name = UTF8.encode(p.layerName);
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

}

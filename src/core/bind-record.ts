// Reads the core's bind record (layout: data/records/bind.json).
import { BIND_RECORD, BR_STATUS_OK, BR_STATUS_RECORD_MISMATCH } from './generated/bind-record.js';

export interface OldBinding {
  targetKernel: number;
  abiMin: number;
  abiMax: number;
  kernelMin: number;
  revision: number;
  clientAbi: number;
  imageLength: number;
  layerName: string;
  originalSha256: string;
  reservationSha256: string;
}

export interface PreparedClient {
  originalLength: number;
  reservationSize: number;
  abi: number;
  machine: number;
  /** The binding that was undone, when the file was bound. */
  old: OldBinding | null;
}

/** `recordMismatch`: the file's bind record does not describe it any more (strip, objcopy). */
export type CoreOutcome<T> = ({ ok: true } & T) | { ok: false; error: string; errorOffset: number; recordMismatch?: boolean };

export function decodeBindRecord(memory: WebAssembly.Memory, record: number): CoreOutcome<{ prepared: PreparedClient; outputPtr: number; outputLen: number }> {
  const view = new DataView(memory.buffer);
  const u32 = (f: keyof typeof BIND_RECORD) => view.getUint32(record + BIND_RECORD[f].offset, true);
  const bytes = (f: keyof typeof BIND_RECORD) => Buffer.from(memory.buffer, u32(f), view.getUint32(record + BIND_RECORD[f].offset + 4, true));
  if (u32('status') !== BR_STATUS_OK) {
    return {
      ok: false,
      error: bytes('error').toString('utf8'),
      errorOffset: Number(view.getBigUint64(record + BIND_RECORD.errorOffset.offset, true)),
      recordMismatch: u32('status') === BR_STATUS_RECORD_MISMATCH,
    };
  }
  const old: OldBinding | null = u32('wasBound')
    ? {
        targetKernel: u32('recTargetKernel'),
        abiMin: u32('recAbiMin'),
        abiMax: u32('recAbiMax'),
        kernelMin: u32('recKernelMin'),
        revision: u32('recRevision'),
        clientAbi: u32('recClientAbi'),
        imageLength: u32('recImageLen'),
        layerName: bytes('recLayerName').toString('utf8'),
        originalSha256: bytes('recOriginalSha').toString('hex'),
        reservationSha256: bytes('recReservationSha').toString('hex'),
      }
    : null;
  return {
    ok: true,
    prepared: { originalLength: u32('originalLen'), reservationSize: u32('reservationSize'), abi: u32('abi'), machine: u32('machine'), old },
    outputPtr: u32('outputPtr'),
    outputLen: u32('outputLen'),
  };
}

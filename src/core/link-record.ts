// Reads the core's link record (layout: data/records/link.json) and copies the image out of
// WebAssembly memory: it is kept for the whole run and handed to every worker.
import { LINK_RECORD, LR_STATUS_OK } from './generated/link-record.js';
import type { LinkOutcome } from './memory-core.js';

export function decodeLinkRecord(memory: WebAssembly.Memory, record: number): LinkOutcome {
  const view = new DataView(memory.buffer);
  const u32 = (f: keyof typeof LINK_RECORD) => view.getUint32(record + LINK_RECORD[f].offset, true);
  if (u32('status') !== LR_STATUS_OK) {
    const ptr = u32('error');
    const len = view.getUint32(record + LINK_RECORD.error.offset + 4, true);
    return {
      ok: false,
      error: Buffer.from(memory.buffer, ptr, len).toString('utf8'),
      errorOffset: Number(view.getBigUint64(record + LINK_RECORD.errorOffset.offset, true)),
    };
  }
  const slotCount = u32('slotCount');
  const bits = view.getBigUint64(record + LINK_RECORD.slotsImplemented.offset, true);
  const image = new Uint8Array(memory.buffer, u32('imagePtr'), u32('imageLen')).slice();
  return {
    ok: true,
    linked: { image, slotCount, implemented: Array.from({ length: slotCount }, (_, i) => ((bits >> BigInt(i)) & 1n) === 1n) },
  };
}

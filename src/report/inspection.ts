// What `syslayer inspect` finds in one file, from its bytes: the scan's record and, for a bound
// client, its bind record decoded by the core. The CLI reads the file; the report page's inspector
// (a browser worker) is given it by the user. Both print the same JSON (inspectionJson).
import type { MemoryCore } from '../core/memory-core.js';
import type { ScanResult } from '../core/scan-record.js';
import type { OldBinding } from '../core/bind-record.js';

export interface Inspection {
  size: number;
  record: ScanResult;
  /** The binding a bound client carries, or why its record cannot be read. */
  binding: OldBinding | { error: string } | null;
}

export function inspectBytes(core: MemoryCore, bytes: Uint8Array): Inspection {
  const { record } = core.scanBytes(bytes);
  let binding: Inspection['binding'] = null;
  if (record.status === 'elf' && record.facts.syslayer?.bindRecord) {
    const prepared = core.prepare(core.loadBytes(bytes));
    binding = prepared.ok ? prepared.prepared.old : { error: prepared.error };
  }
  return { size: bytes.length, record, binding };
}

/** `inspect --json`'s document (docs/scan-json.md): the file's path, its scan record's fields, its binding. */
export function inspectionJson(path: string, { size, record, binding }: Inspection) {
  return { path, size, ...record, binding };
}

/** Whether the file is one inspect fails on (exit 1): unreadable as ELF, or a bind record that does not read. */
export const inspectionFailed = ({ record, binding }: Inspection) => record.status === 'error' || (binding !== null && 'error' in binding);

// `syslayer inspect <file>`: one file in detail, with its bind record decoded by the core.
import { Core, compileCore } from '../core/core.js';
import type { ScanResult } from '../core/scan-record.js';
import type { OldBinding } from '../core/bind-record.js';
import { UsageError } from '../errors.js';

export interface Inspection {
  size: number;
  record: ScanResult;
  /** The binding a bound client carries, or why its record cannot be read. */
  binding: OldBinding | { error: string } | null;
}

export function inspectFile(path: string): Inspection {
  const core = new Core(compileCore());
  try {
    const { size, record } = core.scanFile(path);
    let binding: Inspection['binding'] = null;
    if (record.status === 'elf' && record.facts.syslayer?.bindRecord) {
      const prepared = core.prepare(core.loadFile(path));
      binding = prepared.ok ? prepared.prepared.old : { error: prepared.error };
    }
    return { size, record, binding };
  } catch (error) {
    throw new UsageError(`${path}: cannot read: ${(error as Error).message}`);
  }
}

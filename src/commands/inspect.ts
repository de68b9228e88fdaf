// `syslayer inspect <file>`: one file in detail.
import { Core, compileCore } from '../core/core.js';
import type { ScanResult } from '../core/scan-record.js';
import { UsageError } from '../image/open-image.js';

export function inspectFile(path: string): { size: number; record: ScanResult } {
  const core = new Core(compileCore());
  try {
    return core.scanFile(path);
  } catch (error) {
    throw new UsageError(`${path}: cannot read: ${(error as Error).message}`);
  }
}

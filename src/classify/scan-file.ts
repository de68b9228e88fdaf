// `syslayer scan <file>`: one ELF file as an image of its own, reported as a directory's files are.
import { basename } from 'node:path';
import type { Core } from '../core/core.js';
import type { ElfFileRecord, ScanReport } from './scan-directory.js';

export function singleFileScan(path: string, core: Core): ScanReport {
  const { size, record } = core.scanFile(path);
  const name = basename(path);
  const files = record.status === 'elf' ? [{ path: name, size, ...record.facts, closure: null } as ElfFileRecord]
    : record.status === 'error' ? [{ path: name, size, error: record.error, errorOffset: record.errorOffset }] : [];
  return {
    image: path,
    files,
    counts: { files: 1, elf: record.status === 'elf' ? 1 : 0, other: record.status === 'not-elf' ? 1 : 0, errors: record.status === 'error' ? 1 : 0, directories: 0, symlinks: 0, special: 0 },
    ldSoConf: [],
  };
}

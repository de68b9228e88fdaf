// The readable summary of a scan: what a person checks first (counts, missing libraries, syslayer
// clients, unreadable files). The full facts are in --json.
import type { ElfFileRecord, FileRecord, ScanReport } from '../classify/scan-directory.js';
import { printable as p } from '../names/path-bytes.js';

const isElf = (f: FileRecord): f is ElfFileRecord => !('error' in f);

export function formatScanSummary(report: ScanReport): string {
  const elf = report.files.filter(isElf);
  const errors = report.files.filter((f) => !isElf(f));
  const c = report.counts;
  const out: string[] = [];
  const bytes = elf.reduce((n, f) => n + f.size, 0);
  out.push(`image ${report.image}`);
  out.push(`  ${c.files} regular files: ${c.elf} ELF (${(bytes / 1e6).toFixed(1)} MB), ${c.other} other, ${c.errors} unreadable`);
  out.push(`  ${c.directories} directories, ${c.symlinks} symlinks, ${c.special} special files`);

  const groups = new Map<string, Map<string, number>>();
  for (const f of elf) {
    const key = `${f.machineName} ${f.class}-bit ${f.endian}-endian`;
    const kind = `${f.type}${f.type === 'EXEC' || f.type === 'DYN' ? (f.linkage === 'static' ? ' static' : '') : ''}`;
    const m = groups.get(key) ?? new Map<string, number>();
    m.set(kind, (m.get(kind) ?? 0) + 1);
    groups.set(key, m);
  }
  if (groups.size > 0) out.push('', 'ELF files by machine and type:');
  for (const [key, kinds] of [...groups].sort()) {
    out.push(`  ${key.padEnd(32)} ${[...kinds].sort().map(([k, n]) => `${k} ${n}`).join(', ')}`);
  }

  const withMissing = elf.filter((f) => f.closure && (f.closure.missing.length > 0 || (f.interpreter && !f.closure.interpreter)));
  const withClosure = elf.filter((f) => f.closure).length;
  out.push('', `dependency closures: ${withClosure} objects, ${withMissing.length} with something missing`);
  for (const f of withMissing.slice(0, 50)) {
    const missing = f.closure!.missing.map((m) => (m.neededBy === f.path ? p(m.name) : `${p(m.name)} (needed by ${p(m.neededBy)})`));
    if (f.interpreter && !f.closure!.interpreter) missing.unshift(`interpreter ${p(f.interpreter)}`);
    out.push(`  ${p(f.path)}: ${missing.join(', ')}`);
  }
  if (withMissing.length > 50) out.push(`  ... and ${withMissing.length - 50} more (see --json)`);

  const clients = elf.filter((f) => f.syslayer?.reservation);
  const bound = clients.filter((f) => f.syslayer!.bound).length;
  const layers = elf.filter((f) => f.syslayer?.layer).length;
  out.push('', `syslayer: ${clients.length} clients (${bound} bound, ${clients.length - bound} unbound), ${layers} layer objects`);
  for (const f of clients.filter((f) => f.syslayer!.reservation!.problems.length > 0)) {
    out.push(`  ${p(f.path)}: reservation problems: ${f.syslayer!.reservation!.problems.join(', ')}`);
  }

  if (errors.length > 0) {
    out.push('', `unreadable files: ${errors.length}`);
    for (const f of errors) out.push(`  ${p(f.path)}: ${(f as { error: string }).error}`);
  }
  return out.join('\n');
}

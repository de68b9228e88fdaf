// The readable form of `syslayer inspect`.
import type { ElfFacts } from '../core/facts.js';
import type { Inspection } from './inspection.js';
import { formatKernelVersion } from '../catalog/kernel-version.js';

export function formatInspect(path: string, { size, record, binding }: Inspection): string {
  if (record.status === 'not-elf') return `${path}: not an ELF file (${size} bytes)`;
  if (record.status === 'error') return `${path}: ${record.error} (at file offset 0x${record.errorOffset.toString(16)})`;
  const f: ElfFacts = record.facts;
  const rows: [string, string][] = [
    ['file', `${path} (${size} bytes)`],
    ['class', `ELF${f.class}, ${f.endian}-endian`],
    ['machine', `${f.machineName} (${f.machine}), e_flags 0x${f.flags.toString(16)}`],
    ['type', `${f.type}, ${f.linkage}`],
    ['OS ABI', `${f.osabiName} (${f.osabi}), ABI version ${f.abiVersion}`],
    ['entry', f.entry],
    ['headers', `${f.phnum} program headers, ${f.shnum} section headers`],
    ['interpreter', f.interpreter ?? '-'],
    ['soname', f.soname ?? '-'],
    ['needed', f.needed.length > 0 ? f.needed.join(', ') : '-'],
    ['rpath', f.rpath ?? '-'],
    ['runpath', f.runpath ?? '-'],
    ['build-id', f.buildId ?? '-'],
    ['GNU ABI tag', f.abiTag ? `${f.abiTag.os} ${f.abiTag.version}` : '-'],
  ];
  const s = f.syslayer;
  if (!s) rows.push(['syslayer', 'no reservation, no syslayer notes']);
  else {
    if (s.abi !== null) rows.push(['syslayer ABI', `${s.abi} (flags ${s.abiFlags})`]);
    if (s.reservation) {
      const r = s.reservation;
      rows.push(['reservation', `section ${r.section} .syslayer ${r.sectionType} at ${r.address}, ${r.size} bytes, ${r.sectionFlags}, align ${r.alignment}`]);
      rows.push(['  segment', r.segment === null ? 'none covers it' : `program header ${r.segment}, ${r.segmentFlags}, p_filesz ${r.segmentFileSize}`]);
      rows.push(['  state', s.bound ? 'bound' : 'unbound']);
      if (r.problems.length > 0) rows.push(['  problems', r.problems.join(', ')]);
    }
    if (s.layer) {
      const l = s.layer;
      rows.push(['layer', `${l.name} revision ${l.revision}, ABI ${l.abiMin}..${l.abiMax}, kernel >= ${l.kernelMinText}`]);
    }
    if (s.refusal) rows.push(['  bind would', `refuse: ${s.refusal}`]);
    if (binding && 'error' in binding) rows.push(['bind record', `unreadable: ${binding.error}`]);
    else if (binding) {
      rows.push(['bound to', `${binding.layerName} revision ${binding.revision} (ABI ${binding.abiMin}..${binding.abiMax}, kernel >= ${formatKernelVersion(binding.kernelMin)}), linked for ABI ${binding.clientAbi}`]);
      rows.push(['  for kernel', formatKernelVersion(binding.targetKernel)]);
      rows.push(['  image', `${binding.imageLength} bytes, reservation SHA-256 ${binding.reservationSha256}`]);
      rows.push(['  original', `SHA-256 ${binding.originalSha256}`]);
    }
  }
  return rows.map(([k, v]) => `${k.padEnd(13)} ${v}`).join('\n');
}

// The report of `syslayer verify --packages`: counts of every status, and each file that is not
// simply intact (docs/report-json.md, docs/schemas/package-verify-report.schema.json).
import { PACKAGE_FILE_STATUSES, type PackageFileStatus, type PackageVerifyReport } from '../commands/verify-packages.js';
import { printable } from '../names/path-bytes.js';
import { reportHeader } from './report-header.js';

function counts(r: PackageVerifyReport): Record<PackageFileStatus, number> {
  const c = Object.fromEntries(PACKAGE_FILE_STATUSES.map((s) => [s, 0])) as Record<PackageFileStatus, number>;
  for (const f of r.files) c[f.status]++;
  return c;
}

export function packageReportJson(r: PackageVerifyReport) {
  // An intact file that is not bound says nothing a reader needs: a whole system has tens of thousands.
  return { ...reportHeader('verify'), mode: 'packages', root: r.root, packages: r.packages, counts: counts(r), files: r.files.filter((f) => f.status !== 'intact') };
}

const HEADINGS: [PackageFileStatus, string][] = [
  ['changed', 'changed by someone else'],
  ['missing', 'missing'],
  ['unbound-client', 'clients that are not bound'],
  ['error', 'unreadable'],
  ['bound-intact', 'bound, originals intact'],
];

export function formatPackageReport(r: PackageVerifyReport, atMost: number | null): string {
  const c = counts(r);
  const lines = [`${r.root}: ${r.files.length} files of ${r.packages} packages: ${c['bound-intact']} bound and intact, ${c.intact} intact, ${c.changed} changed, ${c.missing} missing, ${c['unbound-client']} clients not bound, ${c.error} unreadable`];
  for (const [status, heading] of HEADINGS) {
    const files = r.files.filter((f) => f.status === status);
    if (files.length === 0) continue;
    lines.push(`${heading}:`);
    for (const f of atMost === null ? files : files.slice(0, atMost)) {
      lines.push(`  ${printable(f.path)} (${f.owner})${f.layer ? ` [${f.layer}]` : ''}${f.reason && status !== 'unbound-client' ? `: ${f.reason}` : ''}`);
    }
    if (atMost !== null && files.length > atMost) lines.push(`  ... and ${files.length - atMost} more (--json lists them all)`);
  }
  return lines.join('\n');
}

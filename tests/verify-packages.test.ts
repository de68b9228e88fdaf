// `syslayer verify --packages` and `unbind --stdout` against the package database: a root made
// with the real dpkg, bound in place, then changed behind dpkg's back. The oracles are dpkg's own
// `--verify` and debsums, which flag every bound file (its bytes are not the package's): verify
// --packages must explain each file they flag, call a bound file whose original is the package's
// intact, and call a file changed after binding changed.
import { beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { appendFileSync, mkdirSync, mkdtempSync, readFileSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, syslayer } from './helpers/cli.js';
import { buildDeb, debsumsFlags, dpkg, dpkgRoot, dpkgVerifyFlags } from './helpers/debian.js';
import { pathInRoot } from '../src/util/path-in-root.js';

const BIN = join(ROOT, 'sdk/prebuilt/x86_64/bin');
const LIB = join(ROOT, 'sdk/prebuilt/x86_64/lib');
const LAYERS = join(ROOT, 'sdk/prebuilt/x86_64/layers');

interface PackageFileJson { path: string; owner: string; status: string; layer?: string; reason?: string; packageMd5: string; originalMd5?: string }
interface PackageReportJson { command: string; mode: string; root: string; packages: number; counts: Record<string, number>; files: PackageFileJson[] }

const work = mkdtempSync(join(tmpdir(), 'syslayer-verify-packages-'));
let root: string;

function verifyPackages(): { status: number; report: PackageReportJson } {
  const r = syslayer('verify', '--packages', '--root', root, '--layers', LAYERS, '--json');
  if (r.status !== 0 && r.status !== 1) throw new Error(`verify --packages exited ${r.status}: ${r.stderr}`);
  return { status: r.status, report: JSON.parse(r.stdout) as PackageReportJson };
}

const byPath = (report: PackageReportJson) => new Map(report.files.map((f) => [f.path, f]));

describe('verify --packages: bound files against dpkg\'s sums', () => {
  beforeAll(() => {
    root = dpkgRoot('syslayer-verify-packages-root-');
    const tools = buildDeb(work, {
      name: 'demo-tools', version: '1',
      files: {
        'usr/bin/abi1-demo': join(BIN, 'abi1-demo'), 'usr/bin/abi2-demo': join(BIN, 'abi2-demo'),
        'usr/bin/mixed-main': join(BIN, 'mixed-main'), 'usr/lib/libmixed1.so': join(LIB, 'libmixed1.so'),
        // An ELF program that is no client (this machine's; every Debian has it).
        'usr/bin/true': '/usr/bin/true',
        'usr/share/doc/demo-tools/README': { text: 'the SDK examples\n' }, 'usr/share/doc/demo-tools/NEWS': { text: 'none\n' },
      },
    });
    const installed = dpkg(root, '-i', tools);
    expect(installed.status, installed.stderr).toBe(0);
    const bound = syslayer('bind', root, '--in-place', '--kernel', '4.11', '--layers', LAYERS);
    expect(bound.status, bound.stdout + bound.stderr).toBe(0);
  });

  it('the oracles flag every bound file; verify --packages calls each bound and intact', () => {
    const verified = dpkgVerifyFlags(root);
    const sums = debsumsFlags(root);
    const bound = ['usr/bin/abi1-demo', 'usr/bin/abi2-demo', 'usr/bin/mixed-main', 'usr/lib/libmixed1.so'];
    // First the oracles do what this test says they do: they see the bound files as changed.
    expect(verified.paths.sort(), verified.run.stdout).toEqual(bound);
    expect(sums.paths.sort(), sums.run.stdout + sums.run.stderr).toEqual(bound);
    const { status, report } = verifyPackages();
    expect(status, JSON.stringify(report.files)).toBe(0);
    expect(report.counts).toMatchObject({ 'bound-intact': 4, intact: 3, changed: 0, missing: 0, 'unbound-client': 0, error: 0 });
    const files = byPath(report);
    for (const path of bound) {
      expect(files.get(path)?.status, path).toBe('bound-intact');
      expect(files.get(path)?.originalMd5).toBe(files.get(path)?.packageMd5);
      expect(files.get(path)?.owner).toBe('demo-tools');
    }
    expect(files.get('usr/bin/abi2-demo')?.layer).toBe('linux-4.11');
  });

  it('unbind --stdout prints the package\'s bytes: cmp and md5sum agree with dpkg', () => {
    const r = spawnSync(process.execPath, [join(ROOT, 'bin/syslayer.js'), 'unbind', '--stdout', '--layers', LAYERS, join(root, 'usr/bin/abi2-demo')]);
    expect(r.status, r.stderr.toString()).toBe(0);
    expect(r.stderr.toString(), 'the binding re-derived: no warning').toBe('');
    expect(Buffer.compare(r.stdout, readFileSync(join(BIN, 'abi2-demo')))).toBe(0);
    expect(readFileSync(join(root, 'usr/bin/abi2-demo')).equals(r.stdout), 'the file itself is bound').toBe(false);
    // A file that is not bound comes out as it is.
    const plain = spawnSync(process.execPath, [join(ROOT, 'bin/syslayer.js'), 'unbind', '--stdout', join(root, 'usr/share/doc/demo-tools/README')]);
    expect(plain.stdout.toString()).toBe('the SDK examples\n');
    expect(syslayer('unbind', '--stdout', '-o', join(work, 'x'), join(root, 'usr/bin/abi2-demo')).status, 'with -o: a usage error').toBe(2);
  });

  it('every file the oracles flag after changes behind dpkg\'s back is explained; a file changed after binding is changed, not intact', () => {
    // A byte appended to a bound client (as a careless tool might): restoring its original would
    // drop that byte, so its record no longer matches, with the layers or without them.
    appendFileSync(join(root, 'usr/bin/abi1-demo'), Buffer.from([0]));
    const unbound = (file: string, ...extra: string[]) => spawnSync(process.execPath, [join(ROOT, 'bin/syslayer.js'), 'unbind', '--stdout', ...extra, join(root, file)]);
    for (const extra of [['--layers', LAYERS], []]) {
      const refused = unbound('usr/bin/abi1-demo', ...extra);
      expect(refused.status, `unbind --stdout ${extra.join(' ')}`).toBe(1);
      expect(refused.stdout.length).toBe(0);
      expect(refused.stderr.toString()).toMatch(/the bind record does not match the file: 1 byte follows the section header table that binding wrote last/);
    }
    // An intact bound client without the layers: its original, and a warning that only that was checked.
    const unchecked = unbound('usr/bin/abi2-demo');
    expect(unchecked.status, 'without them: the original, and a warning').toBe(0);
    expect(unchecked.stderr.toString()).toMatch(/warning: .* only the original was checked, not its binding: the recorded layer linux-4\.11 revision 1 is not in the catalog/);
    writeFileSync(join(root, 'usr/share/doc/demo-tools/README'), 'edited\n');
    unlinkSync(join(root, 'usr/share/doc/demo-tools/NEWS'));
    // A new package's client, installed after the bind (no hooks here): not bound.
    const more = buildDeb(work, { name: 'demo-more', version: '1', files: { 'opt/demo/abi2-demo': join(BIN, 'abi2-demo') } });
    expect(dpkg(root, '-i', more).status).toBe(0);

    const { status, report } = verifyPackages();
    expect(status, 'findings: exit 1').toBe(1);
    const files = byPath(report);
    expect(files.get('usr/bin/abi1-demo')?.status, JSON.stringify(files.get('usr/bin/abi1-demo'))).toBe('changed');
    expect(files.get('usr/share/doc/demo-tools/README')?.status).toBe('changed');
    expect(files.get('usr/share/doc/demo-tools/NEWS')?.status).toBe('missing');
    expect(files.get('opt/demo/abi2-demo')?.status).toBe('unbound-client');
    expect(files.get('usr/bin/abi2-demo')?.status).toBe('bound-intact');
    for (const oracle of [dpkgVerifyFlags(root), debsumsFlags(root)]) {
      expect(oracle.paths.length).toBeGreaterThanOrEqual(5);
      for (const path of oracle.paths) {
        const f = files.get(path);
        expect(f, `${path}, flagged by the oracle, is not in the report`).toBeDefined();
        expect(f!.status, path).not.toBe('intact');
      }
    }
    // And the other way: what verify --packages calls changed or missing, the oracles flag too.
    const flagged = new Set(dpkgVerifyFlags(root).paths);
    for (const f of report.files.filter((x) => x.status === 'changed' || x.status === 'missing')) expect(flagged.has(f.path), f.path).toBe(true);
  });

  it('text report, and usage errors', () => {
    const text = syslayer('verify', '--packages', '--root', root, '--layers', LAYERS);
    expect(text.stdout).toMatch(/: 3 bound and intact, 1 intact, 2 changed, 1 missing, 1 clients not bound, 0 unreadable/);
    // Its record does not match (a byte appended): which layer it was bound to is not read then.
    expect(text.stdout).toMatch(/changed by someone else:\n(.*\n)*  usr\/bin\/abi1-demo \(demo-tools\): bound, then changed: the bind record does not match the file: 1 byte follows/);
    expect(syslayer('verify', '--packages', root).status, 'an image beside --packages').toBe(2);
    expect(syslayer('verify', '--root', root, root).status, '--root without --packages').toBe(2);
    expect(syslayer('verify', '--packages', '--root', work).status, 'no dpkg database: the run fails').toBe(1);
  });
});

describe('a package\'s path is read as a program inside the root would see it', () => {
  it('directory links are followed inside the root: an absolute target starts at the root, .. stops there, a loop is refused', () => {
    const r = mkdtempSync(join(tmpdir(), 'syslayer-path-in-root-'));
    mkdirSync(join(r, 'usr/bin'), { recursive: true });
    symlinkSync('/usr/bin', join(r, 'bin')); // absolute: on the host it would be the host's /usr/bin
    symlinkSync('../../../../usr', join(r, 'usr/up')); // climbs past the root
    symlinkSync('loop', join(r, 'loop'));
    expect(pathInRoot(r, 'bin/ls')).toBe(join(r, 'usr/bin/ls'));
    expect(pathInRoot(r, 'usr/up/bin/ls')).toBe(join(r, 'usr/bin/ls'));
    expect(pathInRoot(r, 'usr/bin/ls')).toBe(join(r, 'usr/bin/ls'));
    expect(pathInRoot(r, 'loop/x')).toBeNull();
  });
});

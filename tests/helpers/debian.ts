// Small Debian packages built with the real dpkg-deb, and the real dpkg run on a test root, for
// the tests of the package hooks and of verify --packages. Everything is built here: no network.
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';

export interface PackageSpec {
  name: string;
  version: string;
  /** Path in the root (no leading slash) -> a file to copy, or `{ text }`. */
  files: Record<string, string | { text: string }>;
  /** Empty directories to ship (a kernel's lib/modules/<version>/). */
  directories?: string[];
  postinst?: string;
  postrm?: string;
}

/** Builds `spec` into `dir`/<name>_<version>_all.deb, with md5sums as dh_md5sums writes them; returns its path. */
export function buildDeb(dir: string, spec: PackageSpec): string {
  const stage = mkdtempSync(join(tmpdir(), `deb-${spec.name}-`));
  try {
    mkdirSync(join(stage, 'DEBIAN'));
    const sums: string[] = [];
    for (const [path, from] of Object.entries(spec.files)) {
      mkdirSync(dirname(join(stage, path)), { recursive: true });
      if (typeof from === 'string') copyFileSync(from, join(stage, path));
      else writeFileSync(join(stage, path), from.text);
      chmodSync(join(stage, path), typeof from === 'string' ? 0o755 : 0o644);
      sums.push(`${createHash('md5').update(readFileSync(join(stage, path))).digest('hex')}  ${path}\n`);
    }
    for (const d of spec.directories ?? []) mkdirSync(join(stage, d), { recursive: true });
    writeFileSync(join(stage, 'DEBIAN/control'), `Package: ${spec.name}\nVersion: ${spec.version}\nArchitecture: all\nMaintainer: test <root@localhost>\nDescription: ${spec.name} for the syslayer tests\n`);
    writeFileSync(join(stage, 'DEBIAN/md5sums'), sums.join(''));
    for (const script of ['postinst', 'postrm'] as const) {
      if (spec[script] === undefined) continue;
      writeFileSync(join(stage, 'DEBIAN', script), spec[script]!);
      chmodSync(join(stage, 'DEBIAN', script), 0o755);
    }
    const deb = join(dir, `${spec.name}_${spec.version}_all.deb`);
    const r = spawnSync('dpkg-deb', ['--root-owner-group', '-Zgzip', '--build', stage, deb], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`dpkg-deb --build ${spec.name}: ${r.stderr}`);
    return deb;
  } finally {
    rmSync(stage, { recursive: true, force: true });
  }
}

/**
 * A kernel package as linux-image packages are: it ships lib/modules/<version>/ and its
 * maintainer scripts run the hooks in /etc/kernel/post{inst,rm}.d, under DPKG_ROOT.
 */
export function kernelPackage(dir: string, version: string): string {
  const hooks = (kind: 'postinst' | 'postrm', when: string) => `#!/bin/sh
set -e
if [ "$1" = "${when}" ] && [ -d "\${DPKG_ROOT:-}/etc/kernel/${kind}.d" ]; then
  run-parts --report --exit-on-error --arg=${version} --arg=/boot/vmlinuz-${version} "\${DPKG_ROOT:-}/etc/kernel/${kind}.d"
fi
`;
  return buildDeb(dir, {
    name: `linux-image-${version}`, version: '1',
    files: { [`lib/modules/${version}/modules.order`]: { text: '' } },
    postinst: hooks('postinst', 'configure'),
    postrm: hooks('postrm', 'remove'),
  });
}

export interface Run {
  status: number;
  stdout: string;
  stderr: string;
}

/** The real dpkg on `root`, its scripts and triggers run outside the root with DPKG_ROOT set. */
export function dpkg(root: string, ...args: string[]): Run {
  const r = spawnSync('dpkg', ['--root', root, '--force-script-chrootless', ...args], { encoding: 'utf8' });
  if (r.error) throw r.error;
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** An empty root with the smallest dpkg database dpkg accepts. */
export function dpkgRoot(prefix: string): string {
  const root = mkdtempSync(join(tmpdir(), prefix));
  for (const d of ['info', 'updates', 'triggers']) mkdirSync(join(root, 'var/lib/dpkg', d), { recursive: true });
  writeFileSync(join(root, 'var/lib/dpkg/status'), '');
  return root;
}

/** Paths `dpkg --root R --verify` flags (its lines `??5??????   /usr/bin/x`, `missing     /x`), without the leading slash. */
export function dpkgVerifyFlags(root: string): { run: Run; paths: string[] } {
  const run = spawnSync('dpkg', ['--root', root, '--verify'], { encoding: 'utf8' });
  const result = { status: run.status ?? -1, stdout: run.stdout, stderr: run.stderr };
  const paths = run.stdout.split('\n').filter(Boolean).map((l) => l.replace(/^\S+\s+(c\s+)?\//, ''));
  return { run: result, paths };
}

/** Paths `debsums -r R` flags: changed (-c lists them on stdout) and missing (its warnings on stderr). */
export function debsumsFlags(root: string): { run: Run; paths: string[] } {
  const run = spawnSync('debsums', ['-r', root, '-c'], { encoding: 'utf8' });
  const result = { status: run.status ?? -1, stdout: run.stdout, stderr: run.stderr };
  // debsums names the files under the root with the root's path.
  const inRoot = (path: string) => (path.startsWith(`${root}/`) ? path.slice(root.length + 1) : path.replace(/^\//, ''));
  const changed = run.stdout.split('\n').filter(Boolean).map(inRoot);
  const missing = [...run.stderr.matchAll(/missing file (\S+)/g)].map((m) => inRoot(m[1]!));
  return { run: result, paths: [...changed, ...missing] };
}

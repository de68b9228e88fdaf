// The syslayer-hooks Debian package: a dpkg file trigger on the program and library directories
// and two kernel hooks, each running one script that runs `syslayer sync` on the root dpkg works
// on. Built with dpkg-deb from a staging tree whose every byte and time is fixed, so that the same
// syslayer (and the same options) always builds the same .deb.
import { spawnSync } from 'node:child_process';
import { hash } from 'node:crypto';
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { RunError, UsageError } from '../errors.js';
import { IMAGE_LAYERS } from '../pipeline/image-paths.js';

export const HOOKS_PACKAGE = 'syslayer-hooks';
/** Where the one script every hook runs is installed: outside the trigger's directories, so installing it triggers nothing. */
export const SYNC_SCRIPT = 'usr/share/syslayer-hooks/sync';
/** The kernel hooks: run-parts runs names of letters, digits, - and _ only; zz- runs after the initramfs hooks. */
export const KERNEL_HOOKS = ['etc/kernel/postinst.d/zz-syslayer', 'etc/kernel/postrm.d/zz-syslayer'];

/**
 * Where packages put programs and libraries. dpkg names a file as its package does (/bin/ls on
 * a merged-/usr system too), so the old top-level directories are listed as well.
 */
export const TRIGGER_DIRECTORIES = ['/usr/bin', '/usr/sbin', '/usr/lib', '/usr/lib32', '/usr/lib64', '/usr/libx32', '/usr/libexec', '/usr/games', '/bin', '/sbin', '/lib', '/lib32', '/lib64', '/libx32', '/opt'];

/** 2026-01-01: the time of every file and of the archive when SOURCE_DATE_EPOCH is not set. */
const DEFAULT_EPOCH = 1767225600;

export interface HooksPackageRequest {
  /** The .deb to write. */
  output: string;
  version: string;
  /** The command line, as shell text, that runs syslayer (baked into the sync script). */
  syslayer: string;
  /** Directories or files of layer objects to ship in usr/lib/syslayer/layers/. */
  layerDirs: readonly string[];
  /** Seconds since the epoch for every time in the package (SOURCE_DATE_EPOCH). */
  epoch?: number;
}

/** Quotes `s` for a POSIX shell. */
export const shellQuote = (s: string) => `'${s.replaceAll("'", `'\\''`)}'`;

/**
 * The script every hook runs. It fails dpkg only when the run itself could not proceed: sync
 * exits 0 when some files could not be bound (each left as it was, named in its report and
 * recorded in its state), and non-zero only when it could not run; the report's `refused` count
 * says whether to tell the user.
 */
export function syncScript(syslayer: string): string {
  return `#!/bin/sh
# ${HOOKS_PACKAGE}: binds what changed under the root dpkg works on. dpkg's file trigger (the
# package's postinst, "triggered" and "configure") and the kernel hooks in
# /etc/kernel/post{inst,rm}.d run it; with dpkg --root and --force-script-chrootless they run
# outside the root, with DPKG_ROOT set.
# Written by \`syslayer hooks package\`, which baked in the command below (--syslayer).
set -u
root="\${DPKG_ROOT:-/}"
report=$(mktemp "\${TMPDIR:-/tmp}/syslayer-hooks.XXXXXX") || exit 1
${syslayer} sync --root "$root" --json >"$report"
status=$?
if [ "$status" -eq 0 ]; then
  if grep -q '"refused": [1-9]' "$report"; then
    echo "${HOOKS_PACKAGE}: some files under $root could not be bound and were left as they were (syslayer verify --packages --root $root lists them)" >&2
  fi
  rm -f "$report"
  exit 0
fi
rm -f "$report"
echo "${HOOKS_PACKAGE}: syslayer sync --root $root could not run (status $status)" >&2
exit 1
`;
}

// configure binds the root as the hooks find it, so that it is bound from then on; and since a
// trigger that failed leaves this package half-configured, \`dpkg --configure -a\` runs sync again.
const POSTINST = `#!/bin/sh
# triggered: dpkg installed, upgraded or removed files in a directory of DEBIAN/triggers.
set -e
case "$1" in
  configure|triggered) exec "\${DPKG_ROOT:-}/${SYNC_SCRIPT}" ;;
esac
exit 0
`;

const KERNEL_HOOK = `#!/bin/sh
# A kernel was installed or removed: the oldest installed kernel decides the layers, and sync
# re-binds every client when it changed. Arguments (version, image) are not needed.
exec "\${DPKG_ROOT:-}/${SYNC_SCRIPT}"
`;

function control(version: string): string {
  return `Package: ${HOOKS_PACKAGE}
Version: ${version}
Architecture: all
Maintainer: syslayer <root@localhost>
Section: admin
Priority: optional
Description: keeps the system's ELF clients bound to their system-call layers
 A dpkg file trigger on the program and library directories, and kernel
 hooks, that run syslayer sync on the root dpkg works on.
`;
}

/** Every file under `dir` (a file itself: ['']), by its path relative to `dir`, sorted. */
function treeFiles(dir: string): string[] {
  if (statSync(dir).isFile()) return [''];
  const found: string[] = [];
  const walk = (at: string) => {
    // Code-unit order, not the locale's: the same list everywhere.
    for (const e of readdirSync(join(dir, at), { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const rel = at ? `${at}/${e.name}` : e.name;
      if (e.isDirectory()) walk(rel);
      else if (e.isFile()) found.push(rel);
    }
  };
  walk('');
  return found;
}

/** Writes the staging tree at `stage`, every file with its mode. */
function stageTree(stage: string, r: HooksPackageRequest): void {
  const put = (path: string, text: string | null, mode: number, from?: string) => {
    mkdirSync(dirname(join(stage, path)), { recursive: true });
    if (from) copyFileSync(from, join(stage, path));
    else writeFileSync(join(stage, path), text!);
    chmodSync(join(stage, path), mode);
  };
  put('DEBIAN/control', control(r.version), 0o644);
  put('DEBIAN/triggers', `${TRIGGER_DIRECTORIES.map((d) => `interest-noawait ${d}`).join('\n')}\n`, 0o644);
  put('DEBIAN/postinst', POSTINST, 0o755);
  put(SYNC_SCRIPT, syncScript(r.syslayer), 0o755);
  for (const hook of KERNEL_HOOKS) put(hook, KERNEL_HOOK, 0o755);
  const shipped = new Map<string, string>();
  for (const dir of r.layerDirs) {
    for (const rel of treeFiles(dir)) {
      const from = rel ? join(dir, rel) : dir;
      const name = join(IMAGE_LAYERS, rel || relative(dirname(dir), dir));
      if (shipped.has(name)) throw new UsageError(`hooks package: ${from} and ${shipped.get(name)} would both be ${name}`);
      shipped.set(name, from);
      put(name, null, 0o644, from);
    }
  }
  // What dh_md5sums would write: dpkg --verify and debsums check the package's files against it.
  put('DEBIAN/md5sums', treeFiles(stage).filter((f) => !f.startsWith('DEBIAN/')).map((f) => `${hash('md5', readFileSync(join(stage, f)), 'hex')}  ${f}\n`).join(''), 0o644);
}

/** Sets every time under `dir` (depth first, so a directory's own time is set last) to `epoch`. */
function fixTimes(dir: string, epoch: number): void {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (e.isDirectory()) fixTimes(join(dir, e.name), epoch);
    utimesSync(join(dir, e.name), epoch, epoch);
  }
  chmodSync(dir, 0o755);
  utimesSync(dir, epoch, epoch);
}

/** Builds the package; throws a RunError when dpkg-deb fails or is missing. */
export function buildHooksPackage(r: HooksPackageRequest): void {
  const epoch = r.epoch ?? (process.env.SOURCE_DATE_EPOCH ? Number(process.env.SOURCE_DATE_EPOCH) : DEFAULT_EPOCH);
  if (!Number.isInteger(epoch) || epoch < 0) throw new UsageError(`SOURCE_DATE_EPOCH wants whole seconds, not '${process.env.SOURCE_DATE_EPOCH}'`);
  const stage = mkdtempSync(join(tmpdir(), 'syslayer-hooks-'));
  try {
    // The staging directory's mode would become the root entry's: fixed like every other.
    stageTree(stage, r);
    fixTimes(stage, epoch);
    // --root-owner-group: root owns every file whoever builds it; SOURCE_DATE_EPOCH sets the ar
    // member times and clamps the tar times; gzip, whose output does not change with the version of xz.
    const built = spawnSync('dpkg-deb', ['--root-owner-group', '-Zgzip', '--build', stage, r.output], {
      encoding: 'utf8', env: { ...process.env, SOURCE_DATE_EPOCH: String(epoch) },
    });
    if (built.error) throw new RunError(`cannot run dpkg-deb: ${built.error.message}`);
    if (built.status !== 0) throw new RunError(`dpkg-deb --build failed: ${built.stderr.trim()}`);
  } finally {
    rmSync(stage, { recursive: true, force: true });
  }
}

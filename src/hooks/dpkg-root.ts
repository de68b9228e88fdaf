// Installing and removing a package under a root with the real dpkg. With --root, dpkg keeps its
// database under the root; --force-script-chrootless runs the maintainer scripts (and so the
// trigger) here, outside the root, with DPKG_ROOT set, which is what lets a host tool such as
// syslayer serve a root that has no node of its own.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { RunError } from '../errors.js';

/** Makes the smallest dpkg database dpkg accepts (status, info/, updates/) when `root` has none. */
export function ensureDpkgDatabase(root: string): boolean {
  const admin = join(root, 'var', 'lib', 'dpkg');
  if (existsSync(join(admin, 'status'))) return false;
  for (const d of ['info', 'updates', 'triggers']) mkdirSync(join(admin, d), { recursive: true });
  writeFileSync(join(admin, 'status'), '');
  return true;
}

/** Runs dpkg on `root` with `args`; throws a RunError naming what dpkg said when it fails. */
export function dpkgOnRoot(root: string, args: readonly string[]): string {
  const options = ['--root', resolve(root), '--force-script-chrootless'];
  // dpkg refuses a user who is not root unless told; a test root needs no privilege.
  if (process.getuid?.() !== 0) options.push('--force-not-root');
  const r = spawnSync('dpkg', [...options, ...args], { encoding: 'utf8' });
  if (r.error) throw new RunError(`cannot run dpkg: ${r.error.message}`);
  if (r.status !== 0) throw new RunError(`dpkg ${args.join(' ')} on ${root} failed (status ${r.status}): ${r.stderr.trim()}`);
  return r.stdout + r.stderr;
}

// The user's own image for `run.mjs --image DIR` (`syslayer bench <image>`): the counterpart of
// clients-image.mjs, which generates the default images. Nothing is generated and nothing is
// written into DIR: the clients come from syslayer's own plan of the image (so they are the
// ones syslayer would bind with the kernel and layers of the run), and the tarball of the
// tar -> tar rows is packed once into the benchmark's temporary directory.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

/**
 * Run `syslayer <argv> --report FILE` and return the parsed JSON report (docs/report-json.md).
 * Exit 1 (some clients could not be handled) is a result, not a failure: a user's image may
 * hold clients no layer fits. The report goes through a file, not stdout: for thousands of
 * clients it is larger than spawnSync's default buffer.
 */
export function syslayerReport({ cli, env, argv, reportFile }) {
  fs.rmSync(reportFile, { force: true });
  const r = spawnSync(process.execPath, [cli, ...argv, '--report', reportFile], { env, encoding: 'utf8', stdio: ['ignore', 'ignore', 'pipe'] });
  if (r.error) throw r.error;
  if (r.status !== 0 && r.status !== 1)
    throw new Error(`syslayer ${argv.join(' ')}: exit ${r.signal ?? r.status}: ${r.stderr.trim().split('\n').slice(-3).join(' | ')}`);
  return { status: r.status, report: JSON.parse(fs.readFileSync(reportFile, 'utf8')) };
}

/**
 * The clients of DIR as `syslayer plan` sees them with `kernelArgs` (--kernel, --layers).
 * Returns { dir, kernel, clients (all paths), bindable (paths with a layer), notBindable
 * ([{ path, error }]), catalog (layer names and paths) }; paths relative to dir.
 */
export function planUserImage({ cli, env, dir, kernelArgs, tmp }) {
  const { report } = syslayerReport({ cli, env, argv: ['plan', ...kernelArgs, dir], reportFile: path.join(tmp, 'image-plan.json') });
  return {
    dir,
    kernel: report.kernel,
    clients: report.clients.map((c) => c.path),
    bindable: report.clients.filter((c) => c.layer).map((c) => c.path),
    notBindable: report.clients.filter((c) => !c.layer).map((c) => ({ path: c.path, error: c.error ?? null })),
    catalog: report.catalog.map((l) => ({ name: l.name, revision: l.revision, path: l.path })),
  };
}

/**
 * Pack DIR with GNU tar into `tarPath` (PAX, numeric owners, extended attributes, name order:
 * the format of the generated clients tarball, so tar -> tar rows compare across modes).
 * Returns null with a reason instead of a tarball when tar cannot read the whole image.
 */
export function packUserImage({ dir, tarPath }) {
  const r = spawnSync('tar', ['--format=pax', '--numeric-owner', '--xattrs', '--xattrs-include=*', '--sort=name', '-C', dir, '-cf', tarPath, '.'],
    { encoding: 'utf8', stdio: ['ignore', 'ignore', 'pipe'] });
  if (r.status === 0) return { tar: tarPath, reason: null };
  fs.rmSync(tarPath, { force: true });
  return { tar: null, reason: `GNU tar could not pack the image (exit ${r.signal ?? r.status}: ${r.stderr.trim().split('\n').slice(-2).join(' | ')})` };
}

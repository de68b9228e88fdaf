// `syslayer verify --packages`: every file the package database has a sum for, checked the way
// prelink's `-y` lets an integrity checker do it — a bound file is unbound in memory and its
// original compared with dpkg's MD5 — so that binding is told apart from a change by someone else.
import { hash } from 'node:crypto';
import { lstatSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Core, compileCore } from '../core/core.js';
import { startsElf } from '../core/elf-magic.js';
import { fsPath } from '../names/path-bytes.js';
import { packageFiles } from '../packages/dpkg-database.js';
import { pathInRoot } from '../util/path-in-root.js';
import { originalOf, rebindingCheck } from '../transform/file-operations.js';
import { loadCatalog } from '../catalog/catalog.js';
import type { Layer } from '../catalog/layer.js';
import { IMAGE_LAYERS } from '../pipeline/image-paths.js';
import type { ExitStatus } from './image-commands.js';

/**
 * bound-intact: bound, and its original is the package's file. changed: its bytes (its original,
 * when bound) are not the package's, or it was changed after binding so that its original cannot
 * be restored, or it is not what binding its original gives. unbound-client: a syslayer client the package installed that is not bound (sync
 * has not run since, or could not bind it). missing: gone. intact: not bound and the package's.
 */
export const PACKAGE_FILE_STATUSES = ['bound-intact', 'changed', 'unbound-client', 'missing', 'intact', 'error'] as const;
export type PackageFileStatus = typeof PACKAGE_FILE_STATUSES[number];

export interface PackageFileOutcome {
  path: string;
  owner: string;
  status: PackageFileStatus;
  /** dpkg's MD5 of the file. */
  packageMd5: string;
  /** MD5 of the file's original (its bytes as found when it is not bound); absent when there is none. */
  originalMd5?: string;
  /** The layer a bound file is bound to. */
  layer?: string;
  reason?: string;
}

export interface PackageVerifyReport {
  root: string;
  packages: number;
  files: PackageFileOutcome[];
}

const md5 = (bytes: Uint8Array) => hash('md5', bytes, 'hex');

function isLayerObject(core: Core, bytes: Uint8Array): boolean {
  const record = core.scanLoaded(core.loadBytes(bytes));
  return record.status === 'elf' && record.facts.type === 'REL' && !!record.facts.syslayer?.layer;
}

function checkFile(core: Core, catalog: readonly Layer[], root: string, path: string, owner: string, packageMd5: string): PackageFileOutcome {
  const base = { path, owner, packageMd5 };
  const where = pathInRoot(root, path);
  if (where === null) return { ...base, status: 'error', reason: 'too many levels of symbolic links' };
  let bytes: Buffer;
  try {
    if (!lstatSync(fsPath(where)).isFile()) return { ...base, status: 'changed', reason: 'no longer a regular file' };
    bytes = readFileSync(fsPath(where));
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { ...base, status: 'missing' };
    return { ...base, status: 'error', reason: `cannot read: ${(error as Error).message}` };
  }
  const asFound = md5(bytes);
  if (!startsElf(bytes)) return asFound === packageMd5 ? { ...base, status: 'intact', originalMd5: asFound } : { ...base, status: 'changed', originalMd5: asFound, reason: 'differs from the package' };
  const o = originalOf(core, core.loadBytes(bytes));
  if (!o.ok) return { ...base, status: 'changed', reason: `bound, then changed: ${o.error}` };
  if (o.bound) {
    const original = md5(o.original);
    const bound = { ...base, originalMd5: original, layer: o.layer };
    if (original !== packageMd5) return { ...bound, status: 'changed', reason: 'bound, and its original differs from the package' };
    // The original is the package's; is the rest what binding made of it? Only the layer can say.
    const check = rebindingCheck(core, catalog, o.prepared, bytes);
    if (!check.checked) return { ...bound, status: 'error', reason: `cannot check its binding: ${check.why} (--layers)` };
    return check.differs ? { ...bound, status: 'changed', reason: `bound, then changed: ${check.differs}` } : { ...bound, status: 'bound-intact' };
  }
  if (asFound !== packageMd5) return { ...base, status: 'changed', originalMd5: asFound, reason: 'differs from the package' };
  // A layer object carries a reservation too, but it is what binding puts in, not a client.
  const client = o.client && !isLayerObject(core, bytes);
  return client ? { ...base, status: 'unbound-client', originalMd5: asFound, reason: 'a syslayer client that is not bound (syslayer sync binds it)' } : { ...base, status: 'intact', originalMd5: asFound };
}

/**
 * Checks every file the dpkg database under `root` has a sum for, a bound one against its
 * recorded layer (from `layerDirs` or the root's usr/lib/syslayer/layers/). Throws a RunError when
 * there is no database.
 */
export async function verifyPackages(request: { root: string; layerDirs: readonly string[] }): Promise<{ report: PackageVerifyReport; status: ExitStatus }> {
  const files = packageFiles(request.root);
  const core = new Core(compileCore());
  // The catalog as bind has it: the --layers directories and the root's own layers.
  const catalog = loadCatalog(core, [...request.layerDirs, join(request.root, IMAGE_LAYERS)]);
  const outcomes = files.map((f) => checkFile(core, catalog, request.root, f.path, f.owner, f.md5));
  const packages = new Set(files.map((f) => f.owner)).size;
  const wrong = outcomes.some((o) => o.status !== 'bound-intact' && o.status !== 'intact');
  return { report: { root: request.root, packages, files: outcomes }, status: wrong ? 1 : 0 };
}

// What syslayer keeps in a bound directory image, under var/lib/syslayer/ (docs/living-images.md):
// - `state.json`: every regular file's stat tuple when last seen, and for each client the sha256
//   of its bytes and what binding did (bound with which layer, or refused and why), with the
//   target kernel and a digest of the catalog. `sync` binds only what changed since.
// - `bound.mtree`: each bound file's size and sha256, for NetBSD's `mtree -e -f FILE -p ROOT`.
// - `originals.mtree`: each bound file's original (unbound) size and sha256, from its bind record.
// Each is written to a temporary name and renamed: a reader sees the old file or the new one.
// None is trusted blindly: a state that does not parse or has the wrong shape is a warning and a
// full re-scan, and the manifests are written from the image each time, never patched.
import { closeSync, fsyncSync, lstatSync, openSync, readFileSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { hash } from 'node:crypto';
import { join } from 'node:path';
import type { Core } from '../core/core.js';
import type { Layer } from '../catalog/layer.js';
import type { BoundDigests } from '../transform/file-operations.js';
import { formatKernelVersion } from '../catalog/kernel-version.js';
import { encodeName, fsPath } from '../names/path-bytes.js';
import { STATE_DIRECTORY } from './image-lock.js';

export const STATE_NAME = 'state.json';
export const BOUND_MANIFEST = 'bound.mtree';
export const ORIGINALS_MANIFEST = 'originals.mtree';
const STATE_FORMAT = 'syslayer-image-state';
const STATE_VERSION = 1;

/** What the state says of one regular file of the image. */
export type FileState =
  | { stat: string; outcome: 'other' }
  | { stat: string; outcome: 'bound'; sha256: string; size: number; layer: string; abi: number; originalSha256: string; originalSize: number }
  | { stat: string; outcome: 'refused'; sha256: string; reason: string };

export interface ImageState {
  format: typeof STATE_FORMAT;
  version: typeof STATE_VERSION;
  /** The target kernel of the last bind, a.b.c. */
  kernel: string;
  /** sha256 of the catalog's layers (catalogDigest). */
  catalog: string;
  /** The directories binding made for var/lib/syslayer (outermost first): a full unbind removes them. */
  created: string[];
  files: Record<string, FileState>;
}

/**
 * The stat tuple that says a file may have changed: size, mtime and ctime in nanoseconds, inode.
 * ctime catches a rewrite that put the old mtime back; the inode, a file renamed over.
 */
export function statKey(root: string, path: string): string | null {
  try {
    const s = lstatSync(fsPath(join(root, path)), { bigint: true });
    if (!s.isFile()) return null;
    return `${s.size}:${s.mtimeNs}:${s.ctimeNs}:${s.ino}`;
  } catch {
    return null;
  }
}

export const sha256Hex = (bytes: Uint8Array) => hash('sha256', bytes, 'hex');

/**
 * The catalog as a bind sees it: each layer's identity and the sha256 of its object, not its
 * path (a --layers directory may move). A different digest means other layers may be selected.
 */
export function catalogDigest(catalog: readonly Layer[]): string {
  const lines = catalog.map((l) => {
    let object = 'unreadable';
    try {
      object = sha256Hex(readFileSync(fsPath(l.path)));
    } catch {
      // counted as a change the next time it reads
    }
    return `${l.name} ${l.revision} ${l.machine} ${l.class} ${l.endian} ${l.abiMin} ${l.abiMax} ${l.kernelMin} ${object}`;
  }).sort();
  return hash('sha256', lines.join('\n'), 'hex');
}

const HEX64 = /^[0-9a-f]{64}$/;

function validEntry(e: unknown): e is FileState {
  if (typeof e !== 'object' || e === null) return false;
  const f = e as Record<string, unknown>;
  if (typeof f.stat !== 'string') return false;
  switch (f.outcome) {
    case 'other': return true;
    case 'bound': return typeof f.sha256 === 'string' && HEX64.test(f.sha256) && typeof f.originalSha256 === 'string' && HEX64.test(f.originalSha256) &&
      typeof f.layer === 'string' && Number.isInteger(f.abi) && Number.isInteger(f.size) && Number.isInteger(f.originalSize);
    case 'refused': return typeof f.sha256 === 'string' && HEX64.test(f.sha256) && typeof f.reason === 'string';
    default: return false;
  }
}

/** The image's state, or why it cannot be used (missing, unreadable, not what we write). */
export function readImageState(root: string): { state: ImageState } | { problem: string } {
  const file = join(root, STATE_DIRECTORY, STATE_NAME);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return { problem: code === 'ENOENT' ? `no state file (${file})` : `cannot read the state file ${file}: ${(error as Error).message}` };
  }
  let s: Partial<ImageState>;
  try {
    s = JSON.parse(text) as Partial<ImageState>;
  } catch (error) {
    return { problem: `the state file ${file} is corrupt: ${(error as Error).message}` };
  }
  if (typeof s !== 'object' || s === null || s.format !== STATE_FORMAT) return { problem: `the state file ${file} is corrupt: not a syslayer image state` };
  if (s.version !== STATE_VERSION) return { problem: `the state file ${file} has version ${String(s.version)}, not ${STATE_VERSION}` };
  if (typeof s.kernel !== 'string' || typeof s.catalog !== 'string' || !Array.isArray(s.created) || !s.created.every((d) => typeof d === 'string') ||
    typeof s.files !== 'object' || s.files === null) {
    return { problem: `the state file ${file} is corrupt: a field is missing or of the wrong type` };
  }
  for (const [path, entry] of Object.entries(s.files)) {
    if (!validEntry(entry)) return { problem: `the state file ${file} is corrupt: the entry of ${JSON.stringify(path)} is not valid` };
  }
  return { state: s as ImageState };
}

let temporaries = 0;

/** Writes `bytes` to `dir/name` through a temporary name beside it (the scan's leftover pattern) and a rename. */
export function writeAtomically(dir: string, name: string, bytes: string | Uint8Array): void {
  const temporary = join(dir, `.${name}.syslayer-${process.pid}-${temporaries++}`);
  const fd = openSync(temporary, 'w', 0o644);
  try {
    writeSync(fd, typeof bytes === 'string' ? Buffer.from(bytes) : bytes);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  try {
    renameSync(temporary, join(dir, name));
  } catch (error) {
    unlinkSync(temporary);
    throw error;
  }
}

/** Printable ASCII and none of the characters mtree escapes: `\`, `#` and the glob characters. */
const PLAIN_NAME = /^[!-"$-)+->@-Z^-~]*$/;

/**
 * A path as mtree(5) spells it: relative to the root (`./`), every byte outside the printable
 * ASCII that needs no escape written as vis(3)'s `\ooo`: spaces, `#`, `\`, glob characters,
 * controls and non-ASCII bytes (names are bytes, and mtree unvis()es them back).
 */
export function mtreeName(path: string): string {
  // Most names need no escape: written as they are (10,000 bound files: the manifests took 150 ms).
  if (PLAIN_NAME.test(path)) return `./${path}`;
  let out = './';
  for (const b of encodeName(path)) {
    const c = String.fromCharCode(b);
    out += b > 0x20 && b < 0x7f && !'\\#*?[]'.includes(c) ? c : `\\${b.toString(8).padStart(3, '0')}`;
  }
  return out;
}

/**
 * An mtree specification in the full-path form (`./usr/bin/ls type=file ...`): mtree wants each
 * directory named (type=dir) before the entries in it, and a parent's name sorts before its children's.
 */
function manifest(title: string, files: [string, string][]): string {
  const lines = new Map<string, string>([['.', '. type=dir']]);
  const directories = new Set<string>();
  for (const [path, keywords] of files) {
    // Each directory above the file, once (most files share theirs with the last one).
    for (let at = path.indexOf('/'); at > 0; at = path.indexOf('/', at + 1)) {
      const above = path.slice(0, at);
      if (directories.has(above)) continue;
      directories.add(above);
      const dir = mtreeName(above);
      lines.set(dir, `${dir} type=dir`);
    }
    const name = mtreeName(path);
    lines.set(name, `${name} type=file ${keywords}`);
  }
  const sorted = [...lines].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, line]) => line);
  return `#mtree v2.0\n# ${title}\n${sorted.join('\n')}\n`;
}

/** Writes the state and, from it, both manifests, in the image's var/lib/syslayer/. */
export function writeImageState(root: string, state: ImageState): void {
  const dir = join(root, STATE_DIRECTORY);
  const bound = Object.entries(state.files).filter((e): e is [string, Extract<FileState, { outcome: 'bound' }>] => e[1].outcome === 'bound');
  // Manifests first: a state that names files a manifest lacks is never left behind a crash.
  writeAtomically(dir, BOUND_MANIFEST, manifest(`syslayer: the bound files of this image (check: mtree -e -f ${STATE_DIRECTORY}/${BOUND_MANIFEST} -p ROOT)`,
    bound.map(([path, f]) => [path, `size=${f.size} sha256digest=${f.sha256}`])));
  writeAtomically(dir, ORIGINALS_MANIFEST, manifest('syslayer: the original (unbound) bytes of each bound file: `syslayer unbind --stdout FILE` prints them',
    bound.map(([path, f]) => [path, `size=${f.originalSize} sha256digest=${f.originalSha256}`])));
  writeAtomically(dir, STATE_NAME, `${JSON.stringify(state)}\n`);
}

/** Removes what binding left in var/lib/syslayer/ (not the lock, which its holder removes). */
export function removeImageState(root: string): void {
  for (const name of [STATE_NAME, BOUND_MANIFEST, ORIGINALS_MANIFEST]) {
    try {
      unlinkSync(join(root, STATE_DIRECTORY, name));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
  }
}

/** What binding did to a client: the outcome's status, with its layer or its reason. */
export type ClientResult = { status: 'bound'; layer: string; abi: number; digests?: BoundDigests } | { status: 'refused'; reason: string };

/**
 * The state entry of a file after a bind looked at it. A bound client's digests come from the
 * worker that bound it; without them (a refusal), its bytes are read into a core once, hashed,
 * and its bind record read for the original's digest.
 */
export function observeFile(coreOf: () => Core, root: string, path: string, stat: string, result: ClientResult | undefined): FileState {
  if (result === undefined) return { stat, outcome: 'other' };
  if (result.status === 'bound' && result.digests) return { stat, outcome: 'bound', ...result.digests, layer: result.layer, abi: result.abi };
  const core = coreOf();
  const length = core.loadFile(join(root, path));
  const sha256 = sha256Hex(core.inputBytes(length));
  if (result.status === 'refused') return { stat, outcome: 'refused', sha256, reason: result.reason };
  const p = core.prepare(length);
  if (!p.ok || !p.prepared.old) return { stat, outcome: 'refused', sha256, reason: p.ok ? 'not bound after binding' : p.error };
  return { stat, outcome: 'bound', sha256, size: length, layer: result.layer, abi: result.abi, originalSha256: p.prepared.old.originalSha256, originalSize: p.prepared.originalLength };
}

export function newState(kernel: number, catalog: string, created: string[], files: Record<string, FileState>): ImageState {
  return { format: STATE_FORMAT, version: STATE_VERSION, kernel: formatKernelVersion(kernel), catalog, created, files };
}

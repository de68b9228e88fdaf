// Binding, unbinding and verifying one client file with a core instance: what a worker does for
// each file of a batch. The core does the byte work; this orchestrates and hashes.
import { createHash, hash } from 'node:crypto';
import { join } from 'node:path';
import type { Core } from '../core/core.js';
import type { LinkedImage } from '../core/memory-core.js';
import type { PreparedClient } from '../core/bind-record.js';
import { describeLayer, type Layer } from '../catalog/layer.js';
import { selectLayer } from '../catalog/select.js';
import { rewriteFile, writeNewFileAt } from '../sinks/file-writers.js';

/**
 * Where a worker writes a result, at the file's own relative path under `root`: 'create' makes a
 * new file there (in place: in the stage, later renamed over the old name; -o: in the new copy),
 * whose attributes the main thread copies from the old one; 'rewrite' overwrites the file of a
 * private copy made by `cp -a`.
 */
export interface Destination {
  root: string;
  how: 'create' | 'rewrite';
}

function write(to: Destination, path: string, bytes: Uint8Array): void {
  if (to.how === 'create') writeNewFileAt(to.root, path, bytes);
  else rewriteFile(join(to.root, path), bytes);
}

export interface BindPlanEntry {
  /** Absolute path of the file to bind. */
  file: string;
  /** Its path relative to the image root: for messages, and where the result goes. */
  path: string;
  layer: Layer;
  targetKernel: number;
}

/**
 * A bound file's digests, from the worker that bound it: what the image's state and integrity
 * manifests record (living/image-state.ts), so that nothing reads the file again for them.
 * Not part of the report.
 */
export interface BoundDigests {
  sha256: string;
  size: number;
  originalSha256: string;
  originalSize: number;
}

export type FileOutcome = (
  | { path: string; status: 'bound' | 'unchanged' | 'unbound' | 'not-bound' | 'verified'; abi?: number; layer?: string; digests?: BoundDigests }
  | { path: string; status: 'error'; error: string }
) & {
  /** In a container image: the layer (1 = the bottom one) the file is in; a lower copy of a path is bound too. */
  imageLayer?: number;
};

// crypto.hash, one call for one buffer: making a Hash object cost ~15 us, as much as hashing a
// small client.
/** Whether the outcome's file got new contents. */
export const wasWritten = (o: FileOutcome) => o.status === 'bound' || o.status === 'unbound';

const sha256 = (...parts: Uint8Array[]): Buffer => {
  if (parts.length === 1) return hash('sha256', parts[0]!, 'buffer');
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest();
};

const reservationShas = new WeakMap<LinkedImage, Map<number, Buffer>>();

/** SHA-256 of the image zero-padded to the reservation; the same few values recur all run. */
function reservationSha(linked: LinkedImage, size: number): Buffer {
  let bySize = reservationShas.get(linked);
  if (!bySize) reservationShas.set(linked, (bySize = new Map()));
  let sha = bySize.get(size);
  if (!sha) bySize.set(size, (sha = sha256(linked.image, new Uint8Array(Math.max(0, size - linked.image.length)))));
  return sha;
}

/** Checks the original the core restored against the SHA-256 the bind record holds. */
export function originalMatches(core: Core, prepared: PreparedClient): string | null {
  if (!prepared.old) return null;
  const actual = sha256(core.inputBytes(prepared.originalLength)).toString('hex');
  if (actual === prepared.old.originalSha256) return null;
  return 'the bind record does not match the file: it was changed after binding (by strip or objcopy?), so the original cannot be restored';
}

/**
 * Binds the client loaded in the core (`length` bytes) with `layer`; returns the bound bytes, or
 * an error. A bound file is first restored to its original (checked against the record's
 * SHA-256). When the record no longer matches — strip or objcopy rewrote the file after binding —
 * `reload` puts the file as found back into the core and its binding is detached instead: that
 * file becomes the original. `sameAsBefore` is true when the old binding was exactly this one.
 */
export function bindLoaded(core: Core, length: number, layer: Layer, targetKernel: number, reload?: () => number):
  { ok: true; output: Uint8Array; abi: number; sameAsBefore: boolean; detached: boolean; original: Buffer; originalLength: number } | { ok: false; error: string } {
  const failed = (r: { error: string; errorOffset: number }) => ({ ok: false as const, error: `${r.error} (at file offset 0x${r.errorOffset.toString(16)})` });
  let p = core.prepare(length);
  let detached = false;
  const mismatch = p.ok ? originalMatches(core, p.prepared) : p.recordMismatch ? p.error : null;
  if (!p.ok && !mismatch) return failed(p);
  if (mismatch) {
    if (!reload) return { ok: false, error: mismatch };
    p = core.detach(reload());
    if (!p.ok) return failed(p);
    detached = true;
  }
  const checked = core.check();
  if (!checked.ok) return failed(checked);
  const prepared = checked.prepared;
  if (prepared.machine !== layer.machine) return { ok: false, error: `machine ${prepared.machine} does not match layer ${layer.name}` };
  const linked = layer.images.get(prepared.abi);
  if (!linked || prepared.abi < layer.abiMin || prepared.abi > layer.abiMax) {
    return { ok: false, error: `layer ${layer.name} does not serve ABI ${prepared.abi}` };
  }
  // The core refuses this too, but only it knows the layer's file, and the user needs it.
  if (linked.image.length > prepared.reservationSize) {
    return { ok: false, error: `layer ${describeLayer(layer)} links to ${linked.image.length} bytes for ABI ${prepared.abi}, larger than the reservation (${prepared.reservationSize} bytes)` };
  }
  const original = sha256(core.inputBytes(prepared.originalLength));
  const resSha = reservationSha(linked, prepared.reservationSize);
  const old = p.ok ? p.prepared.old : null;
  const sameAsBefore = !detached && old !== null && old.layerName === layer.name && old.revision === layer.revision &&
    old.abiMin === layer.abiMin && old.abiMax === layer.abiMax && old.kernelMin === layer.kernelMin &&
    old.targetKernel === targetKernel && old.reservationSha256 === resSha.toString('hex');
  const bound = core.bind({
    targetKernel,
    layerAbiMin: layer.abiMin,
    layerAbiMax: layer.abiMax,
    layerKernelMin: layer.kernelMin,
    layerRevision: layer.revision,
    layerName: layer.name,
    clientAbi: prepared.abi,
    image: linked.image,
    imageAddress: linked.address,
    originalSha256: original,
    reservationSha256: resSha,
  });
  if (!bound.ok) return failed(bound);
  return { ok: true, output: bound.output, abi: prepared.abi, sameAsBefore, detached, original, originalLength: prepared.originalLength };
}

/** Binds `entry.file` and writes the result to `to` (nothing when it is bound that way already). */
export function bindFile(core: Core, entry: BindPlanEntry, to: Destination): FileOutcome {
  try {
    return bindLoadedFile(core, core.loadFile(entry.file), entry, to);
  } catch (error) {
    return cannotRewrite(entry.path, error);
  }
}

export const cannotRewrite = (path: string, error: unknown): FileOutcome => ({ path, status: 'error', error: `cannot rewrite: ${(error as Error).message}` });

/** bindFile for the file `entry.file`, already loaded whole into the core (`length` bytes). Throws for I/O errors. */
export function bindLoadedFile(core: Core, length: number, entry: BindPlanEntry, to: Destination): FileOutcome {
  const r = bindLoaded(core, length, entry.layer, entry.targetKernel, () => core.loadFile(entry.file));
  if (!r.ok) return { path: entry.path, status: 'error', error: r.error };
  // Exactly so already: the output is the file's own bytes.
  const digests: BoundDigests = { sha256: sha256(r.output).toString('hex'), size: r.output.length, originalSha256: r.original.toString('hex'), originalSize: r.originalLength };
  if (r.sameAsBefore) return { path: entry.path, status: 'unchanged', abi: r.abi, layer: entry.layer.name, digests };
  write(to, entry.path, r.output);
  return { path: entry.path, status: 'bound', abi: r.abi, layer: entry.layer.name, digests };
}

/**
 * The original bytes of the client loaded in the core (`length` bytes), restored in the core's
 * memory and checked against the bind record's SHA-256: a view, valid until the core's next call.
 * A file that is not bound is its own original (its bytes as loaded may have been touched by the
 * core since: read them before). What `unbind` writes, `unbind --stdout` prints and
 * `verify --packages` hashes.
 */
export function originalOf(core: Core, length: number):
  | { ok: true; bound: true; original: Uint8Array; abi: number; layer: string; prepared: PreparedClient }
  /** `unreadable`: why the core could not open it (not ELF, corrupt); `client`: it carries a syslayer ABI note. */
  | { ok: true; bound: false; client: boolean; unreadable: string | null }
  | { ok: false; error: string } {
  const p = core.prepare(length);
  // Not bound (not ELF, or not openable) unless the core found a record that no longer matches.
  if (!p.ok) return p.recordMismatch ? { ok: false, error: p.error } : { ok: true, bound: false, client: false, unreadable: p.error };
  if (!p.prepared.old) return { ok: true, bound: false, client: p.prepared.abi > 0, unreadable: null };
  const mismatch = originalMatches(core, p.prepared);
  if (mismatch) return { ok: false, error: mismatch };
  return { ok: true, bound: true, original: core.inputBytes(p.prepared.originalLength), abi: p.prepared.abi, layer: p.prepared.old.layerName, prepared: p.prepared };
}

export function unbindFile(core: Core, file: string, path: string, to: Destination): FileOutcome {
  try {
    const o = originalOf(core, core.loadFile(file));
    if (!o.ok) return { path, status: 'error', error: o.error };
    if (!o.bound) return o.unreadable === null ? { path, status: 'not-bound' } : { path, status: 'error', error: o.unreadable };
    write(to, path, o.original);
    return { path, status: 'unbound', abi: o.abi, layer: o.layer };
  } catch (error) {
    return { path, status: 'error', error: `cannot rewrite: ${(error as Error).message}` };
  }
}

/** Whether two catalog entries are the same layer (what a bind record identifies). */
function isRecordedLayer(l: Layer, machine: number, old: NonNullable<PreparedClient['old']>): boolean {
  return l.machine === machine && l.name === old.layerName && l.revision === old.revision &&
    l.abiMin === old.abiMin && l.abiMax === old.abiMax && l.kernelMin === old.kernelMin;
}

/** The catalog's entry for the layer a bind record names, or the error that says it is missing. */
export function recordedLayer(catalog: readonly Layer[], prepared: PreparedClient, old: NonNullable<PreparedClient['old']>): Layer | string {
  return catalog.find((l) => isRecordedLayer(l, prepared.machine, old)) ?? `the recorded layer ${old.layerName} revision ${old.revision} is not in the catalog`;
}

/**
 * After `prepare` restored the original in the core: binds it again with the recorded layer for
 * the recorded kernel and compares with the file as found (`asFound`, its SHA-256). Null when they are the
 * same; else what differs. A byte changed anywhere after binding — appended, in a header, in the
 * reservation — shows here, where the original's SHA-256 alone would miss what binding replaces.
 */
export function differsFromFreshBinding(core: Core, prepared: PreparedClient, recorded: Layer, asFound: Uint8Array): string | null {
  const again = bindLoaded(core, prepared.originalLength, recorded, prepared.old!.targetKernel);
  if (!again.ok) return again.error;
  return sha256(again.output).equals(asFound) ? null : 'the file differs from a fresh binding of its original with the recorded layer';
}

/**
 * For a bound file whose original `prepare` restored in the core: binds that original again with
 * the recorded layer (found in `catalog`) and compares with `asFound`, the file's bytes.
 * `checked: false` says why that could not be done (the layer is not in the catalog).
 */
export function rebindingCheck(core: Core, catalog: readonly Layer[], prepared: PreparedClient, asFound: Uint8Array):
  { checked: false; why: string } | { checked: true; differs: string | null } {
  const recorded = recordedLayer(catalog, prepared, prepared.old!);
  if (typeof recorded === 'string') return { checked: false, why: recorded };
  return { checked: true, differs: differsFromFreshBinding(core, prepared, recorded, sha256(asFound)) };
}

/**
 * Re-derives a bound file instead of trusting its record (DESIGN §8): restores the original,
 * checks it against the record's SHA-256, binds it again with the recorded layer from the
 * catalog for the recorded kernel, and compares the bytes. Also checks that the selection rule
 * still picks that layer (for `kernel`, or the recorded target when none is given).
 */
export function verifyFile(core: Core, file: string, path: string, catalog: readonly Layer[], kernel: number | null): FileOutcome {
  try {
    return verifyLoaded(core, core.loadFile(file), path, catalog, kernel);
  } catch (error) {
    return { path, status: 'error', error: `cannot read: ${(error as Error).message}` };
  }
}

/** verifyFile for a file already loaded into the core (from disk, or a tar entry). */
export function verifyLoaded(core: Core, length: number, path: string, catalog: readonly Layer[], kernel: number | null): FileOutcome {
  const asFound = sha256(core.inputBytes(length));
  const p = core.prepare(length);
  if (!p.ok) return { path, status: 'error', error: p.error };
  const old = p.prepared.old;
  if (!old) return { path, status: 'error', error: 'not bound' };
  const mismatch = originalMatches(core, p.prepared);
  if (mismatch) return { path, status: 'error', error: mismatch };
  const recorded = recordedLayer(catalog, p.prepared, old);
  if (typeof recorded === 'string') return { path, status: 'error', error: recorded };
  const target = kernel ?? old.targetKernel;
  const selected = selectLayer(catalog, { machine: recorded.machine, machineName: recorded.machineName, class: recorded.class, endian: recorded.endian, abi: p.prepared.abi }, target);
  if (!selected.ok) return { path, status: 'error', error: selected.reason };
  if (selected.layer.path !== recorded.path) {
    return { path, status: 'error', error: `bound to ${old.layerName} revision ${old.revision}, but the rule now selects ${selected.layer.name} revision ${selected.layer.revision} (${selected.layer.path})` };
  }
  const differs = differsFromFreshBinding(core, p.prepared, recorded, asFound);
  if (differs) return { path, status: 'error', error: differs };
  return { path, status: 'verified', abi: p.prepared.abi, layer: old.layerName };
}

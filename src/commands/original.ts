// `syslayer unbind --stdout FILE`: one file's original bytes, for integrity tools (prelink's
// `-y`). A bound file is unbound in memory and its original checked against the bind record's
// SHA-256; when the recorded layer is in the catalog, the original is also bound again and
// compared with the file, since a change to the bytes binding replaced does not show in the
// original (DESIGN §8: re-derive, do not trust the record).
import { hash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Core, compileCore } from '../core/core.js';
import { loadCatalog } from '../catalog/catalog.js';
import { UsageError } from '../errors.js';
import { differsFromFreshBinding, originalOf, recordedLayer } from '../transform/file-operations.js';

export type OriginalResult =
  | { ok: true; bytes: Uint8Array; bound: false }
  /** `rebound`: the file is what binding `bytes` with its recorded layer gives; else why that was not checked. */
  | { ok: true; bytes: Uint8Array; bound: true; layer: string; rebound: true }
  | { ok: true; bytes: Uint8Array; bound: true; layer: string; rebound: false; unchecked: string }
  | { ok: false; error: string };

/** The original of `file`; `layerDirs` (as bind's --layers) lets its binding be re-derived. Throws a UsageError for a file it cannot read. */
export function originalBytes(file: string, layerDirs: readonly string[]): OriginalResult {
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (error) {
    throw new UsageError(`${(error as Error).message}`);
  }
  const core = new Core(compileCore());
  const catalog = loadCatalog(core, layerDirs);
  const o = originalOf(core, core.loadBytes(bytes));
  if (!o.ok) return o;
  if (!o.bound) return { ok: true, bytes, bound: false };
  const original = Buffer.from(o.original); // the core's next calls reuse its memory
  const recorded = recordedLayer(catalog, o.prepared, o.prepared.old!);
  if (typeof recorded === 'string') return { ok: true, bytes: original, bound: true, layer: o.layer, rebound: false, unchecked: recorded };
  const differs = differsFromFreshBinding(core, o.prepared, recorded, hash('sha256', bytes, 'buffer'));
  if (differs) return { ok: false, error: `changed after binding: ${differs}` };
  return { ok: true, bytes: original, bound: true, layer: o.layer, rebound: true };
}

// `syslayer unbind --stdout FILE`: one file's original bytes, for integrity tools (prelink's
// `-y`). A bound file is unbound in memory and its original checked against the bind record's
// SHA-256; when the recorded layer is in the catalog, the original is also bound again and
// compared with the file, since a change to the bytes binding replaced does not show in the
// original (DESIGN §8: re-derive, do not trust the record).
import { readFileSync } from 'node:fs';
import { Core, compileCore } from '../core/core.js';
import { loadCatalog } from '../catalog/catalog.js';
import { UsageError } from '../errors.js';
import { originalOf, rebindingCheck } from '../transform/file-operations.js';

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
  const check = rebindingCheck(core, catalog, o.prepared, bytes);
  if (!check.checked) return { ok: true, bytes: original, bound: true, layer: o.layer, rebound: false, unchecked: check.why };
  if (check.differs) return { ok: false, error: `changed after binding: ${check.differs}` };
  return { ok: true, bytes: original, bound: true, layer: o.layer, rebound: true };
}

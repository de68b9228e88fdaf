// Inputs built once into the benchmark cache ($SYSLAYER_CACHE): made under a temporary name
// beside and renamed into place, with a stamp written last that names what they were made from,
// so an interrupted (or concurrent) build leaves nothing half-made and a changed input is rebuilt.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

/** The SHA-256 of a file, or 'none' when it cannot be read. */
export const hashOf = (p) => {
  try {
    return createHash('sha256').update(fs.readFileSync(p)).digest('hex');
  } catch {
    return 'none';
  }
};

/**
 * Make `out` (a file or a directory) and `out.stamp` unless the stamp already says `want`;
 * `make(tmp)` writes the file or directory at `tmp`. Returns `out`.
 */
export function cached(out, want, what, make, log) {
  const stamp = `${out}.stamp`;
  let have = null;
  try {
    have = fs.readFileSync(stamp, 'utf8');
  } catch {}
  if (have === want && fs.existsSync(out)) return out;
  log(`building ${what}: ${out}`);
  const t0 = Date.now();
  const dir = path.dirname(out);
  // Stale temporaries of an interrupted build of this file (older than an hour: a concurrent
  // build of the same file may be running).
  for (const e of fs.readdirSync(dir)) {
    const p = path.join(dir, e);
    if (e.startsWith(`.${path.basename(out)}.tmp.`) && Date.now() - fs.statSync(p).mtimeMs > 3600e3) fs.rmSync(p, { recursive: true, force: true });
  }
  const tmp = fs.mkdtempSync(path.join(dir, `.${path.basename(out)}.tmp.`));
  try {
    const file = path.join(tmp, 'out');
    make(file);
    fs.rmSync(stamp, { force: true });
    // A file is replaced by the rename itself; a directory has to go first.
    if (fs.lstatSync(out, { throwIfNoEntry: false })?.isDirectory()) fs.rmSync(out, { recursive: true, force: true });
    fs.renameSync(file, out);
    fs.writeFileSync(path.join(tmp, 'stamp'), want);
    fs.renameSync(path.join(tmp, 'stamp'), stamp);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  const st = fs.statSync(out);
  log(`built in ${((Date.now() - t0) / 1000).toFixed(1)} s: ${out}` + (st.isFile() ? ` (${(st.size / 1e9).toFixed(2)} GB)` : ''));
  return out;
}

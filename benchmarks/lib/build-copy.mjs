// The code under test, copied at the start of a benchmark (package.json, bin/, dist/,
// build/*.wasm, data/; node_modules linked) and run from the copy: others may rebuild the
// checkout while the benchmark runs, and every figure of a run must come from one build.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

/** A hash of a build: the release core and every compiled .js under dist/. */
export function buildHash(root) {
  const h = createHash('sha256');
  const files = [path.join(root, 'build', 'syslayer.wasm')];
  const walk = (d) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile() && p.endsWith('.js')) files.push(p);
    }
  };
  walk(path.join(root, 'dist'));
  for (const f of files) {
    h.update(path.relative(root, f) + '\0');
    h.update(fs.readFileSync(f));
  }
  return h.digest('hex').slice(0, 16);
}

/** Copy the build of the checkout `from` to `to`; returns the copy's bin/syslayer.js. */
export function copyBuild(from, to) {
  fs.mkdirSync(path.join(to, 'build'), { recursive: true });
  for (const p of ['package.json', 'bin', 'dist', 'data']) fs.cpSync(path.join(from, p), path.join(to, p), { recursive: true });
  for (const w of ['syslayer.wasm', 'syslayer.debug.wasm'])
    if (fs.existsSync(path.join(from, 'build', w))) fs.copyFileSync(path.join(from, 'build', w), path.join(to, 'build', w));
  fs.symlinkSync(path.join(from, 'node_modules'), path.join(to, 'node_modules'));
  return path.join(to, 'bin', 'syslayer.js');
}

// What dpkg's database under an image root says each package installed: the files and their MD5
// sums (var/lib/dpkg/info/<package>.md5sums, `<md5>  <path>` per line, the path relative to the
// root). Knows nothing of ELF: `verify --packages` compares these sums with each file's original.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { decodeName } from '../names/path-bytes.js';
import { RunError } from '../errors.js';

export interface PackageFile {
  /** Relative to the root, as dpkg's md5sums spell it (no leading slash). */
  path: string;
  /** The package that owns it, as its info files are named (`libfoo1:amd64` on a multiarch system). */
  owner: string;
  md5: string;
}

export const dpkgInfoDirectory = (root: string) => join(root, 'var', 'lib', 'dpkg', 'info');

/** Every file the database has a sum for, in the order of the packages' names. Throws a RunError when the root has no dpkg database. */
export function packageFiles(root: string): PackageFile[] {
  const info = dpkgInfoDirectory(root);
  if (!existsSync(info)) throw new RunError(`${root}: no dpkg database (${info} does not exist)`);
  const files: PackageFile[] = [];
  for (const name of readdirSync(info).filter((n) => n.endsWith('.md5sums')).sort()) {
    const owner = name.slice(0, -'.md5sums'.length);
    const text = readFileSync(join(info, name));
    let start = 0;
    while (start < text.length) {
      let end = text.indexOf(0x0a, start);
      if (end < 0) end = text.length;
      const line = text.subarray(start, end);
      start = end + 1;
      if (line.length === 0) continue;
      // Two spaces part the sum from the name, which may hold spaces of its own.
      const md5 = line.subarray(0, 32).toString('latin1');
      if (!/^[0-9a-f]{32}$/.test(md5) || line[32] !== 0x20 || line[33] !== 0x20) {
        throw new RunError(`${join(info, name)}: line '${line.toString('utf8')}' is not '<md5>  <path>'`);
      }
      files.push({ path: decodeName(line.subarray(34)).replace(/^\/+/, ''), owner, md5 });
    }
  }
  return files;
}

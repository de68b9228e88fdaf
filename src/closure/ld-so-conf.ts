// Reads etc/ld.so.conf of an image the way ldconfig does: one directory per line (or several,
// separated by blanks, ':' or ','), '#' comments, `include` lines with globs (relative patterns
// are taken from the including file's directory), `hwcap` lines ignored, include loops cut.
import { ImageTree, dirName } from '../pipeline/image-tree.js';
import { expandGlob } from './glob.js';

export type ReadImageFile = (path: string) => Promise<string | null>;

export async function readLdSoConf(tree: ImageTree, read: ReadImageFile): Promise<string[]> {
  const dirs: string[] = [];
  const seen = new Set<string>();

  const parse = async (file: string, depth: number): Promise<void> => {
    const resolved = tree.resolve(file);
    if (resolved === null || seen.has(resolved) || depth > 16) return;
    seen.add(resolved);
    const text = await read(resolved);
    if (text === null) return;
    for (const raw of text.split('\n')) {
      const line = raw.replace(/#.*/, '').trim();
      if (line === '') continue;
      const include = /^include\s+(.*)$/.exec(line);
      if (include) {
        for (const pattern of include[1]!.split(/\s+/)) {
          const absolute = pattern.startsWith('/') ? pattern : `${dirName(resolved)}/${pattern}`;
          for (const match of expandGlob(tree, absolute)) await parse(match, depth + 1);
        }
        continue;
      }
      if (/^hwcap\s/.test(line)) continue;
      for (const dir of line.split(/[\s:,]+/)) {
        // Old ldconfig accepted "dir=libtype"; the type is ignored today.
        const clean = dir.replace(/=.*$/, '').replace(/^\/+/, '').replace(/\/+$/, '');
        if (clean !== '' && !dirs.includes(clean)) dirs.push(clean);
      }
    }
  };

  await parse('etc/ld.so.conf', 0);
  return dirs;
}

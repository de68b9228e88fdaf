// Expands an `include` glob of ld.so.conf against the image tree (glob(3) semantics for `*`, `?`
// and `[...]`, component by component; names starting with '.' match only an explicit '.').
import { ImageTree, joinPath } from '../pipeline/image-tree.js';

function componentPattern(glob: string): RegExp {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else if (c === '[') {
      const end = glob.indexOf(']', i + 2);
      if (end < 0) re += '\\[';
      else {
        const body = glob.slice(i + 1, end).replace(/^!/, '^').replace(/\\/g, '\\\\');
        re += `[${body}]`;
        i = end;
      }
    } else re += c.replace(/[.+^${}()|\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

/** Paths (relative to the image root, canonical directories on the way) matching `pattern`. */
export function expandGlob(tree: ImageTree, pattern: string): string[] {
  let current = [''];
  for (const part of pattern.split('/').filter((p) => p !== '')) {
    const next: string[] = [];
    const wild = /[*?[]/.test(part);
    for (const base of current) {
      const dir = tree.resolveDirectory(base);
      if (dir === null) continue;
      if (!wild) {
        next.push(joinPath(dir, part));
        continue;
      }
      const re = componentPattern(part);
      const names = tree.list(dir).filter((n) => re.test(n) && (!n.startsWith('.') || part.startsWith('.')));
      next.push(...names.sort().map((n) => joinPath(dir, n)));
    }
    current = next;
  }
  return current.filter((p) => tree.get(p) !== undefined || tree.resolve(p) !== null);
}

// An in-memory index of an image's file tree: what each path is, and where its symlinks point.
// Paths are relative to the image root, '/'-separated, without a leading slash; the root is ''.
// Resolution follows symlinks the way a chroot would: absolute targets start again at the image
// root and '..' never climbs above it, so nothing is ever looked up on the host.

export type EntryKind = 'file' | 'dir' | 'symlink' | 'other';

export interface TreeEntry {
  kind: EntryKind;
  /** The link text, verbatim, for symlinks. */
  target?: string;
}

/** Linux gives up after 40 links in one lookup (ELOOP); so do we. */
const MAX_SYMLINK_HOPS = 40;

export function joinPath(dir: string, name: string): string {
  return dir === '' ? name : `${dir}/${name}`;
}

export function dirName(path: string): string {
  const slash = path.lastIndexOf('/');
  return slash < 0 ? '' : path.slice(0, slash);
}

export class ImageTree {
  private readonly entries = new Map<string, TreeEntry>([['', { kind: 'dir' }]]);
  private readonly children = new Map<string, string[]>([['', []]]);
  /** resolve() answers: the tree does not change once walked, and closures ask the same paths. */
  private readonly resolved = new Map<string, string | null>();
  /** Directories that could not be listed, with the reason. */
  readonly unreadable: { path: string; error: string }[] = [];

  add(path: string, entry: TreeEntry): void {
    this.resolved.clear();
    this.entries.set(path, entry);
    const parent = dirName(path);
    let list = this.children.get(parent);
    if (!list) this.children.set(parent, (list = []));
    list.push(path.slice(parent === '' ? 0 : parent.length + 1));
    if (entry.kind === 'dir' && !this.children.has(path)) this.children.set(path, []);
  }

  get(path: string): TreeEntry | undefined {
    return this.entries.get(path);
  }

  /** Names in directory `dir` (not resolved through symlinks), in the order they were added. */
  list(dir: string): readonly string[] {
    return this.children.get(dir) ?? [];
  }

  paths(): IterableIterator<[string, TreeEntry]> {
    return this.entries.entries();
  }

  /**
   * The canonical path `path` names inside the image, following every symlink on the way
   * (including the last component), or null when it does not exist or loops. `path` may be
   * absolute (taken from the image root) or relative to the root.
   */
  resolve(path: string): string | null {
    let answer = this.resolved.get(path);
    if (answer === undefined) {
      answer = this.resolveUncached(path);
      this.resolved.set(path, answer);
    }
    return answer;
  }

  private resolveUncached(path: string): string | null {
    const pending = splitPath(path).reverse();
    const done: string[] = [];
    let hops = 0;
    while (pending.length > 0) {
      const name = pending.pop()!;
      if (name === '.' || name === '') continue;
      if (name === '..') {
        done.pop();
        continue;
      }
      const candidate = done.length === 0 ? name : `${done.join('/')}/${name}`;
      const entry = this.entries.get(candidate);
      if (!entry) return null;
      if (entry.kind === 'symlink') {
        if (++hops > MAX_SYMLINK_HOPS) return null;
        const target = entry.target ?? '';
        if (target.startsWith('/')) done.length = 0;
        pending.push(...splitPath(target).reverse());
        continue;
      }
      if (pending.length > 0 && entry.kind !== 'dir') return null;
      done.push(name);
    }
    return done.join('/');
  }

  /** Like resolve, but requires the result to be a directory. */
  resolveDirectory(path: string): string | null {
    const resolved = this.resolve(path);
    return resolved !== null && this.entries.get(resolved)?.kind === 'dir' ? resolved : null;
  }
}

function splitPath(path: string): string[] {
  return path.split('/').filter((c) => c !== '');
}

// The merged view of a container image's layers against the OCI image spec's "Image Layer
// Filesystem Changeset" rules, case by case: each expectation is the spec's, written out by hand.
import { describe, expect, it } from 'vitest';
import { ImageTree, type TreeEntry } from '../src/pipeline/image-tree.js';
import { mergeLayers } from '../src/containers/merged-view.js';

const FILE: TreeEntry = { kind: 'file' };
const DIR: TreeEntry = { kind: 'dir' };

/** A layer from `path` (a trailing slash: a directory) entries, in order. */
function layer(...paths: string[]): ImageTree {
  const tree = new ImageTree();
  for (const p of paths) tree.add(p.replace(/\/$/, ''), p.endsWith('/') ? DIR : FILE);
  return tree;
}

/** The merged view as `path -> layer` (directories marked with a trailing slash), sorted. */
function view(...layers: ImageTree[]): Record<string, number> {
  const { tree, layerOf } = mergeLayers(layers);
  const out: Record<string, number> = {};
  for (const [path, entry] of tree.paths()) if (path !== '') out[path + (entry.kind === 'dir' ? '/' : '')] = layerOf.get(path)!;
  return Object.fromEntries(Object.entries(out).sort(([a], [b]) => (a < b ? -1 : 1)));
}

describe('the merged view of container layers', () => {
  it('an upper entry replaces the lower one of its path; the rest of the lower layer shows through', () => {
    expect(view(layer('etc/', 'etc/a', 'etc/b'), layer('etc/', 'etc/b'))).toEqual({ 'etc/': 1, 'etc/a': 0, 'etc/b': 1 });
  });

  it('a whiteout hides a lower file, and is itself not in the view', () => {
    expect(view(layer('bin/', 'bin/x', 'bin/y'), layer('bin/', 'bin/.wh.x'))).toEqual({ 'bin/': 1, 'bin/y': 0 });
  });

  it('a whiteout of a directory hides everything below it', () => {
    expect(view(layer('opt/', 'opt/d/', 'opt/d/f', 'opt/d/e/', 'opt/d/e/g', 'opt/dx'), layer('opt/', 'opt/.wh.d')))
      .toEqual({ 'opt/': 1, 'opt/dx': 0 });
  });

  it('an opaque directory hides the lower layers\' entries of that directory, not its own', () => {
    expect(view(layer('d/', 'd/lower', 'd/sub/', 'd/sub/x', 'e/', 'e/keep'), layer('d/', 'd/.wh..wh..opq', 'd/upper')))
      .toEqual({ 'd/': 1, 'd/upper': 1, 'e/': 0, 'e/keep': 0 });
  });

  it('a whiteout never hides an entry of its own layer', () => {
    expect(view(layer('a/', 'a/x'), layer('a/', 'a/.wh.x', 'a/x'))).toEqual({ 'a/': 1, 'a/x': 1 });
  });

  it('a file in place of a lower directory takes the directory\'s contents with it', () => {
    expect(view(layer('lib/', 'lib/one', 'lib/two/', 'lib/two/three'), layer('lib'))).toEqual({ lib: 1 });
  });

  it('a whiteout in a third layer hides what the second added, and the first layer\'s copy too', () => {
    expect(view(layer('x/', 'x/f'), layer('x/', 'x/f'), layer('x/', 'x/.wh.f'))).toEqual({ 'x/': 2 });
  });
});

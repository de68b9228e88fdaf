// What a container sees: its layers stacked, bottom to top, as overlayfs and every OCI runtime
// stack them (OCI image spec, "Image Layer Filesystem Changeset"). An upper entry replaces the
// lower one of its path (and, when it is not a directory, everything below that path); a
// whiteout `.wh.<name>` hides <name> and what is below it in the lower layers; an opaque
// whiteout `.wh..wh..opq` hides every lower entry of its directory. A layer's whiteouts never
// hide its own entries. The catalog, the kernel, ld.so.conf and the closures come from this view.
import { ImageTree, dirName, joinPath, type TreeEntry } from '../pipeline/image-tree.js';

const WHITEOUT = '.wh.';
const OPAQUE = '.wh..wh..opq';

export interface MergedView {
  tree: ImageTree;
  /** The layer (0 = bottom) each visible path comes from. */
  layerOf: Map<string, number>;
}

const baseName = (path: string) => path.slice(path.lastIndexOf('/') + 1);

export const isWhiteout = (path: string) => baseName(path).startsWith(WHITEOUT);

function hideBelow(merged: Map<string, { entry: TreeEntry; layer: number }>, dir: string): void {
  const prefix = dir === '' ? '' : `${dir}/`;
  for (const path of merged.keys()) if (path.startsWith(prefix) && path !== dir) merged.delete(path);
}

export function mergeLayers(layers: readonly ImageTree[]): MergedView {
  const merged = new Map<string, { entry: TreeEntry; layer: number }>();
  layers.forEach((tree, layer) => {
    const entries = [...tree.paths()].filter(([path]) => path !== '');
    for (const [path] of entries) {
      const name = baseName(path);
      if (name === OPAQUE) hideBelow(merged, dirName(path));
      else if (name.startsWith(WHITEOUT)) {
        const hidden = joinPath(dirName(path), name.slice(WHITEOUT.length));
        merged.delete(hidden);
        hideBelow(merged, hidden);
      }
    }
    for (const [path, entry] of entries) {
      if (isWhiteout(path)) continue;
      // A lower directory's entries go with it (looked for only then: most paths replace files).
      if (entry.kind !== 'dir' && merged.get(path)?.entry.kind === 'dir') hideBelow(merged, path);
      merged.set(path, { entry, layer });
    }
  });
  const tree = new ImageTree();
  const layerOf = new Map<string, number>();
  for (const [path, { entry, layer }] of merged) {
    tree.add(path, entry);
    layerOf.set(path, layer);
  }
  return { tree, layerOf };
}

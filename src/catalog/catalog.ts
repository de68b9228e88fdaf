// The catalog: every layer object under the --layers directories and the image's own
// usr/lib/syslayer/layers/, each linked once per run for every ABI version it serves.
import { join } from 'node:path';
import { readFileSync, existsSync, statSync } from 'node:fs';
import type { Core } from '../core/core.js';
import { walkDirectory } from '../sources/directory.js';
import { fsPath } from '../names/path-bytes.js';
import { layerFromBytes, type Layer } from './layer.js';

export function layerFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  if (statSync(dir).isFile()) return [dir];
  const tree = walkDirectory(dir);
  return [...tree.paths()].filter(([, e]) => e.kind === 'file').map(([p]) => join(dir, p)).sort();
}

export function loadCatalog(core: Core, dirs: readonly string[]): Layer[] {
  const layers: Layer[] = [];
  for (const dir of dirs) {
    for (const path of layerFiles(dir)) {
      const layer = layerFromBytes(core, path, readFileSync(fsPath(path)));
      if (layer) layers.push(layer);
    }
  }
  return layers;
}

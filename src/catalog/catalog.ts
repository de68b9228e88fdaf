// The catalog: every layer object under the --layers directories and the image's own
// usr/lib/syslayer/layers/, each linked once per run for every ABI version it serves.
import { join } from 'node:path';
import { readFileSync, existsSync, statSync } from 'node:fs';
import { Core, type LinkedImage } from '../core/core.js';
import { walkDirectory } from '../sources/directory.js';
import { fsPath } from '../names/path-bytes.js';
import { slotNames, knownAbis } from './abi-table.js';
import { formatKernelVersion } from './kernel-version.js';

/** A layer of the catalog. Plain data (structured-clonable): workers receive the catalog as is. */
export interface Layer {
  path: string;
  name: string;
  machine: number;
  machineName: string;
  class: 32 | 64;
  endian: 'little' | 'big';
  abiMin: number;
  abiMax: number;
  kernelMin: number;
  revision: number;
  /** The image linked for each ABI version the layer serves (and we have a table for). */
  images: Map<number, LinkedImage>;
  /** Why linking failed, per ABI version. */
  linkErrors: Map<number, string>;
}

export function describeLayer(l: Layer): string {
  return `${l.name} revision ${l.revision} (ABI ${l.abiMin}..${l.abiMax}, kernel >= ${formatKernelVersion(l.kernelMin)}, ${l.path})`;
}

export function layerFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  if (statSync(dir).isFile()) return [dir];
  const tree = walkDirectory(dir);
  return [...tree.paths()].filter(([, e]) => e.kind === 'file').map(([p]) => join(dir, p)).sort();
}

/** A catalog entry from a layer object's bytes, or null when the file is not a layer object. */
export function layerFromBytes(core: Core, path: string, bytes: Uint8Array): Layer | null {
  core.loadBytes(bytes);
  const record = core.scanLoaded(bytes.length);
  if (record.status !== 'elf' || record.facts.type !== 'REL' || !record.facts.syslayer?.layer) return null;
  const f = record.facts;
  const note = f.syslayer!.layer!;
  const layer: Layer = {
    path,
    name: note.name,
    machine: f.machine,
    machineName: f.machineName,
    class: f.class,
    endian: f.endian,
    abiMin: note.abiMin,
    abiMax: note.abiMax,
    kernelMin: note.kernelMin,
    revision: note.revision,
    images: new Map(),
    linkErrors: new Map(),
  };
  for (const abi of knownAbis().filter((a) => a >= note.abiMin && a <= note.abiMax)) {
    const linked = core.linkLayer(bytes, slotNames(abi)!);
    if (linked.ok) layer.images.set(abi, linked.linked);
    else layer.linkErrors.set(abi, `${linked.error} (at file offset 0x${linked.errorOffset.toString(16)})`);
  }
  return layer;
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

// The catalog a pool worker binds with, decoded once per run (per catalog id) from the shared
// buffer every task names, with each linked image copied once into the worker's core memory:
// binding reads it there (LinkedImage.address), where it was copied in for every client before.
// A worker serves one run, so it keeps one catalog; a new id releases the old images.
import { core } from './worker-core.js';
import type { Layer } from '../src/catalog/layer.js';
import { openSharedCatalog, type SharedCatalog } from '../src/pool/shared-catalog.js';

let resident: { id: number; layers: Layer[]; addresses: number[] } | null = null;

export function residentCatalog(shared: SharedCatalog): Layer[] {
  if (resident?.id === shared.id) return resident.layers;
  if (resident) for (const address of resident.addresses) core.releaseResident(address);
  const layers = openSharedCatalog(shared);
  const addresses: number[] = [];
  for (const layer of layers) {
    for (const linked of layer.images.values()) addresses.push(linked.address = core.makeResident(linked.image));
  }
  resident = { id: shared.id, layers, addresses };
  return layers;
}

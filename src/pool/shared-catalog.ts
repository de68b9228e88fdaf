// The catalog as the pool's workers receive it: once per run, in one SharedArrayBuffer that every
// task names by reference (posting it shares the memory, nothing is copied), with an id that
// tells a worker whether it has decoded it already. A worker decodes it once and keeps each
// linked image resident in its core's memory (workers/resident-catalog.ts); a job then names its
// layer by index. Before this, every task carried the whole Layer[] with its images, structured-
// cloned each time: for a tarball, once per ELF entry.
//
// Layout: a u32 byte length, then that many bytes of JSON (each layer's fields, and per ABI where
// its image lies), padded to 8, then the images back to back. The JSON stays small (a few hundred
// bytes per layer); the images are read in place, as views of the buffer.
import type { Layer } from '../catalog/layer.js';
import type { LinkedImage } from '../core/memory-core.js';

export interface SharedCatalog {
  /** Unique in this process: a worker keeps the catalog of the last id it saw. */
  id: number;
  buffer: SharedArrayBuffer;
}

interface LayerHeader extends Omit<Layer, 'images' | 'linkErrors'> {
  images: { abi: number; offset: number; length: number; slotCount: number; implemented: boolean[] }[];
  linkErrors: [number, string][];
}

let nextId = 1;

const align8 = (n: number) => Math.ceil(n / 8) * 8;

export function shareCatalog(catalog: readonly Layer[]): SharedCatalog {
  let at = 0;
  const headers: LayerHeader[] = catalog.map(({ images, linkErrors, ...fields }) => ({
    ...fields,
    images: [...images].map(([abi, linked]) => {
      const entry = { abi, offset: at, length: linked.image.length, slotCount: linked.slotCount, implemented: linked.implemented };
      at = align8(at + linked.image.length);
      return entry;
    }),
    linkErrors: [...linkErrors],
  }));
  const json = Buffer.from(JSON.stringify(headers), 'utf8');
  const imagesAt = align8(4 + json.length);
  const buffer = new SharedArrayBuffer(imagesAt + at);
  new DataView(buffer).setUint32(0, json.length, true);
  new Uint8Array(buffer, 4, json.length).set(json);
  catalog.forEach((layer, i) => {
    for (const h of headers[i]!.images) new Uint8Array(buffer, imagesAt + h.offset, h.length).set(layer.images.get(h.abi)!.image);
  });
  return { id: nextId++, buffer };
}

/** The catalog again, its images views of the shared buffer (read-only by convention). */
export function openSharedCatalog(shared: SharedCatalog): Layer[] {
  const { buffer } = shared;
  const jsonLength = new DataView(buffer).getUint32(0, true);
  const headers = JSON.parse(Buffer.from(buffer, 4, jsonLength).toString('utf8')) as LayerHeader[];
  const imagesAt = align8(4 + jsonLength);
  return headers.map(({ images, linkErrors, ...fields }) => ({
    ...fields,
    images: new Map(images.map((h): [number, LinkedImage] =>
      [h.abi, { image: new Uint8Array(buffer, imagesAt + h.offset, h.length), slotCount: h.slotCount, implemented: h.implemented }])),
    linkErrors: new Map(linkErrors),
  }));
}

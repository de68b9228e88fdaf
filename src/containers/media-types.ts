// The media types of container images (OCI image spec and Docker's image manifest v2, schema 2),
// and how each kind of layer is compressed. A layer keeps its media type through a rewrite: what
// came as gzip goes out as gzip, zstd as zstd, an uncompressed tar as one.
import type { Compression } from '../tar/compression.js';

export const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
export const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
export const DOCKER_MANIFEST_LIST = 'application/vnd.docker.distribution.manifest.list.v2+json';
export const DOCKER_MANIFEST = 'application/vnd.docker.distribution.manifest.v2+json';

const INDEXES = new Set([OCI_INDEX, DOCKER_MANIFEST_LIST]);
const MANIFESTS = new Set([OCI_MANIFEST, DOCKER_MANIFEST]);

/** Layer media types, with the compression of their bytes. */
const LAYERS: Record<string, Compression> = {
  'application/vnd.oci.image.layer.v1.tar': 'none',
  'application/vnd.oci.image.layer.v1.tar+gzip': 'gzip',
  'application/vnd.oci.image.layer.v1.tar+zstd': 'zstd',
  'application/vnd.oci.image.layer.nondistributable.v1.tar': 'none',
  'application/vnd.oci.image.layer.nondistributable.v1.tar+gzip': 'gzip',
  'application/vnd.oci.image.layer.nondistributable.v1.tar+zstd': 'zstd',
  'application/vnd.docker.image.rootfs.diff.tar': 'none',
  'application/vnd.docker.image.rootfs.diff.tar.gzip': 'gzip',
  'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip': 'gzip',
};

export const isIndex = (mediaType: string | undefined) => mediaType !== undefined && INDEXES.has(mediaType);
export const isManifest = (mediaType: string | undefined) => mediaType !== undefined && MANIFESTS.has(mediaType);

/** The compression of a layer of this media type, or null for a media type that is not a layer we can read. */
export function layerCompression(mediaType: string): Compression | null {
  return LAYERS[mediaType] ?? null;
}

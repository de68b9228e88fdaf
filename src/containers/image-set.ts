// What a container image holds, read from its files: the OCI index tree (index.json, nested
// indexes, image manifests) or a `docker save` manifest.json, and for each runnable image its
// config and its layers, bottom to top. Every manifest, index and config is checked against its
// digest and size as it is read; layers are checked as they stream (layer-stream.ts). Anything
// that does not hold together is an ImageError naming the blob: nothing is written for it.
import { ImageError } from '../errors.js';
import type { Compression } from '../tar/compression.js';
import type { ImageFiles } from './image-files.js';
import { blobPath, checkDigest, sha256Digest } from './digest.js';
import { isIndex, isManifest, layerCompression } from './media-types.js';

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  annotations?: Record<string, string>;
  platform?: { architecture?: string; os?: string; variant?: string };
  [field: string]: unknown;
}

/** A JSON document as stored (its bytes are kept: one nothing changes in is written back as it came). */
export interface Stored<T> {
  path: string;
  bytes: Buffer;
  json: T;
}

export interface ImageConfig {
  architecture?: string;
  os?: string;
  rootfs?: { type?: string; diff_ids?: string[] };
  [field: string]: unknown;
}

export interface LayerRef {
  /** Where its bytes are among the image's files. */
  path: string;
  /** The digest its bytes must have (an OCI descriptor's), or null where only the diff_id says (a classic docker archive). */
  digest: string | null;
  size: number | null;
  /** The media type to keep, or null in a classic docker archive (told by the bytes). */
  mediaType: string | null;
  compression: Compression | null;
  /** The config's diff_id for it: the digest of its uncompressed tar. */
  diffId: string;
}

export interface ContainerImage {
  /** os/architecture[/variant] of the config, e.g. linux/arm64. */
  platform: string;
  config: Stored<ImageConfig>;
  layers: LayerRef[];
  /** The OCI manifest (null for a classic docker archive entry). */
  manifest: Stored<{ config: Descriptor; layers: Descriptor[]; [field: string]: unknown }> | null;
}

/** An index (index.json itself, or a nested one) and what it lists, in its order. */
export interface IndexNode {
  index: Stored<{ manifests: Descriptor[]; [field: string]: unknown }>;
  children: (IndexNode | ContainerImage)[];
}

export interface DockerEntry {
  Config: string;
  Layers: string[];
  RepoTags?: string[] | null;
  [field: string]: unknown;
}

export interface ImageSet {
  files: ImageFiles;
  /** The OCI index tree, for an OCI layout (and a docker archive that holds one). */
  oci: IndexNode | null;
  /** A docker archive's manifest.json, and the image of each entry. */
  docker: { manifest: Stored<DockerEntry[]>; images: ContainerImage[] } | null;
  /** Every runnable image, each once. */
  images: ContainerImage[];
}

const MAX_JSON = 16 * 1024 * 1024;

function parseJson<T>(files: ImageFiles, path: string, bytes: Buffer, what: string): T {
  try {
    return JSON.parse(bytes.toString('utf8')) as T;
  } catch (error) {
    throw new ImageError(`${files.name}: ${what} (${path}) is not JSON: ${(error as Error).message}`);
  }
}

function readFile(files: ImageFiles, path: string, what: string): Buffer {
  if (!files.has(path)) throw new ImageError(`${files.name}: ${what} ${path} is missing`);
  if (files.size(path) > MAX_JSON) throw new ImageError(`${files.name}: ${what} ${path} is ${files.size(path)} bytes, more than a JSON document of an image should be`);
  return files.read(path);
}

/** A blob a descriptor names, checked against its digest and size. */
function readBlob<T>(files: ImageFiles, d: Descriptor, what: string): Stored<T> {
  checkDigest(files.name, d.digest, what);
  const path = blobPath(d.digest);
  if (!files.has(path)) throw new ImageError(`${files.name}: ${what} names blob ${d.digest}, which is missing`);
  const bytes = readFile(files, path, what);
  const actual = sha256Digest(bytes);
  if (actual !== d.digest) throw new ImageError(`${files.name}: blob ${d.digest} (${what}) does not match its digest: its bytes are ${actual}`);
  if (bytes.length !== d.size) throw new ImageError(`${files.name}: blob ${d.digest} (${what}) is ${bytes.length} bytes, its descriptor says ${d.size}`);
  return { path, bytes, json: parseJson<T>(files, path, bytes, what) };
}

const platformOf = (c: ImageConfig) => [c.os ?? 'unknown', c.architecture ?? 'unknown', ...(typeof c.variant === 'string' ? [c.variant] : [])].join('/');

function diffIds(files: ImageFiles, config: Stored<ImageConfig>, count: number): string[] {
  const ids = config.json.rootfs?.diff_ids;
  if (!Array.isArray(ids) || ids.length !== count) {
    throw new ImageError(`${files.name}: config ${config.path} lists ${Array.isArray(ids) ? ids.length : 'no'} diff_ids for ${count} layers`);
  }
  for (const id of ids) checkDigest(files.name, id, `a diff_id of config ${config.path}`);
  return ids;
}

function imageOf(files: ImageFiles, manifest: Stored<{ config: Descriptor; layers: Descriptor[] }>): ContainerImage {
  const m = manifest.json;
  if (typeof m.config !== 'object' || !Array.isArray(m.layers)) throw new ImageError(`${files.name}: manifest ${manifest.path} has no config or no layers`);
  const config = readBlob<ImageConfig>(files, m.config, `the config of manifest ${manifest.path}`);
  const ids = diffIds(files, config, m.layers.length);
  const layers = m.layers.map((d, i): LayerRef => {
    const what = `layer ${i + 1} of manifest ${manifest.path}`;
    checkDigest(files.name, d.digest, what);
    const compression = layerCompression(d.mediaType);
    if (compression === null) throw new ImageError(`${files.name}: ${what} (${d.digest}) has media type ${d.mediaType}, which is no tar layer syslayer reads`);
    const path = blobPath(d.digest);
    if (!files.has(path)) throw new ImageError(`${files.name}: ${what} names blob ${d.digest}, which is missing`);
    return { path, digest: d.digest, size: d.size, mediaType: d.mediaType, compression, diffId: ids[i]! };
  });
  return { platform: platformOf(config.json), config, layers, manifest };
}

function readIndex(files: ImageFiles, index: Stored<{ manifests: Descriptor[] }>, depth: number): IndexNode {
  if (!Array.isArray(index.json.manifests)) throw new ImageError(`${files.name}: index ${index.path} has no manifests list`);
  if (depth > 8) throw new ImageError(`${files.name}: indexes nested more than 8 deep at ${index.path}`);
  const children = index.json.manifests.map((d, i) => {
    const what = `entry ${i + 1} of index ${index.path}`;
    if (isIndex(d.mediaType)) return readIndex(files, readBlob(files, d, what), depth + 1);
    if (isManifest(d.mediaType)) return imageOf(files, readBlob(files, d, what));
    throw new ImageError(`${files.name}: ${what} (${d.digest}) has media type ${d.mediaType}: neither an image manifest nor an index`);
  });
  return { index, children };
}

function imagesBelow(node: IndexNode): ContainerImage[] {
  return node.children.flatMap((c) => ('index' in c ? imagesBelow(c) : [c]));
}

/** A classic docker archive entry: config and layers named by path, layers told by their bytes. */
function dockerImage(files: ImageFiles, entry: DockerEntry, i: number): ContainerImage {
  const what = `entry ${i + 1} of manifest.json`;
  if (typeof entry.Config !== 'string' || !Array.isArray(entry.Layers)) throw new ImageError(`${files.name}: ${what} has no Config or no Layers`);
  const bytes = readFile(files, entry.Config, `the config of ${what}`);
  const config: Stored<ImageConfig> = { path: entry.Config, bytes, json: parseJson(files, entry.Config, bytes, `the config of ${what}`) };
  const ids = diffIds(files, config, entry.Layers.length);
  const layers = entry.Layers.map((path, k): LayerRef => {
    if (!files.has(path)) throw new ImageError(`${files.name}: ${what} names layer ${path}, which is missing`);
    return { path, digest: null, size: files.size(path), mediaType: null, compression: null, diffId: ids[k]! };
  });
  return { platform: platformOf(config.json), config, layers, manifest: null };
}

export function readImageSet(files: ImageFiles, format: 'oci' | 'docker'): ImageSet {
  let oci: IndexNode | null = null;
  if (files.has('oci-layout')) {
    const layout = parseJson<{ imageLayoutVersion?: string }>(files, 'oci-layout', readFile(files, 'oci-layout', 'the layout marker'), 'oci-layout');
    if (layout.imageLayoutVersion !== '1.0.0') throw new ImageError(`${files.name}: oci-layout says imageLayoutVersion ${layout.imageLayoutVersion}, not 1.0.0`);
    const bytes = readFile(files, 'index.json', 'the image index');
    oci = readIndex(files, { path: 'index.json', bytes, json: parseJson(files, 'index.json', bytes, 'the image index') }, 0);
  }
  let docker: ImageSet['docker'] = null;
  if (format === 'docker') {
    const bytes = readFile(files, 'manifest.json', 'the archive manifest');
    const manifest: Stored<DockerEntry[]> = { path: 'manifest.json', bytes, json: parseJson(files, 'manifest.json', bytes, 'manifest.json') };
    if (!Array.isArray(manifest.json)) throw new ImageError(`${files.name}: manifest.json is not a list of images`);
    // Newer Docker writes an OCI layout too: its manifest.json then names the same blobs, and the
    // images are the OCI ones (checked by digest); a classic archive has only manifest.json.
    const byConfig = new Map((oci ? imagesBelow(oci) : []).map((im) => [im.config.path, im]));
    docker = { manifest, images: manifest.json.map((e, i) => byConfig.get(e.Config) ?? dockerImage(files, e, i)) };
  } else if (oci === null) {
    throw new ImageError(`${files.name}: no oci-layout: not an OCI image layout`);
  }
  const images = [...new Set([...(oci ? imagesBelow(oci) : []), ...(docker?.images ?? [])])];
  if (images.length === 0) throw new ImageError(`${files.name}: the image lists no manifests`);
  return { files, oci, docker, images };
}

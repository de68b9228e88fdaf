// The rewritten container image, written into a work directory beside the output: the new layer
// blobs (already there, from blob-sink.ts), each changed image's config (its rootfs.diff_ids
// replaced, everything else — history included — kept) and manifest (new config and layer
// digests and sizes, media types and annotations kept), the indexes above them (annotations such
// as org.opencontainers.image.ref.name and platforms kept), and a docker archive's manifest.json.
// Only what the new image references is written: the old blobs of a rewritten layer are not.
// A document nothing changed in keeps its bytes, so an image without clients comes out as it
// went in. JSON is written compact, as the Go tools write it.
import { copyFileSync, createWriteStream, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { ContainerImage, Descriptor, ImageSet, IndexNode, Stored } from './image-set.js';
import type { WrittenBlob } from './blob-sink.js';
import { blobPath, sha256Digest } from './digest.js';

/** What a document or file became: its path in the output and, for a blob, its new descriptor fields. */
interface Placed {
  path: string;
  digest: string;
  size: number;
}

export class ContainerWriter {
  /** Input files to copy into the output as they are, by path. */
  private readonly kept = new Set<string>();

  constructor(private readonly set: ImageSet, private readonly work: string, private readonly rewritten: Map<ContainerImage, (WrittenBlob | null)[]>,
    private readonly fromDirectory: string | null) {}

  /** Writes every document and copies every kept file; the work directory is then the whole image. */
  async write(): Promise<void> {
    const { set } = this;
    const placed = new Map<ContainerImage, { config: Placed; manifest: Placed | null; layers: Placed[] }>();
    for (const image of set.images) placed.set(image, this.writeImage(image));
    if (set.oci) {
      this.keep('oci-layout');
      this.writeIndex(set.oci, placed);
    }
    if (set.docker) {
      const entries = set.docker.manifest.json.map((e, i) => {
        const p = placed.get(set.docker!.images[i]!)!;
        return { ...e, Config: p.config.path, Layers: p.layers.map((l) => l.path) };
      });
      const unchanged = entries.every((e, i) => e.Config === set.docker!.manifest.json[i]!.Config && e.Layers.every((l, k) => l === set.docker!.manifest.json[i]!.Layers[k]));
      if (unchanged) {
        this.keep('manifest.json');
        if (set.files.has('repositories')) this.keep('repositories');
      } else {
        // `repositories` names images by the old layer IDs: stale now; docker load reads manifest.json.
        writeFileSync(join(this.work, 'manifest.json'), JSON.stringify(entries));
      }
    }
    for (const path of this.kept) await this.copy(path);
    // A classic docker archive keeps its layers at the top: the blob directory they were written to goes.
    if (!set.oci) rmSync(join(this.work, 'blobs'), { recursive: true, force: true });
  }

  private keep(path: string): void {
    this.kept.add(path);
  }

  private async copy(path: string): Promise<void> {
    const to = join(this.work, path);
    mkdirSync(dirname(to), { recursive: true });
    if (this.fromDirectory !== null) {
      copyFileSync(join(this.fromDirectory, path), to);
      return;
    }
    await pipeline(this.set.files.stream(path), createWriteStream(to));
  }

  /** A new JSON document: as a blob (OCI) or, in a classic docker archive, as <hex>.json. */
  private writeDocument(json: unknown, classic: boolean): Placed {
    const bytes = Buffer.from(JSON.stringify(json));
    const digest = sha256Digest(bytes);
    const path = classic ? `${digest.slice('sha256:'.length)}.json` : blobPath(digest);
    mkdirSync(dirname(join(this.work, path)), { recursive: true });
    writeFileSync(join(this.work, path), bytes);
    return { path, digest, size: bytes.length };
  }

  private unchanged(stored: Stored<unknown>): Placed {
    this.keep(stored.path);
    return { path: stored.path, digest: sha256Digest(stored.bytes), size: stored.bytes.length };
  }

  private writeImage(image: ContainerImage): { config: Placed; manifest: Placed | null; layers: Placed[] } {
    const blobs = this.rewritten.get(image) ?? image.layers.map(() => null);
    const classic = image.manifest === null;
    const layers = image.layers.map((l, i): Placed => {
      const b = blobs[i];
      if (b === null || b === undefined) {
        this.keep(l.path);
        return { path: l.path, digest: l.digest ?? '', size: l.size ?? 0 };
      }
      if (!classic) return { path: b.path, digest: b.digest, size: b.size };
      // A classic docker archive names a layer file as skopeo does: <digest hex>.tar.
      const path = `${b.digest.slice('sha256:'.length)}.tar`;
      renameSync(join(this.work, b.path), join(this.work, path));
      return { path, digest: b.digest, size: b.size };
    });
    if (blobs.every((b) => b === null || b === undefined)) {
      return { config: this.unchanged(image.config), manifest: image.manifest ? this.unchanged(image.manifest) : null, layers };
    }
    const diffIds = image.layers.map((l, i) => blobs[i]?.diffId ?? l.diffId);
    const config = this.writeDocument({ ...image.config.json, rootfs: { ...image.config.json.rootfs, diff_ids: diffIds } }, classic);
    if (image.manifest === null) return { config, manifest: null, layers };
    const m = image.manifest.json;
    const manifest = this.writeDocument({
      ...m,
      config: { ...m.config, digest: config.digest, size: config.size },
      layers: m.layers.map((d, i) => ({ ...d, digest: layers[i]!.digest, size: layers[i]!.size })),
    }, false);
    return { config, manifest, layers };
  }

  private writeIndex(node: IndexNode, placed: Map<ContainerImage, { manifest: Placed | null }>): Placed {
    const children = node.children.map((c) => ('index' in c ? this.writeIndex(c, placed) : placed.get(c)!.manifest!));
    const list = node.index.json.manifests;
    if (children.every((c, i) => c.digest === list[i]!.digest)) return this.unchanged(node.index);
    const json = { ...node.index.json, manifests: list.map((d: Descriptor, i) => ({ ...d, digest: children[i]!.digest, size: children[i]!.size })) };
    if (node.index.path === 'index.json') {
      writeFileSync(join(this.work, 'index.json'), JSON.stringify(json));
      return { path: 'index.json', digest: '', size: 0 };
    }
    return this.writeDocument(json, false);
  }
}

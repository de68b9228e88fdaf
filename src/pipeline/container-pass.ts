// The work on a container image's layers (DESIGN §10). Each image (each platform of a
// multi-platform index) is read twice, layer by layer: first for its merged view (the catalog of
// its own layers, ld.so.conf, the tree the closures resolve in), then each layer is rewritten in
// place through the workers — clients bound, every other byte as it came — into a new blob with
// the layer's compression (or read only: scan, plan, verify). A layer in which nothing changed
// keeps its blob.
import { startsElf } from '../core/elf-magic.js';
import { Core } from '../core/core.js';
import type { ScanOutcome } from '../core/facts.js';
import { UsageError } from '../errors.js';
import { loadCatalog, layerFromBytes, type Layer } from '../catalog/catalog.js';
import { formatKernelVersion } from '../catalog/kernel-version.js';
import { readLdSoConf } from '../closure/ld-so-conf.js';
import { scanReportFrom } from '../classify/scan-directory.js';
import { openPool } from '../pool/pool.js';
import { tarPass } from '../tar/tar-pass.js';
import type { EntryResult } from '../transform/entry-operations.js';
import type { FileOutcome } from '../transform/file-operations.js';
import { decodeName } from '../names/path-bytes.js';
import type { ImageTree } from './image-tree.js';
import { planFor, type Plan } from './plan.js';
import type { TarRunOptions } from './rewrite-stream.js';
import type { ContainerImage, ImageSet } from '../containers/image-set.js';
import { openLayer, layerCompressionOf } from '../containers/layer-stream.js';
import { blobSink, type WrittenBlob } from '../containers/blob-sink.js';
import { mergeLayers } from '../containers/merged-view.js';
import { combinePlans } from './combine-plans.js';
import { IMAGE_LAYERS, isLdSoConf } from './image-paths.js';

export interface ContainerRun {
  plan: Plan;
  outcomes: FileOutcome[];
  /** Per image, per layer (in order): the new blob or null. */
  rewritten: Map<ContainerImage, (WrittenBlob | null)[]>;
}

const layerName = (set: ImageSet, image: ContainerImage, i: number) =>
  `${set.files.name}: layer ${i + 1} of ${image.layers.length}${set.images.length > 1 ? ` (${image.platform})` : ''} (${image.layers[i]!.digest ?? image.layers[i]!.path})`;

/** The merged view's own layer objects and ld.so.conf files, from the first read of every layer. */
interface MergedImage {
  tree: ImageTree;
  /** The layer (0 = bottom) each visible path comes from. */
  layerOf: Map<string, number>;
  /** The image's own layer objects. */
  layers: Layer[];
  ldSoConf: string[];
  /** Whether each layer holds an ELF file at all: one that does not is neither scanned nor rewritten. */
  holdsElf: boolean[];
}

/**
 * The merged view's own layer objects and ld.so.conf files, from the first read of every layer,
 * which also notes the layers that hold no ELF file (most layers of an application image).
 */
async function readMergedView(set: ImageSet, image: ContainerImage, core: Core): Promise<MergedImage> {
  const trees: ImageTree[] = [];
  const held: Map<string, Buffer>[] = [];
  const holdsElf = image.layers.map(() => false);
  for (let i = 0; i < image.layers.length; i++) {
    const files = new Map<string, Buffer>();
    held.push(files);
    trees.push(await tarPass({
      name: layerName(set, image, i),
      source: openLayer(set.files, image.layers[i]!, layerName(set, image, i)),
      output: null,
      // Every file's first bytes are looked at (the files the second read would visit: up to its size limit).
      mayWant: () => true,
      wants: (path, head) => {
        const elf = startsElf(head);
        if (elf) holdsElf[i] = true;
        return path.startsWith(IMAGE_LAYERS) ? elf : isLdSoConf(path);
      },
      // Kept as views: each group has a buffer of its own, which no worker takes here.
      visit: async ({ files: group }) => group.map(({ path, bytes }) => {
        files.set(path, bytes);
        return null;
      }),
    }));
  }
  const view = mergeLayers(trees);
  const visible = (path: string) => held[view.layerOf.get(path) ?? -1]?.get(path);
  const layers: Layer[] = [];
  for (const [path, entry] of view.tree.paths()) {
    if (entry.kind !== 'file' || !path.startsWith(IMAGE_LAYERS)) continue;
    const bytes = visible(path);
    const layer = bytes ? layerFromBytes(core, `${set.files.name}:${set.images.length > 1 ? `${image.platform}:` : ''}${path}`, bytes) : null;
    if (layer) layers.push(layer);
  }
  const ldSoConf = await readLdSoConf(view.tree, async (path) => {
    const bytes = visible(path);
    return bytes ? decodeName(bytes) : null;
  });
  return { tree: view.tree, layerOf: view.layerOf, layers, ldSoConf, holdsElf };
}

function kernelFor(set: ImageSet, o: TarRunOptions): { kernel: number | null; kernelText: string } {
  switch (o.kernel.kind) {
    case 'version': return { kernel: o.kernel.version, kernelText: formatKernelVersion(o.kernel.version) };
    case 'auto': throw new UsageError(`${set.files.name}: a container image has no kernel (no lib/modules to read): name the one it will run on with --kernel <a.b[.c]>`);
    default: return { kernel: null, kernelText: 'none' };
  }
}

export async function runContainer(set: ImageSet, o: TarRunOptions & { layoutWork: string | null }): Promise<ContainerRun> {
  const { kernel, kernelText } = kernelFor(set, o);
  const pool = openPool(o.threads);
  const rewritten = new Map<ContainerImage, (WrittenBlob | null)[]>();
  const plans: { platform: string; plan: Plan }[] = [];
  const outcomes: FileOutcome[] = [];
  try {
    const core = new Core(pool.module);
    const external = loadCatalog(core, o.layerDirs);
    for (const image of set.images) {
      const view = await o.timers.time(`merged view ${image.platform}`, () => readMergedView(set, image, core));
      const catalog = [...external, ...view.layers];
      const perLayer: Map<string, EntryResult & { size: number }>[] = [];
      const blobs: (WrittenBlob | null)[] = [];
      for (let i = 0; i < image.layers.length; i++) {
        if (!view.holdsElf[i]) {
          // Nothing to scan or bind: the layer keeps its blob (checked by the first read).
          perLayer.push(new Map());
          blobs.push(null);
          continue;
        }
        const name = layerName(set, image, i);
        o.progress.update(`${o.op === 'scan' || o.op === 'plan' ? 'reading' : `${o.op}ing`}: ${name}`);
        const sink = o.layoutWork ? blobSink(o.layoutWork, layerCompressionOf(set.files, image.layers[i]!)) : null;
        const results = new Map<string, EntryResult & { size: number }>();
        let changed = false;
        try {
          await o.timers.time(`${o.op} layer ${i + 1}`, () => tarPass({
            name,
            source: openLayer(set.files, image.layers[i]!, name),
            output: sink,
            visit: async ({ buffer, files }) => {
              const sizes = files.map((f) => f.bytes.length);
              const reply = await pool.entries({ op: o.op === 'plan' ? 'scan' : o.op, catalog, targetKernel: kernel ?? 0, buffer, entries: files });
              return reply.results.map((r, k) => {
                results.set(r.path, { ...r, bytes: null, size: sizes[k]! });
                if (r.outcome) outcomes.push({ ...r.outcome, imageLayer: i + 1, ...(set.images.length > 1 ? { path: `${image.platform}:${r.path}` } : {}) });
                if (r.bytes === null) return null;
                changed = true;
                return Buffer.from(r.bytes.buffer, r.bytes.byteOffset, r.bytes.byteLength);
              });
            },
          }));
        } catch (error) {
          sink?.abandon();
          throw error;
        }
        if (sink && changed) {
          blobs.push(await o.timers.time(`compress layer ${i + 1}`, () => sink.seal()).catch((error: unknown) => {
            sink.abandon();
            throw error;
          }));
        } else {
          sink?.abandon();
          blobs.push(null);
        }
        perLayer.push(results);
      }
      rewritten.set(image, blobs);
      plans.push({ platform: image.platform, plan: planOf(set, view, perLayer, catalog, kernel, kernelText) });
    }
  } finally {
    await pool.close();
  }
  return { plan: combinePlans(set.files.name, plans), outcomes, rewritten };
}

/** The plan of the merged view: each visible file as the layer it comes from holds it. */
function planOf(set: ImageSet, view: MergedImage, perLayer: Map<string, EntryResult & { size: number }>[],
  catalog: Layer[], kernel: number | null, kernelText: string): Plan {
  const outcomes: ScanOutcome[] = [];
  const decided = new Map<string, NonNullable<EntryResult['decision']>>();
  for (const [path, entry] of view.tree.paths()) {
    if (entry.kind !== 'file') continue;
    // Only ELF files went to the workers: a visible file without a result is another file.
    const r = perLayer[view.layerOf.get(path)!]!.get(path);
    if (r === undefined) {
      outcomes.push({ path, kind: 'other', size: 0 });
      continue;
    }
    if (r.decision) decided.set(path, r.decision);
    outcomes.push(r.facts ? { path, kind: 'elf', size: r.size, facts: r.facts }
      : r.error ? { path, kind: 'error', size: r.size, error: r.error.error, errorOffset: r.error.errorOffset }
        : { path, kind: 'other', size: r.size });
  }
  const scan = scanReportFrom(set.files.name, view.tree, view.ldSoConf, outcomes);
  return planFor({ image: set.files.name, root: set.files.name, single: false, kernel, kernelText, catalog, scan }, decided);
}

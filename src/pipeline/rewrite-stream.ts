// scan, plan, bind, unbind and verify over a tar stream, in every combination with directories: a
// tarball in or out (plain, gzip, zstd or xz, a file or standard input and output), a directory image packed
// by GNU tar on the way in, or extracted by it on the way out. ELF entries go to the workers in groups, their bytes moved there and back (and
// new bytes moved here); every other entry, with its headers (PAX records, xattrs, owners by
// number and name, devices, links), is written back as it came.
import { closeSync, existsSync, openSync } from 'node:fs';
import { join } from 'node:path';
import { Core } from '../core/core.js';
import type { ScanOutcome } from '../core/facts.js';
import { startsElf } from '../core/elf-magic.js';
import type { FileOutcome } from '../transform/file-operations.js';
import type { EntryResult } from '../transform/entry-operations.js';
import { loadCatalog, layerFromBytes, type Layer } from '../catalog/catalog.js';
import type { KernelOption } from '../catalog/kernel-version.js';
import { readLdSoConf } from '../closure/ld-so-conf.js';
import { tarPass, type VisitedFile } from '../tar/tar-pass.js';
import { openPool } from '../pool/pool.js';
import { scanReportFrom } from '../classify/scan-directory.js';
import { openTarSource } from '../sources/tar-source.js';
import type { ImageInput } from '../sources/detect.js';
import { walkDirectory } from '../sources/directory.js';
import { directorySink, standardOutputSink, tarFileSink, type TarSink } from '../sinks/tar-sink.js';
import { STANDARD_STREAM, type ImageOutput } from '../sinks/choose-output.js';
import { ImageTree } from './image-tree.js';
import { walkTarHeaders } from '../tar/header-walk.js';
import { entryPath } from '../tar/entry-path.js';
import { treeEntryOf } from '../tar/tree-entry.js';
import { planFor, resolveKernel, type Plan } from './plan.js';
import { IMAGE_LAYERS, isLdSoConf } from './image-paths.js';
import type { Timers } from '../util/timers.js';
import type { Progress } from '../util/progress.js';
import { decodeName } from '../names/path-bytes.js';

export interface TarRunOptions {
  op: 'scan' | 'plan' | 'bind' | 'unbind' | 'verify';
  kernel: KernelOption;
  layerDirs: readonly string[];
  threads?: number;
  timers: Timers;
  progress: Progress;
  /**
   * bind --shard of one image (docs/scale.md): whether a file entry is the shard's; the others
   * are neither scanned nor bound. A hardlink's names share the one entry that holds its data.
   */
  share?: (path: string) => boolean;
  /** bind --shard: each bound entry's new bytes, as they come back from the workers. */
  kept?: (path: string, bytes: Buffer) => void;
  /**
   * merge: the entries shards bound, put in as they are. Nothing else is looked at: what bind
   * leaves alone (other files, ELF files without a reservation, refused clients) passes through
   * as it came, so neither the catalog pass nor the workers are needed (pass --kernel as a version).
   */
  prebound?: { has(path: string): boolean; bytes(path: string): Buffer };
}


function openSink(output: ImageOutput): TarSink | null {
  switch (output.kind) {
    case 'none': return null;
    case 'tar': return output.path === STANDARD_STREAM ? standardOutputSink(output.compression) : tarFileSink(output.path, output.compression);
    case 'directory': return directorySink(output.path);
    default: throw new Error(`a tar stream is not written ${output.kind}`);
  }
}

/**
 * The catalog pass: the image's kernel (lib/modules) and its own layer objects, before the first
 * client comes by. A directory is looked at where it is; a plain tarball (standard input too, once
 * spooled) by its headers only, seeking past entry data; a compressed one is decompressed once
 * more and read through (--perf shows what that cost). Entry names are checked by the main pass.
 */
async function catalogPass(input: ImageInput, core: Core, imageLayers: Layer[]): Promise<ImageTree> {
  const addLayer = (path: string, bytes: Uint8Array) => {
    const layer = layerFromBytes(core, `${input.name}:${path}`, bytes);
    if (layer) imageLayers.push(layer);
  };
  if (input.kind === 'directory') {
    const own = join(input.path, IMAGE_LAYERS);
    if (existsSync(own)) imageLayers.push(...loadCatalog(core, [own]));
    return walkDirectory(input.path);
  }
  if (input.kind === 'tar' && input.compression === 'none') {
    const tree = new ImageTree();
    const fd = openSync(input.path, 'r');
    try {
      for (const entry of walkTarHeaders({ fd, name: input.name })) {
        const checked = entryPath(decodeName(entry.name));
        if (!checked.ok || checked.path === '') continue;
        tree.add(checked.path, treeEntryOf(entry.type, () => decodeName(entry.linkname)));
        if (entry.type === 'file' && checked.path.startsWith(IMAGE_LAYERS)) {
          const bytes = entry.read();
          if (startsElf(bytes)) addLayer(checked.path, bytes);
        }
      }
    } finally {
      closeSync(fd);
    }
    return tree;
  }
  return tarPass({
    name: input.name,
    source: openTarSource(input),
    output: null,
    mayWant: (path) => path.startsWith(IMAGE_LAYERS),
    wants: (path, bytes) => path.startsWith(IMAGE_LAYERS) && startsElf(bytes),
    visit: async ({ files }) => files.map(({ path, bytes }) => {
      addLayer(path, bytes);
      return null;
    }),
  });
}

/**
 * An image as one tar stream (a tarball, or a directory packed by GNU tar), through the workers,
 * to a tar stream or a directory (or nowhere: scan, plan, verify).
 */
export async function runTar(input: ImageInput, output: ImageOutput, o: TarRunOptions): Promise<{ plan: Plan; outcomes: FileOutcome[] }> {
  const image = input.name;
  // Opened first: an output that cannot be written is reported before anything is read.
  const target = openSink(output);
  const pool = openPool(o.threads);
  try {
    const core = new Core(pool.module);
    // A plain scan and unbind need neither kernel nor layers: they read the image once.
    const imageLayers: Layer[] = [];
    const needsCatalog = !o.prebound && (o.kernel.kind === 'auto' || (o.op !== 'scan' && o.op !== 'unbind'));
    // --perf names what the catalog pass cost: for a tarball, a second read (and decompression).
    const pass = input.kind !== 'tar' ? 'catalog' : input.compression === 'none' ? 'catalog: tar headers' : `catalog: ${input.compression} tar read once more`;
    const firstTree = needsCatalog ? await o.timers.time(pass, () => catalogPass(input, core, imageLayers)) : null;
    const { kernel, kernelText } = resolveKernel(o.kernel, image, firstTree);
    const catalog = [...loadCatalog(core, o.layerDirs), ...imageLayers];

    const results: EntryResult[] = [];
    const sizes = new Map<string, number>();
    const texts = new Map<string, string>();
    const verb = o.op === 'scan' || o.op === 'plan' ? 'reading' : `${o.op}ing`;
    o.progress.update(`${verb}: ${image}`);
    let elfEntries = 0;
    let elfBytes = 0;
    let clients = 0;
    const tree = await o.timers.time(o.op, () => tarPass({
      name: image,
      source: openTarSource(input),
      output: target,
      wants: o.prebound ? (path) => o.prebound!.has(path) : (path, bytes) => (startsElf(bytes) && (o.share?.(path) ?? true)) || isLdSoConf(path),
      visit: async ({ buffer, files }) => {
        if (o.prebound) return files.map((f) => o.prebound!.bytes(f.path));
        const elf = files.filter(({ bytes }) => startsElf(bytes));
        for (const { path, bytes } of files) {
          if (startsElf(bytes)) sizes.set(path, bytes.length);
          else texts.set(path, decodeName(bytes));
        }
        if (elf.length === 0) return files.map(() => null);
        elfEntries += elf.length;
        for (const { bytes } of elf) elfBytes += bytes.length;
        // The group's buffer moves to a worker (its views here are detached) and back.
        const reply = await pool.entries({ op: o.op === 'plan' ? 'scan' : o.op, catalog, targetKernel: kernel ?? 0, buffer, entries: elf });
        const replaced = new Map<VisitedFile, Buffer | null>();
        reply.results.forEach((r, i) => {
          // Kept for the report without the new bytes: they go to the output and are let go
          // (2,048 clients held until the end were ~45 MiB of the peak).
          results.push({ ...r, bytes: null });
          const bytes = r.bytes ? Buffer.from(r.bytes.buffer, r.bytes.byteOffset, r.bytes.byteLength) : null;
          if (bytes && o.kept) o.kept(r.path, bytes);
          replaced.set(elf[i]!, bytes);
        });
        clients += reply.results.filter((r) => r.outcome !== null).length;
        o.progress.update(`${verb}: ${elfEntries} ELF entries (${(elfBytes / 1e6).toFixed(1)} MB) so far, ${clients} clients`);
        return files.map((f) => replaced.get(f) ?? null);
      },
    }));
    target?.commit();

    const size = (path: string) => sizes.get(path) ?? 0;
    const outcomes: ScanOutcome[] = results.map((r) =>
      r.facts ? { path: r.path, kind: 'elf', size: size(r.path), facts: r.facts }
        : r.error ? { path: r.path, kind: 'error', size: size(r.path), error: r.error.error, errorOffset: r.error.errorOffset }
          : { path: r.path, kind: 'other', size: size(r.path) });
    const seen = new Set(results.map((r) => r.path));
    for (const [path, entry] of tree.paths()) if (entry.kind === 'file' && !seen.has(path)) outcomes.push({ path, kind: 'other', size: 0 });
    const ldSoConf = await readLdSoConf(tree, async (path) => texts.get(path) ?? null);
    const scan = scanReportFrom(image, tree, ldSoConf, outcomes);
    const decided = new Map(results.flatMap((r) => (r.decision ? [[r.path, r.decision] as const] : [])));
    const plan = planFor({ image, root: image, single: false, kernel, kernelText, catalog, scan }, decided);
    return { plan, outcomes: results.flatMap((r) => (r.outcome ? [r.outcome] : [])) };
  } catch (error) {
    target?.abandon();
    throw error;
  } finally {
    await pool.close();
  }
}

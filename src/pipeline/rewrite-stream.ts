// scan, plan, bind and unbind over a tar stream, in every combination with directories: a tarball
// in or out (.tar, .tar.gz), a directory image packed by GNU tar on the way in, or extracted by it
// on the way out. Each ELF entry goes to a worker as bytes and comes back bound (or unbound);
// every other entry, with its headers (PAX records, xattrs, owners by number and name, devices,
// links), is written back as it came.
import { Core } from '../core/core.js';
import type { ScanOutcome } from '../core/facts.js';
import type { FileOutcome } from '../transform/file-operations.js';
import type { EntryResult } from '../transform/entry-operations.js';
import { loadCatalog, layerFromBytes, type Layer } from '../catalog/catalog.js';
import { readLdSoConf } from '../closure/ld-so-conf.js';
import { tarPass } from '../tar/tar-pass.js';
import { startsElf } from '../core/elf-magic.js';
import { ImageError, UsageError } from '../errors.js';
import { WorkerPool } from '../pool/pool.js';
import { scanReportFrom } from '../classify/scan-directory.js';
import { planFor, resolveKernel, type Plan } from './plan.js';
import type { Timers } from '../util/timers.js';
import type { Progress } from '../util/progress.js';
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { packDirectory, extractInto } from '../tar/gnu-tar.js';
import { commitWork, workBeside } from '../sinks/work-beside.js';
import { walkDirectory } from '../sources/directory.js';
import { decodeName } from '../names/path-bytes.js';

export interface TarRunOptions {
  op: 'scan' | 'bind' | 'unbind' | 'verify';
  kernel: string | null;
  layerDirs: readonly string[];
  output: string | null;
  threads?: number;
  timers: Timers;
  progress: Progress;
}

const IMAGE_LAYERS = 'usr/lib/syslayer/layers/';
const isLdSoConf = (path: string) => path === 'etc/ld.so.conf' || path.startsWith('etc/ld.so.conf.d/');

const isTarName = (path: string) => /\.(tar|tar\.gz|tgz)$/.test(path);

/**
 * Where the rewritten stream goes: a .tar/.tar.gz file (written beside and renamed by tarPass), or
 * a directory, extracted by GNU tar into a work directory beside it and renamed at the end.
 */
function streamTarget(output: string): { output: string | NodeJS.WritableStream; finish(): Promise<void>; abandon(): void } {
  if (isTarName(output)) return { output, finish: async () => {}, abandon() {} };
  const final = resolve(output);
  const work = workBeside(final);
  mkdirSync(work);
  const tar = extractInto(work);
  return {
    output: tar.child.stdin!,
    async finish() {
      await tar.done;
      commitWork(work, final);
    },
    abandon() {
      tar.child.kill('SIGKILL');
      rmSync(work, { recursive: true, force: true });
    },
  };
}

/** The image as a tar stream: the tarball itself, or a directory packed by GNU tar. */
function tarSource(image: string): { input: string; source?: NodeJS.ReadableStream; sourceDone?: Promise<void> } {
  if (isTarName(image)) return { input: image };
  const tar = packDirectory(image);
  return { input: image, source: tar.child.stdout!, sourceDone: tar.done };
}

export async function runTar(image: string, o: TarRunOptions): Promise<{ plan: Plan; outcomes: FileOutcome[] }> {
  if ((o.op === 'bind' || o.op === 'unbind') && o.output === null) throw new UsageError(`${image}: say where the result goes: -o <dir, file.tar or file.tar.gz>`);
  for (const d of o.layerDirs) if (!existsSync(d)) throw new UsageError(`--layers ${d}: no such file or directory`);
  const pool = new WorkerPool(o.threads);
  try {
    const core = new Core(pool.module);
    // First pass, headers and layer objects only: the kernel (lib/modules) and the image's own layers.
    // A plain scan needs neither: it reads the image once.
    const imageLayers: Layer[] = [];
    const kernelOption = o.op === 'unbind' || o.kernel === 'recorded' ? null : o.kernel;
    const firstTree = o.op === 'scan' && kernelOption === null ? null : await o.timers.time('catalog', async () => {
      // A directory is looked at where it is; a tarball is read once more, headers and layer objects only.
      if (!isTarName(image)) {
        const own = join(image, IMAGE_LAYERS);
        if (existsSync(own)) imageLayers.push(...loadCatalog(core, [own]));
        return walkDirectory(image);
      }
      return tarPass({
        input: image,
        output: null,
        mayWant: (path) => path.startsWith(IMAGE_LAYERS),
        wants: (path, bytes) => path.startsWith(IMAGE_LAYERS) && startsElf(bytes),
        visit: async (path, bytes) => {
          const layer = layerFromBytes(core, `${image}:${path}`, bytes);
          if (layer) imageLayers.push(layer);
          return null;
        },
      });
    });
    const { kernel, kernelText } = resolveKernel(kernelOption, image, firstTree);
    const catalog = [...loadCatalog(core, o.layerDirs), ...imageLayers];

    const results: EntryResult[] = [];
    const sizes = new Map<string, number>();
    const texts = new Map<string, string>();
    o.progress.update(`${o.op === 'scan' ? 'reading' : `${o.op}ing`} ${image}`);
    const target = o.op === 'scan' || o.op === 'verify' || o.output === null ? null : streamTarget(o.output);
    const tree = await o.timers.time(o.op, () => tarPass({
      ...tarSource(image),
      output: target ? target.output : null,
      wants: (path, bytes) => startsElf(bytes) || isLdSoConf(path),
      visit: async (path, bytes) => {
        if (!startsElf(bytes)) {
          texts.set(path, decodeName(bytes));
          return null;
        }
        sizes.set(path, bytes.length);
        const r = await pool.entry({ op: o.op, path, bytes, catalog, targetKernel: kernel ?? 0 });
        // Kept for the report without the new bytes: they go to the output and are let go
        // (2,048 clients held until the end were ~45 MiB of the peak).
        results.push({ ...r, bytes: null });
        return r.bytes ? Buffer.from(r.bytes.buffer, r.bytes.byteOffset, r.bytes.byteLength) : null;
      },
    }).catch((error) => {
      target?.abandon();
      throw error;
    }));
    await target?.finish().catch((error) => {
      target.abandon();
      throw new ImageError(`${o.output}: ${(error as Error).message}`);
    });

    const size = (path: string) => sizes.get(path) ?? 0;
    const outcomes: ScanOutcome[] = results.map((r) =>
      r.facts ? { path: r.path, kind: 'elf', size: size(r.path), facts: r.facts }
        : r.error ? { path: r.path, kind: 'error', size: size(r.path), error: r.error.error, errorOffset: r.error.errorOffset }
          : { path: r.path, kind: 'other', size: size(r.path) });
    const seen = new Set(results.map((r) => r.path));
    for (const [path, entry] of tree.paths()) if (entry.kind === 'file' && !seen.has(path)) outcomes.push({ path, kind: 'other', size: 0 });
    const ldSoConf = await readLdSoConf(tree, async (path) => texts.get(path) ?? null);
    const scan = scanReportFrom(image, tree, ldSoConf, outcomes);
    const plan = planFor({ image, root: image, single: false, kernel, kernelText, catalog, scan });
    return { plan, outcomes: results.flatMap((r) => (r.outcome ? [r.outcome] : [])) };
  } finally {
    await pool.close();
  }
}

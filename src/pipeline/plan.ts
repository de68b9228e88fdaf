// `syslayer plan`: what `bind` would do, without writing anything. Scans the image (or one file),
// loads the catalog (linking each layer once per ABI), and selects a layer for every client.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Core, compileCore } from '../core/core.js';
import type { ImageInput } from '../sources/detect.js';
import { UsageError } from '../errors.js';
import { ImageTree } from './image-tree.js';
import { loadCatalog } from '../catalog/catalog.js';
import type { Layer } from '../catalog/layer.js';
import { decide, isClient, type Decision } from './decide.js';
import type { SelectionDetail } from '../catalog/select.js';
import { formatKernelVersion, type KernelOption } from '../catalog/kernel-version.js';
import { kernelFromImage } from '../catalog/kernel-from-image.js';
import { scanImage, type ElfFileRecord, type ScanReport } from '../classify/scan-directory.js';
import { singleFileScan } from '../classify/scan-file.js';
import type { WorkerPool } from '../pool/pool.js';
import type { Timers } from '../util/timers.js';
import type { Progress } from '../util/progress.js';

export interface PlanOptions {
  kernel: KernelOption;
  layerDirs: readonly string[];
  threads?: number;
  pool?: WorkerPool;
  timers?: Timers;
  progress?: Progress;
}

export interface PlannedClient {
  path: string;
  abi: number | null;
  machineName: string;
  bound: boolean;
  /** Index into the plan's catalog, or null when no layer can be bound (see error). */
  layer: number | null;
  error?: string;
  /** What the selection rule weighed, by index into the plan's catalog; absent when the rule did not run (no target kernel, no ABI note, no reservation). */
  selection?: SelectionDetail;
}

export interface ProgramLayers {
  path: string;
  /** Each syslayer client of the program's closure (itself first) with its ABI and layer. */
  objects: { path: string; abi: number | null; layer: string | null }[];
  mixed: boolean;
}

export interface Plan {
  image: string;
  /** The directory the planned paths are relative to. */
  root: string;
  single: boolean;
  kernel: number;
  kernelText: string;
  catalog: Layer[];
  clients: PlannedClient[];
  programs: ProgramLayers[];
  scan: ScanReport;
}

/** The plan of a directory image or one file, read where it is. */
export async function makePlan(input: ImageInput & { kind: 'directory' | 'file' }, options: PlanOptions): Promise<Plan> {
  const image = input.path;
  const single = input.kind === 'file';
  // Made when first needed: a scan of a directory has its own (its workers', or the main thread's).
  let made: Core | null = null;
  const core = () => (made ??= new Core(options.pool?.module ?? compileCore()));
  const scan = single ? singleFileScan(image, core()) : await scanImage(image, { timers: options.timers, progress: options.progress, pool: options.pool, threads: options.threads });
  const root = single ? dirname(image) : image;

  const { kernel, kernelText } = resolveKernel(options.kernel, image, single ? null : scan.tree ?? new ImageTree());

  const catalog = imageCatalog(core, options.layerDirs, single ? null : image);
  return planFor({ image, root, single, kernel, kernelText, catalog, scan });
}

/** The layers of the --layers directories and of the image's own usr/lib/syslayer/layers/ (a directory image). */
export function imageCatalog(core: () => Core, layerDirs: readonly string[], image: string | null): Layer[] {
  const dirs = [...layerDirs];
  const own = image === null ? null : join(image, 'usr/lib/syslayer/layers');
  if (own !== null && existsSync(own)) dirs.push(own);
  return dirs.length > 0 ? loadCatalog(core(), dirs) : [];
}


/**
 * Decides for every client of a scanned image and lists the programs that use them. `decided`
 * holds the decisions a source already made (a tar entry's, in its worker), so none is made twice.
 */
export function planFor(p: { image: string; root: string; single: boolean; kernel: number | null; kernelText: string; catalog: Layer[]; scan: ScanReport },
  decided?: ReadonlyMap<string, Decision>): Plan {
  const { catalog, scan, kernel } = p;
  const elf = scan.files.filter((f): f is ElfFileRecord => !('error' in f));
  const clients: PlannedClient[] = elf.filter(isClient).map((f) => {
    const d = decided?.get(f.path) ?? decide(f, catalog, kernel);
    const base = { path: f.path, abi: f.syslayer?.abi ?? null, machineName: f.machineName, bound: f.syslayer?.bound ?? false };
    const selection = d.action === 'bind' || d.action === 'refuse' ? d.selection : undefined;
    const withSelection = selection ? { ...base, selection } : base;
    return d.action === 'bind' ? { ...withSelection, layer: d.layer } : d.action === 'refuse' ? { ...withSelection, layer: null, error: d.reason } : { ...base, layer: null };
  });

  const byPath = new Map(clients.map((c) => [c.path, c]));
  const programs: ProgramLayers[] = [];
  for (const f of elf) {
    if (!f.closure || !f.interpreter) continue;
    const members = [f.path, ...f.closure.resolved.map((r) => r.path)].filter((p) => byPath.has(p));
    if (members.length === 0) continue;
    const objects = members.map((p) => {
      const c = byPath.get(p)!;
      return { path: p, abi: c.abi, layer: c.layer === null ? null : catalog[c.layer]!.name };
    });
    programs.push({ path: f.path, objects, mixed: new Set(objects.map((o) => o.abi)).size > 1 });
  }
  return { ...p, kernel: kernel ?? 0, clients, programs };
}

/** The target kernel the option names, or null when none is chosen (`recorded`, `none`). */
export function resolveKernel(option: KernelOption, image: string, tree: ImageTree | null): { kernel: number | null; kernelText: string } {
  if (option.kind === 'none' || option.kind === 'recorded') return { kernel: null, kernelText: 'none' };
  if (option.kind === 'version') return { kernel: option.version, kernelText: formatKernelVersion(option.version) };
  if (tree === null) throw new UsageError('--kernel auto needs an image (a directory or a tarball): name the kernel with --kernel <a.b.c>');
  const found = kernelFromImage(image, tree);
  return { kernel: found.version, kernelText: found.text };
}

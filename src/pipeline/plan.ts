// `syslayer plan`: what `bind` would do, without writing anything. Scans the image (or one file),
// loads the catalog (linking each layer once per ABI), and selects a layer for every client.
import { existsSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { Core, compileCore } from '../core/core.js';
import { imageKind } from '../sources/detect.js';
import { UsageError } from '../errors.js';
import { ImageTree } from './image-tree.js';
import { loadCatalog, type Layer } from '../catalog/catalog.js';
import { selectLayer } from '../catalog/select.js';
import { parseKernelVersion, formatKernelVersion } from '../catalog/kernel-version.js';
import { kernelFromImage } from '../catalog/kernel-from-image.js';
import { scanImage, type ElfFileRecord, type ScanReport } from '../classify/scan-directory.js';
import type { WorkerPool } from '../pool/pool.js';
import type { Timers } from '../util/timers.js';
import type { Progress } from '../util/progress.js';

export interface PlanOptions {
  /** a.b[.c], 'auto', or null: no selection (unbind, and verify against each record's kernel). */
  kernel: string | null;
  layerDirs: readonly string[];
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

function clientsOf(files: ElfFileRecord[]): ElfFileRecord[] {
  return files.filter((f) => f.syslayer?.reservation || f.syslayer?.abi !== undefined && f.syslayer?.abi !== null && !f.syslayer?.layer);
}

function singleFileScan(path: string, core: Core): ScanReport {
  const { size, record } = core.scanFile(path);
  const name = basename(path);
  const files = record.status === 'elf' ? [{ path: name, size, ...record.facts, closure: null } as ElfFileRecord]
    : record.status === 'error' ? [{ path: name, size, error: record.error, errorOffset: record.errorOffset }] : [];
  return {
    image: path,
    files,
    counts: { files: 1, elf: record.status === 'elf' ? 1 : 0, other: record.status === 'not-elf' ? 1 : 0, errors: record.status === 'error' ? 1 : 0, directories: 0, symlinks: 0, special: 0 },
    ldSoConf: [],
  };
}

export async function makePlan(image: string, options: PlanOptions): Promise<Plan> {
  const kind = await imageKind(image);
  if (kind === 'tar' || kind === 'tar.gz') throw new UsageError(`${image}: tar images are not supported yet`);
  const single = kind === 'file';
  const core = new Core(options.pool?.module ?? compileCore());
  const scan = single ? singleFileScan(image, core) : await scanImage(image, { timers: options.timers, progress: options.progress, pool: options.pool });
  const root = single ? dirname(image) : image;

  const { kernel, kernelText } = resolveKernel(options.kernel, image, single ? null : scan.tree ?? new ImageTree());

  const dirs = [...options.layerDirs];
  const own = join(image, 'usr/lib/syslayer/layers');
  if (!single && existsSync(own)) dirs.push(own);
  for (const d of options.layerDirs) if (!existsSync(d)) throw new UsageError(`--layers ${d}: no such file or directory`);
  const catalog = loadCatalog(core, dirs);

  return planFor({ image, root, single, kernel, kernelText, catalog, scan });
}


/** Selects a layer for every client of a scanned image and lists the programs that use them. */
export function planFor(p: { image: string; root: string; single: boolean; kernel: number | null; kernelText: string; catalog: Layer[]; scan: ScanReport }): Plan {
  const { catalog, scan, kernel } = p;
  const elf = scan.files.filter((f): f is ElfFileRecord => !('error' in f));
  const clients: PlannedClient[] = clientsOf(elf).map((f) => {
    const base = { path: f.path, abi: f.syslayer?.abi ?? null, machineName: f.machineName, bound: f.syslayer?.bound ?? false };
    if (base.abi === null) return { ...base, layer: null, error: 'no NT_SYSLAYER_ABI note: the ABI version is unknown' };
    if (!f.syslayer?.reservation) return { ...base, layer: null, error: 'no .syslayer reservation' };
    if (f.syslayer.refusal) return { ...base, layer: null, error: f.syslayer.refusal };
    if (kernel === null) return { ...base, layer: null };
    const s = selectLayer(catalog, { machine: f.machine, machineName: f.machineName, class: f.class, endian: f.endian, abi: base.abi }, kernel);
    return s.ok ? { ...base, layer: catalog.indexOf(s.layer) } : { ...base, layer: null, error: s.reason };
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

/** The target kernel: `--kernel a.b[.c]`, `auto` (from the image's module directories), or none. */
export function resolveKernel(option: string | null, image: string, tree: ImageTree | null): { kernel: number | null; kernelText: string } {
  if (option === null) return { kernel: null, kernelText: 'none' };
  if (option !== 'auto') {
    const kernel = parseKernelVersion(option);
    return { kernel, kernelText: formatKernelVersion(kernel) };
  }
  if (tree === null) throw new UsageError('--kernel auto needs an image (a directory or a tarball): name the kernel with --kernel <a.b.c>');
  const found = kernelFromImage(image, tree);
  return { kernel: found.version, kernelText: found.text };
}

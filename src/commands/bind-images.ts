// `bind --images LIST -o OUTDIR`: many images in one run (DESIGN §13, docs/scale.md). Each image
// of this process's share goes through the one pipeline as `bind IMAGE -o OUTDIR/<name>` would,
// its report beside it (`<name>.report.json`, with its key). An image whose key the output
// directory or the cache already holds is not bound again. One image that cannot be bound is
// reported and the others are still done; the run's status is 1 then.
import { existsSync, lstatSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { RunError, UsageError } from '../errors.js';
import type { KernelOption } from '../catalog/kernel-version.js';
import { detectInput } from '../sources/detect.js';
import { chooseOutput } from '../sinks/choose-output.js';
import { inputDigest } from '../scale/input-digest.js';
import { layerDigests, outputKind, runKey } from '../scale/run-key.js';
import { describeFormat, inOwnFormat } from '../scale/own-format.js';
import { inShard, type Shard } from '../scale/shard.js';
import { readImageList, type ListedImage } from '../scale/image-list.js';
import { copyInto, lookUp, readReport, store, writeFileWhole } from '../scale/result-cache.js';
import { Timers } from '../util/timers.js';
import type { Progress } from '../util/progress.js';
import { bind, type ExitStatus } from './image-commands.js';
import { checkLayerDirs } from '../catalog/layer-dirs.js';

export interface ImagesRequest {
  list: string;
  outDir: string;
  kernel: KernelOption;
  layerDirs: readonly string[];
  shard: Shard | null;
  cache: string | null;
  threads?: number;
  progress: Progress;
}

/**
 * - `bound`: bound by this run; `cached`: copied from the cache (--cache), which held its key;
 *   `up-to-date`: the output directory held it already, with a report of the same key (a shard run again);
 * - `failed`: not done, `error` says why; `not-in-shard`: another shard's (--shard).
 */
export type ImageStatus = 'bound' | 'cached' | 'up-to-date' | 'failed' | 'not-in-shard';

export interface ImageEntry {
  /** As the list gives it. */
  input: string;
  line: number;
  output: string;
  report: string;
  status: ImageStatus;
  key?: string;
  /** The image's own bind status: 1 when some client could not be bound (its report names each). */
  exitStatus?: ExitStatus;
  error?: string;
  /** What went wrong beside the image's own result (it could not be kept in the cache). */
  warning?: string;
}

export interface ImagesResult {
  images: ImageEntry[];
  status: ExitStatus;
}

/** Whether a client's outcome in a JSON report is an error: what makes a bind exit 1. */
function reportStatus(report: Record<string, unknown>): ExitStatus {
  const clients = (report.clients ?? []) as { outcome?: { status?: string } }[];
  return clients.some((c) => c.outcome?.status === 'error') ? 1 : 0;
}

/** The report, when the output and its report exist and the report has `key`: nothing to do. */
function upToDate(output: string, report: string, key: string): Record<string, unknown> | null {
  if (!existsSync(report) || !lstatSync(output, { throwIfNoEntry: false })) return null;
  try {
    const found = readReport(report);
    return found.key === key ? found : null;
  } catch {
    return null;
  }
}

async function bindOne(image: ListedImage, req: ImagesRequest, layers: readonly string[], output: string, reportPath: string): Promise<Omit<ImageEntry, 'input' | 'line' | 'output' | 'report'>> {
  const input = detectInput(image.path, image.given);
  const out = chooseOutput(true, input, output, false);
  if (!inOwnFormat(input, out)) {
    throw new UsageError(`the output is named after the input (${image.name}), which asks for ${outputKind(out)}, but the input is ${describeFormat(input)}: give the input a name that says its format (e.g. .tar.gz)`);
  }
  req.progress.update(`digest: ${image.given}`);
  const { key, parts } = runKey(await inputDigest(input), { layers, kernel: req.kernel, output: out, containerFormat: input.kind === 'container' ? input.format : undefined });
  const done = upToDate(output, reportPath, key);
  if (done) return { status: 'up-to-date', key, exitStatus: reportStatus(done) };
  const hit = req.cache === null ? null : lookUp(req.cache, key);
  if (hit) {
    await copyInto(hit.result, output);
    const report = { ...readReport(hit.report), image: image.given };
    writeFileWhole(reportPath, `${JSON.stringify(report, null, 1)}\n`);
    return { status: 'cached', key, exitStatus: reportStatus(report) };
  }
  const result = await bind({ input: image.given, output, kernel: req.kernel, layerDirs: req.layerDirs, threads: req.threads, timers: new Timers(), progress: req.progress });
  const [{ reportJson }, { jsonWithNameBytes }] = await Promise.all([import('../report/rewrite-report.js'), import('../names/path-bytes.js')]);
  const r = result.report;
  const text = `${JSON.stringify({ ...jsonWithNameBytes(reportJson(r.plan, r.outcomes, r.command, r.warnings)), key, keyParts: parts }, null, 1)}\n`;
  writeFileWhole(reportPath, text);
  // The image is bound whatever happens to the cache: a cache that cannot take it is said, not fatal.
  const warning = req.cache === null ? undefined : await store(req.cache, key, output, text).then(() => undefined, (error: Error) => `not kept in the cache: ${error.message}`);
  return { status: 'bound', key, exitStatus: result.status, ...(warning ? { warning } : {}) };
}

export async function bindImages(req: ImagesRequest): Promise<ImagesResult> {
  // Before anything: a missing one would leave the key as if no --layers were given, and a cached
  // or up-to-date result made without layers would be taken for this run's.
  checkLayerDirs(req.layerDirs);
  const list = readImageList(req.list);
  // Every image's key holds the layers' digests: taken once for the run, not per image.
  const layers = layerDigests(req.layerDirs);
  try {
    mkdirSync(req.outDir, { recursive: true });
  } catch (error) {
    throw new UsageError(`-o ${req.outDir}: cannot make the output directory: ${(error as Error).message}`);
  }
  const images: ImageEntry[] = [];
  const { withRunPool } = await import('../pool/pool.js');
  await withRunPool(async (retire) => {
    for (const image of list) {
      const output = join(req.outDir, image.name);
      const report = `${output}.report.json`;
      const entry = { input: image.given, line: image.line, output, report };
      if (!inShard(image.name, req.shard)) {
        images.push({ ...entry, status: 'not-in-shard' });
        continue;
      }
      try {
        images.push({ ...entry, ...await bindOne(image, req, layers, output, report) });
      } catch (error) {
        // An image refused as a whole (unreadable, corrupt, a usage error of its own such as a
        // container without --kernel) fails alone. So does a bug met on one image, said to be one.
        const expected = error instanceof RunError || error instanceof UsageError || typeof (error as NodeJS.ErrnoException).syscall === 'string';
        const message = error instanceof Error ? error.message : String(error);
        images.push({ ...entry, status: 'failed', error: expected ? message : `internal error (a bug): ${message}` });
        await retire();
      }
    }
  });
  const bad = images.some((i) => i.status === 'failed' || i.exitStatus === 1);
  return { images, status: bad ? 1 : 0 };
}

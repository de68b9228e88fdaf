// The library: `import { scan, plan, bind, unbind, verify, sync } from 'syslayer'` (docs/api.md),
// `verifyPackages` and `original` (`verify --packages`, `unbind --stdout`), and `bindImages`,
// `digest`, `bindShard` and `merge` (`bind --images`, `digest`, `bind --shard`, `merge`: docs/scale.md). Each
// command takes an image and its options and resolves to the report `syslayer <command> --json`
// prints (docs/scan-json.md, docs/report-json.md) with the exit status the command line would
// give; it prints nothing and shows no progress. The commands are the command line's own
// (src/commands/image-commands.ts): this module only fills in what the command line would.
import * as commands from './commands/image-commands.js';
import type { ExitStatus } from './commands/image-commands.js';
import { defaultKernel, parseKernelOption } from './catalog/kernel-version.js';
import { scanJson } from './report/scan-json.js';
import { reportJson } from './report/rewrite-report.js';
import { jsonWithNameBytes } from './names/path-bytes.js';
import { Progress } from './util/progress.js';
import { Timers } from './util/timers.js';
import type { CommandName, RunRequest } from './pipeline/run.js';
import { verifyPackages as verifyPackageFiles } from './commands/verify-packages.js';
import { originalBytes } from './commands/original.js';
import { packageReportJson } from './report/package-report.js';

export { UsageError, RunError, ImageError } from './errors.js';
export type { ExitStatus } from './commands/image-commands.js';

/** `syslayer scan --json`: every ELF file of the image with its facts and closure (docs/scan-json.md). */
export type ScanReport = ReturnType<typeof scanJson>;
/** `syslayer plan|bind|unbind|verify --json`: the catalog, each client's layer and outcome (docs/report-json.md). */
export type RewriteReport = ReturnType<typeof reportJson>;

/** `syslayer verify --packages --json` (docs/living-images.md, docs/schemas/package-verify-report.schema.json). */
export type PackageVerifyReport = ReturnType<typeof packageReportJson>;
import type { OriginalResult } from './commands/original.js';
export type { OriginalResult };

export interface Result<R> {
  /** 0: all well; 1: some files failed (the report names each, with its reason). */
  status: Exclude<ExitStatus, 2>;
  report: R;
}

export interface ScanOptions {
  /** Threads that read files beside the main thread (`--threads`); by default as the command line chooses. */
  threads?: number;
}

export interface PlanOptions {
  /** The target kernel, `a.b[.c]`, or `auto` (from the image's lib/modules; the default of plan and bind). */
  kernel?: string;
  /** Directories (or files) of layer objects, searched recursively, beside the image's own usr/lib/syslayer/layers/. */
  layers?: readonly string[];
  /** Worker threads (`--threads`); by default as the command line chooses. */
  threads?: number;
}

export interface WriteOptions {
  /** A directory, a .tar, .tar.gz (.tgz), .tar.zst or .tar.xz, a file when the image is one file, or `-` for a tar stream on standard output. */
  output?: string;
  /** Rewrite the image itself, file by file. Exactly one of `output` and `inPlace` is wanted. */
  inPlace?: boolean;
  /** In place: seconds to wait for the image's lock another syslayer run holds (default 300, 0: not at all). */
  wait?: number;
}

export type BindOptions = PlanOptions & WriteOptions;
/** Unbinding needs no layer and no kernel: each file's bind record holds what it takes. */
export type UnbindOptions = Pick<PlanOptions, 'threads'> & WriteOptions;
/** Without `kernel`, each bound file is checked against the kernel its bind record names. */
export type VerifyOptions = PlanOptions;

export type SyncOptions = PlanOptions & Pick<WriteOptions, 'wait'>;

type Options = ScanOptions & Partial<BindOptions>;

/**
 * An image is a directory, a tar archive (plain, gzip, zstd or xz, told by its bytes), one ELF file, or `-`
 * for standard input. Usage errors (a missing image, a kernel that is not a version, conflicting
 * outputs) throw `UsageError`; a run that could not be done as a whole throws `RunError`, and
 * nothing half-written is left. Files that fail one by one are in the report, with status 1.
 */
async function run(command: CommandName, image: string, o: Options) {
  const request: Omit<RunRequest, 'command'> = {
    wait: o.wait,
    input: image,
    output: o.output,
    inPlace: o.inPlace,
    kernel: o.kernel === undefined ? defaultKernel(command) : parseKernelOption(o.kernel),
    layerDirs: o.layers ?? [],
    threads: o.threads,
    timers: new Timers(),
    progress: Progress.silent(),
  };
  const { report, status } = await commands[command](request);
  return { report, status: status as Exclude<ExitStatus, 2> };
}

async function rewrite(command: Exclude<CommandName, 'scan'>, image: string, o: Options): Promise<Result<RewriteReport>> {
  const { report: r, status } = await run(command, image, o);
  return { status, report: jsonWithNameBytes(reportJson(r.plan, command === 'plan' ? null : r.outcomes, command, r.warnings)) };
}

/** Every ELF file of an image, its facts and dependency closure. */
export async function scan(image: string, options: ScanOptions = {}): Promise<Result<ScanReport>> {
  const { report, status } = await run('scan', image, options);
  return { status, report: jsonWithNameBytes(scanJson(report.plan.scan)) };
}

/** What bind would do, writing nothing. */
export function plan(image: string, options: PlanOptions = {}): Promise<Result<RewriteReport>> {
  return rewrite('plan', image, options);
}

/** The selected layer written into every client, to `output` or in place. */
export function bind(image: string, options: BindOptions): Promise<Result<RewriteReport>> {
  return rewrite('bind', image, options);
}

/** Every bound client back to its original bytes, to `output` or in place. */
export function unbind(image: string, options: UnbindOptions): Promise<Result<RewriteReport>> {
  return rewrite('unbind', image, options);
}

/** Every bound client re-derived from its original, and its layer checked against the rule. */
export function verify(image: string, options: VerifyOptions = {}): Promise<Result<RewriteReport>> {
  return rewrite('verify', image, options);
}

/**
 * The incremental bind in place of the directory image `root` (`syslayer sync --root`,
 * docs/living-images.md): only the files that changed since the last bind or sync, all of them
 * when the target kernel (by default `auto`: the oldest the image has) or the catalog changed.
 * The report has a `sync` object saying what it looked at and did.
 */
export async function sync(root: string, options: SyncOptions = {}): Promise<Result<RewriteReport>> {
  const { report: r, status } = await commands.sync({
    root, kernel: parseKernelOption(options.kernel ?? 'auto'), layerDirs: options.layers ?? [], threads: options.threads, wait: options.wait,
    timers: new Timers(), progress: Progress.silent(),
  });
  return { status: status as Exclude<ExitStatus, 2>, report: jsonWithNameBytes(reportJson(r.plan, r.outcomes, 'sync', r.warnings, r.sync)) };
}

/**
 * Every file the dpkg database under `root` (default `/`) has a sum for, a bound one unbound in
 * memory and compared with dpkg's MD5 and re-derived with its recorded layer (from `layers` and
 * the root's own usr/lib/syslayer/layers/). Throws `RunError` when the root has no dpkg database.
 */
export async function verifyPackages(options: { root?: string; layers?: readonly string[] } = {}): Promise<Result<PackageVerifyReport>> {
  const { report, status } = await verifyPackageFiles({ root: options.root ?? '/', layerDirs: options.layers ?? [] });
  return { status: status as Exclude<ExitStatus, 2>, report: jsonWithNameBytes(packageReportJson(report)) };
}

/**
 * One file's original bytes (`syslayer unbind --stdout`): a file that is not bound as it is. With
 * `layers` holding its recorded layer, a bound file's binding is re-derived too, so that a change
 * after binding is an error rather than a plausible original. Throws `UsageError` for a file it cannot read.
 */
export function original(file: string, options: { layers?: readonly string[] } = {}): OriginalResult {
  return originalBytes(file, options.layers ?? []);
}

/** `syslayer bind --images --json`: the run summary, one entry per image of the list (docs/scale.md). */
export type ImagesReport = ReturnType<typeof import('./report/images-report.js').imagesJson>;
/** `syslayer merge --json`. */
export type MergeReport = ReturnType<typeof import('./report/merge-report.js').mergeJson>;
export type { KeyParts } from './scale/run-key.js';

/**
 * Many images (`syslayer bind --images LIST -o OUTDIR`): each input of the list file bound to
 * `output`/<its base name> in its own format, its report with its key beside it. `shard`: `'i/n'`.
 */
export async function bindImages(list: string, options: PlanOptions & { output: string; shard?: string; cache?: string }): Promise<Result<ImagesReport>> {
  const [{ bindImages: run }, { imagesJson }, { parseShard }] = await Promise.all([import('./commands/bind-images.js'), import('./report/images-report.js'), import('./scale/shard.js')]);
  const request = { list, outDir: options.output, shard: options.shard === undefined ? null : parseShard(options.shard), cache: options.cache ?? null };
  const result = await run({ ...request, kernel: parseKernelOption(options.kernel ?? 'auto'), layerDirs: options.layers ?? [], threads: options.threads, progress: Progress.silent() });
  return { status: result.status as Exclude<ExitStatus, 2>, report: imagesJson(result, request) };
}

/** An image's input digest and the key of binding it to its own format (`syslayer digest --json`). */
export async function digest(image: string, options: Omit<PlanOptions, 'threads'> = {}): Promise<{ key: string; keyParts: import('./scale/run-key.js').KeyParts }> {
  const { key, keyParts } = await (await import('./commands/digest.js')).digestImage(image, { kernel: parseKernelOption(options.kernel ?? 'auto'), layerDirs: options.layers ?? [] });
  return { key, keyParts };
}

/** Share `shard` (`'i/n'`) of one directory or tar image's clients, written as a shard result to `output` for `merge`. */
export async function bindShard(image: string, options: PlanOptions & { output: string; shard: string }): Promise<Result<RewriteReport & { key: string; keyParts: import('./scale/run-key.js').KeyParts; shard: { index: number; count: number } }>> {
  const { parseShard } = await import('./scale/shard.js');
  const { report: r, status, manifest } = await (await import('./commands/bind-shard.js')).bindShard({
    input: image, output: options.output, shard: parseShard(options.shard), kernel: parseKernelOption(options.kernel ?? 'auto'), layerDirs: options.layers ?? [],
    threads: options.threads, timers: new Timers(), progress: Progress.silent(),
  });
  return { status: status as Exclude<ExitStatus, 2>, report: { ...jsonWithNameBytes(reportJson(r.plan, r.outcomes, 'bind', r.warnings)), key: manifest.key, keyParts: manifest.keyParts, shard: manifest.shard } };
}

/** The shard results of one image joined into `output`, as `bind(image, { output })` writes it; throws `RunError` for any mismatch, writing nothing. */
export async function merge(image: string, shards: readonly string[], options: Omit<PlanOptions, 'threads'> & { output: string }): Promise<Result<MergeReport>> {
  const m = await (await import('./commands/merge.js')).mergeShards({
    image, shards, output: options.output, kernel: parseKernelOption(options.kernel ?? 'auto'), layerDirs: options.layers ?? [], timers: new Timers(), progress: Progress.silent(),
  });
  return { status: m.status as Exclude<ExitStatus, 2>, report: (await import('./report/merge-report.js')).mergeJson(m, image, options.output) };
}

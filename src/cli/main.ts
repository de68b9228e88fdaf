// The command line: parses arguments, runs a command, prints, and maps outcomes to exit codes in
// one place: 0 all well, 1 some files failed (each is named), 2 usage errors.
import { RunError, UsageError } from '../errors.js';
import { defaultKernel, parseKernelOption, type KernelOption } from '../catalog/kernel-version.js';
import type { CommandResult } from '../commands/image-commands.js';
import { PROGRESS_MODES, Progress, type ProgressMode } from '../util/progress.js';
import { Timers } from '../util/timers.js';
import { HelpWanted, commandHelp, parseCommand, programHelp, type CommandSpec, type OptionSpec } from './arguments.js';
import { EXIT_READER_GONE, ReaderGone, writeReport } from './report-output.js';
import { TAR_FORMATS, TAR_OUTPUT_NAMES } from '../tar/compression.js';
import { parseShard } from '../scale/shard.js';

// Each command imports its modules when it runs: `scan` of a directory then loads neither the tar
// pipeline nor the binder and its catalog. Importing this module took 88 ms with every
// command imported up front (of a 0.75 s rootfs scan), 32 ms so, most of it commander, which
// has since given way to arguments.ts.
const commands = () => import('../commands/image-commands.js');

export const EXIT_OK = 0;
export const EXIT_SOME_FAILED = 1;
export const EXIT_USAGE = 2;

const DESCRIPTION = 'Binds the ELF objects of an OS image to their system-call layers';
const IMAGE = `a directory, a tar image (${TAR_FORMATS}: told by its bytes), a container image (an OCI layout, an oci-archive or a docker archive), one ELF file, or - for standard input`;

const json = (description: string): OptionSpec => ({ name: 'json', description });
const perf: OptionSpec = { name: 'perf', description: 'print the time of each pass on stderr' };
const progressOption: OptionSpec = {
  name: 'progress', value: '<mode>', description: 'progress on stderr: auto (a spinner on a terminal, else nothing; the default), plain (a line now and then, for logs) or none; NO_COLOR is respected',
  parse: (v) => { if (!(PROGRESS_MODES as readonly string[]).includes(v)) throw new UsageError(`--progress wants auto, plain or none, not '${v}'`); return v; },
};
const TARGET_KERNEL: OptionSpec = { name: 'kernel', value: '<version>', description: 'target kernel: a.b[.c], or auto (the default: the oldest kernel of the image\'s lib/modules)', parse: parseKernelOption };
const VERIFY_KERNEL: OptionSpec = { name: 'kernel', value: '<version>', description: 'check that the rule still selects each file\'s layer for this kernel: a.b[.c], or auto (from the image\'s lib/modules); default: the kernel each file\'s bind record names', parse: parseKernelOption };
const LAYERS: OptionSpec = { name: 'layers', value: '<dir>', description: 'a directory of layer objects, searched recursively, besides the image\'s own usr/lib/syslayer/layers (repeatable)', repeatable: true };
const WAIT: OptionSpec = {
  name: 'wait', value: '<seconds>', description: 'in place: how long to wait for the image\'s lock (var/lib/syslayer/lock) that another syslayer run holds (default 300; 0: fail at once, naming the holder)',
  parse: (v) => parseCount(v, '--wait', 0),
};
const REPORT_OPTIONS: OptionSpec[] = [
  json('print the report as one JSON document (docs/report-json.md)'),
  progressOption,
  { name: 'report', value: '<file>', description: 'also write the JSON report to a file' },
  perf,
  { name: 'threads', value: '<n>', description: 'worker threads (default: one per core; for bind -o of a directory, one per core but two, as its cp processes take two: none on two cores)', parse: (v) => parseCount(v, '--threads', 1) },
];
const WRITE_OPTIONS: OptionSpec[] = [
  { name: 'output', short: 'o', value: '<path>', description: `write the result here: a directory, ${TAR_OUTPUT_NAMES}, a file for one file, or - for a tar stream on standard output (the report then goes to standard error)` },
  { name: 'in-place', description: 'rewrite the image itself, file by file' },
  WAIT,
];

const COMMANDS: CommandSpec[] = [
  {
    name: 'scan', description: 'report every ELF file of an image and its dependency closure',
    operands: [{ name: 'image', description: IMAGE }],
    options: [
      json('print one JSON document (schema: docs/scan-json.md)'), perf, progressOption,
      { name: 'threads', value: '<n>', description: 'threads that read files beside the main thread, 0 for none (default: none on two cores or fewer; else one per core but one, once the walk has found 16,384 files)', parse: (v) => parseCount(v, '--threads', 0) },
    ],
  },
  { name: 'inspect', description: 'show one file in detail', operands: [{ name: 'file', description: 'an ELF file' }], options: [json('print the facts as JSON')] },
  {
    name: 'layers', description: 'list the layer catalog: name, machine, ABI range, kernel_min, revision, implemented slots',
    operands: [{ name: 'dir', description: 'directories (or files) of layer objects', variadic: true }], options: [json('print JSON')],
  },
  {
    name: 'bench', description: 'run the benchmark suite (benchmarks/run.mjs) on your own directory image, beside scanelf, readelf, patchelf and cp -a',
    operands: [{ name: 'image', description: 'a directory image (never written to)' }], options: [], passOn: 'suite-options',
  },
  { name: 'plan', description: 'show what bind would do, writing nothing', operands: [{ name: 'image', description: IMAGE }], options: [TARGET_KERNEL, LAYERS, ...REPORT_OPTIONS] },
  {
    name: 'bind', description: 'write the selected layer into every client', operands: [{ name: 'image', description: `${IMAGE} (not with --images)`, optional: true }],
    options: [TARGET_KERNEL, LAYERS, ...REPORT_OPTIONS, ...WRITE_OPTIONS,
      { name: 'images', value: '<list>', description: 'many images in one run: a file naming one input per line (blank lines and # comments left out; relative to the current directory); each goes to -o DIR/<its base name>, in its own format, with <name>.report.json beside it (docs/scale.md)' },
      { name: 'shard', value: '<i/n>', description: 'do share i of n (from 0): with --images, the list\'s entries whose output name hashes to i; with one image (a directory or a tar image), its clients (hardlink groups together) whose least name does, written as a shard result for merge', parse: parseShard },
      { name: 'cache', value: '<dir>', description: 'with --images: results kept by key; an image whose key is there is copied from it, not bound again' }],
  },
  // Unbinding needs no layer and no kernel: each file's bind record holds what it takes.
  {
    name: 'unbind', description: 'restore every bound client to its original bytes', operands: [{ name: 'image', description: IMAGE }],
    options: [...REPORT_OPTIONS, ...WRITE_OPTIONS,
      { name: 'stdout', description: 'print the original bytes of one file on standard output (a file that is not bound as it is), for integrity tools and cmp; writes nothing else' },
      { ...LAYERS, description: 'with --stdout: layer objects to re-derive the file\'s binding with, so that a change after binding is caught (repeatable)' }],
  },
  {
    name: 'sync', description: 'bind in place only what changed since the last bind or sync of a directory image (all of it when the kernel or the catalog changed), under the image\'s lock',
    operands: [], options: [
      { name: 'root', value: '<dir>', description: 'the image: a directory (default /)' },
      TARGET_KERNEL, LAYERS, ...REPORT_OPTIONS, WAIT,
    ],
  },
  {
    name: 'verify', description: 're-derive every bound client from its original and check the rule still selects its layer',
    operands: [{ name: 'image', description: `${IMAGE} (not with --packages)`, optional: true }],
    options: [VERIFY_KERNEL, LAYERS, ...REPORT_OPTIONS,
      { name: 'packages', description: 'check every file the dpkg database of --root has a sum for: a bound file is unbound in memory and its original compared with dpkg\'s MD5; reports files bound and intact, changed by someone else, missing, and clients not bound' },
      { name: 'root', value: '<dir>', description: 'with --packages: the root whose var/lib/dpkg is read (default /)' }],
  },
  {
    name: 'merge', description: 'join the shard results of one image (bind IMAGE --shard i/n -o SHARD) into -o OUT, as bind IMAGE -o OUT writes it; every shard 0..n-1 once, of one key, and the image unchanged, or nothing is written (docs/scale.md)',
    operands: [{ name: 'image', description: 'the image the shards were made from: a directory or a tar image' }, { name: 'shard', description: 'shard result directories, one per shard', variadic: true }],
    options: [{ name: 'output', short: 'o', value: '<path>', description: 'where to write the bound image, in the image\'s own format (required)' }, TARGET_KERNEL, LAYERS, json('print what was merged as JSON'), perf],
  },
  {
    name: 'digest', description: 'print an image\'s input digest (of its canonical listing: the same for a directory and its tarball) and the key of binding it to its own format (docs/scale.md)',
    operands: [{ name: 'image', description: 'a directory, a tar image or a container image' }],
    options: [TARGET_KERNEL, LAYERS, json('print the key and what it is made of as JSON'),
      { name: 'listing', description: 'print the canonical listing the input digest is the sha256 of, instead' }],
  },
  {
    name: 'report', description: 'one self-contained HTML page (no network; opens from disk) of JSON reports of scan, plan, bind, unbind, verify or sync, of benchmark results, or of directory images, planned with --kernel and --layers',
    operands: [{ name: 'input', description: 'a --json report of scan, plan, bind, unbind, verify or sync, a benchmark results file, or a directory image to plan', variadic: true }],
    options: [
      { name: 'output', short: 'o', value: '<file.html>', description: 'where to write the page (required)' },
      TARGET_KERNEL, LAYERS,
    ],
  },
  {
    name: 'hooks', description: 'the dpkg hooks that keep an image bound: package (build the syslayer-hooks .deb), install or remove it under --root',
    operands: [{ name: 'action', description: 'package, install or remove' }],
    options: [
      { name: 'root', value: '<dir>', description: 'install and remove: the root dpkg works on (dpkg --root, scripts run outside it with DPKG_ROOT); default /' },
      { name: 'output', short: 'o', value: '<file>', description: 'package: where to write the .deb (default: syslayer-hooks_<version>_all.deb here)' },
      { name: 'syslayer', value: '<command>', description: 'the syslayer command line the hooks run, baked into their scripts (default: this node and this syslayer, by absolute path)' },
      { name: 'layers', value: '<dir>', description: 'layer objects to ship in the package, in usr/lib/syslayer/layers/ (the image\'s own catalog) (repeatable)', repeatable: true },
      json('print what was done as JSON'),
    ],
  },
];

type RewriteFlags = {
  images?: string; shard?: import('../scale/shard.js').Shard; cache?: string;
  wait?: number; root?: string; progress?: ProgressMode; kernel?: KernelOption; layers?: string[]; json?: boolean; report?: string; perf?: boolean; threads?: number; output?: string; inPlace?: boolean;
  stdout?: boolean; packages?: boolean;
};
type HooksFlags = import('./hooks-command.js').HooksFlags;

export async function main(argv: string[]): Promise<number> {
  // --perf shows the start-up before this as lines of its own (util/timers.ts).
  const entered = performance.now();
  try {
    const [name, ...args] = argv;
    if (name === undefined) {
      process.stderr.write(programHelp(DESCRIPTION, COMMANDS, EPILOGUE));
      return EXIT_USAGE;
    }
    if (name === '-V' || name === '--version') {
      process.stdout.write(`syslayer ${(await import('../report/report-header.js')).toolVersion()}\n`);
      return EXIT_OK;
    }
    if (name === '-h' || name === '--help' || name === 'help') {
      const about = name === 'help' && args[0] !== undefined ? COMMANDS.find((c) => c.name === args[0]) : undefined;
      if (name === 'help' && args[0] !== undefined && !about) throw new UsageError(`unknown command '${args[0]}'`);
      process.stdout.write(about ? commandHelp(about) : programHelp(DESCRIPTION, COMMANDS, EPILOGUE));
      return EXIT_OK;
    }
    const spec = COMMANDS.find((c) => c.name === name);
    if (!spec) throw new UsageError(name.startsWith('-') ? `unknown option '${name}'` : `unknown command '${name}' (syslayer --help lists them)`);
    const parsed = parseCommand(spec, args);
    if (parsed instanceof HelpWanted) {
      process.stdout.write(parsed.text);
      return EXIT_OK;
    }
    return await run(spec.name, parsed.operands, parsed.rest, parsed.options, entered);
  } catch (error) {
    if (error instanceof ReaderGone) return EXIT_READER_GONE;
    if (error instanceof UsageError) {
      process.stderr.write(`syslayer: ${error.message}\n`);
      return EXIT_USAGE;
    }
    // The run failed as a whole (RunError, ImageError among them: nothing was written), or a
    // system call did (a full disk, a directory we may not write): the message names what and
    // where. Anything else is a bug, and its stack is wanted.
    const systemCall = error instanceof Error && typeof (error as NodeJS.ErrnoException).syscall === 'string';
    if (error instanceof RunError || systemCall) {
      process.stderr.write(`syslayer: ${(error as Error).message}\n`);
      return EXIT_SOME_FAILED;
    }
    throw error;
  }
}

/** Runs the command the line names; resolves to its exit code. */
async function run(name: string, operands: string[], rest: string[], options: Record<string, unknown>, entered: number): Promise<number> {
  switch (name) {
    case 'scan': {
      const opts = options as { json?: boolean; perf?: boolean; threads?: number; progress?: ProgressMode };
      const timers = new Timers(entered);
      const progress = await Progress.start(opts.progress);
      const { scan } = await timers.time('load command', commands);
      const result = await scan({ input: operands[0]!, kernel: { kind: 'none' }, layerDirs: [], threads: opts.threads, timers, progress });
      progress.stop();
      const report = result.report.plan.scan;
      const text = await timers.time('report', async () => opts.json
        ? `${JSON.stringify((await import('../names/path-bytes.js')).jsonWithNameBytes((await import('../report/scan-json.js')).scanJson(report)), null, 1)}\n`
        : `${(await import('../report/scan-text.js')).formatScanSummary(report)}\n`);
      await writeReport(process.stdout, text, 'standard output');
      if (opts.perf) process.stderr.write(`${timers.format()}\n`);
      return result.status;
    }
    case 'inspect': {
      const file = operands[0]!;
      const [{ inspectFile }, { formatInspect }] = await Promise.all([import('../commands/inspect.js'), import('../report/inspect-text.js')]);
      const inspection = inspectFile(file);
      const { size, record, binding } = inspection;
      await writeReport(process.stdout, options.json ? `${JSON.stringify({ path: file, size, ...record, binding }, null, 1)}\n` : `${formatInspect(file, inspection)}\n`, 'standard output');
      return record.status === 'error' || (binding && 'error' in binding) ? EXIT_SOME_FAILED : EXIT_OK;
    }
    case 'layers': {
      const [{ existsSync }, { Core, compileCore }, { loadCatalog }, { formatLayers, layerSummary }] = await Promise.all([
        import('node:fs'), import('../core/core.js'), import('../catalog/catalog.js'), import('../report/rewrite-report.js')]);
      for (const d of operands) if (!existsSync(d)) throw new UsageError(`${d}: no such file or directory`);
      const catalog = loadCatalog(new Core(compileCore()), operands);
      await writeReport(process.stdout, options.json ? `${JSON.stringify(catalog.map(layerSummary), null, 1)}\n` : `${formatLayers(catalog)}\n`, 'standard output');
      return catalog.some((l) => l.linkErrors.size > 0) ? EXIT_SOME_FAILED : EXIT_OK;
    }
    case 'merge': {
      const opts = options as { output?: string; kernel?: KernelOption; layers?: string[]; json?: boolean; perf?: boolean };
      if (opts.output === undefined) throw new UsageError('merge: -o <dir> names where the bound image goes');
      const timers = new Timers(entered);
      const { mergeShards } = await import('../commands/merge.js');
      const m = await mergeShards({ image: operands[0]!, shards: operands.slice(1), output: opts.output, kernel: opts.kernel ?? { kind: 'auto' }, layerDirs: opts.layers ?? [], timers, progress: Progress.silent() });
      const { mergeJson, formatMerge } = await import('../report/merge-report.js');
      await writeReport(process.stdout, opts.json ? `${JSON.stringify(mergeJson(m, operands[0]!, opts.output), null, 1)}\n` : `${formatMerge(m, operands[0]!, opts.output)}\n`, 'standard output');
      if (opts.perf) process.stderr.write(`${timers.format()}\n`);
      return m.status;
    }
    case 'digest': {
      const opts = options as { kernel?: KernelOption; layers?: string[]; json?: boolean; listing?: boolean };
      const digest = await import('../commands/digest.js');
      if (opts.listing) {
        refuseBeside(opts, 'digest --listing', ['listing']);
        await writeReport(process.stdout, await digest.imageListing(operands[0]!), 'standard output');
        return EXIT_OK;
      }
      const d = await digest.digestImage(operands[0]!, { kernel: opts.kernel ?? { kind: 'auto' }, layerDirs: opts.layers ?? [] });
      const { reportHeader } = await import('../report/report-header.js');
      await writeReport(process.stdout, opts.json ? `${JSON.stringify({ ...reportHeader('digest'), ...d }, null, 1)}\n` : `input ${d.keyParts.input.digest}\nkey   ${d.key}\n`, 'standard output');
      return EXIT_OK;
    }
    case 'bench':
      return (await import('../commands/bench.js')).benchImage(operands[0]!, rest);
    case 'hooks':
      return (await import('./hooks-command.js')).runHooks(operands[0]!, options as HooksFlags);
    case 'report': {
      const opts = options as { output?: string; kernel?: KernelOption; layers?: string[] };
      if (opts.output === undefined || opts.output === '-') throw new UsageError('report: -o <file.html> names the page to write (a file, not standard output)');
      const done = await (await import('../commands/report.js')).report({ inputs: operands, output: opts.output, kernel: opts.kernel ?? { kind: 'auto' }, layerDirs: opts.layers ?? [] });
      process.stderr.write(`syslayer: wrote ${opts.output} (${done.shown} report${done.shown === 1 ? '' : 's'}${done.planned.length > 0 ? `; planned ${done.planned.join(', ')}` : ''})\n`);
      return EXIT_OK;
    }
    case 'sync': {
      const opts = options as RewriteFlags;
      const timers = new Timers(entered);
      const progress = await Progress.start(opts.progress);
      try {
        const { sync } = await timers.time('load command', commands);
        const result = await sync({ root: opts.root ?? '/', kernel: opts.kernel ?? { kind: 'auto' }, layerDirs: opts.layers ?? [], threads: opts.threads, wait: opts.wait, timers, progress }, onWait);
        await finish(result, opts, timers);
        return result.status;
      } finally {
        progress.stop();
      }
    }
    default: {
      const command = name as 'plan' | 'bind' | 'unbind' | 'verify';
      const opts = options as RewriteFlags;
      if (command === 'bind' && opts.images !== undefined) return bindImageList(operands, opts);
      if (command === 'bind' && opts.cache !== undefined) throw new UsageError('bind: --cache goes with --images');
      if (command === 'bind' && opts.shard !== undefined) return bindOneShard(operands, opts, entered);
      if (command === 'unbind' && opts.stdout) return unbindToStandardOutput(operands[0]!, opts);
      if (command === 'verify' && opts.packages) return verifyPackages(operands, opts);
      if (opts.root !== undefined) throw new UsageError(`${command}: --root goes with --packages`);
      if (command === 'unbind' && (opts.layers ?? []).length > 0) throw new UsageError('unbind: --layers goes with --stdout (unbinding needs no layer)');
      if (operands.length === 0) throw new UsageError(`${command}: missing required argument 'image'`);
      // Without --kernel, verify checks each file against the kernel its bind record names.
      const kernel = opts.kernel ?? defaultKernel(command);
      const timers = new Timers(entered);
      const progress = await Progress.start(opts.progress);
      try {
        const run = (await timers.time('load command', commands))[command];
        const result = await run({ input: operands[0]!, output: opts.output, inPlace: opts.inPlace, kernel, layerDirs: opts.layers ?? [], threads: opts.threads, wait: opts.wait, onWait, timers, progress });
        await finish(result, opts, timers);
        return result.status;
      } finally {
        progress.stop();
      }
    }
  }
}

/** Options given beside one that takes none of them: a usage error naming the first. */
function refuseBeside(opts: Record<string, unknown>, alone: string, allowed: readonly string[]): void {
  const extra = Object.entries(opts).find(([k, v]) => !allowed.includes(k) && v !== undefined && !(Array.isArray(v) && v.length === 0));
  if (extra) throw new UsageError(`${alone} takes no --${extra[0].replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`);
}

/** `bind --images LIST -o OUTDIR [--shard i/n] [--cache DIR]`: a line per image, or the JSON summary. */
async function bindImageList(operands: string[], opts: RewriteFlags): Promise<number> {
  if (operands.length > 0) throw new UsageError(`bind: --images names the images; '${operands[0]}' is one too many (put it in the list)`);
  refuseBeside(opts, 'bind --images', ['images', 'output', 'shard', 'cache', 'kernel', 'layers', 'json', 'threads', 'progress']);
  if (opts.output === undefined || opts.output === '-') throw new UsageError('bind --images: -o <dir> names the directory the outputs go to');
  const progress = await Progress.start(opts.progress);
  try {
    const [{ bindImages }, { imagesJson, formatImages }] = await Promise.all([import('../commands/bind-images.js'), import('../report/images-report.js')]);
    const request = { list: opts.images!, outDir: opts.output, shard: opts.shard ?? null, cache: opts.cache ?? null };
    const result = await bindImages({ ...request, kernel: opts.kernel ?? { kind: 'auto' }, layerDirs: opts.layers ?? [], threads: opts.threads, progress });
    progress.stop();
    await writeReport(process.stdout, opts.json ? `${JSON.stringify(imagesJson(result, request), null, 1)}\n` : `${formatImages(result, request)}\n`, 'standard output');
    return result.status;
  } finally {
    progress.stop();
  }
}

/** `bind IMAGE --shard i/n -o SHARDOUT`: the share's report, with the key and the shard. */
async function bindOneShard(operands: string[], opts: RewriteFlags, entered: number): Promise<number> {
  if (operands.length === 0) throw new UsageError('bind --shard: name the image (or give --images LIST)');
  refuseBeside(opts, 'bind IMAGE --shard', ['shard', 'output', 'kernel', 'layers', 'json', 'threads', 'progress', 'perf', 'report']);
  if (opts.output === undefined) throw new UsageError('bind --shard: -o <dir> names the shard result to write');
  const timers = new Timers(entered);
  const progress = await Progress.start(opts.progress);
  try {
    const { bindShard } = await import('../commands/bind-shard.js');
    const result = await bindShard({ input: operands[0]!, output: opts.output, shard: opts.shard!, kernel: opts.kernel ?? { kind: 'auto' }, layerDirs: opts.layers ?? [], threads: opts.threads, timers, progress });
    progress.stop();
    const { key, keyParts, shard } = result.manifest;
    await finish(result, opts, timers, { key, keyParts, shard }, `shard ${shard.index}/${shard.count}: ${result.manifest.files.length} bound files in ${opts.output}; key ${key}`);
    return result.status;
  } finally {
    progress.stop();
  }
}

/** `unbind --stdout FILE`: the original bytes, and nothing else, on standard output. */
async function unbindToStandardOutput(file: string, opts: RewriteFlags): Promise<number> {
  refuseBeside(opts, 'unbind --stdout', ['stdout', 'layers']);
  const o = (await import('../commands/original.js')).originalBytes(file, opts.layers ?? []);
  if (!o.ok) {
    process.stderr.write(`syslayer: ${file}: ${o.error}\n`);
    return EXIT_SOME_FAILED;
  }
  if (o.bound && !o.rebound) process.stderr.write(`syslayer: warning: ${file}: only the original was checked, not its binding: ${o.unchecked} (--layers)\n`);
  await writeReport(process.stdout, o.bytes, 'standard output');
  return EXIT_OK;
}

/** `verify --packages [--root DIR]`. */
async function verifyPackages(operands: string[], opts: RewriteFlags): Promise<number> {
  if (operands.length > 0) throw new UsageError('verify --packages takes no image: --root names the root (default /)');
  refuseBeside(opts, 'verify --packages', ['packages', 'root', 'layers', 'json', 'report', 'progress']);
  const [{ verifyPackages: verify }, { packageReportJson, formatPackageReport }, { jsonWithNameBytes }] = await Promise.all([
    import('../commands/verify-packages.js'), import('../report/package-report.js'), import('../names/path-bytes.js')]);
  const { report, status } = await verify({ root: opts.root ?? '/', layerDirs: opts.layers ?? [] });
  const json = `${JSON.stringify(jsonWithNameBytes(packageReportJson(report)), null, 1)}\n`;
  await writeReport(process.stdout, opts.json ? json : `${formatPackageReport(report, process.stdout.isTTY ? TERMINAL_LIST : null)}\n`, 'standard output');
  if (opts.report) await writeReportFile(opts.report, json);
  return status;
}

async function writeReportFile(file: string, json: string): Promise<void> {
  try {
    await (await import('node:fs/promises')).writeFile(file, json);
  } catch (error) {
    throw new RunError(`cannot write the report to ${file}: ${(error as Error).message}`);
  }
}

/** Prints the report (to standard error when the image went to standard output). */
async function finish(result: CommandResult, opts: RewriteFlags, timers: Timers, extra: Record<string, unknown> = {}, lastLine?: string): Promise<void> {
  const { formatPlan, formatRewrite, reportJson } = await import('../report/rewrite-report.js');
  const r = result.report;
  const json = { ...(await import('../names/path-bytes.js')).jsonWithNameBytes(reportJson(r.plan, r.command === 'plan' ? null : r.outcomes, r.command, r.warnings, r.sync)), ...extra };
  for (const warning of r.warnings) process.stderr.write(`syslayer: warning: ${warning}\n`);
  const [stream, where] = r.imageOnStandardOutput ? [process.stderr, 'standard error'] : [process.stdout, 'standard output'];
  // A person at a terminal gets the first few of each list; a pipe or a file, every item.
  const atMost = stream.isTTY ? TERMINAL_LIST : null;
  const text = (r.command === 'plan' ? formatPlan(r.plan, atMost) : formatRewrite(r, atMost)) + (lastLine ? `\n${lastLine}` : '');
  await writeReport(stream, opts.json ? `${JSON.stringify(json, null, 1)}\n` : `${text}\n`, where);
  if (opts.report) await writeReportFile(opts.report, `${JSON.stringify(json, null, 1)}\n`);
  if (opts.perf) process.stderr.write(`${timers.format()}\n`);
}

/** A run that waits for an image's lock says so, and for whom, once. */
const onWait = (message: string) => { process.stderr.write(`syslayer: ${message}\n`); };

/** Items of each list a report shows on a terminal. */
const TERMINAL_LIST = 10;

const EPILOGUE = `Examples:
  syslayer scan rootfs/                                  every ELF file, its facts and closure
  syslayer plan rootfs.tar.gz --kernel 6.1               the layer each client would get, and why not
  syslayer bind rootfs/ -o bound/ --kernel 6.1           a bound copy (or --in-place, or -o bound.tar)
  docker export c | syslayer bind - -o - | docker import -
  syslayer verify bound/                                 re-derive every bound client
  syslayer unbind bound/ -o original/                    the originals back, byte for byte
  syslayer sync --root rootfs/                           bind in place only what changed since the last run
  syslayer unbind --stdout bound/usr/bin/app | md5sum    one original, for integrity tools
  syslayer verify --packages --root R                    bound files against dpkg's sums
  syslayer hooks install --root R                        dpkg triggers that keep R bound
  syslayer report bind.json rootfs/ -o report.html       one HTML page of reports (and plans of images)
  syslayer bind --images LIST -o out/ --shard 0/4        share 0 of 4 of a list of images (docs/scale.md)
  syslayer digest rootfs.tar.gz                          the input digest and the key of a bind
  syslayer bind rootfs/ --shard 1/4 -o shard-1/          share 1 of 4 of one image's clients
  syslayer merge rootfs/ shard-*/ -o bound/              the shares joined, as bind rootfs/ -o bound/ writes it

Exit status:
  0    all went well
  1    some files failed (each is named), or the run failed as a whole (nothing was written)
  2    usage: the command line, or an input or output it cannot take
  141  the reader of the report went away (| head); the work itself was done
`;

function parseCount(value: string, flag: string, least: number): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isInteger(n) || n < least) {
    throw new UsageError(`${flag} wants ${least === 0 ? 'a whole number' : 'a positive integer'}, not '${value}'`);
  }
  return n;
}

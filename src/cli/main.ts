// The command line: parses arguments, runs a command, prints, and maps outcomes to exit codes in
// one place: 0 all well, 1 some files failed (each is named), 2 usage errors.
import { Command, CommanderError } from 'commander';
import { RunError, UsageError } from '../errors.js';
import { parseKernelOption, type KernelOption } from '../catalog/kernel-version.js';
import type { CommandResult } from '../commands/image-commands.js';
import { Progress } from '../util/progress.js';
import { Timers } from '../util/timers.js';

// Each command imports its modules when it runs: `scan` of a directory then loads neither the tar
// pipeline nor the binder and its catalog. Importing this module took 88 ms with every
// command imported up front (of a 0.75 s rootfs scan), 32 ms so, most of it commander.
const commands = () => import('../commands/image-commands.js');

export const EXIT_OK = 0;
export const EXIT_SOME_FAILED = 1;
export const EXIT_USAGE = 2;

export async function main(argv: string[]): Promise<number> {
  let exitCode = EXIT_OK;
  const program = new Command('syslayer')
    .description('Binds the ELF objects of an OS image to their system-call layers')
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) });

  program
    .command('scan')
    .description('report every ELF file of an image and its dependency closure')
    .argument('<image>', 'a directory, a tar image (plain or gzip: told by its bytes), one ELF file, or - for standard input')
    .option('--json', 'print one JSON document (schema: docs/scan-json.md)')
    .option('--perf', 'print the time of each pass on stderr')
    .option('--threads <n>', 'worker threads (default: one per core; for a directory, one per core but one, as the main thread reads files too, and none on two cores or fewer)', (v) => parsePositive(v, '--threads'))
    .action(async (image: string, opts: { json?: boolean; perf?: boolean; threads?: number }) => {
      const timers = new Timers();
      const progress = await Progress.forTerminal();
      const result = await (await commands()).scan({ input: image, kernel: { kind: 'none' }, layerDirs: [], threads: opts.threads, timers, progress });
      progress.stop();
      const report = result.report.plan.scan;
      const text = await timers.time('report', async () => opts.json
        ? `${JSON.stringify((await import('../names/path-bytes.js')).jsonWithNameBytes({ ...(await import('../report/report-header.js')).reportHeader('scan'), image: report.image, counts: report.counts, ldSoConf: report.ldSoConf, files: report.files }), null, 1)}\n`
        : `${(await import('../report/scan-text.js')).formatScanSummary(report)}\n`);
      process.stdout.write(text);
      if (opts.perf) process.stderr.write(`${timers.format()}\n`);
      exitCode = result.status;
    });

  program
    .command('inspect')
    .description('show one file in detail')
    .argument('<file>', 'an ELF file')
    .option('--json', 'print the facts as JSON')
    .action(async (file: string, opts: { json?: boolean }) => {
      const [{ inspectFile }, { formatInspect }] = await Promise.all([import('../commands/inspect.js'), import('../report/inspect-text.js')]);
      const inspection = inspectFile(file);
      const { size, record, binding } = inspection;
      process.stdout.write(opts.json ? `${JSON.stringify({ path: file, size, ...record, binding }, null, 1)}\n` : `${formatInspect(file, inspection)}\n`);
      if (record.status === 'error' || (binding && 'error' in binding)) exitCode = EXIT_SOME_FAILED;
    });

  const collect = (v: string, all: string[]) => [...all, v];
  const withRewriteOptions = (c: Command) =>
    c
      .option('--kernel <version>', 'target kernel: a.b[.c], or auto (from the image\'s lib/modules; the default of plan and bind)', parseKernelOption)
      .option('--layers <dir>', 'a directory of layer objects, searched recursively (repeatable)', collect, [] as string[])
      .option('--json', 'print the report as one JSON document (docs/report-json.md)')
      .option('--report <file>', 'also write the JSON report to a file')
      .option('--perf', 'print the time of each pass on stderr')
      .option('--threads <n>', 'worker threads (default: one per core)', (v) => parsePositive(v, '--threads'));

  type RewriteFlags = { kernel?: KernelOption; layers: string[]; json?: boolean; report?: string; perf?: boolean; threads?: number; output?: string; inPlace?: boolean };
  /** Prints the report (to standard error when the image went to standard output) and keeps the status. */
  const finish = async (result: CommandResult, opts: RewriteFlags, timers: Timers) => {
    const { formatPlan, formatRewrite, reportJson } = await import('../report/rewrite-report.js');
    const r = result.report;
    const json = (await import('../names/path-bytes.js')).jsonWithNameBytes(reportJson(r.plan, r.command === 'plan' ? null : r.outcomes, r.command));
    const text = r.command === 'plan' ? formatPlan(r.plan) : formatRewrite(r);
    (r.imageOnStandardOutput ? process.stderr : process.stdout).write(opts.json ? `${JSON.stringify(json, null, 1)}\n` : `${text}\n`);
    if (opts.report) await (await import('node:fs/promises')).writeFile(opts.report, `${JSON.stringify(json, null, 1)}\n`);
    if (opts.perf) process.stderr.write(`${timers.format()}\n`);
    exitCode = result.status;
  };
  const request = async (image: string, opts: RewriteFlags, kernel: KernelOption) => ({
    input: image, output: opts.output, inPlace: opts.inPlace, kernel, layerDirs: opts.layers, threads: opts.threads,
    timers: new Timers(), progress: await Progress.forTerminal(),
  });
  const runCommand = async (name: 'plan' | 'bind' | 'unbind' | 'verify', image: string, opts: RewriteFlags, kernel: KernelOption) => {
    const r = await request(image, opts, kernel);
    try {
      await finish(await (await commands())[name](r), opts, r.timers);
    } finally {
      r.progress.stop();
    }
  };

  program
    .command('layers')
    .description('list the layer catalog: name, machine, ABI range, kernel_min, revision, implemented slots')
    .argument('<dir...>', 'directories (or files) of layer objects')
    .option('--json', 'print JSON')
    .action(async (dirs: string[], opts: { json?: boolean }) => {
      const [{ existsSync }, { Core, compileCore }, { loadCatalog }, { formatLayers, layerSummary }] = await Promise.all([
        import('node:fs'), import('../core/core.js'), import('../catalog/catalog.js'), import('../report/rewrite-report.js')]);
      for (const d of dirs) if (!existsSync(d)) throw new UsageError(`${d}: no such file or directory`);
      const catalog = loadCatalog(new Core(compileCore()), dirs);
      process.stdout.write(opts.json ? `${JSON.stringify(catalog.map(layerSummary), null, 1)}\n` : `${formatLayers(catalog)}\n`);
      if (catalog.some((l) => l.linkErrors.size > 0)) exitCode = EXIT_SOME_FAILED;
    });

  program
    .command('bench')
    .description('run the benchmark suite (benchmarks/run.mjs) on your own directory image, beside scanelf, readelf, patchelf and cp -a')
    .argument('<image>', 'a directory image (never written to)')
    .argument('[suite-options...]', 'options of the suite, passed through: --kernel K, --layers DIR, --rounds N, --locations disk,tmpfs, --only G, --no-tar, --out FILE, --no-write')
    .allowUnknownOption()
    .action(async (image: string, suiteOptions: string[]) => {
      exitCode = await (await import('../commands/bench.js')).benchImage(image, suiteOptions);
    });

  const IMAGE = 'a directory, a tar image (plain or gzip: told by its bytes), one ELF file, or - for standard input';
  withRewriteOptions(program.command('plan').description('show what bind would do, writing nothing').argument('<image>', IMAGE))
    .action((image: string, opts: RewriteFlags) => runCommand('plan', image, opts, opts.kernel ?? { kind: 'auto' }));

  for (const command of ['bind', 'unbind'] as const) {
    withRewriteOptions(program.command(command)
      .description(command === 'bind' ? 'write the selected layer into every client' : 'restore every bound client to its original bytes')
      .argument('<image>', IMAGE))
      .option('-o, --output <path>', 'write the result here: a directory, a .tar or .tar.gz (.tgz), a file for one file, or - for a tar stream on standard output (the report then goes to standard error)')
      .option('--in-place', 'rewrite the image itself, file by file')
      .action((image: string, opts: RewriteFlags) => runCommand(command, image, opts, opts.kernel ?? (command === 'bind' ? { kind: 'auto' } : { kind: 'none' })));
  }

  withRewriteOptions(program.command('verify')
    .description('re-derive every bound client from its original and check the rule still selects its layer')
    .argument('<image>', IMAGE))
    // Without --kernel, each file is checked against the kernel its bind record names.
    .action((image: string, opts: RewriteFlags) => runCommand('verify', image, opts, opts.kernel ?? { kind: 'recorded' }));

  try {
    await program.parseAsync(argv, { from: 'user' });
    return exitCode;
  } catch (error) {
    if (error instanceof CommanderError) {
      // --help and --version end here too, with exit code 0.
      return error.exitCode === 0 ? EXIT_OK : EXIT_USAGE;
    }
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

function parsePositive(value: string, flag: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`${flag} wants a positive integer, not '${value}'`);
  return n;
}

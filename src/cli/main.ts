// The command line: parses arguments, runs a command, prints, and maps outcomes to exit codes in
// one place: 0 all well, 1 some files failed (each is named), 2 usage errors.
import { Command, CommanderError } from 'commander';
import { scanImage } from '../commands/scan.js';
import { inspectFile } from '../commands/inspect.js';
import { UsageError, imageKind, type ImageKind } from '../image/open-image.js';
import { runTar } from '../commands/tar-image.js';
import { ImageError } from '../image/tar/tar-pass.js';

const isTar = (kind: ImageKind) => kind === 'tar' || kind === 'tar.gz';
import { formatScanSummary } from '../report/scan-text.js';
import { formatInspect } from '../report/inspect-text.js';
import { Progress } from '../util/progress.js';
import { Timers } from '../util/timers.js';
import { writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { Core, compileCore } from '../core/core.js';
import { loadCatalog } from '../layers/catalog.js';
import { makePlan } from '../commands/plan.js';
import { bindImage, unbindImage, verifyImage } from '../commands/rewrite.js';
import { formatLayers, formatPlan, formatRewrite, layerSummary, reportJson } from '../report/rewrite-report.js';

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
    .argument('<image>', 'a directory image (a root file system)')
    .option('--json', 'print one JSON document (schema: docs/scan-json.md)')
    .option('--perf', 'print the time of each pass on stderr')
    .option('--threads <n>', 'worker threads (default: one per core)', (v) => parsePositive(v, '--threads'))
    .action(async (image: string, opts: { json?: boolean; perf?: boolean; threads?: number }) => {
      const timers = new Timers();
      const progress = await Progress.forTerminal();
      const report = isTar(await imageKind(image))
        ? (await runTar(image, { op: 'scan', kernel: null, layerDirs: [], output: null, threads: opts.threads, timers, progress })).plan.scan
        : await scanImage(image, { timers, progress, threads: opts.threads });
      progress.stop();
      process.stdout.write(opts.json ? `${JSON.stringify({ image: report.image, counts: report.counts, ldSoConf: report.ldSoConf, files: report.files }, null, 1)}\n` : `${formatScanSummary(report)}\n`);
      if (opts.perf) process.stderr.write(`${timers.format()}\n`);
      if (report.counts.errors > 0) exitCode = EXIT_SOME_FAILED;
    });

  program
    .command('inspect')
    .description('show one file in detail')
    .argument('<file>', 'an ELF file')
    .option('--json', 'print the facts as JSON')
    .action((file: string, opts: { json?: boolean }) => {
      const inspection = inspectFile(file);
      const { size, record, binding } = inspection;
      process.stdout.write(opts.json ? `${JSON.stringify({ path: file, size, ...record, binding }, null, 1)}\n` : `${formatInspect(file, inspection)}\n`);
      if (record.status === 'error' || (binding && 'error' in binding)) exitCode = EXIT_SOME_FAILED;
    });

  const collect = (v: string, all: string[]) => [...all, v];
  const withRewriteOptions = (c: Command) =>
    c
      .option('--kernel <version>', 'target kernel: a.b[.c], or auto (from the image\'s lib/modules; the default)')
      .option('--layers <dir>', 'a directory of layer objects, searched recursively (repeatable)', collect, [] as string[])
      .option('--json', 'print the report as one JSON document (docs/report-json.md)')
      .option('--report <file>', 'also write the JSON report to a file')
      .option('--perf', 'print the time of each pass on stderr')
      .option('--threads <n>', 'worker threads (default: one per core)', (v) => parsePositive(v, '--threads'));

  type RewriteFlags = { kernel?: string; layers: string[]; json?: boolean; report?: string; perf?: boolean; threads?: number; output?: string; inPlace?: boolean };
  const finish = async (json: unknown, text: string, opts: RewriteFlags, timers: Timers, failed: boolean) => {
    process.stdout.write(opts.json ? `${JSON.stringify(json, null, 1)}\n` : `${text}\n`);
    if (opts.report) await writeFile(opts.report, `${JSON.stringify(json, null, 1)}\n`);
    if (opts.perf) process.stderr.write(`${timers.format()}\n`);
    if (failed) exitCode = EXIT_SOME_FAILED;
  };

  program
    .command('layers')
    .description('list the layer catalog: name, machine, ABI range, kernel_min, revision, implemented slots')
    .argument('<dir...>', 'directories (or files) of layer objects')
    .option('--json', 'print JSON')
    .action((dirs: string[], opts: { json?: boolean }) => {
      for (const d of dirs) if (!existsSync(d)) throw new UsageError(`${d}: no such file or directory`);
      const catalog = loadCatalog(new Core(compileCore()), dirs);
      process.stdout.write(opts.json ? `${JSON.stringify(catalog.map(layerSummary), null, 1)}\n` : `${formatLayers(catalog)}\n`);
      if (catalog.some((l) => l.linkErrors.size > 0)) exitCode = EXIT_SOME_FAILED;
    });

  withRewriteOptions(program.command('plan').description('show what bind would do, writing nothing').argument('<image>', 'a directory image or one file'))
    .action(async (image: string, opts: RewriteFlags) => {
      const timers = new Timers();
      const progress = await Progress.forTerminal();
      const plan = isTar(await imageKind(image))
        ? (await runTar(image, { op: 'scan', kernel: opts.kernel ?? 'auto', layerDirs: opts.layers, output: null, threads: opts.threads, timers, progress })).plan
        : await makePlan(image, { kernel: opts.kernel ?? 'auto', layerDirs: opts.layers, timers, progress });
      progress.stop();
      await finish(reportJson(plan, null, 'plan'), formatPlan(plan), opts, timers, plan.clients.some((c) => c.layer === null));
    });

  for (const command of ['bind', 'unbind'] as const) {
    withRewriteOptions(program.command(command)
      .description(command === 'bind' ? 'write the selected layer into every client' : 'restore every bound client to its original bytes')
      .argument('<image>', 'a directory image or one file'))
      .option('-o, --output <path>', 'write the result here (a directory for a directory image)')
      .option('--in-place', 'rewrite the image itself, file by file')
      .action(async (image: string, opts: RewriteFlags) => {
        const timers = new Timers();
        const progress = await Progress.forTerminal();
        const o = { kernel: opts.kernel ?? 'auto', layerDirs: opts.layers, output: opts.output, inPlace: opts.inPlace === true, threads: opts.threads, timers, progress };
        const kind = await imageKind(image);
        const viaTar = isTar(kind) || (kind === 'directory' && opts.output !== undefined && /\.(tar|tar\.gz|tgz)$/.test(opts.output));
        const r = viaTar
          ? { command, ...(await runTar(image, { op: command, kernel: o.kernel, layerDirs: o.layerDirs, output: opts.output ?? null, threads: o.threads, timers, progress })) }
          : command === 'bind' ? await bindImage(image, o) : await unbindImage(image, o);
        progress.stop();
        await finish(reportJson(r.plan, r.outcomes, command), formatRewrite(r), opts, timers, r.outcomes.some((x) => x.status === 'error'));
      });
  }

  withRewriteOptions(program.command('verify')
    .description('re-derive every bound client from its original and check the rule still selects its layer')
    .argument('<image>', 'a directory image or one file'))
    .action(async (image: string, opts: RewriteFlags) => {
      const timers = new Timers();
      const progress = await Progress.forTerminal();
      // Without --kernel, each file is checked against the kernel its bind record names.
      const kernel = opts.kernel ?? 'recorded';
      const r = isTar(await imageKind(image))
        ? { command: 'verify' as const, ...(await runTar(image, { op: 'verify', kernel, layerDirs: opts.layers, output: null, threads: opts.threads, timers, progress })) }
        : await verifyImage(image, { kernel, layerDirs: opts.layers, threads: opts.threads, timers, progress });
      progress.stop();
      await finish(reportJson(r.plan, r.outcomes, 'verify'), formatRewrite(r), opts, timers, r.outcomes.some((x) => x.status === 'error'));
    });

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
    if (error instanceof ImageError) {
      // The image as a whole was refused (a hostile entry, a corrupt archive): nothing was written.
      process.stderr.write(`syslayer: ${error.message}\n`);
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

// The command line: parses arguments, runs a command, prints, and maps outcomes to exit codes in
// one place: 0 all well, 1 some files failed (each is named), 2 usage errors.
import { Command, CommanderError } from 'commander';
import { scanImage } from '../commands/scan.js';
import { inspectFile } from '../commands/inspect.js';
import { UsageError } from '../image/open-image.js';
import { formatScanSummary } from '../report/scan-text.js';
import { formatInspect } from '../report/inspect-text.js';
import { Progress } from '../util/progress.js';
import { Timers } from '../util/timers.js';

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
      const report = await scanImage(image, { timers, progress: await Progress.forTerminal(), threads: opts.threads });
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
      const { size, record } = inspectFile(file);
      process.stdout.write(opts.json ? `${JSON.stringify({ path: file, size, ...record }, null, 1)}\n` : `${formatInspect(file, size, record)}\n`);
      if (record.status === 'error') exitCode = EXIT_SOME_FAILED;
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
    throw error;
  }
}

function parsePositive(value: string, flag: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`${flag} wants a positive integer, not '${value}'`);
  return n;
}

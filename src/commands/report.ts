// `syslayer report INPUT... -o FILE.html`: each INPUT is a JSON report of scan, plan, bind,
// unbind, verify or sync (docs/report-json.md), a benchmark suite's results, or an image (what
// `plan` takes: a directory, a tarball, a container image, one ELF file), which is planned here
// with --kernel and --layers (the pipeline's own plan) so the page can say why each layer was
// chosen. A file is taken for a report when it starts with `{` or `[`.
import { closeSync, openSync, readFileSync, readSync, statSync, writeFileSync } from 'node:fs';
import type { KernelOption } from '../catalog/kernel-version.js';
import { RunError, UsageError } from '../errors.js';
import { jsonWithNameBytes } from '../names/path-bytes.js';
import { runPipeline } from '../pipeline/run.js';
import { reportKind } from '../report/report-kind.js';
import { reportJson } from '../report/rewrite-report.js';
import { scanJson } from '../report/scan-json.js';
import { reportPage, type PageInput } from '../report/web-report.js';
import { Progress } from '../util/progress.js';
import { Timers } from '../util/timers.js';

export interface ReportRequest {
  inputs: readonly string[];
  output: string;
  kernel: KernelOption;
  layerDirs: readonly string[];
}

export interface ReportResult {
  /** How many inputs the page shows, and which of them were images planned here. */
  shown: number;
  planned: string[];
}

/** Whether a file's first byte that is not white space opens a JSON object or array. */
function looksLikeJson(input: string): boolean {
  const fd = openSync(input, 'r');
  try {
    const head = Buffer.alloc(512);
    const n = readSync(fd, head, 0, head.length, 0);
    const first = head.subarray(0, n).toString('latin1').trimStart()[0];
    return first === '{' || first === '[';
  } finally {
    closeSync(fd);
  }
}

/** An image (directory, tar, container image, one ELF file) planned with the pipeline's own plan. */
async function plannedImage(input: string, kernel: KernelOption, layerDirs: readonly string[]): Promise<PageInput> {
  const r = await runPipeline({ command: 'plan', input, kernel, layerDirs, timers: new Timers(), progress: Progress.silent() });
  return { name: input, report: jsonWithNameBytes(reportJson(r.plan, null, 'plan', r.warnings)), scan: jsonWithNameBytes(scanJson(r.plan.scan)) };
}

/** One input as the page gets it: a report read and checked, or an image planned now. */
async function pageInput(input: string, kernel: KernelOption, layerDirs: readonly string[]): Promise<PageInput & { planned: boolean }> {
  let isDirectory: boolean;
  try {
    isDirectory = statSync(input).isDirectory();
  } catch (error) {
    throw new UsageError(`report: ${input}: ${(error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file or directory' : (error as Error).message}`);
  }
  if (isDirectory || !looksLikeJson(input)) {
    try {
      return { ...await plannedImage(input, kernel, layerDirs), planned: true };
    } catch (error) {
      // The image detector names what it saw; say too that it is not a report either.
      if (error instanceof UsageError && !isDirectory) throw new UsageError(`report: neither a syslayer JSON report nor an image: ${error.message}`);
      throw error;
    }
  }
  let doc: unknown;
  try {
    doc = JSON.parse(readFileSync(input, 'utf8'));
  } catch (error) {
    throw new UsageError(`report: ${input}: not a syslayer JSON report (scan, plan, bind, verify --json, benchmark results): ${(error as Error).message}`);
  }
  const kind = reportKind(doc);
  if (!kind.ok) throw new UsageError(`report: ${input}: ${kind.why}`);
  return { name: input, report: doc, planned: false };
}

export async function report(r: ReportRequest): Promise<ReportResult> {
  const inputs: PageInput[] = [];
  const planned: string[] = [];
  for (const input of r.inputs) {
    const { planned: wasPlanned, ...one } = await pageInput(input, r.kernel, r.layerDirs);
    if (wasPlanned) planned.push(input);
    inputs.push(one);
  }
  try {
    writeFileSync(r.output, reportPage(inputs));
  } catch (error) {
    throw new RunError(`cannot write the page to ${r.output}: ${(error as Error).message}`);
  }
  return { shown: inputs.length, planned };
}

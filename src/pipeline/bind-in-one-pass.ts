// `syslayer bind` of a directory image, in place or to a new directory, in one pass over its
// files. The kernel and the catalog do not depend on the image's ELF files, so they come first;
// then each worker opens each file of its batch once, scans it, and binds a client the decision
// binds from the bytes the scan read, writing it where the sink says (pass-sink.ts). The plan —
// the report's facts, closures and mixed-ABI programs — is built from what the pass found, as a
// scan would have, while the sink completes the output.
//
// Before this, bind planned the whole image first (every file read, closures resolved) and then
// read each client again: 10,000 small clients in place took 2.4 s, where patchelf, growing the
// same files in one process, took 0.7 s.
import type { ScanOutcome } from '../core/facts.js';
import type { Layer } from '../catalog/catalog.js';
import { imageCatalog, planFor, resolveKernel, type Plan } from './plan.js';
import { removeLeftovers, type LocalInput, type RewriteOptions } from './rewrite-directory.js';
import { passRunner, passWorkers, type PassRunner } from './pass-runner.js';
import type { PassSink } from './pass-sink.js';
import { inPlaceSink } from './pass-in-place.js';
import { copySink } from './pass-to-copy.js';
import type { ImageTree } from './image-tree.js';
import { directoryTree } from '../sources/directory.js';
import { imageFiles, imageReader, scanReportFrom } from '../classify/scan-directory.js';
import { readLdSoConf } from '../closure/ld-so-conf.js';
import { batches } from '../pool/batches.js';
import type { FilePassResult } from '../transform/file-pass.js';
import type { FileOutcome } from '../transform/file-operations.js';

/** `shard`: only the bound clients, under `path` (bind --shard of one image, pass-to-shard.ts). */
export type OnePassOutput = { kind: 'in-place' } | { kind: 'directory'; path: string } | { kind: 'shard'; path: string };

/**
 * Which of the image's files the pass reads, chosen once the target kernel and the catalog are
 * known: `sync` (living/sync.ts) passes only those that changed since its last run, or all of
 * them when the kernel or the catalog did. Without a scope, every file.
 */
export type PassScope = (files: readonly string[], target: { kernel: number; catalog: readonly Layer[] }) => readonly string[];

/** Whether this run takes the one pass: a directory image, bound in place or to a directory. */
export function takesOnePass(input: LocalInput, output: RewriteOptions['output']): output is RewriteOptions['output'] & OnePassOutput {
  return input.kind === 'directory' && (output.kind === 'in-place' || output.kind === 'directory');
}

export async function bindInOnePass(input: LocalInput, o: Omit<RewriteOptions, 'output'> & { output: OnePassOutput; scope?: PassScope }): Promise<{ plan: Plan; outcomes: FileOutcome[]; warnings: string[] }> {
  const image = input.path;
  // The workers, if any, start (load their modules, instantiate the core) while the tree is walked.
  const runner = await passRunner(passWorkers(o.threads, o.output.kind === 'directory'));
  try {
    return await bindWith(runner, image, o);
  } finally {
    await runner.close();
  }
}

async function bindWith(runner: PassRunner, image: string, o: Omit<RewriteOptions, 'output'> & { output: OnePassOutput; scope?: PassScope }): Promise<{ plan: Plan; outcomes: FileOutcome[]; warnings: string[] }> {
  o.progress.update('walking the tree: listing directories');
  const tree = directoryTree(image);
  const leftovers: string[] = [];
  const everyFile = await o.timers.time('walk', () => [...imageFiles(image, tree, leftovers)].flat());
  const { kernel, kernelText } = resolveKernel(o.kernel, image, tree);
  const catalog = await o.timers.time('catalog', () => imageCatalog(() => runner.core, o.layerDirs, image));
  const targetKernel = kernel!; // bind always has one
  const files = o.scope ? await o.timers.time('scope', () => o.scope!(everyFile, { kernel: targetKernel, catalog })) : everyFile;

  let sink: PassSink;
  if (o.output.kind === 'in-place') {
    removeLeftovers(image, leftovers);
    sink = inPlaceSink(image, (stage, paths) => runner.renameStaged(image, stage, paths), o.timers);
  } else if (o.output.kind === 'shard') {
    sink = (await import('./pass-to-shard.js')).shardSink(image, o.output.path);
  } else {
    sink = copySink(image, tree, leftovers, o.output.path, o.timers);
  }

  // Only root can give a file to another user: anyone else's copy or new file is theirs.
  const runAs = process.geteuid === undefined || process.geteuid() === 0 ? null : process.geteuid();
  let results: FilePassResult[];
  try {
    let done = 0;
    let bound = 0;
    results = await o.timers.time('bind', () => Promise.all(batches(files).map(async (paths) => {
      const r = await runner.pass({ root: image, paths, to: sink.to, catalog, targetKernel, listPlain: sink.listPlain, runAs });
      sink.batchDone(r);
      o.progress.update(`binding: ${(done += paths.length)} of ${files.length} files read, ${(bound += r.outcomes.length)} clients`);
      return r;
    })));
  } catch (error) {
    await sink.abandon();
    throw error;
  }

  let plan: Plan | null = null;
  o.progress.update(o.output.kind === 'in-place' ? 'finishing: file attributes, then the renames' : 'finishing: waiting for the copy (cp) and the directories (tar)');
  const linked = await sink.finish(
    results.flatMap((r) => r.linked),
    (to, jobs) => runner.bind(image, to, catalog, targetKernel, jobs),
    async () => {
      // While the sink's helpers finish: the report's facts, closures and decisions.
      plan = await planFrom(image, tree, results, leftovers, { kernel, kernelText, catalog }, o);
    },
  );
  const planned: Plan = plan!;
  const refused: FileOutcome[] = planned.clients.filter((c) => c.layer === null).map((c) => ({ path: c.path, status: 'error', error: c.error! }));
  const outcomes = [...results.flatMap((r) => r.outcomes), ...linked, ...refused];
  const othersOwn = results.reduce((n, r) => n + r.othersOwn, 0);
  const warnings = othersOwn === 0 ? [] : [ownersNotKept(othersOwn, o.output)];
  return { plan: planned, outcomes: outcomes.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0)), warnings };
}

function ownersNotKept(files: number, output: OnePassOutput): string {
  const what = output.kind === 'in-place' ? `${files} rewritten files that other users owned are now yours` : `${files} files that other users own are yours in the copy (and so are its directories)`;
  return `not running as root, owners cannot be kept: ${what}. A tarball keeps them (-o image.tar), or run as root`;
}

/** The plan a scan and plan of the image would have made, from what the pass found. */
async function planFrom(image: string, tree: ImageTree, results: FilePassResult[], leftovers: string[],
  k: { kernel: number | null; kernelText: string; catalog: Plan['catalog'] }, o: Pick<RewriteOptions, 'timers'>): Promise<Plan> {
  const scanned: ScanOutcome[] = results.flatMap((r) => r.scanned);
  const other = results.reduce((n, r) => n + r.other, 0);
  const ldSoConf = await readLdSoConf(tree, imageReader(image));
  const scan = await o.timers.time('closure', () => ({ ...scanReportFrom(image, tree, ldSoConf, scanned, other), leftovers }));
  return planFor({ image, root: image, single: false, ...k, scan }, new Map(results.flatMap((r) => r.decisions)));
}

// `bind IMAGE --shard i/n -o SHARDOUT`: share i of n of one image's clients (docs/scale.md). The
// one pass of `bind` runs over the files of the share only (hardlink groups together) and writes
// the share's bound clients, nothing else, under SHARDOUT/files/; SHARDOUT/manifest.json holds the
// key of the unsharded bind, the shard's place, and every outcome of its clients, for `merge`.
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join, resolve } from 'node:path';
import { UsageError } from '../errors.js';
import type { KernelOption } from '../catalog/kernel-version.js';
import { detectInput } from '../sources/detect.js';
import { outputFormatOf } from '../tar/compression.js';
import { commitWork, workBeside } from '../sinks/work-beside.js';
import { inputDigest } from '../scale/input-digest.js';
import { ownFormat, runKey } from '../scale/run-key.js';
import { FILES, MANIFEST, newManifest, shareScope, type ShardManifest } from '../scale/client-shard.js';
import type { Shard } from '../scale/shard.js';
import { catalogDigest } from '../living/image-state.js';
import { fsPath } from '../names/path-bytes.js';
import { wasWritten } from '../transform/file-operations.js';
import type { RunReport } from '../pipeline/run.js';
import type { Timers } from '../util/timers.js';
import type { Progress } from '../util/progress.js';
import type { CommandResult } from './image-commands.js';

export interface ShardRequest {
  input: string;
  output: string;
  shard: Shard;
  kernel: KernelOption;
  layerDirs: readonly string[];
  threads?: number;
  timers: Timers;
  progress: Progress;
}

export async function bindShard(r: ShardRequest): Promise<CommandResult & { manifest: ShardManifest }> {
  for (const d of r.layerDirs) if (!existsSync(d)) throw new UsageError(`--layers ${d}: no such file or directory`);
  const input = detectInput(r.input);
  if (input.kind !== 'directory') {
    throw new UsageError(`${r.input}: bind --shard of one image takes a directory image (a tarball or a container image is bound whole, or many of them with --images)`);
  }
  if (r.output === '-' || outputFormatOf(r.output).kind !== 'other') throw new UsageError(`-o ${r.output}: a shard result is a directory`);
  if (resolve(r.output) === resolve(input.path)) throw new UsageError(`-o ${r.output} is the input itself`);
  const { key, parts } = await r.timers.time('key', async () => runKey(await inputDigest(input), { layerDirs: r.layerDirs, kernel: r.kernel, output: ownFormat(input) }));
  const final = resolve(r.output);
  const work = workBeside(final);
  mkdirSync(work);
  try {
    const { bindInOnePass } = await import('../pipeline/bind-in-one-pass.js');
    const done = await bindInOnePass(input, {
      kernel: r.kernel, layerDirs: r.layerDirs, threads: r.threads, timers: r.timers, progress: r.progress,
      output: { kind: 'shard', path: join(work, FILES) }, scope: shareScope(input.path, r.shard),
    });
    // A hardlinked client's bytes are under its first name only; its other names share them.
    const files = done.outcomes.filter(wasWritten).map((o) => o.path).filter((p) => existsSync(fsPath(join(work, FILES, p))))
      .map((path) => ({ path, sha256: createHash('sha256').update(readFileSync(fsPath(join(work, FILES, path)))).digest('hex') }));
    const manifest = newManifest({ key, keyParts: parts, shard: r.shard, image: r.input, kernel: done.plan.kernel, catalog: catalogDigest(done.plan.catalog), outcomes: done.outcomes, files });
    writeFileSync(join(work, MANIFEST), `${JSON.stringify(manifest, null, 1)}\n`);
    commitWork(work, final);
    const report: RunReport = { command: 'bind', plan: done.plan, outcomes: done.outcomes, imageOnStandardOutput: false, warnings: done.warnings };
    return { report, status: done.outcomes.some((o) => o.status === 'error') ? 1 : 0, manifest };
  } catch (error) {
    rmSync(work, { recursive: true, force: true });
    throw error;
  }
}

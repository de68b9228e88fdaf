// `bind IMAGE --shard i/n -o SHARDOUT`: share i of n of one image's clients (docs/scale.md). bind's
// own pass runs over the files of the share only (hardlink groups together) and writes the share's
// bound clients, nothing else, under SHARDOUT/files/; SHARDOUT/manifest.json holds the key of the
// unsharded bind, the shard's place, and every outcome of its clients, for `merge`.
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join, resolve } from 'node:path';
import { UsageError } from '../errors.js';
import type { KernelOption } from '../catalog/kernel-version.js';
import { detectInput } from '../sources/detect.js';
import { outputFormatOf } from '../tar/compression.js';
import { commitWork, workBeside } from '../sinks/work-beside.js';
import { inputDigest } from '../scale/input-digest.js';
import { layerDigests, runKey } from '../scale/run-key.js';
import { ownFormat } from '../scale/own-format.js';
import { FILES, MANIFEST, newManifest, shareScope, type ShardManifest } from '../scale/client-shard.js';
import { inShard, type Shard } from '../scale/shard.js';
import { catalogDigest } from '../living/image-state.js';
import { encodeName, fsPath } from '../names/path-bytes.js';
import { writeNewFileAt } from '../sinks/file-writers.js';
import { wasWritten } from '../transform/file-operations.js';
import type { RunReport } from '../pipeline/run.js';
import type { Timers } from '../util/timers.js';
import type { Progress } from '../util/progress.js';
import type { CommandResult } from './image-commands.js';
import { checkLayerDirs } from '../catalog/layer-dirs.js';

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
  checkLayerDirs(r.layerDirs);
  const input = detectInput(r.input);
  if (input.kind !== 'directory' && input.kind !== 'tar') {
    throw new UsageError(`${r.input}: bind --shard of one image takes a directory or a tar image (${input.kind === 'container' ? 'a container image is bound whole, or many of them with --images' : 'one file is not shared out'})`);
  }
  if (r.output === '-' || outputFormatOf(r.output).kind !== 'other') throw new UsageError(`-o ${r.output}: a shard result is a directory`);
  if (resolve(r.output) === resolve(input.path)) throw new UsageError(`-o ${r.output} is the input itself`);
  const { key, parts } = await r.timers.time('key', async () => runKey(await inputDigest(input), { layers: layerDigests(r.layerDirs), kernel: r.kernel, output: ownFormat(input) }));
  const final = resolve(r.output);
  const work = workBeside(final);
  mkdirSync(work);
  try {
    const common = { kernel: r.kernel, layerDirs: r.layerDirs, threads: r.threads, timers: r.timers, progress: r.progress };
    const files = join(work, FILES);
    // A directory: bind's one pass over the share's files. A tarball: bind's tar pass, with only
    // the share's entries sent to the workers, and no output but the bound bytes.
    const done = input.kind === 'directory'
      ? await (await import('../pipeline/bind-in-one-pass.js')).bindInOnePass(input, { ...common, output: { kind: 'shard', path: files }, scope: shareScope(input.path, r.shard) })
      : { warnings: [], ...await (await import('../pipeline/rewrite-stream.js')).runTar(input, { kind: 'none' }, {
        ...common, op: 'bind', share: (path) => inShard(encodeName(path), r.shard), kept: (path, bytes) => writeNewFileAt(files, path, bytes) }) };
    // A hardlinked client's bytes are under its first name only; its other names share them.
    const written = done.outcomes.filter(wasWritten).map((o) => o.path).filter((p) => existsSync(fsPath(join(files, p))))
      .map((path) => ({ path, sha256: createHash('sha256').update(readFileSync(fsPath(join(files, path)))).digest('hex') }));
    const manifest = newManifest({ key, keyParts: parts, shard: r.shard, image: r.input, kernel: done.plan.kernel, catalog: catalogDigest(done.plan.catalog), outcomes: done.outcomes, files: written });
    writeFileSync(join(work, MANIFEST), `${JSON.stringify(manifest, null, 1)}\n`);
    commitWork(work, final);
    const report: RunReport = { command: 'bind', plan: done.plan, outcomes: done.outcomes, imageOnStandardOutput: false, warnings: done.warnings };
    return { report, status: done.outcomes.some((o) => o.status === 'error') ? 1 : 0, manifest };
  } catch (error) {
    rmSync(work, { recursive: true, force: true });
    throw error;
  }
}

// `syslayer merge IMAGE SHARD... -o OUT`: the shard results of one image joined into OUT, as
// `bind IMAGE -o OUT` writes it (docs/scale.md). Everything is checked before anything is
// written: every shard of one run (one key, one n), shards 0..n-1 each present once, each bound
// file as its manifest says, and the image and this command's options still giving that key. Then
// OUT is built beside its name as the copy sink builds it — the image copied (`cp -a`), the
// bound clients' bytes put in (every name of a hardlinked one sees them), their attributes copied
// from the input, the image's state recorded under var/lib/syslayer/ — and renamed into place.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { RunError, UsageError } from '../errors.js';
import type { KernelOption } from '../catalog/kernel-version.js';
import { detectInput } from '../sources/detect.js';
import { inputDigest } from '../scale/input-digest.js';
import { canonicalJson, layerDigests, runKey, type KeyParts } from '../scale/run-key.js';
import { describeFormat, inOwnFormat, ownFormat } from '../scale/own-format.js';
import { chooseOutput } from '../sinks/choose-output.js';
import { FILES, readManifest, type ShardManifest } from '../scale/client-shard.js';
import { prepareOutput } from '../sinks/directory-copy.js';
import { copyAttributes, rewriteFile } from '../sinks/file-writers.js';
import { fsPath } from '../names/path-bytes.js';
import type { FileOutcome } from '../transform/file-operations.js';
import type { Timers } from '../util/timers.js';
import type { Progress } from '../util/progress.js';
import type { ExitStatus } from './image-commands.js';
import { checkLayerDirs } from '../catalog/layer-dirs.js';

export interface MergeRequest {
  image: string;
  shards: readonly string[];
  output: string;
  kernel: KernelOption;
  layerDirs: readonly string[];
  timers: Timers;
  progress: Progress;
}

export interface MergeResult {
  key: string;
  count: number;
  /** Bound files put in (a hardlinked client once). */
  written: number;
  outcomes: FileOutcome[];
  status: ExitStatus;
}

/** The parts of two keys that differ, by name: what to fix. */
function differingParts(a: KeyParts, b: KeyParts): string {
  const names = (Object.keys(a) as (keyof KeyParts)[]).filter((k) => canonicalJson(a[k]) !== canonicalJson(b[k]));
  return names.length > 0 ? names.join(', ') : 'nothing named (another key format)';
}

/** The shard results, checked to be the n shares of one run, by index. */
function shardsOfOneRun(dirs: readonly string[]): { dir: string; m: ShardManifest }[] {
  const shards = dirs.map((dir) => ({ dir, m: readManifest(dir) }));
  const [first] = shards;
  const n = first!.m.shard.count;
  const byIndex = new Map<number, string>();
  for (const { dir, m } of shards) {
    if (m.shard.count !== n) throw new RunError(`${dir} is shard ${m.shard.index}/${m.shard.count} but ${first!.dir} is shard ${first!.m.shard.index}/${n}: they are not shares of one run`);
    if (m.key !== first!.m.key) throw new RunError(`${dir} and ${first!.dir} have different keys (${m.key}, ${first!.m.key}; they differ in ${differingParts(m.keyParts, first!.m.keyParts)}): they are not shares of one run`);
    const other = byIndex.get(m.shard.index);
    if (other !== undefined) throw new RunError(`${other} and ${dir} are both shard ${m.shard.index}/${n}: give each shard once`);
    byIndex.set(m.shard.index, dir);
  }
  const missing = Array.from({ length: n }, (_, i) => i).filter((i) => !byIndex.has(i));
  if (missing.length > 0) throw new RunError(`shard${missing.length > 1 ? 's' : ''} ${missing.map((i) => `${i}/${n}`).join(', ')} missing: merge needs every shard, 0/${n} to ${n - 1}/${n}`);
  return shards.sort((a, b) => a.m.shard.index - b.m.shard.index);
}

/** Each bound file of the shards, read and checked against its manifest's sha256. */
function checkFiles(shards: { dir: string; m: ShardManifest }[]): void {
  for (const { dir, m } of shards) {
    for (const f of m.files) {
      const file = join(dir, FILES, f.path);
      let sha: string;
      try {
        sha = createHash('sha256').update(readFileSync(fsPath(file))).digest('hex');
      } catch (error) {
        throw new RunError(`${dir}: cannot read the bound file ${f.path}: ${(error as Error).message}`);
      }
      if (sha !== f.sha256) throw new RunError(`${dir}: ${FILES}/${f.path} has sha256 ${sha}, its manifest says ${f.sha256}: the shard result was changed`);
    }
  }
}

export async function mergeShards(r: MergeRequest): Promise<MergeResult> {
  checkLayerDirs(r.layerDirs);
  const input = detectInput(r.image);
  if (input.kind !== 'directory' && input.kind !== 'tar') throw new UsageError(`${r.image}: merge joins the shards of a directory or tar image`);
  if (r.output === '-') throw new UsageError('-o -: merge writes a file or a directory');
  const output = chooseOutput(true, input, r.output, false);
  if (!inOwnFormat(input, output)) throw new UsageError(`-o ${r.output}: the image is ${describeFormat(input)}, and merge writes it in its own format (as the shards' key says)`);
  if (r.shards.length === 0) throw new UsageError('merge: name the shard results to join');

  const shards = shardsOfOneRun(r.shards);
  const made = shards[0]!.m;
  const { key, parts } = await r.timers.time('key', async () => runKey(await inputDigest(input), { layers: layerDigests(r.layerDirs), kernel: r.kernel, output: ownFormat(input) }));
  if (parts.input.digest !== made.keyParts.input.digest) {
    throw new RunError(`${r.image}: its input digest is ${parts.input.digest}, the shards were made from an image whose digest is ${made.keyParts.input.digest}: it changed since, or is another image`);
  }
  if (key !== made.key) throw new RunError(`the shards were made with other options than this merge (they differ in ${differingParts(parts, made.keyParts)}): give merge the --kernel and --layers the shards had`);
  await r.timers.time('check shard files', async () => checkFiles(shards));

  const outcomes = shards.flatMap((s) => s.m.outcomes);
  if (input.kind === 'tar') {
    // bind's tar pass, each shard's bound entries put in as they are and every other entry passed
    // through, as bind passes what it does not bind: the output is the unsharded bind's by
    // construction (every other byte is the input's, compressed alike).
    const bound = new Map(shards.flatMap(({ dir, m }) => m.files.map((f) => [f.path, join(dir, FILES, f.path)] as const)));
    const { runTar } = await import('../pipeline/rewrite-stream.js');
    await r.timers.time('tar pass', () => runTar(input, output, { op: 'bind', kernel: { kind: 'version', version: made.kernel }, layerDirs: [], timers: r.timers, progress: r.progress,
      prebound: { has: (path) => bound.has(path), bytes: (path) => readFileSync(fsPath(bound.get(path)!)) } }));
  } else {
    await writeDirectory(input.path, r, shards, made, outcomes);
  }
  const sorted = outcomes.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return { key, count: shards.length, written: shards.reduce((n, s) => n + s.m.files.length, 0), outcomes: sorted, status: sorted.some((o) => o.status === 'error') ? 1 : 0 };
}

/** OUT as the copy sink of bind's one pass builds it, from the image and the shards' bound files. */
async function writeDirectory(image: string, r: MergeRequest, shards: { dir: string; m: ShardManifest }[], made: ShardManifest, outcomes: FileOutcome[]): Promise<void> {
  const target = prepareOutput(image, false, { kind: 'directory', path: r.output });
  try {
    await r.timers.time('copy', () => target.ready);
    const paths = shards.flatMap(({ dir, m }) => m.files.map((f) => {
      // The copy keeps hardlinks: rewriting one name's inode gives the new bytes to all of them.
      rewriteFile(join(target.work, f.path), readFileSync(fsPath(join(dir, FILES, f.path))));
      return f.path;
    }));
    await r.timers.time('attributes', () => copyAttributes(image, target.work, paths));
    await r.timers.time('record state', async () => {
      const living = await import('../living/sync.js');
      // As a bind's run records it (pipeline/run.ts): the times of the directories above the
      // state directory noted first and put back last.
      const times = living.noteDirectoryTimes(target.work);
      living.recordCopy(image, target.work, { kernel: made.kernel, catalog: made.catalog, outcomes });
      times.restore();
    });
    target.commit();
  } catch (error) {
    await target.abandon();
    throw error;
  }
}

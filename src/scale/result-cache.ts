// Results kept by key (`--cache DIR`, docs/scale.md): `DIR/<key hex>/result` (the output: a
// directory or a file, as bind wrote it) and `DIR/<key hex>/report.json` (its bind report). An
// entry is made beside its final name and renamed there whole, so a reader never sees half of one,
// and n shards sharing one cache on a network file system race harmlessly: the first rename wins.
// An entry left half-made by a killed run stays under its work name (`.<key>.syslayer-tmp-…`),
// which lookups never see; delete such names when no run is storing.
// Copies in and out are `cp -a --reflink=auto`: a reflink shares blocks until either side is
// written. Hardlinks would share inodes, and a later `bind --in-place` of an output (or `sync`)
// would then rewrite the cache's copy too.
import { existsSync, lstatSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import { startHelper } from '../util/helper-process.js';
import { commitWork, workBeside } from '../sinks/work-beside.js';

const RESULT = 'result';
const REPORT = 'report.json';

const entryOf = (cache: string, key: string) => join(cache, key.replace(/^sha256:/, ''));

/** `cp -a --reflink=auto from to` (to must not exist); the copy dies with this process. */
function copyResult(from: string, to: string): Promise<void> {
  return startHelper(['cp', '-a', '--reflink=auto', '--', from, to], `copy ${from} to ${to}`, { stdio: ['ignore', 'ignore', 'pipe'], orphanSafe: true }).exited;
}

/** `from` copied to `final` through a work name beside it, renamed at the end. */
export async function copyInto(from: string, final: string): Promise<void> {
  const work = workBeside(final);
  try {
    await copyResult(from, work);
    commitWork(work, final);
  } catch (error) {
    rmSync(work, { recursive: true, force: true });
    throw error;
  }
}

/** A file written under a work name and renamed: a reader sees the old one or the new one. */
export function writeFileWhole(final: string, text: string): void {
  const work = workBeside(final);
  writeFileSync(work, text);
  renameSync(work, final);
}

export interface CachedResult {
  result: string;
  report: string;
}

/** The cache's entry for `key`, when it holds a whole one. */
export function lookUp(cache: string, key: string): CachedResult | null {
  const dir = entryOf(cache, key);
  const result = join(dir, RESULT);
  const report = join(dir, REPORT);
  return existsSync(report) && lstatSync(result, { throwIfNoEntry: false }) ? { result, report } : null;
}

/**
 * Keeps `output` and its report under `key`, unless the cache has it already. The work name is
 * this process's own on any machine (host, pid, a random part), and other work names are left
 * alone: shards on several machines may be storing the same key into one cache at this moment.
 */
export async function store(cache: string, key: string, output: string, report: string): Promise<void> {
  mkdirSync(cache, { recursive: true });
  const final = entryOf(cache, key);
  if (existsSync(final)) return;
  const work = join(cache, `.${basename(final)}.syslayer-tmp-${hostname()}-${process.pid}-${randomBytes(4).toString('hex')}`);
  try {
    mkdirSync(work);
    await copyResult(output, join(work, RESULT));
    writeFileSync(join(work, REPORT), report);
    try {
      renameSync(work, final);
    } catch (error) {
      // Another process stored the same key meanwhile: same key, same bytes.
      if (!existsSync(final)) throw error;
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

export const readReport = (path: string) => JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;

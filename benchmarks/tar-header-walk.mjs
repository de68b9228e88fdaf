#!/usr/bin/env node
// The catalog pass over a plain tar file: the header walk (src/tar/header-walk.ts, reading
// headers and seeking past data) against reading every byte (a bare read of the whole file, the
// floor of any streaming reader, and tar-stream, which the tar pass used until it passed bytes through itself) and GNU `tar -t` (which
// seeks too). Prints wall time per method (median and best of --rounds) and CPU time, with read()
// calls and bytes read for the walk at several read-ahead sizes. Not a test: figures to watch.
//
//   node benchmarks/tar-header-walk.mjs [TARBALL] [--rounds N] [--cold]
//
// TARBALL defaults to /work/cache/rootfs-bookworm.tar (only read), else a tarball of /usr built
// once in /tmp. --cold evicts the tarball's pages from the page cache before every run (GNU dd's
// iflag=nocache; the file is not written) to time reads from disk, and prints what each run made
// the kernel fetch (its read-ahead included: /sys/block/*/queue/read_ahead_kb); without it the
// file is read once first and every run reads it from memory. Build first (npm run build): it imports dist/.
import fs from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import { execFileSync, spawnSync } from 'node:child_process';
import { createReadStream, existsSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { pipeline } from 'node:stream/promises';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const flag = (name) => args.includes(name);
const option = (name, fallback) => (args.includes(name) ? args[args.indexOf(name) + 1] : fallback);
const rounds = Number(option('--rounds', 5));
const cold = flag('--cold');
const positional = args.filter((a, i) => !a.startsWith('--') && !(i > 0 && args[i - 1] === '--rounds'));

function defaultTarball() {
  const cached = '/work/cache/rootfs-bookworm.tar';
  if (existsSync(cached)) return cached;
  const built = '/tmp/syslayer-usr.tar';
  if (!existsSync(built)) {
    console.error(`building ${built} from /usr (once)...`);
    spawnSync('tar', ['--format=pax', '-C', '/', '-cf', built, 'usr'], { stdio: 'inherit' });
  }
  return built;
}
const tarball = positional[0] ?? defaultTarball();
const bytes = statSync(tarball).size;

// Count the walk's reads: the module calls fs.readSync through its named import, which
// syncBuiltinESMExports() points at this wrapper.
const realReadSync = fs.readSync;
const reads = { calls: 0, bytes: 0 };
fs.readSync = (...a) => {
  const n = realReadSync(...a);
  reads.calls++;
  reads.bytes += n;
  return n;
};
syncBuiltinESMExports();
const { walkTarHeaders } = await import(pathToFileURL(join(root, 'dist/src/tar/header-walk.js')).href);
const tarStream = (await import('tar-stream')).default;

/** Bytes this process has made the kernel fetch from storage (Linux /proc/self/io). */
const fromDisk = () => {
  if (!existsSync('/proc/self/io')) return 0;
  const fd = fs.openSync('/proc/self/io', 'r');
  const buf = Buffer.alloc(4096);
  const n = realReadSync(fd, buf, 0, buf.length, null); // not counted among the walk's reads
  fs.closeSync(fd);
  return Number(/read_bytes: (\d+)/.exec(buf.toString('latin1', 0, n))?.[1] ?? 0);
};
const evict = () => execFileSync('dd', [`if=${tarball}`, 'iflag=nocache', 'count=0'], { stdio: 'ignore' });

/** What the catalog pass reads whole: the image's layers and its ld.so.conf files. */
const wanted = (name) => /^(\.\/)?(usr\/lib\/syslayer\/layers\/[^/]+|etc\/ld\.so\.conf(\.d\/[^/]+)?)$/.test(name.toString('latin1'));

function walk(readAhead, readWanted) {
  let entries = 0;
  let read = 0;
  for (const e of walkTarHeaders(tarball, { readAhead })) {
    entries++;
    if (readWanted && e.type === 'file' && wanted(e.name)) read += e.read().length;
  }
  return { entries, read };
}

function wholeFile() {
  const fd = fs.openSync(tarball, 'r');
  const buf = Buffer.allocUnsafe(1 << 20);
  let total = 0;
  for (let n; (n = realReadSync(fd, buf, 0, buf.length, null)) > 0; ) total += n;
  fs.closeSync(fd);
  return { entries: null, read: total };
}

async function tarStreamPass() {
  const extract = tarStream.extract();
  const done = pipeline(createReadStream(tarball), extract);
  done.catch(() => {});
  let entries = 0;
  for await (const entry of extract) {
    entries++;
    entry.resume();
  }
  await done;
  return { entries, read: bytes };
}

function gnuList() {
  const r = spawnSync('tar', ['-tf', tarball], { maxBuffer: 1 << 30 });
  return { entries: r.stdout.toString('latin1').split('\n').length - 1, read: null };
}

/** Runs every method once per round, in a rotated order (a load that comes and goes is shared out). */
async function measure(methods) {
  const times = methods.map(() => []);
  const cpu = methods.map(() => []);
  const disk = [];
  const results = [];
  const io = [];
  for (let r = 0; r < rounds; r++) {
    for (let k = 0; k < methods.length; k++) {
      const i = (k + r) % methods.length;
      if (cold) evict();
      const d = fromDisk();
      reads.calls = reads.bytes = 0;
      const t = process.hrtime.bigint();
      const c = process.cpuUsage();
      results[i] = await methods[i][1]();
      const used = process.cpuUsage(c);
      times[i].push(Number(process.hrtime.bigint() - t) / 1e6);
      cpu[i].push((used.user + used.system) / 1e3);
      io[i] = { ...reads };
      disk[i] = fromDisk() - d;
    }
  }
  const medians = [];
  methods.forEach(([label], i) => {
    const ms = times[i].sort((a, b) => a - b);
    const median = ms[Math.floor(ms.length / 2)];
    const cpuMs = cpu[i].sort((a, b) => a - b)[Math.floor(ms.length / 2)];
    medians.push(median);
    const counted = (io[i].calls > 0 ? `${io[i].calls} reads, ${(io[i].bytes / 1e6).toFixed(1)} MB read` : '')
      + (cold && !label.startsWith('GNU tar') ? `${io[i].calls > 0 ? ', ' : ''}${(disk[i] / 1e6).toFixed(1)} MB from disk` : '');
    const entries = results[i].entries !== null ? `${results[i].entries} entries` : '';
    // GNU tar runs in a child process: its CPU time is not ours to count.
    const cpuText = label.startsWith('GNU tar') ? '-'.padStart(8) : cpuMs.toFixed(1).padStart(8);
    console.log(`  ${label.padEnd(44)} ${median.toFixed(1).padStart(8)} ${ms[0].toFixed(1).padStart(8)} ${cpuText}   ${entries.padEnd(14)} ${counted}`);
  });
  return medians;
}

const KiB = 1024;
console.log(`${tarball}: ${(bytes / 1e6).toFixed(1)} MB, ${rounds} rounds, ${cold ? 'cold (pages evicted before each run)' : 'warm (page cache)'}, load average ${(await import('node:os')).loadavg()[0].toFixed(1)}`);
console.log(`  ${'method'.padEnd(44)} ${'median'.padStart(8)} ${'best'.padStart(8)} ${'cpu'.padStart(8)}   (ms; cpu: median user+system time of this process)`);
if (!cold) wholeFile(); // into the page cache
const [walkMs, catalogMs, , , , , , wholeMs, streamMs] = await measure([
  ['header walk (read-ahead 16 KiB, the default)', () => walk(16 * KiB, false)],
  ['header walk + layers and ld.so.conf read', () => walk(16 * KiB, true)],
  ['header walk (read-ahead 512 B)', () => walk(512, false)],
  ['header walk (read-ahead 4 KiB)', () => walk(4 * KiB, false)],
  ['header walk (read-ahead 8 KiB)', () => walk(8 * KiB, false)],
  ['header walk (read-ahead 32 KiB)', () => walk(32 * KiB, false)],
  ['header walk (read-ahead 64 KiB)', () => walk(64 * KiB, false)],
  ['read the whole file (1 MiB reads)', wholeFile],
  ['tar-stream over the whole file (the tar pass before it was replaced)', tarStreamPass],
  ['GNU tar -t (peer, seeks too)', gnuList],
]);
console.log(`  header walk: ${(wholeMs / walkMs).toFixed(1)}x the speed of reading the whole file, ${(streamMs / walkMs).toFixed(1)}x tar-stream's; ${catalogMs.toFixed(1)} ms with the catalog's reads`);

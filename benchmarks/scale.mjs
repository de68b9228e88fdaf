#!/usr/bin/env node
// Many images per run (docs/scale.md, "Measured"): the cost of one image in `bind --images`, and
// what sharding buys on this machine.
//
//   node benchmarks/scale.mjs [--images K] [--clients N] [--filler DIR] [--out FILE]
//
// The image: the bundled sample rootfs (scripts/sample-image.mjs) plus N syslayer clients (the
// clients image of clients-image.mjs, default 2,048) plus, to reach a realistic size, a copy of a
// directory of this machine's ELF files without reservations (--filler, default
// /usr/lib/x86_64-linux-gnu: passed through, as in a real distro image), packed as a PAX tarball.
// The list: K (default 8) names for that tarball (hard links: the same bytes, different output
// names, so every entry is bound; their keys are equal, which only --cache would exploit).
// Measured, each under GNU time (wall, user+sys CPU of the process tree, peak RSS):
//   - `syslayer digest` of the tarball (what the key costs: one read and hash of every byte);
//   - `bind --images` of the K entries in one process;
//   - the same list as two shards, `--shard 0/2` and `--shard 1/2`, run at the same time;
//   - the one-process run again with --cache filled (every image copied from the cache);
//   - `cat` of the tarball to /dev/null and `cp` of it (the I/O floor);
//   - one image in shards: the tarball, and the same tree extracted as a directory, bound whole,
//     then as `--shard 0/2` and `--shard 1/2` at once, then `merge` of the two.
// Written to benchmarks/results/scale-<date>.json and printed as a table.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureClientsImage, defaultCache } from './clients-image.mjs';
import { childEnvironment, createRunner, findGnuTime } from './lib/measure.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const REPO = path.resolve(HERE, '..');
const a = process.argv.slice(2);
const get = (k, d) => (a.includes(k) ? a[a.indexOf(k) + 1] : d);
const K = Number(get('--images', 8));
const CLIENTS = Number(get('--clients', 2048));
const FILLER = get('--filler', '/usr/lib/x86_64-linux-gnu');
const log = (s) => process.stderr.write(`scale: ${s}\n`);

const cache = path.join(defaultCache(), 'bench-scale');
fs.mkdirSync(cache, { recursive: true });
execFileSync(process.execPath, [path.join(REPO, 'scripts', 'sample-image.mjs')], { stdio: 'ignore' });
const clients = ensureClientsImage({ cache, rootfs: path.join(REPO, 'build', 'sample-rootfs'), clients: CLIENTS, log });

const tarball = path.join(cache, `scale-${CLIENTS}.tar`);
if (!fs.existsSync(tarball)) {
  log(`packing ${clients.dir} with ${FILLER} as opt/filler into ${tarball}`);
  const work = `${tarball}.tmp`;
  fs.rmSync(work, { recursive: true, force: true });
  execFileSync('cp', ['-a', '--reflink=auto', clients.dir, work]);
  execFileSync('cp', ['-a', '--reflink=auto', FILLER, path.join(work, 'opt', 'filler')]);
  execFileSync('tar', ['--format=pax', '--pax-option=delete=atime,delete=ctime', '--numeric-owner', '--sort=name', '-C', work, '-cf', `${tarball}.part`, '.']);
  fs.renameSync(`${tarball}.part`, tarball);
  fs.rmSync(work, { recursive: true, force: true });
}
const bytes = fs.statSync(tarball).size;

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'syslayer-bench-scale-'));
const inputs = path.join(tmp, 'inputs');
fs.mkdirSync(inputs);
const names = Array.from({ length: K }, (_, i) => `image-${String(i).padStart(3, '0')}.tar`);
for (const n of names) fs.linkSync(tarball, path.join(inputs, n));
const list = path.join(tmp, 'images.list');
fs.writeFileSync(list, names.map((n) => path.join(inputs, n)).join('\n') + '\n');

const { env } = childEnvironment();
const { run } = createRunner({ tmp, env, timeoutSeconds: 3600, gnuTime: findGnuTime(), cwd: REPO });
const syslayer = [process.execPath, path.join(REPO, 'bin', 'syslayer.js')];
const bindArgs = (out, ...extra) => [...syslayer, 'bind', '--images', list, '-o', out, '--kernel', '4.11', '--progress', 'none', ...extra];
const fresh = (dir) => { fs.rmSync(dir, { recursive: true, force: true }); return dir; };

log(`image: ${(bytes / 1e6).toFixed(0)} MB tarball, ${CLIENTS} clients; list of ${K}`);
const rows = [];
const note = (name, r, images = 1) => {
  rows.push({ name, wall: r.wall, cpu: r.cpu, rssMiB: r.rssKB == null ? null : Math.round(r.rssKB / 1024), perImage: r.wall / images, mbPerSecond: (bytes * images) / 1e6 / r.wall });
  log(`${name}: ${r.wall.toFixed(2)} s wall, ${r.cpu?.toFixed(2)} s CPU`);
};

note('cat tarball > /dev/null', await run(['cat', tarball], { stdout: 'null' }));
note('cp tarball', await run(['cp', tarball, fresh(path.join(tmp, 'copy.tar'))]));
note('syslayer digest', await run([...syslayer, 'digest', '--kernel', '4.11', tarball]));
note(`bind --images, ${K} images, 1 process`, await run(bindArgs(fresh(path.join(tmp, 'one'))), { stdout: 'null' }), K);
// Two shards at once: two processes on this machine, as two machines would run them.
const t0 = process.hrtime.bigint();
const shards = await Promise.all([0, 1].map((i) => createRunner({ tmp: fs.mkdtempSync(path.join(tmp, `r${i}-`)), env, timeoutSeconds: 3600, gnuTime: findGnuTime(), cwd: REPO })
  .run(bindArgs(fresh(path.join(tmp, `shard-${i}`)), '--shard', `${i}/2`), { stdout: 'null' })));
const both = Number(process.hrtime.bigint() - t0) / 1e9;
const counts = [0, 1].map((i) => fs.readdirSync(path.join(tmp, `shard-${i}`)).filter((n) => n.endsWith('.report.json')).length);
note(`bind --images --shard i/2, both at once (${counts.join(' + ')} images)`, { wall: both, cpu: shards.reduce((s, r) => s + (r.cpu ?? 0), 0), rssKB: Math.max(...shards.map((r) => r.rssKB ?? 0)) }, K);
await run(bindArgs(fresh(path.join(tmp, 'fill')), '--cache', path.join(tmp, 'cache')), { stdout: 'null' });
note(`bind --images --cache (all cached), ${K} images`, await run(bindArgs(fresh(path.join(tmp, 'cached')), '--cache', path.join(tmp, 'cache')), { stdout: 'null' }), K);

// One image in shards: the tarball, and the same tree as a directory, bound whole, then as two
// shards at once followed by merge.
const tree = path.join(tmp, 'tree');
fs.mkdirSync(tree);
execFileSync('tar', ['--numeric-owner', '-C', tree, '-xf', tarball]);
for (const [what, image, out] of [['tarball', tarball, 'whole.tar'], ['directory', tree, 'whole-dir']]) {
  const oneImage = ['--kernel', '4.11', '--progress', 'none'];
  note(`bind one ${what}`, await run([...syslayer, 'bind', image, '-o', fresh(path.join(tmp, out)), ...oneImage], { stdout: 'null' }));
  const s0 = process.hrtime.bigint();
  const halves = await Promise.all([0, 1].map((i) => createRunner({ tmp: fs.mkdtempSync(path.join(tmp, `h${i}-`)), env, timeoutSeconds: 3600, gnuTime: findGnuTime(), cwd: REPO })
    .run([...syslayer, 'bind', image, '--shard', `${i}/2`, '-o', fresh(path.join(tmp, `${what}-shard-${i}`)), ...oneImage], { stdout: 'null' })));
  const shardWall = Number(process.hrtime.bigint() - s0) / 1e9;
  note(`bind one ${what} --shard i/2, both at once`, { wall: shardWall, cpu: halves.reduce((t, r) => t + (r.cpu ?? 0), 0), rssKB: Math.max(...halves.map((r) => r.rssKB ?? 0)) });
  note(`merge of the 2 shards of the ${what}`, await run([...syslayer, 'merge', image, path.join(tmp, `${what}-shard-0`), path.join(tmp, `${what}-shard-1`), '-o', fresh(path.join(tmp, `merged-${out}`)), '--kernel', '4.11'], { stdout: 'null' }));
}

const result = { date: new Date().toISOString(), machine: { cpus: os.availableParallelism(), memGiB: Math.round(os.totalmem() / 2 ** 30), kernel: os.release() }, image: { bytes, clients: CLIENTS, filler: FILLER }, images: K, shards: counts, rows };
const resultsDir = path.join(HERE, 'results');
fs.mkdirSync(resultsDir, { recursive: true });
const out = get('--out', path.join(resultsDir, `scale-${result.date.slice(0, 10)}.json`));
fs.writeFileSync(out, `${JSON.stringify(result, null, 1)}\n`);
const w = Math.max(...rows.map((r) => r.name.length));
process.stdout.write(`${'what'.padEnd(w)}  wall s   CPU s  s/image   MB/s  RSS MiB\n`);
for (const r of rows) process.stdout.write(`${r.name.padEnd(w)}  ${r.wall.toFixed(2).padStart(6)}  ${(r.cpu ?? 0).toFixed(2).padStart(6)}  ${r.perImage.toFixed(2).padStart(7)}  ${r.mbPerSecond.toFixed(0).padStart(5)}  ${String(r.rssMiB ?? '-').padStart(7)}\n`);
process.stdout.write(`written: ${path.relative(REPO, out)}\n`);
fs.rmSync(tmp, { recursive: true, force: true });

#!/usr/bin/env node
// Peak memory binding a tarball of many ELF entries (issue "One image pipeline": memory must stay
// flat however many ELF entries a tarball holds, at most 256 MiB for the rootfs plus 2,000
// clients). Builds, once, the clients images of clients-image.mjs at each size (the rootfs plus N
// copies of the SDK's x86-64 examples, each with its own trailing bytes, as a PAX tarball), then
// times `syslayer bind in.tar -o out.tar --kernel 4.11` under GNU time, --rounds times per size,
// sizes taken in turn, and prints wall time and peak RSS (the whole process: workers are threads).
//
//   node benchmarks/tar-clients-memory.mjs [--clients 1000,4000] [--rounds 3] [--rootfs DIR]
//        [--out DIR] [--syslayer DIR ...]
//
// --syslayer names a checkout to run (bin/syslayer.js under it; repeatable, default this one):
// two of them, taken in turn, compare a change with what it replaces. --out is where the output
// tarball is written (default: a directory in the cache; removed after each run). Not a test: a
// figure to watch.
import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, statSync } from 'node:fs';
import { join, dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defaultCache, ensureClientsImage } from './clients-image.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const all = (k) => args.flatMap((a, i) => (a === k ? [args[i + 1]] : []));
const get = (k, d) => all(k).pop() ?? d;
const cache = defaultCache();
const sizes = get('--clients', '1000,4000').split(',').map(Number);
const rounds = Number(get('--rounds', 3));
const rootfs = get('--rootfs', join(cache, 'rootfs-bookworm'));
const out = resolve(get('--out', join(cache, 'tar-clients-memory')));
const checkouts = (all('--syslayer').length ? all('--syslayer') : [root]).map((d) => resolve(d));

const images = sizes.map((clients) =>
  ensureClientsImage({ cache, rootfs, clients, log: (m) => process.stderr.write(`[clients-image] ${m}\n`) }));
mkdirSync(out, { recursive: true });

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];
const runs = new Map(); // `${checkout}\0${clients}` -> [{ wall, rssMiB }]
for (let r = 0; r < rounds; r++) {
  for (const image of images) {
    for (const checkout of checkouts) {
      const output = join(out, 'out.tar');
      const p = spawnSync('/usr/bin/time', ['-f', '%e %M', process.execPath, join(checkout, 'bin/syslayer.js'),
        'bind', image.tar, '-o', output, '--kernel', '4.11'], { encoding: 'utf8', maxBuffer: 64 << 20 });
      rmSync(output, { force: true });
      if (p.status !== 0) throw new Error(`${checkout}: bind ${image.tar} exited ${p.status}: ${p.stderr.slice(-2000)}`);
      const [wall, rssKb] = p.stderr.trim().split('\n').pop().split(' ').map(Number);
      const key = `${checkout}\0${image.clients}`;
      if (!runs.has(key)) runs.set(key, []);
      runs.get(key).push({ wall, rssMiB: rssKb / 1024 });
    }
  }
}

console.log(`bind <rootfs + N clients>.tar -o out.tar --kernel 4.11, ${rounds} runs each (GNU time; peak RSS of the whole process)`);
for (const checkout of checkouts) {
  if (checkouts.length > 1) console.log(checkout);
  for (const image of images) {
    const rs = runs.get(`${checkout}\0${image.clients}`);
    const mb = statSync(image.tar).size / 1e6;
    const fmt = (xs, f) => xs.map(f).join(' ');
    console.log(`  ${String(image.clients).padStart(5)} clients (${mb.toFixed(0)} MB): peak RSS median ${median(rs.map((x) => x.rssMiB)).toFixed(0)} MiB ` +
      `(${fmt(rs, (x) => x.rssMiB.toFixed(0))}), wall median ${median(rs.map((x) => x.wall)).toFixed(2)} s (${fmt(rs, (x) => x.wall.toFixed(2))})`);
  }
}

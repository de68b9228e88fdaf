#!/usr/bin/env node
// Peak memory while binding a large tarball (issue 4: "a 2 GB tarball must not need 2 GB of
// memory"). Builds, once, a tarball of --size-gb GB (default 1) in the cache: the SDK's x86-64
// clients and layers, many small files, files of 1-48 MiB (held while a worker looks at
// them) and files of 100+ MiB (streamed through); then times `syslayer bind in.tar -o out.tar`
// under /usr/bin/time and prints wall time, MB/s and peak RSS. Not a test: a figure to watch.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, writeFileSync, statSync, openSync, closeSync, ftruncateSync, writeSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const sizeGb = Number(args[args.indexOf('--size-gb') + 1] || (args.includes('--size-gb') ? 1 : 1));
const cache = process.env.SYSLAYER_CACHE ?? join(process.env.HOME ?? '/tmp', '.cache', 'syslayer');
const dir = join(cache, `tar-memory-${sizeGb}g`);
const input = join(dir, 'in.tar');
const output = join(dir, 'out.tar');

function fill(path, bytes, seed) {
  // Patterned, not zero, so nothing downstream can shortcut it; written in 1 MiB blocks.
  const block = Buffer.alloc(1 << 20);
  for (let i = 0; i < block.length; i += 4) block.writeUInt32LE((i * 2654435761 + seed) >>> 0, i);
  const fd = openSync(path, 'w');
  for (let left = bytes; left > 0; left -= block.length) writeSync(fd, block, 0, Math.min(left, block.length));
  closeSync(fd);
}

if (!existsSync(input)) {
  const tree = join(dir, 'tree');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(tree, { recursive: true });
  const sdk = join(root, 'sdk/prebuilt/x86_64');
  for (const sub of ['usr/bin', 'usr/lib/syslayer/layers']) mkdirSync(join(tree, sub), { recursive: true });
  for (const name of ['abi1-demo', 'abi2-demo', 'mixed-main']) execFileSync('cp', ['-a', join(sdk, 'bin', name), join(tree, 'usr/bin')]);
  execFileSync('cp', ['-a', join(sdk, 'lib/libmixed1.so'), join(tree, 'usr/lib')]);
  execFileSync('cp', ['-a', join(sdk, 'layers/.'), join(tree, 'usr/lib/syslayer/layers')]);
  mkdirSync(join(tree, 'data/small'), { recursive: true });
  for (let i = 0; i < 5000; i++) writeFileSync(join(tree, 'data/small', `f${i}`), `small file ${i}\n`);
  let total = 0;
  const target = sizeGb * 1024 ** 3;
  for (let i = 0; total < target; i++) {
    const size = i % 4 === 3 ? 160 * 1024 ** 2 : (1 + (i * 7) % 48) * 1024 ** 2;
    fill(join(tree, 'data', `blob${i}`), size, i);
    total += size;
  }
  execFileSync('tar', ['--format=pax', '-C', tree, '-cf', input, '.']);
  rmSync(tree, { recursive: true, force: true });
}

const bytes = statSync(input).size;
const r = spawnSync('/usr/bin/time', ['-f', '%e %M', process.execPath, join(root, 'bin/syslayer.js'), 'bind', input, '-o', output, '--kernel', '4.11'], { encoding: 'utf8' });
const [wall, rssKb] = r.stderr.trim().split('\n').pop().split(' ').map(Number);
console.log(`bind ${input} (${(bytes / 1e9).toFixed(2)} GB) -> ${output}: exit ${r.status}`);
console.log(`  wall ${wall.toFixed(1)} s, ${(bytes / 1e6 / wall).toFixed(0)} MB/s, peak RSS ${(rssKb / 1024).toFixed(0)} MiB (main process; workers are threads of it)`);
console.log(r.stdout.split('\n').slice(0, 3).join('\n'));
rmSync(output, { force: true });

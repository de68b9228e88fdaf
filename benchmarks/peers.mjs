#!/usr/bin/env node
// Issue 10, "Speed to lead the plain tools": each syslayer command beside the fastest honest use
// of its peer tool on the same files, in the same run, with the ratio (median over median, min
// over min). See benchmarks/README.md for what each group measures and how to read the tables.
//
//   node benchmarks/peers.mjs [--quick] [--only inplace,copy,scan,growth] [options]
//                                                   (npm run bench:peers)
//
// Groups, run one after the other:
//   inplace  bind --in-place of 10,000 small clients on tmpfs against one patchelf process
//            growing the same files (find -exec patchelf --set-rpath <300 chars> {} +), each on
//            a fresh cp -a of the image; the first bound copy checked with syslayer verify
//   copy     bind -o (dir -> dir) of the clients image against cp -a, to tmpfs and to the disk
//   scan     scan --json against scanelf -R, on the rootfs and on four copies of it, with the
//            start-up floors (node -e 0; importing the CLI)
//   growth   scan, plan and bind -o at 1x, 4x and 16x the clients image: files/s per size
// Inputs are built once into $SYSLAYER_CACHE (default ~/.cache/syslayer): the rootfs of
// rootfs/build-rootfs.sh, the clients image of clients-image.mjs, and peers-images.mjs's.

import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { defaultCache, ensureClientsImage } from './clients-image.mjs';
import { ensureClientsCopies, ensureInplaceImage, ensureRootfsCopies } from './peers-images.mjs';
import { childEnvironment, createRunner, findGnuTime, formatPerf, median, parsePerf } from './lib/measure.mjs';
import { freeBytes, fsType, gitInfo, machine, memAvailable, version, which } from './lib/facts.mjs';
import { buildHash, copyBuild } from './lib/build-copy.mjs';
import { countTree, readTree } from './lib/tree.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const REPO = path.resolve(HERE, '..');
const GROUPS = ['inplace', 'copy', 'scan', 'growth'];
const KERNEL = ['--kernel', '4.11'];
// The peer's growing edit: a RUNPATH longer than any free space in the dynamic string table.
const RPATH = '/opt/syslayer-peers/' + 'r'.repeat(280);

// ---------------------------------------------------------------------------------------
// Arguments
// ---------------------------------------------------------------------------------------
const USAGE = `usage: node benchmarks/peers.mjs [--quick] [options]
  --only G           groups, comma-separated: ${GROUPS.join(',')} (default all)
  --quick            one round, whose syslayer runs carry --perf (no extra --perf runs)
  --rounds N         rounds (default 3; --quick: 1)
  --budget S         stop repeating a row once its runs, and its peer's, total S seconds
                     (default 10)
  --syslayer DIR     the checkout whose bin/syslayer.js is measured (default this one; built)
  --clients N        inplace: clients in the generated image (default 10000)
  --growth L         growth: sizes, comma-separated multiples of the clients image (default 1,4,16)
  --rootfs DIR       the rootfs (default: rootfs/build-rootfs.sh's, in the cache)
  --timeout S        kill a command that runs longer than S seconds (default 600)
  --out FILE         JSON results file (default benchmarks/results/peers-<date>[-HHMMSS].json)
  --no-write         print the tables only
Environment: SYSLAYER_CACHE (cache root, default ~/.cache/syslayer).
`;
const opts = (() => {
  let v;
  try {
    ({ values: v } = parseArgs({
      options: {
        only: { type: 'string' }, quick: { type: 'boolean' }, rounds: { type: 'string' }, budget: { type: 'string' },
        syslayer: { type: 'string' }, clients: { type: 'string' }, growth: { type: 'string' }, rootfs: { type: 'string' },
        timeout: { type: 'string' }, out: { type: 'string' }, 'no-write': { type: 'boolean' }, help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (e) {
    usageError(e.message);
  }
  if (v.help) {
    process.stdout.write(USAGE);
    process.exit(0);
  }
  const num = (name, d, { int = true, min = 0 } = {}) => {
    if (v[name] === undefined) return d;
    const n = Number(v[name]);
    if (!Number.isFinite(n) || n < min || (int && !Number.isInteger(n))) usageError(`--${name}: bad number ${v[name]}`);
    return n;
  };
  const only = v.only ? v.only.split(',').filter(Boolean) : GROUPS;
  for (const g of only) if (!GROUPS.includes(g)) usageError(`--only: unknown group ${g}`);
  const growth = (v.growth ?? '1,4,16').split(',').filter(Boolean).map(Number);
  if (!growth.length || growth.some((n) => !Number.isInteger(n) || n < 1)) usageError(`--growth: whole multiples >= 1, comma-separated (${v.growth})`);
  return {
    only, quick: !!v.quick, rounds: num('rounds', v.quick ? 1 : 3, { min: 1 }), budget: num('budget', 10, { int: false }),
    syslayer: path.resolve(v.syslayer ?? REPO), clients: num('clients', 10000, { min: 2 }), growth: [...new Set(growth)].sort((a, b) => a - b),
    rootfs: v.rootfs ? path.resolve(v.rootfs) : null, timeout: num('timeout', 600, { int: false, min: 1 }), out: v.out ?? null, write: !v['no-write'],
  };
})();
function usageError(m) {
  process.stderr.write(`${m}\n${USAGE}`);
  process.exit(2);
}

const log = (m) => process.stderr.write(`[peers] ${m}\n`);
function die(m) {
  log(`error: ${m}`);
  process.exit(1);
}
const notes = [];
const note = (n) => {
  notes.push(n);
  log(`note: ${n}`);
};

// ---------------------------------------------------------------------------------------
// Tools, the code under test, the runner
// ---------------------------------------------------------------------------------------
for (const f of ['bin/syslayer.js', 'dist/src/cli/main.js', 'build/syslayer.wasm', 'node_modules'])
  if (!fs.existsSync(path.join(opts.syslayer, f))) die(`${opts.syslayer} is not a built syslayer checkout (no ${f}): run \`npm run build\` there first`);
const TOOLS = Object.fromEntries(['patchelf', 'scanelf', 'find', 'cp', 'sync', 'sh'].map((t) => [t, which(t)]));
for (const t of ['find', 'cp', 'sync', 'sh']) if (!TOOLS[t]) die(`${t} not found`);
for (const [t, pkg] of [['patchelf', 'patchelf'], ['scanelf', 'pax-utils']])
  if (!TOOLS[t]) note(`${t} not found: its rows are skipped (apt-get install ${pkg})`);
const GNU_TIME = findGnuTime();
if (!GNU_TIME) note('GNU time (/usr/bin/time) not found: no peak RSS or CPU figures (apt-get install time)');
const { env: CHILD_ENV, removed: ENV_REMOVED } = childEnvironment();
const CACHE = path.resolve(defaultCache());
fs.mkdirSync(CACHE, { recursive: true });

const startedAt = new Date();
const loadBefore = os.loadavg();
const TMP = fs.mkdtempSync(path.join(os.tmpdir(), 'syslayer-peers-'));
const cleanups = [];
let killCurrent = () => {};
process.on('exit', () => {
  killCurrent();
  for (const f of cleanups.splice(0).reverse()) {
    try {
      f();
    } catch {}
  }
  fs.rmSync(TMP, { recursive: true, force: true });
});
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => process.exit(130));
// The build under test is copied first and run from the copy, so that a rebuild of the checkout
// during the run (others work here) cannot mix two builds.
const build0 = buildHash(opts.syslayer);
const SNAP = path.join(TMP, 'syslayer');
const CLI = copyBuild(opts.syslayer, SNAP);
if (buildHash(SNAP) !== build0) die(`${opts.syslayer} was rebuilt while the benchmark copied it; run again`);
const git0 = gitInfo(opts.syslayer);
const runner = createRunner({ tmp: TMP, env: CHILD_ENV, timeoutSeconds: opts.timeout, gnuTime: GNU_TIME, cwd: TMP });
const run = runner.run;
killCurrent = runner.killCurrent;
const M = machine();
log(`syslayer ${opts.syslayer} (commit ${git0.commit?.slice(0, 12) ?? '?'}, build ${build0}); cache ${CACHE}; ` +
  `${M.nproc} cpu, ${(M.memTotalBytes / 2 ** 30).toFixed(1)} GiB; load ${loadBefore.map((x) => x.toFixed(2)).join(' ')}`);
if (process.env.NODE_OPTIONS) note(`NODE_OPTIONS is set (${process.env.NODE_OPTIONS}) and applies to the Node rows`);

const rmrf = (p) => fs.rmSync(p, { recursive: true, force: true });
const sync = () => spawnSync(TOOLS.sync);
const node = (...a) => [process.execPath, ...a];
const syslayer = (...a) => node(CLI, ...a);
const GB = (b) => `${(b / 1e9).toFixed(2)} GB`;

// Where outputs go: tmpfs (RAM: its room is the smaller of its free space and the memory
// available beyond 2 GB) and the working disk (the file system of the cache and the inputs).
let shmDir = null;
function tmpfsDir(need, what) {
  const shm = '/dev/shm';
  const room = fs.existsSync(shm) ? Math.min(freeBytes(shm), memAvailable() - 2e9) : 0;
  if (room < need) {
    note(`${what} skipped: ${shm} has ${GB(room)} usable (free space and memory), ${GB(need)} needed`);
    return null;
  }
  if (!shmDir) {
    shmDir = fs.mkdtempSync(path.join(shm, 'syslayer-peers-'));
    cleanups.push(() => rmrf(shmDir));
  }
  return shmDir;
}
let diskDir = null;
function workDir() {
  if (!diskDir) {
    diskDir = fs.mkdtempSync(path.join(CACHE, 'bench-peers-work-'));
    cleanups.push(() => rmrf(diskDir));
  }
  return diskDir;
}
const diskRoom = () => freeBytes(CACHE) - 2e9; // 2 GB left to everyone else

// ---------------------------------------------------------------------------------------
// Inputs shared by several groups
// ---------------------------------------------------------------------------------------
let rootfsDir = null;
function rootfs() {
  if (rootfsDir) return rootfsDir;
  const p = opts.rootfs ?? path.join(CACHE, 'rootfs-bookworm');
  if (!opts.rootfs && !fs.existsSync(`${p}.stamp`))
    die(`no cached rootfs in ${CACHE}: build it with benchmarks/rootfs/build-rootfs.sh (root, mmdebstrap), or pass --rootfs DIR`);
  if (!fs.statSync(p, { throwIfNoEntry: false })?.isDirectory()) die(`not a directory: ${p}`);
  // The real path: scanelf -R does not descend into a symlink given as its root.
  return (rootfsDir = fs.realpathSync(p));
}
let clientsImage = null;
const clients = () => (clientsImage ??= ensureClientsImage({ cache: CACHE, rootfs: rootfs(), clients: 2048, log }));
const trees = new Map();
const tree = (dir) => {
  if (!trees.has(dir)) {
    const t = countTree(dir);
    trees.set(dir, Object.fromEntries(Object.entries(t).filter(([k]) => !['elf', 'dynamic'].includes(k))));
  }
  return trees.get(dir);
};
const treeText = (t) => `${t.files} files, ${(t.bytes / 1e6).toFixed(1)} MB, ${t.elfFiles} ELF, ${t.dirs} directories`;
const sizeOf = (root, rels) => rels.reduce((s, r) => s + fs.lstatSync(path.join(root, r)).size, 0);

// ---------------------------------------------------------------------------------------
// The groups. Each set-up returns { tables: [{ title, ids }], items, ratios, warm: [dirs],
// lines() } (lines: what it prints under the ratios), or null when it cannot run (noted).
// An item: { id, label, argv, syslayer, stdout, units: { files, bytes }, perFile: { n, what },
// prep, after, check(res), expect: { re, count }, okStatus }.
// ---------------------------------------------------------------------------------------
const expectCount = (re, count) => ({ re, count });
const bound = (n) => expectCount(/(\d+) bound/, n);

function setupInplace() {
  const img = ensureInplaceImage({ cache: CACHE, clients: opts.clients, log });
  const t = tree(img.dir);
  const shm = tmpfsDir(t.bytes * 2.5 + 256e6, 'inplace group (a copy of the in-place image, grown by the binding)');
  if (!shm) return null;
  const copy = path.join(shm, 'inplace');
  // A fresh copy before each run, not timed; the timed command runs on it.
  const prep = () => {
    rmrf(copy);
    execFileSync(TOOLS.cp, ['-a', img.dir, copy]);
    sync();
  };
  const grown = () => img.clientPaths.filter((r) => fs.lstatSync(path.join(copy, r)).size > fs.lstatSync(path.join(img.dir, r)).size).length;
  const common = { units: { files: t.files, bytes: t.bytes }, perFile: { n: img.clients, what: 'clients' }, prep, after: () => rmrf(copy) };
  const items = [{
    id: 'inplace.syslayer', label: 'syslayer bind --in-place --kernel 4.11', syslayer: true, ...common,
    argv: syslayer('bind', '--in-place', ...KERNEL, copy), expect: bound(img.clients),
    check: () => {
      // The bound copy must pass syslayer's own verify (not timed).
      const v = spawnSync(process.execPath, [CLI, 'verify', ...KERNEL, copy], { env: CHILD_ENV, encoding: 'utf8', maxBuffer: 64 << 20 });
      return { grown: grown(), verifyStatus: v.status, verify: (v.stdout || v.stderr || '').split('\n')[0] };
    },
  }];
  if (TOOLS.patchelf) {
    items.push({
      id: 'inplace.patchelf', label: `find -exec patchelf --set-rpath <${RPATH.length} chars> {} +`, ...common,
      argv: [TOOLS.find, copy, '-name', 'prog-*', '-exec', TOOLS.patchelf, '--set-rpath', RPATH, '{}', '+'],
      check: () => {
        const first = path.join(copy, img.clientPaths[0]);
        const rp = spawnSync(TOOLS.patchelf, ['--print-rpath', first], { encoding: 'utf8' });
        // How many patchelf processes find started: its batches, counted with sh in patchelf's place.
        const batches = spawnSync(TOOLS.find, [copy, '-name', 'prog-*', '-exec', TOOLS.sh, '-c', 'echo $#', 'sh', '{}', '+'], { encoding: 'utf8' });
        return { grown: grown(), rpathOk: rp.stdout.trim() === RPATH, processes: batches.stdout.trim().split('\n').filter(Boolean).length };
      },
    });
  }
  return {
    tables: [{ title: `inplace: ${img.dir} copied to tmpfs (${fsType(shm)}) before each run (not timed): ${treeText(t)}, ${img.clients} clients`, ids: items.map((i) => i.id) }],
    items,
    ratios: [['inplace.syslayer', 'inplace.patchelf', { op: '<=', value: 1.0 }]],
    warm: [img.dir],
    lines: (checks) => {
      const out = [];
      const s = checks['inplace.syslayer'];
      if (s) out.push(`  syslayer's first bound copy: ${s.grown} of ${img.clients} clients grew; syslayer verify --kernel 4.11 exit ${s.verifyStatus}` +
        `${s.verifyStatus === 0 ? ' (passed)' : ' (FAILED)'}: ${s.verify}`);
      const p = checks['inplace.patchelf'];
      if (p) out.push(`  patchelf's first copy: ${p.grown} of ${img.clients} clients grew; RUNPATH ${p.rpathOk ? 'set' : 'NOT set'} (patchelf --print-rpath of one); ` +
        `${p.processes} patchelf process${p.processes === 1 ? '' : 'es'} (find's batches)`);
      return out;
    },
  };
}

function setupCopy() {
  const cl = clients();
  const t = tree(cl.dir);
  const items = [];
  const tables = [];
  const ratios = [];
  const locations = [];
  const shm = tmpfsDir(t.bytes * 1.3 + 256e6, 'copy group, output on tmpfs');
  if (shm) locations.push(['tmpfs', shm]);
  if (diskRoom() > t.bytes * 1.3) locations.push(['disk', workDir()]);
  else note(`copy group, output on the disk skipped: ${GB(diskRoom() + 2e9)} free in ${CACHE}, ${GB(t.bytes * 1.3 + 2e9)} needed`);
  for (const [loc, dir] of locations) {
    const out = path.join(dir, 'copy-out');
    // The output removed and the disk's dirty pages written back before each run (not timed).
    const common = { units: { files: t.files, bytes: t.bytes }, perFile: { n: cl.clientPaths.length, what: 'clients' }, prep: () => {
      rmrf(out);
      sync();
    }, after: () => rmrf(out) };
    items.push({ id: `copy.${loc}.syslayer`, label: 'syslayer bind -o OUT --kernel 4.11', syslayer: true, ...common,
      argv: syslayer('bind', '-o', out, ...KERNEL, cl.dir), expect: bound(cl.clientPaths.length) });
    items.push({ id: `copy.${loc}.cp`, label: 'cp -a', ...common, argv: [TOOLS.cp, '-a', cl.dir, out] });
    tables.push({ title: `copy to ${loc === 'disk' ? 'the working disk' : 'tmpfs'}: ${out} (${fsType(dir)}); input ${cl.dir} (${treeText(t)}, ${cl.clientPaths.length} clients)`,
      ids: [`copy.${loc}.syslayer`, `copy.${loc}.cp`] });
    ratios.push([`copy.${loc}.syslayer`, `copy.${loc}.cp`, { op: '<=', value: 1.0 }]);
  }
  if (!items.length) return null;
  return { tables, items, ratios, warm: [cl.dir], lines: () => [] };
}

function setupScan() {
  const one = rootfs();
  const four = ensureRootfsCopies({ cache: CACHE, rootfs: one, copies: 4, log });
  const items = [];
  const tables = [];
  const ratios = [];
  // The floors: Node starting, and Node starting and loading the CLI's modules (no command run).
  const main = path.join(SNAP, 'dist', 'src', 'cli', 'main.js');
  items.push({ id: 'scan.node', label: 'floor: node -e 0', units: null, argv: node('-e', '0') });
  items.push({ id: 'scan.import', label: 'floor: node -e "import(\'<syslayer>/dist/src/cli/main.js\')"', units: null, argv: node('-e', `import(${JSON.stringify(main)})`) });
  for (const [key, dir, what] of [['1x', one, 'the rootfs'], ['4x', four, 'the rootfs x4 (three more copies under srv/copy-<k>/)']]) {
    const t = tree(dir);
    const units = { files: t.files, bytes: t.bytes };
    // Both print to /dev/null: syslayer's JSON of every file, scanelf's line per ELF file.
    items.push({ id: `scan.${key}.syslayer`, label: 'syslayer scan --json >/dev/null', syslayer: true, stdout: 'null', units, argv: syslayer('scan', '--json', dir), okStatus: [0, 1] });
    if (TOOLS.scanelf) items.push({ id: `scan.${key}.scanelf`, label: 'scanelf -R >/dev/null', stdout: 'null', units, argv: [TOOLS.scanelf, '-R', dir] });
    tables.push({ title: `scan ${key}: ${dir}, ${what} (${treeText(t)})`, ids: [`scan.${key}.syslayer`, `scan.${key}.scanelf`, ...(key === '1x' ? ['scan.node', 'scan.import'] : [])] });
    ratios.push([`scan.${key}.syslayer`, `scan.${key}.scanelf`, key === '4x' ? { op: '<=', value: 0.5 } : null, 'scan.import']);
  }
  return { tables, items, ratios, warm: [one, four], lines: () => [], rawPerf: true };
}

function setupGrowth() {
  const cl = clients();
  const t1 = tree(cl.dir);
  const clientBytes = sizeOf(cl.dir, cl.clientPaths);
  const items = [];
  const sizes = [];
  const work = workDir();
  const out = path.join(work, 'growth-out');
  for (const n of opts.growth) {
    // Disk: the copies' directories and clients (if not built yet) and one output at a time:
    // the non-client bytes once (hardlinks kept), n times the clients bound (about twice their
    // size), n times the directories. Inodes: n times the entries, twice.
    const stampOk = n === 1 || fs.existsSync(path.join(CACHE, 'bench-peers', `clients-2048-x${n}.stamp`));
    const dirBytes = t1.dirs * 4096;
    const need = (stampOk ? 0 : (n - 1) * (dirBytes + clientBytes)) + t1.bytes + n * (clientBytes * 2.5 + dirBytes);
    const entries = t1.files + t1.dirs + t1.symlinks + t1.other;
    const fsStat = fs.statfsSync(CACHE);
    if (diskRoom() < need || fsStat.ffree < n * entries * 2 + 1e5) {
      note(`growth ${n}x skipped: ${GB(diskRoom() + 2e9)} and ${fsStat.ffree} inodes free in ${CACHE}, ${GB(need + 2e9)} and ${n * entries * 2 + 1e5} needed`);
      continue;
    }
    const img = n === 1 ? { dir: cl.dir, clientPaths: cl.clientPaths } : ensureClientsCopies({ cache: CACHE, clientsImage: cl, copies: n, log });
    const t = tree(img.dir);
    const k = img.clientPaths.length;
    const common = { syslayer: true, units: { files: t.files, bytes: t.bytes }, perFile: { n: k, what: 'clients' }, size: n };
    items.push({ id: `growth.${n}x.scan`, label: 'scan --json >/dev/null', command: 'scan', ...common, stdout: 'null', argv: syslayer('scan', '--json', img.dir), okStatus: [0, 1] });
    items.push({ id: `growth.${n}x.plan`, label: 'plan --kernel 4.11', command: 'plan', ...common, argv: syslayer('plan', ...KERNEL, img.dir), expect: expectCount(/(\d+) bindable/, k) });
    items.push({ id: `growth.${n}x.bind`, label: 'bind -o OUT --kernel 4.11 (disk)', command: 'bind -o', ...common, argv: syslayer('bind', '-o', out, ...KERNEL, img.dir),
      expect: bound(k), prep: () => {
        rmrf(out);
        sync();
      }, after: () => rmrf(out) });
    sizes.push({ n, dir: img.dir, tree: t, clients: k });
  }
  if (!items.length) return null;
  return {
    tables: [], items, ratios: [], warm: sizes.map((s) => s.dir), growth: sizes,
    title: `growth: the clients image ${cl.dir} at ${sizes.map((s) => `${s.n}x`).join(', ')}: the image itself, then one image of n copies of it (the root\n` +
      `  and srv/copy-2..n; non-client files hardlinked, which bind -o keeps, so its output holds their bytes once; clients their own);\n` +
      `  bind -o writes to ${out} (${fsType(work)})`,
    lines: () => [],
  };
}

const SETUP = { inplace: setupInplace, copy: setupCopy, scan: setupScan, growth: setupGrowth };

// ---------------------------------------------------------------------------------------
// Rounds
// ---------------------------------------------------------------------------------------
// The --perf flag goes after the command's name: node CLI <command> --perf ...
const withPerf = (argv) => [...argv.slice(0, 3), '--perf', ...argv.slice(3)];
const runs = {};
const perf = {};
const checks = {};
const failures = {};
const order = [];

async function runItem(it, perfRun) {
  if (it.prep) it.prep();
  const argv = perfRun ? withPerf(it.argv) : it.argv;
  let res;
  try {
    res = await run(argv, { okStatus: it.okStatus ?? [0], stdout: it.stdout ?? 'pipe' });
    if (it.check && !checks[it.id]) checks[it.id] = it.check(res);
  } catch (e) {
    // A failing command is a finding, not the end of the run: the row stops, the others go on.
    failures[it.id] = e.message.slice(0, 2000);
    note(`${it.id} failed: ${e.message.split('\n').filter(Boolean).slice(0, 4).join(' | ')}`);
    return null;
  } finally {
    if (it.after) it.after();
  }
  if (it.expect) {
    const m = it.expect.re.exec(res.head);
    res.count = m ? Number(m[1]) : null;
    if (res.count !== it.expect.count) note(`${it.id}: expected ${it.expect.count}, the output says ${res.count ?? '?'}: ${res.head.split('\n')[0]}`);
  }
  if (perfRun) perf[it.id] = { argv: argv.join(' '), wallSeconds: res.wall, passes: parsePerf(res.stderr), stderr: res.stderr.trim() };
  runs[it.id].push({ wall: res.wall, cpu: res.cpu, rssKB: res.rssKB, load1: res.load1, perf: perfRun, count: res.count ?? null });
  order.push(`${it.id}${perfRun ? ' --perf' : ''}`);
  log(`${it.id.padEnd(22)} ${res.wall.toFixed(3)} s` + (res.cpu != null ? `  cpu ${res.cpu.toFixed(2)} s` : '') +
    (res.rssKB != null ? `  rss ${(res.rssKB / 1024).toFixed(0)} MiB` : '') + (perfRun ? '  (--perf)' : ''));
  return res;
}

async function runGroup(g) {
  for (const it of g.items) runs[it.id] = [];
  // The two rows of a ratio run as many rounds: a row is repeated while its runs so far, or its
  // peer's, total under --budget.
  const peerOf = new Map((g.ratios ?? []).flatMap(([a, b]) => [[a, b], [b, a]]));
  const spent = (id) => runs[id].reduce((s, x) => s + x.wall, 0);
  const repeat = (id) => !runs[id].length || spent(id) < opts.budget || (peerOf.has(id) && spent(peerOf.get(id)) < opts.budget);
  // Warm-up, not measured: every input read once, so that every figure is a warm-cache figure.
  readTree(g.warm);
  for (let r = 0; r < opts.rounds; r++) {
    // The order rotates from round to round, so that no row always follows the same one.
    const seq = g.items.map((_, i) => g.items[(i + r) % g.items.length]);
    // Decided at the start of the round, for both rows of a pair alike.
    const todo = new Set(seq.filter((it) => repeat(it.id)).map((it) => it.id));
    for (const it of seq) {
      if (todo.has(it.id) && !failures[it.id]) await runItem(it, opts.quick && it.syslayer);
    }
  }
  // Each syslayer row once more with --perf. --perf only adds a few timer reads (its runs fall
  // within the spread of the plain ones), so this run also counts as a measurement, marked so.
  if (!opts.quick) for (const it of g.items.filter((x) => x.syslayer && !failures[x.id])) await runItem(it, true);
}

// One unmeasured syslayer run first: Node's and syslayer's own files into the page cache.
await run(syslayer('scan', path.join(REPO, 'sdk', 'prebuilt', 'x86_64')), { okStatus: [0, 1] });
const groups = {};
for (const name of opts.only) {
  const t0 = Date.now();
  const load1 = os.loadavg()[0];
  log(`group ${name}: preparing`);
  const g = SETUP[name]();
  const prepSeconds = (Date.now() - t0) / 1000;
  if (!g) {
    groups[name] = { skipped: true, seconds: prepSeconds };
    continue;
  }
  await runGroup(g);
  groups[name] = { ...g, seconds: (Date.now() - t0) / 1000, prepSeconds, load1 };
}
const loadAfter = os.loadavg();
const build1 = buildHash(opts.syslayer);
if (build1 !== build0) note(`${opts.syslayer} was rebuilt during the run; every figure comes from the copy taken at the start`);

// ---------------------------------------------------------------------------------------
// Figures
// ---------------------------------------------------------------------------------------
const rnd = (x, d) => (x == null || !Number.isFinite(x) ? null : Number(x.toFixed(d)));
const stats = {};
for (const g of Object.values(groups)) {
  for (const it of g.items ?? []) {
    const rs = runs[it.id];
    const walls = rs.map((x) => x.wall);
    const med = median(walls);
    stats[it.id] = {
      label: it.label,
      command: it.argv.join(' '),
      runs: rs.length,
      failed: failures[it.id] ?? null,
      runDetail: rs.map((x) => ({ wall: rnd(x.wall, 4), cpu: rnd(x.cpu, 3), rssKB: x.rssKB, load1: rnd(x.load1, 2), perf: x.perf, count: x.count })),
      medianSeconds: rnd(med, 4),
      minSeconds: rs.length ? rnd(Math.min(...walls), 4) : null,
      maxSeconds: rs.length ? rnd(Math.max(...walls), 4) : null,
      filesPerSecond: it.units?.files && med ? rnd(it.units.files / med, 0) : null,
      mbPerSecond: it.units?.bytes && med ? rnd(it.units.bytes / 1e6 / med, 1) : null,
      perFile: it.perFile && med ? { what: it.perFile.what, n: it.perFile.n, perSecond: rnd(it.perFile.n / med, 1) } : null,
      cpuSecondsMedian: rnd(median(rs.map((x) => x.cpu)), 3),
      peakRssKB: rs.some((x) => x.rssKB != null) ? Math.max(...rs.map((x) => x.rssKB ?? 0)) : null,
      units: it.units ?? null,
      check: checks[it.id] ?? null,
    };
  }
}
const S = (id) => (stats[id]?.runs ? stats[id] : null);

// Ratios: ours over the peer's wall time (below 1: syslayer is faster), median over median and
// min over min; with a floor, also the ratio once the floor is taken off syslayer's median.
const ratios = [];
for (const g of Object.values(groups)) {
  for (const [ours, peer, target, floor] of g.ratios ?? []) {
    const a = S(ours);
    const b = S(peer);
    if (!a || !b) continue;
    const v = a.medianSeconds / b.medianSeconds;
    const f = floor ? S(floor) : null;
    ratios.push({
      ours, peer, value: rnd(v, 3), minOverMin: rnd(a.minSeconds / b.minSeconds, 3), target, met: target ? v <= target.value : null,
      floor: f ? { id: floor, medianSeconds: f.medianSeconds, shareOfOurs: rnd(f.medianSeconds / a.medianSeconds, 3), withoutFloor: rnd((a.medianSeconds - f.medianSeconds) / b.medianSeconds, 3) } : null,
    });
  }
}
// Growth: per command, each size's files/s against the 1x row's (below 1: slower per file).
const growthRows = [];
const G = groups.growth;
for (const command of ['scan', 'plan', 'bind -o']) {
  const base = G?.items?.find((it) => it.command === command && it.size === Math.min(...G.growth.map((s) => s.n)));
  for (const it of (G?.items ?? []).filter((x) => x.command === command)) {
    const s = S(it.id);
    const b = base && S(base.id);
    growthRows.push({ id: it.id, command, size: it.size, files: it.units.files, clients: it.perFile.n, runs: s?.runs ?? 0, medianSeconds: s?.medianSeconds ?? null,
      minSeconds: s?.minSeconds ?? null, filesPerSecond: s?.filesPerSecond ?? null, clientsPerSecond: s?.perFile?.perSecond ?? null,
      filesPerSecondVsSmallest: s && b ? rnd(s.filesPerSecond / b.filesPerSecond, 3) : null, peakRssKB: s?.peakRssKB ?? null, failed: failures[it.id] ?? null });
  }
}

// ---------------------------------------------------------------------------------------
// The tables
// ---------------------------------------------------------------------------------------
const mib = (kb) => (kb == null ? '-' : `${(kb / 1024).toFixed(0)} MiB`);
const rate = (x) => (x == null ? '-' : x >= 100 ? String(Math.round(x)) : String(x));
const fix = (x, d = 3) => (x == null ? '-' : x.toFixed(d));
function table(rows) {
  const w = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return rows.map((r) => '  ' + r.map((x, i) => (i === 0 ? x.padEnd(w[i]) : x.padStart(w[i]))).join('  '));
}
const lines = [];
const header = ['', 'runs', 'median s', 'min s', 'max s', 'files/s', 'MB/s', 'per file', 'cpu s', 'peak RSS'];
for (const [name, g] of Object.entries(groups)) {
  if (g.skipped) continue;
  for (const tb of g.tables) {
    lines.push(tb.title);
    const rows = [header];
    for (const id of tb.ids) {
      const s = stats[id];
      if (!s) continue;
      if (!s.runs) {
        rows.push([s.label, '0', 'FAILED', '-', '-', '-', '-', '-', '-', '-']);
        continue;
      }
      rows.push([s.label, String(s.runs), fix(s.medianSeconds), fix(s.minSeconds), fix(s.maxSeconds), rate(s.filesPerSecond), s.mbPerSecond == null ? '-' : s.mbPerSecond.toFixed(1),
        s.perFile ? `${rate(s.perFile.perSecond)}/s ${s.perFile.what}` : '-', fix(s.cpuSecondsMedian, 2), mib(s.peakRssKB)]);
    }
    lines.push(...table(rows), '');
  }
  if (name === 'growth') {
    lines.push(g.title);
    const rows = [['', 'size', 'files', 'clients', 'runs', 'median s', 'min s', 'files/s', `vs ${growthRows[0]?.size ?? 1}x`, 'clients/s', 'peak RSS']];
    for (const r of growthRows) {
      rows.push([r.command, `${r.size}x`, String(r.files), String(r.clients), String(r.runs), r.runs ? fix(r.medianSeconds) : 'FAILED', fix(r.minSeconds), rate(r.filesPerSecond),
        r.filesPerSecondVsSmallest == null ? '-' : `${r.filesPerSecondVsSmallest.toFixed(2)}x`, rate(r.clientsPerSecond), mib(r.peakRssKB)]);
    }
    lines.push(...table(rows));
    lines.push('  (files/s: regular files of the image, every name counted, over the median; "vs": files/s against the smallest size\'s; ' +
      'below 1: slower per file as the image grows)', '');
  }
}
if (ratios.length) {
  lines.push('ratios to peers (syslayer\'s wall time over the peer\'s: below 1, syslayer is faster; median over median, and min over min)');
  for (const r of ratios) {
    const t = r.target ? `  target <= ${r.target.value}: ${r.met ? 'REACHED' : 'NOT reached'}` : '';
    lines.push(`  ${r.ours.split('.').slice(0, -1).join(' ')}: ${stats[r.ours].label} / ${stats[r.peer].label}: ${r.value.toFixed(2)}x (min ${r.minOverMin.toFixed(2)})${t}`);
    if (r.floor) lines.push(`    (start-up floor, ${stats[r.floor.id].label}: ${r.floor.medianSeconds.toFixed(3)} s = ${(100 * r.floor.shareOfOurs).toFixed(0)} % of syslayer's median; ` +
      `without it ${r.floor.withoutFloor.toFixed(2)}x)`);
  }
  lines.push('');
}
const checkLines = Object.values(groups).flatMap((g) => (g.lines ? g.lines(checks) : []));
if (checkLines.length) lines.push('checks (not timed):', ...checkLines, '');
if (Object.keys(perf).length) {
  lines.push(`per-pass times (${opts.quick ? 'the measured run, with --perf' : 'one extra run with --perf, also counted as a run'}; the total counts from the process's start, Node's start-up and module loading its first lines):`);
  for (const [id, p] of Object.entries(perf)) lines.push(`  ${id}: ` + (p.passes ? formatPerf(p.passes) : p.stderr.split('\n')[0] || '(nothing on stderr)'));
  // The scans' whole --perf output, as syslayer prints it.
  for (const id of Object.keys(perf).filter((x) => x.startsWith('scan.'))) {
    lines.push(`  ${id}, --perf as printed:`, ...perf[id].stderr.split('\n').map((l) => `    ${l}`));
  }
  lines.push('');
}
for (const n of notes) lines.push(`note: ${n}`);
const seconds = (Date.now() - startedAt.getTime()) / 1000;
const TOOL_VERSIONS = {
  patchelf: version(TOOLS.patchelf, ['--version']), scanelf: version(TOOLS.scanelf, ['-V']), cp: version(TOOLS.cp, ['--version']),
  find: version(TOOLS.find, ['--version']), time: GNU_TIME ? `${GNU_TIME} (${version(GNU_TIME, ['--version'])})` : null,
};
lines.push(
  `machine: ${M.nproc} cpu (${M.cpuModel}), ${(M.memTotalBytes / 2 ** 30).toFixed(1)} GiB, ${M.kernel}, node ${process.version}`,
  `tools: ${Object.entries(TOOL_VERSIONS).map(([k, v]) => `${k}: ${v ?? 'missing'}`).join('; ')}`,
  `syslayer: ${opts.syslayer}, commit ${git0.commit ?? '?'}, ${git0.dirtyCodePaths?.length ? `uncommitted code: ${git0.dirtyCodePaths.join(', ')}` : 'code paths clean'}; ` +
    `build ${build0}, run from a copy${build1 !== build0 ? ' (the checkout was rebuilt during the run)' : ''}`,
  `load ${loadBefore.map((x) => x.toFixed(2)).join(' ')} before, ${loadAfter.map((x) => x.toFixed(2)).join(' ')} after; ` +
    `${opts.rounds} round(s), a row repeated while its runs (or its peer's) total under ${opts.budget} s${opts.quick ? '' : ', plus one --perf run of each syslayer row'}; ` +
    `children without ${ENV_REMOVED.join(', ') || '(nothing removed)'}`,
  `time: ${Object.entries(groups).map(([n, g]) => `${n} ${g.seconds.toFixed(0)} s${g.skipped ? ' (skipped)' : ` (preparation ${g.prepSeconds.toFixed(0)} s)`}`).join(', ')}; ${seconds.toFixed(0)} s in all`,
);
process.stdout.write(lines.join('\n') + '\n');

// ---------------------------------------------------------------------------------------
// JSON
// ---------------------------------------------------------------------------------------
if (opts.write) {
  const result = {
    benchmark: 'peers',
    date: startedAt.toISOString(),
    durationSeconds: rnd(seconds, 1),
    commandLine: [process.execPath, ...process.argv.slice(1)].join(' '),
    options: opts,
    machine: M,
    node: process.version,
    tools: TOOL_VERSIONS,
    loadavgBefore: loadBefore.map((x) => rnd(x, 2)),
    loadavgAfter: loadAfter.map((x) => rnd(x, 2)),
    childEnvRemoved: ENV_REMOVED,
    nodeOptions: process.env.NODE_OPTIONS ?? null,
    syslayer: { checkout: opts.syslayer, ...git0, buildHash: build0, ranFromCopy: SNAP, rebuiltDuringRun: build0 !== build1 },
    cache: CACHE,
    rpath: RPATH,
    groups: Object.fromEntries(Object.entries(groups).map(([n, g]) => [n, {
      skipped: !!g.skipped, seconds: rnd(g.seconds, 1), prepSeconds: rnd(g.prepSeconds ?? null, 1), load1AtStart: rnd(g.load1 ?? null, 2),
      tables: g.tables?.map((t) => t.title) ?? [], inputs: g.warm ?? [], trees: Object.fromEntries((g.warm ?? []).map((d) => [d, trees.get(d) ?? null])),
    }])),
    notes,
    failures,
    order,
    results: stats,
    ratios,
    growth: growthRows,
    perf,
  };
  let out = opts.out;
  if (!out) {
    const dir = path.join(HERE, 'results');
    fs.mkdirSync(dir, { recursive: true });
    out = path.join(dir, `peers-${startedAt.toISOString().slice(0, 10)}.json`);
    if (fs.existsSync(out)) out = out.replace(/\.json$/, `-${startedAt.toISOString().slice(11, 19).replace(/:/g, '')}.json`);
  } else fs.mkdirSync(path.dirname(path.resolve(out)), { recursive: true });
  fs.writeFileSync(out, JSON.stringify(result, null, 2) + '\n');
  log(`wrote ${path.relative(process.cwd(), out) || out}`);
}
if (Object.keys(failures).length) process.exitCode = 1;

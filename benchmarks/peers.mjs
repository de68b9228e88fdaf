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
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { defaultCache, ensureClientsImage } from './clients-image.mjs';
import { ensureClientsCopies, ensureInplaceImage, ensureRootfsCopies } from './peers-images.mjs';
import { createRounds, fix, groupTableLines, mib, rate, ratiosOf, rnd, statsOf, textTable } from './lib/rounds.mjs';
import { freeBytes, fsType, memAvailable, which } from './lib/facts.mjs';
import { messages, parseBenchmarkArgs, reportTail, resultHead, startSession, toolVersions, writeResult } from './lib/session.mjs';
import { countTree } from './lib/tree.mjs';

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
const { opts } = (() => {
  const r = parseBenchmarkArgs({ usage: USAGE, groups: GROUPS, repo: REPO, budget: 10, clients: { value: 10000, min: 2 }, more: { growth: { type: 'string' } } });
  const growth = (r.v.growth ?? '1,4,16').split(',').filter(Boolean).map(Number);
  if (!growth.length || growth.some((n) => !Number.isInteger(n) || n < 1)) r.usageError(`--growth: whole multiples >= 1, comma-separated (${r.v.growth})`);
  r.opts.growth = [...new Set(growth)].sort((a, b) => a - b);
  return r;
})();
const { log, die, note, notes } = messages('peers');

// ---------------------------------------------------------------------------------------
// Tools, the code under test, the runner
// ---------------------------------------------------------------------------------------
const TOOLS = Object.fromEntries(['patchelf', 'scanelf', 'find', 'cp', 'sync', 'sh'].map((t) => [t, which(t)]));
for (const t of ['find', 'cp', 'sync', 'sh']) if (!TOOLS[t]) die(`${t} not found`);
for (const [t, pkg] of [['patchelf', 'patchelf'], ['scanelf', 'pax-utils']])
  if (!TOOLS[t]) note(`${t} not found: its rows are skipped (apt-get install ${pkg})`);
const CACHE = path.resolve(defaultCache());
fs.mkdirSync(CACHE, { recursive: true });
const session = startSession({ tag: 'peers', syslayer: opts.syslayer, timeout: opts.timeout, cache: CACHE, log, note, die });
const { run, CLI, SNAP, TMP, cleanups, CHILD_ENV } = session;

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
const { runs, perf, checks, failures, order, runGroups } = createRounds({ run, rounds: opts.rounds, budget: opts.budget, quick: opts.quick, log, note });

// One unmeasured syslayer run first: Node's and syslayer's own files into the page cache.
await run(syslayer('scan', path.join(REPO, 'sdk', 'prebuilt', 'x86_64')), { okStatus: [0, 1] });
const groups = await runGroups(opts.only, (name) => SETUP[name]());
session.end();

// ---------------------------------------------------------------------------------------
// Figures
// ---------------------------------------------------------------------------------------
const stats = statsOf(groups, { runs, checks, failures });
const S = (id) => (stats[id]?.runs ? stats[id] : null);
const ratios = ratiosOf(groups, stats);
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
const lines = [];
for (const [name, g] of Object.entries(groups)) {
  if (g.skipped) continue;
  lines.push(...groupTableLines(g, stats));
  if (name === 'growth') {
    lines.push(g.title);
    const rows = [['', 'size', 'files', 'clients', 'runs', 'median s', 'min s', 'files/s', `vs ${growthRows[0]?.size ?? 1}x`, 'clients/s', 'peak RSS']];
    for (const r of growthRows) {
      rows.push([r.command, `${r.size}x`, String(r.files), String(r.clients), String(r.runs), r.runs ? fix(r.medianSeconds) : 'FAILED', fix(r.minSeconds), rate(r.filesPerSecond),
        r.filesPerSecondVsSmallest == null ? '-' : `${r.filesPerSecondVsSmallest.toFixed(2)}x`, rate(r.clientsPerSecond), mib(r.peakRssKB)]);
    }
    lines.push(...textTable(rows));
    lines.push('  (files/s: regular files of the image, every name counted, over the median; "vs": files/s against the smallest size\'s; ' +
      'below 1: slower per file as the image grows)', '');
  }
}
const TOOL_VERSIONS = toolVersions(session, {
  patchelf: [TOOLS.patchelf, ['--version']], scanelf: [TOOLS.scanelf, ['-V']], cp: [TOOLS.cp, ['--version']], find: [TOOLS.find, ['--version']],
});
// The scans' whole --perf output too, as syslayer prints it.
lines.push(...reportTail(session, { ratios, stats, groups, checks, perf, printed: Object.keys(perf).filter((x) => x.startsWith('scan.')), notes, tools: TOOL_VERSIONS, opts }));
process.stdout.write(lines.join('\n') + '\n');

// ---------------------------------------------------------------------------------------
// JSON
// ---------------------------------------------------------------------------------------
if (opts.write) {
  const result = {
    ...resultHead(session, { options: opts, tools: TOOL_VERSIONS }),
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
  writeResult(session, result, { out: opts.out, resultsDir: path.join(HERE, 'results'), log });
}
if (Object.keys(failures).length) process.exitCode = 1;

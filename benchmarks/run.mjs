#!/usr/bin/env node
// The benchmark suite of issue 5: syslayer against peers measured in the same run, on the same
// files, on the same machine. See benchmarks/README.md for what is measured and how to read it.
//
//   node benchmarks/run.mjs [--quick] [options]        (npm run bench)
//   node benchmarks/run.mjs --image DIR [options]      (syslayer bench DIR)
//
// Images (built once, cached under $SYSLAYER_CACHE, default ~/.cache/syslayer):
//   rootfs   the Debian bookworm rootfs of rootfs/build-rootfs.sh
//   clients  that rootfs plus 2,048 syslayer clients and the reference layers
//            (clients-image.mjs), as a directory and as a .tar
//   big tar  the 2.4 GB tarball of tar-memory.mjs (peak memory while binding a 2 GB tarball)
//   bsdtar   the clients tarball gzipped, and a 1.2 GB tarball (the clients tarball plus three
//            more copies of the rootfs), the inputs of the tar-vs-bsdtar group (bsdtar-inputs.mjs)
// With --image DIR, the user's directory image takes the place of both (user-image.mjs): its
// clients are those `syslayer plan` finds, its tarball is packed at the start, nothing is
// generated and nothing is written into DIR.
// Outputs go to the working disk ($SYSLAYER_CACHE/bench-work) and to tmpfs (/dev/shm), each
// measured separately.
//
// No dependencies beyond Node; uses scanelf (pax-utils), readelf (binutils), patchelf, GNU
// time, GNU tar, cp, xargs; bsdtar (libarchive-tools) and gzip for the tar-vs-bsdtar group.

import { spawnSync, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureClientsImage, defaultCache } from './clients-image.mjs';
import { ensureBsdtarInputs, gzipTo } from './bsdtar-inputs.mjs';
import { planUserImage, packUserImage, syslayerReport } from './user-image.mjs';
import { createRunner, findGnuTime, childEnvironment, parsePerf, formatPerf, median } from './lib/measure.mjs';
import { which, machine, memAvailable, gitInfo, version, fsType, freeBytes } from './lib/facts.mjs';
import { buildHash, copyBuild } from './lib/build-copy.mjs';
import { countTree, readTree } from './lib/tree.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const REPO = path.resolve(HERE, '..');
const SELF = fileURLToPath(import.meta.url);

// ---------------------------------------------------------------------------------------
// Child mode: the raw-read baseline : walk without following symlinks,
// read every byte of every regular file once into one 4 MiB buffer; or, given a file, read it.
// ---------------------------------------------------------------------------------------
if (process.argv[2] === '--raw-read-child') {
  const { files, bytes } = readTree(process.argv.slice(3));
  process.stdout.write(`${files} ${bytes}\n`);
  process.exit(0);
}

// ---------------------------------------------------------------------------------------
// Arguments
// ---------------------------------------------------------------------------------------
const USAGE = `usage: node benchmarks/run.mjs [--quick] [--image DIR] [options]
  --image DIR        run on this directory image instead of the generated ones (never
                     written to; its tarball is packed into a temporary directory)
  --kernel K         --kernel of every syslayer plan/bind/verify run (default 4.11;
                     with --image: auto, the kernel in the image's lib/modules)
  --layers DIR       --layers of every syslayer plan/bind/verify run (repeatable)
  --no-tar           skip the tar -> tar rows (with --image: do not pack the image)
  --quick            one round, in which the syslayer runs carry --perf (no extra --perf
                     runs); no 2 GB tarball, no spawn-floor row
  --rounds N         rounds (default 3; --quick: 1)
  --budget S         stop repeating an item once its measured runs total S seconds (default 10)
  --locations L      output locations, comma-separated: disk,tmpfs (default both)
  --only G           groups, comma-separated: rootfs,clients,disk,tmpfs,tar-vs-bsdtar,context
  --bsdtar-copies N  tar-vs-bsdtar: rootfs copies added to the clients tarball to make its
                     big tarball (default 3: 1.2 GB; 0 = no big tarball)
  --bsdtar-gz W      tar-vs-bsdtar: .tar.gz -> .tar.gz rows: none, small (the clients
                     tarball; the default) or both (also the big tarball: about 7 more minutes
                     here); --quick: none unless given
  --clients N        syslayer clients in the generated image (default 2048; not with --image)
  --rootfs DIR       the rootfs image (default: rootfs/build-rootfs.sh's cached rootfs;
                     not with --image)
  --big-tar-gb N     size of the tar-memory.mjs tarball (default 2; 0 = skip; --quick and
                     --image: 0 unless given)
  --timeout S        kill a command that runs longer than S seconds and stop (default 600)
  --out FILE         JSON results file (default benchmarks/results/run-<date>.json; with
                     --image: ./syslayer-bench-<image name>-<date>.json)
  --no-write         print the table only
Environment: SYSLAYER_CACHE (cache root, default ~/.cache/syslayer).
`;
const opts = {
  quick: false, rounds: null, budget: 10, locations: ['disk', 'tmpfs'], only: null, clients: 2048,
  rootfs: null, bigTarGb: null, timeout: 600, out: null, write: true, image: null, kernel: null, layers: [], tar: true,
  bsdtarCopies: 3, bsdtarGz: null,
};
{
  const a = process.argv.slice(2);
  const val = (i, name) => {
    const v = a[i].includes('=') ? a[i].slice(a[i].indexOf('=') + 1) : a[i + 1];
    if (v === undefined) bad(`${name} needs a value`);
    return v;
  };
  function bad(m) {
    process.stderr.write(`${m}\n${USAGE}`);
    process.exit(2);
  }
  for (let i = 0; i < a.length; i++) {
    const k = a[i].split('=')[0];
    const eq = a[i].includes('=');
    const take = () => {
      const v = val(i, k);
      if (!eq) i++;
      return v;
    };
    const num = (v, int) => {
      const n = Number(v);
      if (!Number.isFinite(n) || n < 0 || (int && !Number.isInteger(n))) bad(`${k}: bad number ${v}`);
      return n;
    };
    switch (k) {
      case '-h': case '--help': process.stdout.write(USAGE); process.exit(0);
      case '--quick': opts.quick = true; break;
      case '--rounds': opts.rounds = num(take(), true); if (opts.rounds < 1) bad('--rounds >= 1'); break;
      case '--budget': opts.budget = num(take()); break;
      case '--locations': opts.locations = take().split(',').filter(Boolean); break;
      case '--only': opts.only = take().split(',').filter(Boolean); break;
      case '--clients': opts.clients = num(take(), true); if (opts.clients < 4) bad('--clients >= 4'); break;
      case '--rootfs': opts.rootfs = take(); break;
      case '--big-tar-gb': opts.bigTarGb = num(take()); break;
      case '--timeout': opts.timeout = num(take()); break;
      case '--out': opts.out = take(); break;
      case '--no-write': opts.write = false; break;
      case '--image': opts.image = path.resolve(take()); break;
      case '--kernel': opts.kernel = take(); break;
      case '--layers': opts.layers.push(path.resolve(take())); break;
      case '--no-tar': opts.tar = false; break;
      case '--bsdtar-copies': opts.bsdtarCopies = num(take(), true); break;
      case '--bsdtar-gz': opts.bsdtarGz = take(); if (!['none', 'small', 'both'].includes(opts.bsdtarGz)) bad('--bsdtar-gz: none, small or both'); break;
      default: bad(`unknown argument ${a[i]}`);
    }
  }
  for (const l of opts.locations) if (!['disk', 'tmpfs'].includes(l)) bad(`--locations: unknown ${l}`);
  if (opts.image && (a.some((x) => /^--(clients|rootfs)(=|$)/.test(x)))) bad('--clients and --rootfs make the generated images: not with --image');
  if (opts.rounds === null) opts.rounds = opts.quick ? 1 : 3;
  if (opts.bsdtarGz === null) opts.bsdtarGz = opts.quick ? 'none' : 'small';
  for (const g of opts.only ?? []) if (!['rootfs', 'clients', 'disk', 'tmpfs', 'tar-vs-bsdtar', 'context'].includes(g)) bad(`--only: unknown group ${g}`);
  if (opts.bigTarGb === null) opts.bigTarGb = opts.quick || opts.image ? 0 : 2;
  // A user's image names its kernel in lib/modules; the generated images have none.
  if (opts.kernel === null) opts.kernel = opts.image ? 'auto' : '4.11';
}
const wantGroup = (g) => !opts.only || opts.only.includes(g);

const log = (m) => process.stderr.write(`[bench] ${m}\n`);
function die(m) {
  log(`error: ${m}`);
  process.exit(1);
}

// ---------------------------------------------------------------------------------------
// Tools and environment
// ---------------------------------------------------------------------------------------
if (!fs.existsSync(path.join(REPO, 'build', 'syslayer.wasm')) || !fs.existsSync(path.join(REPO, 'dist')))
  die('syslayer is not built: run `npm run build` first');
const TOOLS = Object.fromEntries(['scanelf', 'readelf', 'patchelf', 'xargs', 'tar', 'cp', 'sync', 'true', 'bsdtar', 'gzip'].map((t) => [t, which(t)]));
for (const t of ['xargs', 'tar', 'cp']) if (!TOOLS[t]) die(`${t} not found`);
const GNU_TIME = findGnuTime();
if (!GNU_TIME) log('note: GNU time (/usr/bin/time) not found: no peak RSS / CPU figures (apt-get install time)');
for (const [t, pkg] of [['scanelf', 'pax-utils'], ['readelf', 'binutils'], ['patchelf', 'patchelf'], ['bsdtar', 'libarchive-tools'], ['gzip', 'gzip']])
  if (!TOOLS[t]) log(`note: ${t} not found: its rows are skipped (apt-get install ${pkg})`);

// The children's environment: without NODE_EXTRA_CA_CERTS (lib/measure.mjs says why), the
// removal recorded in the JSON.
const { env: CHILD_ENV, removed: ENV_REMOVED } = childEnvironment();

const CACHE = path.resolve(defaultCache());
fs.mkdirSync(CACHE, { recursive: true });

// ---------------------------------------------------------------------------------------
// Images
// ---------------------------------------------------------------------------------------
function rootfsImage() {
  if (opts.rootfs) return path.resolve(opts.rootfs);
  const cached = path.join(CACHE, 'rootfs-bookworm');
  if (fs.existsSync(`${cached}.stamp`) && fs.existsSync(cached)) return cached;
  const script = path.join(HERE, 'rootfs', 'build-rootfs.sh');
  log(`no cached rootfs: running ${path.relative(REPO, script)} (needs root and mmdebstrap; a few minutes)`);
  const r = spawnSync(script, [], { stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8', env: { ...process.env, SYSLAYER_CACHE: CACHE } });
  if (r.status !== 0) die(`${script} failed; pass --rootfs DIR`);
  return r.stdout.trim().split('\n').pop().trim();
}

// ---------------------------------------------------------------------------------------
// Running one command (lib/measure.mjs): spawned in its own process group under GNU time,
// stdout piped and drained (counted; the first 4 KiB kept), stderr kept, timed from spawn to exit.
// ---------------------------------------------------------------------------------------
const TMP = fs.mkdtempSync(path.join(os.tmpdir(), 'syslayer-bench-'));
// The code under test is copied at the start and run from the copy (lib/build-copy.mjs).
const SNAP = path.join(TMP, 'syslayer');
const CLI = copyBuild(REPO, SNAP);
const { run, killCurrent } = createRunner({ tmp: TMP, env: CHILD_ENV, timeoutSeconds: opts.timeout, gnuTime: GNU_TIME, cwd: REPO });
const cleanups = [];
function cleanupAll() {
  for (const f of cleanups.splice(0).reverse()) {
    try {
      f();
    } catch {}
  }
}
process.on('exit', () => {
  killCurrent();
  cleanupAll();
  fs.rmSync(TMP, { recursive: true, force: true });
});
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => process.exit(130));

const rmrf = (p) => fs.rmSync(p, { recursive: true, force: true });
const sync = () => spawnSync('sync');
const cpa = (src, dst) => execFileSync('cp', ['-a', src, dst]);

// ---------------------------------------------------------------------------------------
// Set-up
// ---------------------------------------------------------------------------------------
const startedAt = new Date();
const loadBefore = os.loadavg();
const build0 = buildHash(REPO);
const git0 = gitInfo(REPO);
if (buildHash(SNAP) !== build0) die('the repository was rebuilt while the benchmark copied it; run again');
const M = machine();
log(`cache ${CACHE}; ${M.nproc} cpu, ${(M.memTotalBytes / 2 ** 30).toFixed(1)} GiB; load ${loadBefore.map((x) => x.toFixed(2)).join(' ')}`);
if (ENV_REMOVED.length) log(`removed from the children's environment: ${ENV_REMOVED.join(', ')}`);
if (process.env.NODE_OPTIONS) log(`note: NODE_OPTIONS is set (${process.env.NODE_OPTIONS}) and applies to the Node rows`);

const notes = [];
const note = (n) => {
  notes.push(n);
  log(`note: ${n}`);
};
// --kernel and --layers of every syslayer plan, bind and verify run.
const K = ['--kernel', opts.kernel, ...opts.layers.flatMap((d) => ['--layers', d])];
const wantWrites = opts.locations.some((l) => wantGroup(l));
// The tar-vs-bsdtar group: syslayer's tar -> tar against bsdtar re-writing the same tarball.
const BSD_GROUP = 'tar-vs-bsdtar';
let wantBsd = wantGroup(BSD_GROUP) && opts.tar && !!TOOLS.bsdtar;

// The inputs, one shape for both modes. ROOTFS: the image of the read-only rows; CLIENTS: the
// image of plan and verify and the input of the write rows; CLIENTS_TAR: the input of the tar
// rows (packed further down for a user's image); clientPaths: the clients bind writes (their
// number is the per-client rate's, their files are patchelf's). With --image, all one image.
// Images by their real path: `cp -a` of a symlink copies the link (and clients-image.mjs would
// then write the clients into its target), and `scanelf -R` fails on a symlink as its root.
function realDir(p) {
  if (!fs.statSync(p, { throwIfNoEntry: false })?.isDirectory()) die(`not a directory: ${p}${p === opts.image ? ' (the benchmark takes a directory image)' : ''}`);
  return fs.realpathSync(p);
}
function openUserImage(dir) {
  try {
    return planUserImage({ cli: CLI, env: CHILD_ENV, dir, kernelArgs: K, tmp: TMP });
  } catch (e) {
    die(e.message);
  }
}
const USER = opts.image ? openUserImage(realDir(opts.image)) : null;
const ROOTFS = USER ? USER.dir : realDir(rootfsImage());
const CL = USER ? null : ensureClientsImage({ cache: CACHE, rootfs: ROOTFS, clients: opts.clients, log });
const CLIENTS = USER ? USER.dir : CL.dir;
let CLIENTS_TAR = USER || !opts.tar ? null : CL.tar;
const clientPaths = USER ? USER.bindable : CL.clientPaths;
const IMAGE_NAME = USER ? `the image ${USER.dir}` : 'the clients image';
// What the report says of the clients of a user's image, plainly when there are none to bind.
function userClients() {
  const u = USER;
  const k = `kernel ${opts.kernel === 'auto' ? `auto = ${u.kernel}` : u.kernel}`;
  const idle = 'the bind, unbind and verify rows only walk and copy the image; no per-client rate';
  if (!u.clients.length) return `no syslayer clients (${k}): ${idle}`;
  return `${u.clients.length} syslayer clients, ${u.bindable.length ? u.bindable.length : 'none'} bindable (${k})${u.bindable.length ? '' : `: ${idle}`}`;
}
const layersText = () => USER.catalog.map((l) => `${l.name} r${l.revision} (${l.path})`).join(', ') || 'none found';
if (USER) {
  log(`image ${USER.dir}: ${userClients()}`);
  log(`layers: ${layersText()}`);
  const nb = USER.notBindable;
  if (nb.length) note(`${nb.length} of the image's clients not bindable (plan, bind and verify exit 1; measured all the same; the JSON lists them), ` +
    `the first: ${nb[0].path}: ${nb[0].error}`);
}
if (!opts.tar && wantWrites) note('tar -> tar rows skipped (--no-tar)');
if (wantGroup(BSD_GROUP) && !wantBsd) note(`${BSD_GROUP} group skipped: ${!opts.tar ? '--no-tar' : 'bsdtar not found (apt-get install libarchive-tools)'}`);

let BIG_TAR = null;
if (opts.bigTarGb > 0 && (wantGroup('disk') || wantGroup('tmpfs'))) {
  BIG_TAR = path.join(CACHE, `tar-memory-${opts.bigTarGb}g`, 'in.tar');
  if (!fs.existsSync(BIG_TAR)) {
    log(`building the ${opts.bigTarGb} GB tarball with tar-memory.mjs (once; it also binds it once)`);
    const r = spawnSync(process.execPath, [path.join(HERE, 'tar-memory.mjs'), '--size-gb', String(opts.bigTarGb)], {
      stdio: ['ignore', 'inherit', 'inherit'], env: { ...CHILD_ENV, SYSLAYER_CACHE: CACHE }, cwd: REPO,
    });
    if (r.status !== 0 || !fs.existsSync(BIG_TAR)) die('tar-memory.mjs failed');
  }
}

log('counting the trees');
const treeA = countTree(ROOTFS);
const treeB = USER ? treeA : countTree(CLIENTS);
for (const [n, t] of USER ? [['image', treeA]] : [['rootfs', treeA], ['clients', treeB]])
  log(`${n}: ${t.files} regular files (${(t.bytes / 1e6).toFixed(1)} MB), ${t.elfFiles} ELF, ${t.dynamicElfFiles} dynamic ELF, ${t.symlinks} symlinks, ${t.dirs} dirs`);
// patchelf --set-rpath works on the clients it can read (a static client has no PT_DYNAMIC).
const dynamicSet = new Set(treeB.dynamic);
const patchelfClients = clientPaths.filter((p) => dynamicSet.has(p));
const clientsBytes = patchelfClients.reduce((s, p) => s + fs.lstatSync(path.join(CLIENTS, p)).size, 0);
if (TOOLS.patchelf && wantWrites && !patchelfClients.length)
  note(`patchelf --set-rpath rows skipped: ${clientPaths.length ? 'no client to bind has a PT_DYNAMIC' : 'no clients to bind'}`);
if (USER && opts.tar && (wantWrites || wantBsd)) {
  const need = treeB.bytes * 1.1 + 256e6;
  if (freeBytes(TMP) < need) note(`tar -> tar rows skipped: ${TMP} has ${(freeBytes(TMP) / 1e9).toFixed(2)} GB free, ${(need / 1e9).toFixed(2)} GB needed for the image's tarball`);
  else {
    log(`packing the image with GNU tar into ${TMP} (input of the tar -> tar rows; not timed)`);
    const packed = packUserImage({ dir: USER.dir, tarPath: path.join(TMP, 'image.tar') });
    if (packed.reason) note(`tar -> tar rows skipped: ${packed.reason}`);
    CLIENTS_TAR = packed.tar;
  }
}
const tarBBytes = CLIENTS_TAR ? fs.statSync(CLIENTS_TAR).size : 0;
const bigTarBytes = BIG_TAR ? fs.statSync(BIG_TAR).size : 0;

// Lists for xargs (NUL-separated, relative to the image, run with cwd = image).
const writeList = (name, rels) => {
  const p = path.join(TMP, name);
  fs.writeFileSync(p, rels.map((r) => r + '\0').join(''));
  return p;
};
const LIST = {
  aElf: writeList('a-elf', treeA.elf),
  aDyn: writeList('a-dyn', treeA.dynamic),
  bElf: writeList('b-elf', treeB.elf),
  bDyn: writeList('b-dyn', treeB.dynamic),
  clients: writeList('clients', patchelfClients),
  // true ignores its arguments: any 512 names do.
  spawn: writeList('spawn', Array.from({ length: 512 }, (_, i) => clientPaths[i] ?? `f${i}`)),
};

// Working directories on the disk. The generated images' have fixed names in the cache; a run
// on a user's image takes fresh ones, so that it never removes another run's outputs.
const WORK = USER ? fs.mkdtempSync(path.join(CACHE, 'bench-image-')) : null;
if (WORK) cleanups.push(() => rmrf(WORK));
const workDir = (name) => path.join(WORK ?? CACHE, name);

// Inputs of the tar-vs-bsdtar group, each { key, label, path, gz, bytes (the file), tarBytes
// (the tar inside), files (regular files), entries (GNU tar -t lines, counted once, not timed) }.
// Generated images: the clients tarball, its .tar.gz and a >= 1 GB tarball (the clients tarball
// plus --bsdtar-copies copies of the rootfs, each under ./srv/copy-<i>/), built once in
// $SYSLAYER_CACHE/bench-bsdtar/ (bsdtar-inputs.mjs). A user's image: its packed tarball, and
// that gzipped into $TMP when --bsdtar-gz asks for it; no big tarball.
const BSD = { inputs: [], out: null, tiny: null };
if (wantBsd && !CLIENTS_TAR) {
  wantBsd = false;
  note(`${BSD_GROUP} group skipped: no tarball of ${IMAGE_NAME}`);
}
// GNU tar's verbose listing with full-resolution mtimes: per entry (by name, with the link
// target), [mode, owner, size, mtime]. GNU tar names the LIBARCHIVE.xattr.* records of bsdtar's
// output on stderr (ignored) and then exits 0 or 2.
const listTar = (p) => {
  const r = spawnSync(TOOLS.tar, ['--full-time', '-tv', ...(isGz(p) ? ['-z'] : []), '-f', p], { stdio: ['ignore', 'pipe', 'ignore'], maxBuffer: 1 << 30 });
  if (r.status !== 0 && r.status !== 2) return null;
  const m = new Map();
  for (const line of r.stdout.toString('latin1').split('\n')) {
    const f = /^(\S+) (\S+) +(\S+) (\S+ \S+) +(.*)$/.exec(line);
    if (f) m.set(f[5], [f[1], f[2], f[3], f[4]]);
    else if (line) m.set(line, ['?', '?', '?', '?']);
  }
  return m;
};
function isGz(p) {
  return /\.(tar\.gz|tgz)$/.test(p);
}
if (wantBsd) {
  const gz = TOOLS.gzip ? opts.bsdtarGz : 'none';
  if (!TOOLS.gzip && opts.bsdtarGz !== 'none') note(`${BSD_GROUP}: .tar.gz rows skipped: gzip not found`);
  let made;
  if (USER) {
    made = { small: CLIENTS_TAR, smallGz: null, big: null, bigGz: null };
    if (gz !== 'none') {
      if (freeBytes(TMP) < tarBBytes * 0.7 + 256e6) note(`${BSD_GROUP}: .tar.gz rows skipped: no room in ${TMP} for the gzipped tarball`);
      else {
        log(`gzipping the image's tarball into ${TMP} (input of the .tar.gz rows; not timed)`);
        made.smallGz = path.join(TMP, 'image.tar.gz');
        gzipTo(CLIENTS_TAR, made.smallGz);
      }
    }
    if (opts.bsdtarCopies > 0) note(`${BSD_GROUP}: no big tarball on a user's image (it is made of the generated rootfs)`);
  } else {
    made = ensureBsdtarInputs({ cache: CACHE, rootfs: ROOTFS, clientsTar: CL.tar, clients: opts.clients, copies: opts.bsdtarCopies, gz, log });
  }
  log(`${BSD_GROUP}: counting the entries of the inputs (GNU tar -t; not timed)`);
  const copyFiles = opts.bsdtarCopies * treeA.files;
  for (const [key, p, files, label] of [
    ['small', made.small, treeB.files, USER ? 'the image\'s tarball' : 'clients tarball'],
    ['big', made.big, treeB.files + copyFiles, 'big tarball'],
    ['smallgz', made.smallGz, treeB.files, USER ? 'the image\'s .tar.gz' : 'clients .tar.gz'],
    ['biggz', made.bigGz, treeB.files + copyFiles, 'big .tar.gz'],
  ]) {
    if (!p) continue;
    const tarPath = key.endsWith('gz') ? (key === 'smallgz' ? made.small : made.big) : p;
    const listing = listTar(p);
    if (listing == null) die(`GNU tar cannot list ${p}`);
    BSD.inputs.push({ key, label, path: p, gz: key.endsWith('gz'), bytes: fs.statSync(p).size, tarBytes: fs.statSync(tarPath).size, files, entries: listing.size });
    Object.defineProperty(BSD.inputs.at(-1), 'listing', { value: listing, enumerable: false });
  }
  // The fixed cost of a tar -> tar bind: a tarball of one client and the reference layers.
  const tinyRoot = path.join(TMP, 'tiny');
  const sdk = path.join(REPO, 'sdk', 'prebuilt', 'x86_64');
  fs.mkdirSync(path.join(tinyRoot, 'usr', 'bin'), { recursive: true });
  fs.mkdirSync(path.join(tinyRoot, 'usr', 'lib', 'syslayer'), { recursive: true });
  fs.copyFileSync(path.join(sdk, 'bin', 'abi2-demo'), path.join(tinyRoot, 'usr', 'bin', 'abi2-demo'));
  fs.cpSync(path.join(sdk, 'layers'), path.join(tinyRoot, 'usr', 'lib', 'syslayer', 'layers'), { recursive: true });
  BSD.tiny = path.join(TMP, 'tiny.tar');
  execFileSync(TOOLS.tar, ['--format=pax', '--numeric-owner', '--sort=name', '-C', tinyRoot, '-cf', BSD.tiny, '.']);
  // Outputs: the working disk, beside the inputs, one at a time.
  BSD.out = workDir('bench-work-bsdtar');
  rmrf(BSD.out);
  fs.mkdirSync(BSD.out, { recursive: true });
  cleanups.push(() => rmrf(BSD.out));
  for (const i of BSD.inputs) log(`${BSD_GROUP}: ${i.label} ${i.path}: ${(i.bytes / 1e9).toFixed(2)} GB, ${i.entries} entries`);
}

// Output locations.
const LOC = {};
if (opts.locations.includes('disk') && wantGroup('disk')) {
  const d = workDir('bench-work');
  rmrf(d);
  fs.mkdirSync(d, { recursive: true });
  cleanups.push(() => rmrf(d));
  LOC.disk = { dir: d, fsType: fsType(d), bigTar: !!BIG_TAR };
}
if (opts.locations.includes('tmpfs') && wantGroup('tmpfs')) {
  const shm = '/dev/shm';
  // One output exists at a time (each is removed after its run); tmpfs pages are RAM.
  const needImage = treeB.bytes * 1.2 + 256e6;
  const needBig = bigTarBytes * 1.1 + 256e6;
  const room = fs.existsSync(shm) ? Math.min(freeBytes(shm), memAvailable() - 2e9) : 0;
  if (room < needImage) {
    note(`tmpfs skipped: ${shm} has ${(room / 1e9).toFixed(2)} GB usable (free space and memory), ${(needImage / 1e9).toFixed(2)} GB needed`);
  } else {
    const d = fs.mkdtempSync(path.join(shm, 'syslayer-bench-'));
    cleanups.push(() => rmrf(d));
    LOC.tmpfs = { dir: d, fsType: fsType(d), bigTar: !!BIG_TAR && room >= needBig };
    if (BIG_TAR && room < needBig)
      note(`tmpfs: 2 GB tarball rows skipped (${(room / 1e9).toFixed(2)} GB usable, ${(needBig / 1e9).toFixed(2)} GB needed)`);
  }
}

// A bound copy of the input image (input of verify and unbind), made once, not timed. Its
// report gives the counts the measured runs must print: clients it bound, and clients bound in
// the copy (those plus the ones already bound so in the input).
const BOUND = workDir('bench-work-bound');
const needBound = wantGroup('clients') || Object.keys(LOC).length;
// A user's image may hold clients no layer fits: syslayer then exits 1, naming them.
const OK_CLIENTS = USER?.notBindable.length ? [0, 1] : [0];
const EXPECT = { bindable: clientPaths.length, bound: null, inBound: null };
if (needBound) {
  log(`binding a reference copy of ${IMAGE_NAME} (input of verify and unbind; not timed)`);
  rmrf(BOUND);
  cleanups.push(() => rmrf(BOUND));
  try {
    const ref = syslayerReport({ cli: CLI, env: CHILD_ENV, argv: ['bind', ...K, CLIENTS, '-o', BOUND], reportFile: path.join(TMP, 'bound.json') });
    const errors = ref.report.clients.filter((c) => c.outcome?.status === 'error');
    if (!OK_CLIENTS.includes(ref.status)) throw new Error(errors.slice(0, 3).map((c) => `${c.path}: ${c.outcome.error}`).join('; '));
    const status = (s) => ref.report.clients.filter((c) => c.outcome?.status === s).length;
    EXPECT.bound = status('bound');
    EXPECT.inBound = status('bound') + status('unchanged');
  } catch (e) {
    die(`reference bind failed: ${e.message}`);
  }
}

// ---------------------------------------------------------------------------------------
// The items. units: the denominators of files/s and MB/s (the input image); perFile: the
// files the operation is about (clients for bind-like rows) for the per-file rate.
// ---------------------------------------------------------------------------------------
const node = (...a) => [process.execPath, ...a];
const items = [];
function add(it) {
  items.push({ okStatus: [0], cwd: REPO, prep: null, after: null, check: null, perFile: null, syslayer: false, noBudget: false, pair: null, ...it });
}
const unitsA = { files: treeA.files, bytes: treeA.bytes };
const unitsB = { files: treeB.files, bytes: treeB.bytes };
// No clients to bind: no per-client rate (the rows still run).
const perClients = clientPaths.length ? { n: clientPaths.length, what: 'clients' } : null;
const perPatchelf = { n: patchelfClients.length, what: 'clients' };
const XP = ['-0', '-P2']; // two parallel processes: the machine's core count here

function peerReads(group, img, tree, lists, units) {
  if (TOOLS.scanelf)
    add({ id: `${group}.scanelf`, group, label: 'scanelf -R', units, argv: [TOOLS.scanelf, '-R', '-q', '-n', '-i', '-r', '-S', '-k', '.note.gnu.build-id', '-D', '-I', img] });
  if (TOOLS.readelf)
    add({ id: `${group}.readelf`, group, label: 'readelf -d (xargs -P2 -n64)', units, cwd: img, perFile: { n: tree.elfFiles, what: 'ELF' },
      argv: [TOOLS.xargs, ...XP, '-n64', '-a', lists.elf, TOOLS.readelf, '-d', '-W'], okStatus: [0, 123] });
  if (TOOLS.patchelf)
    add({ id: `${group}.needed`, group, label: 'patchelf --print-needed (xargs -P2 -n64)', units, cwd: img, perFile: { n: tree.dynamicElfFiles, what: 'dyn ELF' },
      // On a user's image some file may defeat patchelf (xargs then exits 123); the row stays.
      argv: [TOOLS.xargs, ...XP, '-n64', '-a', lists.dyn, TOOLS.patchelf, '--print-needed'], okStatus: USER ? [0, 123] : [0] });
  add({ id: `${group}.raw`, group, label: 'raw read (node)', units, argv: node(SELF, '--raw-read-child', img) });
}

if (wantGroup('rootfs')) {
  add({ id: 'rootfs.scan', group: 'rootfs', label: 'syslayer scan --json', syslayer: true, units: unitsA, argv: node(CLI, 'scan', '--json', ROOTFS), okStatus: [0, 1] });
  peerReads('rootfs', ROOTFS, treeA, { elf: LIST.aElf, dyn: LIST.aDyn }, unitsA);
}
// On a user's image both groups read the same tree: scan and its peers run once, in the
// rootfs group when it runs (the clients group's ratios then use its rows).
const clientsReads = !USER || !wantGroup('rootfs');
if (wantGroup('clients')) {
  const g = 'clients';
  if (clientsReads) add({ id: 'clients.scan', group: g, label: 'syslayer scan --json', syslayer: true, units: unitsB, argv: node(CLI, 'scan', '--json', CLIENTS), okStatus: [0, 1] });
  add({ id: 'clients.plan', group: g, label: 'syslayer plan', syslayer: true, units: unitsB, perFile: perClients, expect: /(\d+) bindable/, expectCount: EXPECT.bindable,
    argv: node(CLI, 'plan', ...K, CLIENTS), okStatus: OK_CLIENTS });
  add({ id: 'clients.verify', group: g, label: 'syslayer verify (bound image)', syslayer: true, units: unitsB, perFile: perClients, expect: /(\d+) verified/, expectCount: EXPECT.inBound,
    argv: node(CLI, 'verify', ...K, BOUND), okStatus: OK_CLIENTS });
  if (clientsReads) peerReads(g, CLIENTS, treeB, { elf: LIST.bElf, dyn: LIST.bDyn }, unitsB);
}
for (const [loc, L] of Object.entries(LOC)) {
  const g = loc;
  const out = path.join(L.dir, 'out');
  const outTar = path.join(L.dir, 'out.tar');
  const ip = path.join(L.dir, 'inplace');
  const pe = path.join(L.dir, 'patchelf');
  const clean = (p) => () => {
    rmrf(p);
    sync();
  };
  const unitsTar = { files: treeB.files, bytes: tarBBytes };
  const binds = { syslayer: true, perFile: perClients, expect: /(\d+) bound/, expectCount: EXPECT.bound, okStatus: OK_CLIENTS };
  add({ id: `${g}.bind`, group: g, label: 'syslayer bind dir -> dir (-o)', ...binds, units: unitsB,
    argv: node(CLI, 'bind', ...K, CLIENTS, '-o', out), prep: clean(out), after: () => rmrf(out) });
  add({ id: `${g}.unbind`, group: g, label: 'syslayer unbind dir -> dir (-o)', ...binds, units: unitsB, expect: /(\d+) unbound/, expectCount: EXPECT.inBound,
    argv: node(CLI, 'unbind', BOUND, '-o', out), prep: clean(out), after: () => rmrf(out) });
  add({ id: `${g}.cp`, group: g, label: 'cp -a (the tree)', units: unitsB, argv: [TOOLS.cp, '-a', CLIENTS, out], prep: clean(out), after: () => rmrf(out) });
  add({ id: `${g}.inplace`, group: g, label: 'syslayer bind --in-place', ...binds, units: unitsB,
    argv: node(CLI, 'bind', ...K, '--in-place', ip),
    prep: () => {
      rmrf(ip);
      cpa(CLIENTS, ip);
      sync();
    },
    after: () => rmrf(ip) });
  if (TOOLS.patchelf && patchelfClients.length) {
    const prepPe = () => {
      rmrf(pe);
      fs.mkdirSync(pe);
      execFileSync(TOOLS.xargs, ['-0', '-a', LIST.clients, 'cp', '-a', '--parents', '-t', pe], { cwd: CLIENTS });
      sync();
    };
    const setrpath = { group: g, units: { files: perPatchelf.n, bytes: clientsBytes }, perFile: perPatchelf, cwd: pe, prep: prepPe, after: () => rmrf(pe) };
    add({ id: `${g}.setrpath`, label: 'patchelf --set-rpath, 1 file/process (xargs -P2 -n1)', ...setrpath,
      argv: [TOOLS.xargs, ...XP, '-n1', '-a', LIST.clients, TOOLS.patchelf, '--set-rpath', '/opt/x'] });
    add({ id: `${g}.setrpath64`, label: 'patchelf --set-rpath, 64 files/process (xargs -P2 -n64)', ...setrpath,
      argv: [TOOLS.xargs, ...XP, '-n64', '-a', LIST.clients, TOOLS.patchelf, '--set-rpath', '/opt/x'] });
  }
  if (CLIENTS_TAR) {
    add({ id: `${g}.tarbind`, group: g, label: 'syslayer bind tar -> tar', ...binds, units: unitsTar,
      argv: node(CLI, 'bind', ...K, CLIENTS_TAR, '-o', outTar), prep: clean(outTar), after: () => rmrf(outTar) });
    add({ id: `${g}.tarcp`, group: g, label: 'cp (the tarball)', units: unitsTar, argv: [TOOLS.cp, CLIENTS_TAR, outTar], prep: clean(outTar), after: () => rmrf(outTar) });
  }
  if (L.bigTar) {
    const unitsBig = { files: null, bytes: bigTarBytes };
    // The tar-memory tarball is a generated image: kernel 4.11 whatever the user's image wants.
    add({ id: `${g}.bigtarbind`, group: g, label: `syslayer bind tar -> tar, ${(bigTarBytes / 1e9).toFixed(1)} GB tarball`, syslayer: true, units: unitsBig, expect: /(\d+) bound/,
      argv: node(CLI, 'bind', '--kernel', '4.11', BIG_TAR, '-o', outTar), prep: clean(outTar), after: () => rmrf(outTar) });
    add({ id: `${g}.bigtarcp`, group: g, label: `cp (the ${(bigTarBytes / 1e9).toFixed(1)} GB tarball)`, units: unitsBig, argv: [TOOLS.cp, BIG_TAR, outTar], prep: clean(outTar), after: () => rmrf(outTar) });
  }
}
// tar -> tar against bsdtar: `syslayer bind in.tar -o out.tar` and `bsdtar -cf out.tar @in.tar`
// (bsdtar reads the archive's entries and writes them to a new archive: the fastest honest
// re-writing of a tarball by a peer; it binds nothing), side by side on each input, every round
// (no --budget: these rows want medians of --rounds runs). .tar.gz: gzip level 6 on both sides
// (syslayer's createGzip() default; bsdtar told so with --options). Two floors: Node start-up
// plus our imports (`syslayer --help`) and the fixed cost of a tar bind (a tarball of one client).
// Every output is checked once (not timed): GNU tar lists as many entries as in the input.
if (wantBsd) {
  const g = BSD_GROUP;
  const bsdOut = (gz) => path.join(BSD.out, gz ? 'out.tar.gz' : 'out.tar');
  const clean = (p) => () => {
    rmrf(p);
    sync();
  };
  const bound = { expect: /(\d+) bound/, expectCount: EXPECT.bound ?? (USER ? null : clientPaths.length), okStatus: OK_CLIENTS };
  // The output against the input, entry by entry: as many entries, the same names; and how many
  // changed size (the bound clients) or mode, owner or mtime (none should).
  const checkOf = (input, out) => () => {
    const list = listTar(out);
    const r = { entries: list?.size ?? null, inputEntries: input.entries, missing: 0, sizeChanged: 0, modeChanged: 0, ownerChanged: 0, mtimeChanged: 0, outBytes: fs.statSync(out).size };
    for (const [name, [mode, owner, size, mtime]] of input.listing) {
      const o = list?.get(name);
      if (!o) {
        r.missing++;
        continue;
      }
      if (o[0] !== mode) r.modeChanged++;
      if (o[1] !== owner) r.ownerChanged++;
      if (o[2] !== size) r.sizeChanged++;
      if (o[3] !== mtime) r.mtimeChanged++;
    }
    r.ok = r.entries === input.entries && r.missing === 0;
    if (!r.ok) note(`${g}: ${out} lists ${r.entries ?? '?'} entries (${r.missing} of the input's missing), the input ${input.entries} (${input.path})`);
    return r;
  };
  add({ id: `${g}.floor`, group: g, pair: 'floor', label: 'floor: syslayer --help (Node start-up + imports)', noBudget: true, units: {}, argv: node(CLI, '--help') });
  const tinyOut = path.join(BSD.out, 'tiny-out.tar');
  add({ id: `${g}.floortar`, group: g, pair: 'floor', label: 'floor: syslayer bind tar -> tar, 1 client', noBudget: true, units: {}, syslayer: true,
    expect: /(\d+) bound/, expectCount: 1, argv: node(CLI, 'bind', '--kernel', '4.11', BSD.tiny, '-o', tinyOut), prep: clean(tinyOut), after: () => rmrf(tinyOut) });
  for (const i of BSD.inputs) {
    const out = bsdOut(i.gz);
    const units = { files: i.files, bytes: i.tarBytes };
    const what = `${i.gz ? '.tar.gz -> .tar.gz' : 'tar -> tar'}, ${i.label}`;
    const common = { group: g, pair: i.key, noBudget: true, units, input: i.key, prep: clean(out), after: () => rmrf(out), check: checkOf(i, out) };
    add({ id: `${g}.${i.key}.syslayer`, label: `syslayer bind ${what}`, syslayer: true, ...bound, ...common,
      argv: node(CLI, 'bind', ...K, i.path, '-o', out) });
    // --format pax: bsdtar's default (restricted pax) writes a PAX header only where ustar cannot
    // hold the entry, and so drops sub-second mtimes; full pax keeps them, as syslayer does.
    add({ id: `${g}.${i.key}.bsdtar`, label: `bsdtar --format pax ${i.gz ? '-czf' : '-cf'} @in, ${what}`, ...common,
      argv: [TOOLS.bsdtar, '--format', 'pax', ...(i.gz ? ['--options', 'gzip:compression-level=6', '-czf'] : ['-cf']), out, `@${i.path}`] });
    // The plain tarballs also with bsdtar's default format, for the record.
    if (!i.gz) add({ id: `${g}.${i.key}.bsdtardef`, label: `bsdtar -cf @in (default format), ${what}`, ...common, argv: [TOOLS.bsdtar, '-cf', out, `@${i.path}`] });
  }
}
if (wantGroup('context') && !opts.quick && TOOLS.true) {
  add({ id: 'context.spawn', group: 'context', label: 'spawn floor: true, 1 file/process (xargs -P2 -n1)', once: true, units: { files: 512, bytes: 0 },
    perFile: { n: 512, what: 'spawns' }, argv: [TOOLS.xargs, ...XP, '-n1', '-a', LIST.spawn, TOOLS.true] });
}
if (!items.length) die('nothing to run');

// In --quick mode the measured syslayer runs carry --perf themselves.
const withPerf = (it) => {
  const a = [...it.argv];
  a.splice(3, 0, '--perf'); // node CLI <command> --perf ...
  return a;
};

// ---------------------------------------------------------------------------------------
// Rounds
// ---------------------------------------------------------------------------------------
const runs = Object.fromEntries(items.map((it) => [it.id, []]));
const perf = {};
const checks = {};
async function runItem(it, { perfRun = false } = {}) {
  if (it.prep) it.prep();
  const argv = perfRun || (opts.quick && it.syslayer) ? withPerf(it) : it.argv;
  let res;
  try {
    res = await run(argv, { cwd: it.cwd, okStatus: it.okStatus });
    // The output checked once, before `after` removes it (not timed).
    if (it.check && !checks[it.id]) checks[it.id] = it.check();
  } catch (e) {
    die(e.message);
  } finally {
    if (it.after) it.after();
  }
  if (it.expect) {
    const m = it.expect.exec(res.head);
    // A summary line without the status ("bind X: nothing to do", "4 error") counts none.
    res.count = m ? Number(m[1]) : /^\w+ [^\n]*: /.test(res.head) ? 0 : null;
    if (it.expectCount != null && res.count !== it.expectCount)
      log(`warning: ${it.id}: expected ${it.expectCount} clients, the output says ${res.count ?? '?'}: ${res.head.split('\n')[0]}`);
  }
  if (it.id.endsWith('.raw')) {
    const [f, b] = res.head.trim().split(/\s+/).map(Number);
    const t = it.group === 'rootfs' ? treeA : treeB;
    if (f !== t.files || b !== t.bytes) log(`warning: raw read saw ${f} files / ${b} bytes, the count saw ${t.files} / ${t.bytes}`);
  }
  if (argv !== it.argv) perf[it.id] = { argv: argv.join(' '), wallSeconds: res.wall, passes: parsePerf(res.stderr) ?? res.stderr.trim() };
  return res;
}

// Warm-up, not measured: every input read once (page cache) and one scan (Node's own files).
log('warm-up: reading the inputs once, one unmeasured scan');
// (Under --only tar-vs-bsdtar, its tarballs only.)
const onlyBsd = opts.only?.every((g) => g === BSD_GROUP);
await run(node(SELF, '--raw-read-child', ...new Set([...(onlyBsd ? [] : [ROOTFS, CLIENTS, CLIENTS_TAR, BIG_TAR, needBound && BOUND]),
  ...BSD.inputs.map((i) => i.path), BSD.tiny].filter(Boolean))), {});
await run(node(CLI, 'scan', ROOTFS), { okStatus: [0, 1] });

const groups = [...new Set(items.map((it) => it.group))];
const order = [];
const loadPerRound = [];
for (let r = 0; r < opts.rounds; r++) {
  loadPerRound.push(os.loadavg()[0]);
  for (const g of groups) {
    const gi = items.filter((it) => it.group === g);
    let seq = gi.map((_, i) => gi[(i + r) % gi.length]);
    if (g === BSD_GROUP) {
      // Pairs (syslayer and bsdtar on one input) run back to back, the pairs in an order that
      // rotates from round to round and, within a pair, each side first every other round.
      const pairs = [...new Set(gi.map((it) => it.pair))];
      seq = pairs.map((_, i) => pairs[(i + r) % pairs.length]).flatMap((p) => {
        const two = gi.filter((it) => it.pair === p);
        return r % 2 ? two.reverse() : two;
      });
    }
    for (const it of seq) {
      const done = runs[it.id];
      if (done.length && (it.once || (!it.noBudget && done.reduce((s, x) => s + x.wall, 0) >= opts.budget))) continue;
      const res = await runItem(it);
      done.push({ ...res, perf: opts.quick && it.syslayer });
      order.push(it.id);
      log(`round ${r + 1}/${opts.rounds}  ${it.id.padEnd(20)} ${res.wall.toFixed(3)} s` +
        (res.cpu != null ? `  cpu ${res.cpu.toFixed(2)} s` : '') + (res.rssKB != null ? `  rss ${(res.rssKB / 1024).toFixed(0)} MiB` : ''));
    }
  }
}
// Each syslayer command once more with --perf (not a measurement).
if (!opts.quick) {
  for (const it of items.filter((x) => x.syslayer)) {
    const res = await runItem(it, { perfRun: true });
    // --perf only adds a few timer reads (its runs fall within the spread of the plain ones),
    // so this run also counts as a measurement; the JSON marks it.
    runs[it.id].push({ ...res, perf: true });
    order.push(`${it.id} --perf`);
    log(`--perf      ${it.id.padEnd(20)} ${res.wall.toFixed(3)} s` +
      (res.cpu != null ? `  cpu ${res.cpu.toFixed(2)} s` : '') + (res.rssKB != null ? `  rss ${(res.rssKB / 1024).toFixed(0)} MiB` : ''));
  }
}
const loadAfter = os.loadavg();
const build1 = buildHash(REPO);
if (build1 !== build0) log('note: the repository was rebuilt during the run; every figure comes from the copy taken at the start');

// ---------------------------------------------------------------------------------------
// Figures
// ---------------------------------------------------------------------------------------
const rnd = (x, d) => (x == null || !Number.isFinite(x) ? null : Number(x.toFixed(d)));
const stats = {};
for (const it of items) {
  const rs = runs[it.id];
  const walls = rs.map((x) => x.wall);
  const med = median(walls);
  stats[it.id] = {
    group: it.group,
    label: it.label,
    command: it.argv.join(' '),
    cwd: it.cwd === REPO ? null : it.cwd,
    runs: rs.length,
    wallSeconds: walls.map((x) => rnd(x, 4)),
    runDetail: rs.map((x) => ({ wall: rnd(x.wall, 4), cpu: rnd(x.cpu, 3), rssKB: x.rssKB, load1: rnd(x.load1, 2), perf: !!x.perf })),
    medianSeconds: rnd(med, 4),
    minSeconds: rnd(Math.min(...walls), 4),
    maxSeconds: rnd(Math.max(...walls), 4),
    filesPerSecond: it.units.files ? rnd(it.units.files / med, 0) : null,
    mbPerSecond: it.units.bytes ? rnd(it.units.bytes / 1e6 / med, 1) : null,
    perFile: it.perFile ? { what: it.perFile.what, n: it.perFile.n, perSecond: rnd(it.perFile.n / med, 1), msPerFile: rnd((med * 1000) / it.perFile.n, 3) } : null,
    cpuSecondsMedian: rnd(median(rs.map((x) => x.cpu)), 3),
    peakRssKB: rs.some((x) => x.rssKB != null) ? Math.max(...rs.map((x) => x.rssKB ?? 0)) : null,
    stdoutBytes: rs[0]?.outBytes ?? null,
    reportedCount: rs[0]?.count ?? null,
    units: it.units,
    check: checks[it.id] ?? null,
  };
}
const S = (id) => stats[id] ?? null;

// Ratios to peers: [ours, peer, kind, target]. kind 'time': ours/peer wall (lower is better);
// 'rate': ours per-file rate / peer per-file rate (higher is better).
const ratios = [];
function ratio(ours, peer, kind, target, remark) {
  const a = S(ours);
  const b = S(peer);
  if (!a || !b || (kind === 'rate' && !(a.perFile && b.perFile))) return;
  const v = kind === 'time' ? a.medianSeconds / b.medianSeconds : a.perFile.perSecond / b.perFile.perSecond;
  const vmin = kind === 'time' && a.runs > 1 && b.runs > 1 ? a.minSeconds / b.minSeconds : null;
  const vmax = kind === 'time' && a.runs > 1 && b.runs > 1 ? a.maxSeconds / b.maxSeconds : null;
  const met = target == null ? null : target.op === '<=' ? v <= target.value : v >= target.value;
  ratios.push({ ours, peer, kind, value: rnd(v, 3), minOverMin: rnd(vmin, 3), maxOverMax: rnd(vmax, 3), target: target ?? null, met, note: remark ?? null });
}
const le = (value) => ({ op: '<=', value });
const ge = (value) => ({ op: '>=', value });
for (const g of ['rootfs', 'clients']) {
  ratio(`${g}.scan`, `${g}.scanelf`, 'time', g === 'rootfs' ? le(0.5) : null);
  ratio(`${g}.scan`, `${g}.readelf`, 'time');
  ratio(`${g}.scan`, `${g}.needed`, 'time');
  ratio(`${g}.scan`, `${g}.raw`, 'time');
}
const clientsPeer = `${clientsReads ? 'clients' : 'rootfs'}.scanelf`;
ratio('clients.plan', clientsPeer, 'time');
ratio('clients.verify', clientsPeer, 'time');
for (const loc of Object.keys(LOC)) {
  ratio(`${loc}.bind`, `${loc}.cp`, 'time', le(1.1));
  ratio(`${loc}.unbind`, `${loc}.cp`, 'time');
  ratio(`${loc}.inplace`, `${loc}.setrpath`, 'rate', ge(20));
  ratio(`${loc}.inplace`, `${loc}.setrpath64`, 'rate', null, 'stricter peer: patchelf amortising its start-up over 64 files');
  ratio(`${loc}.tarbind`, `${loc}.tarcp`, 'time');
  ratio(`${loc}.bigtarbind`, `${loc}.bigtarcp`, 'time');
}
// tar-vs-bsdtar: syslayer over bsdtar per input, and what the floors are of syslayer's time.
const floorMed = S(`${BSD_GROUP}.floor`)?.medianSeconds ?? null;
const floorTarMed = S(`${BSD_GROUP}.floortar`)?.medianSeconds ?? null;
for (const i of BSD.inputs) {
  const sl = S(`${BSD_GROUP}.${i.key}.syslayer`);
  const bsd = S(`${BSD_GROUP}.${i.key}.bsdtar`);
  if (!sl || !bsd) continue;
  const parts = [];
  if (floorMed != null) parts.push(`Node start-up + imports ${floorMed.toFixed(3)} s = ${((100 * floorMed) / sl.medianSeconds).toFixed(1)} % of syslayer's median; ` +
    `without it ${((sl.medianSeconds - floorMed) / bsd.medianSeconds).toFixed(2)}x`);
  if (floorTarMed != null) parts.push(`a 1-client tar bind ${floorTarMed.toFixed(3)} s = ${((100 * floorTarMed) / sl.medianSeconds).toFixed(1)} %`);
  ratio(`${BSD_GROUP}.${i.key}.syslayer`, `${BSD_GROUP}.${i.key}.bsdtar`, 'time', null, parts.join('; ') || null);
  ratio(`${BSD_GROUP}.${i.key}.syslayer`, `${BSD_GROUP}.${i.key}.bsdtardef`, 'time');
}
const rssTargets = [];
for (const loc of Object.keys(LOC)) {
  for (const id of [`${loc}.bigtarbind`, `${loc}.tarbind`]) {
    const s = S(id);
    if (!s || s.peakRssKB == null) continue;
    const mib = s.peakRssKB / 1024;
    const isTarget = id.endsWith('bigtarbind');
    rssTargets.push({ id, peakRssMiB: rnd(mib, 0), target: isTarget ? le(256) : null, met: isTarget ? mib <= 256 : null,
      note: isTarget ? 'target: binding a 2 GB tarball' : `${IMAGE_NAME} as a tarball (no target; for comparison)` });
  }
}

// ---------------------------------------------------------------------------------------
// The table
// ---------------------------------------------------------------------------------------
const pad = (s, n) => String(s).padStart(n);
const padR = (s, n) => String(s).padEnd(n);
const mib = (kb) => (kb == null ? '-' : `${(kb / 1024).toFixed(0)} MiB`);
const treeText = (t) => `${t.files} files, ${(t.bytes / 1e6).toFixed(1)} MB, ${t.elfFiles} ELF`;
const userText = () => (USER.clients.length ? `${USER.clients.length} clients, ${USER.bindable.length} bindable` : 'no syslayer clients') + `, kernel ${USER.kernel}`;
const inputText = IMAGE_NAME + (BIG_TAR ? ' / tarballs' : CLIENTS_TAR ? ' / its tarball' : '');
const GROUP_TITLE = {
  rootfs: (t) => (USER ? `image: ${ROOTFS} (${treeText(t)}, ${userText()})` : `rootfs image: ${ROOTFS} (${treeText(t)})`),
  clients: (t) => (USER ? `image: ${CLIENTS} (${treeText(t)}, ${userText()})${clientsReads ? '' : ': plan and verify (scan and its peers: above)'}`
    : `clients image: ${CLIENTS} (${treeText(t)}, ${clientPaths.length} clients)`),
  disk: () => `output on the working disk: ${LOC.disk?.dir} (${LOC.disk?.fsType}); input ${inputText}`,
  tmpfs: () => `output on tmpfs: ${LOC.tmpfs?.dir} (${LOC.tmpfs?.fsType}); input ${IMAGE_NAME} ${USER ? `(${fsType(USER.dir)})` : 'on the working disk'}`,
  [BSD_GROUP]: () => `tar -> tar against bsdtar: output on the working disk: ${BSD.out} (${fsType(BSD.out)}); ` +
    `syslayer ${K.join(' ')}; .tar.gz: gzip level 6 on both sides; MB/s of the .tar inside`,
  context: () => 'context',
};
const lines = [];
if (USER) {
  lines.push(`syslayer bench of ${USER.dir}: ${userClients()}`,
    `  layers: ${layersText()}; syslayer ${K.join(' ')}`, '');
}
const header = ['', 'runs', 'median s', 'min s', 'max s', 'files/s', 'MB/s', 'per file', 'cpu s', 'peak RSS'];
for (const g of groups) {
  const tree = g === 'rootfs' ? treeA : treeB;
  lines.push(GROUP_TITLE[g](tree));
  const rows = [header];
  for (const it of items.filter((x) => x.group === g)) {
    const s = stats[it.id];
    rows.push([
      it.label, String(s.runs), s.medianSeconds.toFixed(3), s.minSeconds.toFixed(3), s.maxSeconds.toFixed(3),
      s.filesPerSecond == null ? '-' : String(s.filesPerSecond), s.mbPerSecond == null ? '-' : s.mbPerSecond.toFixed(1),
      s.perFile ? `${s.perFile.perSecond >= 100 ? Math.round(s.perFile.perSecond) : s.perFile.perSecond}/s ${s.perFile.what}` : '-',
      s.cpuSecondsMedian == null ? '-' : s.cpuSecondsMedian.toFixed(2), mib(s.peakRssKB),
    ]);
  }
  const w = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  for (const r of rows) lines.push('  ' + r.map((x, i) => (i === 0 ? padR(x, w[i]) : pad(x, w[i]))).join('  '));
  lines.push('');
}
lines.push('ratios to peers (median over median; "min" = min over min, "max" = max over max)' + (USER ? '; the targets are the issue\'s, set on the generated images' : ''));
// On a user's image, the rootfs and clients groups are one image.
const lab = (id) => `${USER && ['rootfs', 'clients'].includes(stats[id].group) ? 'image' : stats[id].group}: ${stats[id].label}`;
for (const r of ratios) {
  const t = r.target ? `  target ${r.target.op} ${r.target.value}: ${r.met ? 'REACHED' : 'NOT reached'}` : '';
  const v = r.kind === 'time'
    ? `${r.value.toFixed(2)}x wall` + (r.minOverMin != null ? ` (min ${r.minOverMin.toFixed(2)}, max ${r.maxOverMax.toFixed(2)})` : '')
    : `${r.value.toFixed(2)}x per-file rate`;
  lines.push(`  ${lab(r.ours)} / ${stats[r.peer].label}: ${v}${t}`);
  if (r.note && stats[r.ours].group === BSD_GROUP) lines.push(`    (${r.note})`);
}
for (const r of rssTargets)
  lines.push(`  ${lab(r.id)}: peak RSS ${r.peakRssMiB} MiB` + (r.target ? `  target <= 256 MiB: ${r.met ? 'REACHED' : 'NOT reached'}` : `  (${r.note})`));
lines.push('');
lines.push(`per-pass times (${opts.quick ? 'the measured run, with --perf' : 'one extra run with --perf, also counted as a run'}):`);
for (const [id, p] of Object.entries(perf))
  lines.push(`  ${lab(id)}: ` + (Array.isArray(p.passes) ? formatPerf(p.passes) : String(p.passes).split('\n')[0]));
lines.push('');
if (BSD.inputs.length) {
  lines.push(`${BSD_GROUP} inputs and checks (not timed: GNU tar --full-time -tv of the first output of each row against the input's, entry by entry; the size of that output):`);
  for (const i of BSD.inputs) {
    const o = (who, name) => {
      const c = checks[`${BSD_GROUP}.${i.key}.${who}`];
      if (!c) return null;
      const changed = [['size', c.sizeChanged], ['mode', c.modeChanged], ['owner', c.ownerChanged], ['mtime', c.mtimeChanged]].filter(([, n]) => n);
      return `    ${name}: ${c.entries} entries${c.ok ? '' : ` (MISMATCH: ${c.missing} of the input's missing)`}, ` +
        `${changed.length ? changed.map(([k, n]) => `${n} ${k}s`).join(', ') + ' changed' : 'no size, mode, owner or mtime changed'}, ${(c.outBytes / 1e6).toFixed(1)} MB`;
    };
    lines.push(`  ${i.label}: ${i.path}, ${(i.bytes / 1e6).toFixed(1)} MB${i.gz ? ` (${(i.tarBytes / 1e6).toFixed(1)} MB of tar)` : ''}, ${i.entries} entries, ` +
      `${i.files} regular files`, ...[o('syslayer', 'syslayer'), o('bsdtar', 'bsdtar --format pax'), o('bsdtardef', 'bsdtar (default format)')].filter(Boolean));
  }
  lines.push('');
}
for (const n of notes) lines.push(`note: ${n}`);
lines.push(
  `machine: ${M.nproc} cpu (${M.cpuModel}), ${(M.memTotalBytes / 2 ** 30).toFixed(1)} GiB, ${M.kernel}, node ${process.version}; ` +
    `load ${loadBefore.map((x) => x.toFixed(2)).join(' ')} before, ${loadAfter.map((x) => x.toFixed(2)).join(' ')} after`,
  `${opts.rounds} round(s), an item repeated until its runs total ${opts.budget} s${BSD.inputs.length ? ` (${BSD_GROUP} rows: every round)` : ''}` +
    `${opts.quick ? '' : ', plus the --perf run of each syslayer row'}; ` +
    `children without ${ENV_REMOVED.join(', ') || '(nothing removed)'}; ${((Date.now() - startedAt.getTime()) / 1000).toFixed(0)} s in all`,
);
process.stdout.write(lines.join('\n') + '\n');

// ---------------------------------------------------------------------------------------
// JSON
// ---------------------------------------------------------------------------------------
if (opts.write) {
  const treeSummary = (t) => Object.fromEntries(Object.entries(t).filter(([k]) => !['elf', 'dynamic'].includes(k)));
  const result = {
    benchmark: 'run',
    mode: USER ? 'image' : 'generated',
    date: startedAt.toISOString(),
    durationSeconds: rnd((Date.now() - startedAt.getTime()) / 1000, 1),
    commandLine: [process.execPath, ...process.argv.slice(1)].join(' '),
    options: opts,
    machine: M,
    node: process.version,
    tools: {
      scanelf: version(TOOLS.scanelf, ['-V']), readelf: version(TOOLS.readelf, ['--version']), patchelf: version(TOOLS.patchelf, ['--version']),
      tar: version(TOOLS.tar, ['--version']), cp: version(TOOLS.cp, ['--version']), time: GNU_TIME,
      bsdtar: version(TOOLS.bsdtar, ['--version']), gzip: version(TOOLS.gzip, ['--version']),
    },
    loadavgBefore: loadBefore.map((x) => rnd(x, 2)),
    loadavgAfter: loadAfter.map((x) => rnd(x, 2)),
    load1PerRound: loadPerRound.map((x) => rnd(x, 2)),
    childEnvRemoved: ENV_REMOVED,
    nodeOptions: process.env.NODE_OPTIONS ?? null,
    syslayer: { ...git0, buildHash: build0, ranFromCopy: SNAP, repoRebuiltDuringRun: build0 !== build1 },
    cache: CACHE,
    images: {
      ...(USER
        ? {
          image: {
            path: USER.dir, fsType: fsType(USER.dir), kernel: USER.kernel, kernelArgs: K, catalog: USER.catalog,
            tar: CLIENTS_TAR && 'packed at the start, removed at the end', tarBytes: tarBBytes,
            clients: USER.clients.length, bindable: USER.bindable.length, notBindable: USER.notBindable.slice(0, 100),
            patchelfClients: patchelfClients.length, clientBytes: clientsBytes, expected: EXPECT, ...treeSummary(treeA),
          },
        }
        : {
          rootfs: { path: ROOTFS, fsType: fsType(ROOTFS), ...treeSummary(treeA) },
          clients: { path: CLIENTS, tar: CLIENTS_TAR, tarBytes: tarBBytes, clients: clientPaths.length, clientBytes: clientsBytes, ...treeSummary(treeB) },
        }),
      bigTar: BIG_TAR ? { path: BIG_TAR, bytes: bigTarBytes } : null,
      bsdtar: BSD.inputs.length ? { inputs: BSD.inputs, tiny: 'a tarball of abi2-demo and the reference layers, made at the start', output: BSD.out, copies: opts.bsdtarCopies } : null,
    },
    locations: LOC,
    notes,
    order,
    results: stats,
    ratios,
    rssTargets,
    perf,
  };
  let out = opts.out;
  if (!out) {
    // A run on a user's image is the user's: it lands where they are, not in the repository.
    const dir = USER ? process.cwd() : path.join(HERE, 'results');
    fs.mkdirSync(dir, { recursive: true });
    const day = startedAt.toISOString().slice(0, 10);
    out = path.join(dir, USER ? `syslayer-bench-${path.basename(USER.dir)}-${day}.json` : `run-${day}${opts.quick ? '-quick' : ''}.json`);
    if (fs.existsSync(out)) out = out.replace(/\.json$/, `-${startedAt.toISOString().slice(11, 19).replace(/:/g, '')}.json`);
  } else fs.mkdirSync(path.dirname(path.resolve(out)), { recursive: true });
  fs.writeFileSync(out, JSON.stringify(result, null, 2) + '\n');
  log(`wrote ${path.relative(process.cwd(), out) || out}`);
}

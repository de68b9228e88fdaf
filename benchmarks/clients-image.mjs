#!/usr/bin/env node
// The "clients image" of the benchmark suite (issue 5): the cached Debian rootfs plus N
// syslayer clients, built once into the cache (outside the repo), deterministic.
//
//   node benchmarks/clients-image.mjs [--rootfs DIR] [--clients N]   # build if missing, print paths
//
// The clients are copies of the SDK's x86-64 examples (abi1-demo, abi2-demo, mixed-main and
// its library libmixed1.so), four per "package", made distinct by a few bytes appended after
// the end of each file (a path-derived trailer: trailing data is allowed, binding keeps it).
// Packages are spread over a realistic tree, in turn:
//   usr/lib/<pkg>/{bin,lib}/                       (private program directories)
//   opt/<vendor>/<pkg>/{bin,lib}/                  (third-party software)
//   usr/libexec/<pkg>/{bin,lib}/                   (helpers)
//   usr/lib/x86_64-linux-gnu/<pkg>/{bin,lib}/      (multiarch private directories)
// mixed-main's RUNPATH is $ORIGIN/../lib, so each package's lib/libmixed1.so is its own and
// the closure resolves inside the package. Each package also gets a small non-ELF file,
// usr/share/doc/<pkg>/copyright. The reference layers (sdk/prebuilt/x86_64/layers/*.o) go to
// usr/lib/syslayer/layers/, so `--kernel 4.11` works without --layers.
//
// Output, under $SYSLAYER_CACHE (default ~/.cache/syslayer):
//   bench-clients-<N>/        the image (a cp -a of the rootfs plus the clients)
//   bench-clients-<N>.tar     the same image as a PAX tarball (GNU tar, name order, numeric
//                             owners, xattrs, no atime/ctime records: byte-identical rebuilds)
//   bench-clients-<N>.stamp   written last: the parameters and the hashes of the inputs; if it
//                             matches, nothing is rebuilt
// Built in a temporary directory beside and renamed into place, so an interrupted build leaves
// nothing half-made. Every generated file and directory gets a fixed mtime derived from its path.
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const REPO = path.resolve(HERE, '..');
export const SDK = path.join(REPO, 'sdk', 'prebuilt', 'x86_64');
const BASE_MTIME = Date.parse('2024-01-01T00:00:00Z') / 1000;
const GENERATOR_VERSION = 3;

// A fixed mtime per path, spread over a year in whole seconds (exact in utimes; real trees do
// not share one mtime, and an optimisation that groups files by timestamp must not gain here
// what it would not gain on a real image).
export function mtimeOf(rel) {
  const h = createHash('sha256').update(rel).digest().readUInt32BE(0);
  return BASE_MTIME + (h % (365 * 86400));
}

export function defaultCache() {
  return process.env.SYSLAYER_CACHE || path.join(process.env.HOME || '/tmp', '.cache', 'syslayer');
}

const VENDORS = ['acme', 'globex', 'initech', 'umbrella', 'hooli', 'vandelay', 'stark'];
const STEMS = ['agent', 'backup', 'collector', 'daemon', 'editor', 'fetch', 'gateway', 'indexer', 'journal',
  'keeper', 'loader', 'monitor', 'notify', 'proxy', 'query', 'relay', 'sync', 'tracer', 'update', 'vault'];

function sha256File(p) {
  return createHash('sha256').update(fs.readFileSync(p)).digest('hex');
}

function inputs() {
  const files = [
    ['abi1-demo', path.join(SDK, 'bin', 'abi1-demo')],
    ['abi2-demo', path.join(SDK, 'bin', 'abi2-demo')],
    ['mixed-main', path.join(SDK, 'bin', 'mixed-main')],
    ['libmixed1.so', path.join(SDK, 'lib', 'libmixed1.so')],
  ];
  const layers = fs.readdirSync(path.join(SDK, 'layers')).filter((n) => n.endsWith('.o')).sort()
    .map((n) => [`layer:${n}`, path.join(SDK, 'layers', n)]);
  return [...files, ...layers];
}

/**
 * Write generated files under `root`, each { rel, bytes, mode }, making their directories as
 * needed; every file and every directory made or filled here gets its fixed mtime (mtimeOf).
 */
export function writeGeneratedTree(root, files) {
  const touchedDirs = new Set();
  const mkdirs = (relDir) => {
    const parts = relDir.split('/');
    for (let i = 1; i <= parts.length; i++) {
      const d = parts.slice(0, i).join('/');
      if (!touchedDirs.has(d)) {
        touchedDirs.add(d);
        fs.mkdirSync(path.join(root, d), { recursive: true, mode: 0o755 });
      }
    }
  };
  for (const f of files) {
    mkdirs(path.dirname(f.rel));
    const abs = path.join(root, f.rel);
    fs.writeFileSync(abs, f.bytes, { mode: f.mode });
    fs.chmodSync(abs, f.mode);
    fs.utimesSync(abs, mtimeOf(f.rel), mtimeOf(f.rel));
  }
  // Directories last (children change their mtime), deepest first.
  for (const d of [...touchedDirs].sort((a, b) => b.length - a.length)) {
    fs.utimesSync(path.join(root, d), mtimeOf(d), mtimeOf(d));
  }
}

/** The plan of the generated files: [relative path, source key, mode]. Deterministic in N. */
export function clientPlan(clients) {
  const packages = Math.ceil(clients / 4);
  const out = [];
  let made = 0;
  for (let i = 0; i < packages; i++) {
    const pkg = `${STEMS[i % STEMS.length]}-${String(i).padStart(4, '0')}`;
    let base;
    switch (i % 4) {
      case 0: base = `usr/lib/${pkg}`; break;
      case 1: base = `opt/${VENDORS[i % VENDORS.length]}/${pkg}`; break;
      case 2: base = `usr/libexec/${pkg}`; break;
      default: base = `usr/lib/x86_64-linux-gnu/${pkg}`;
    }
    const four = [
      [`${base}/lib/libmixed1.so`, 'libmixed1.so'],
      [`${base}/bin/${pkg}`, 'mixed-main'],
      [`${base}/bin/${pkg}-abi1`, 'abi1-demo'],
      [`${base}/bin/${pkg}-abi2`, 'abi2-demo'],
    ];
    for (const [rel, src] of four) {
      if (made++ < clients) out.push({ rel, src, client: true });
    }
    out.push({ rel: `usr/share/doc/${pkg}/copyright`, src: null, client: false });
  }
  return out;
}

function expectedStamp(rootfs, clients) {
  const rootfsStamp = (() => {
    try {
      return createHash('sha256').update(fs.readFileSync(`${rootfs}.stamp`)).digest('hex');
    } catch {
      return 'none';
    }
  })();
  return [
    `generator=${GENERATOR_VERSION}`,
    `clients=${clients}`,
    `rootfs=${rootfs}`,
    `rootfsStamp=${rootfsStamp}`,
    ...inputs().map(([k, p]) => `${k}=${sha256File(p)}`),
  ].join('\n') + '\n';
}

/**
 * Make sure the clients image and its tarball exist in the cache; build them if not.
 * Returns { dir, tar, clients, clientPaths } (clientPaths relative to dir).
 */
export function ensureClientsImage({ cache = defaultCache(), rootfs, clients = 2048, log = () => {} }) {
  cache = path.resolve(cache);
  // The real directory: `cp -a` of a symlink would copy the link, and the clients would then be
  // written into the rootfs itself.
  rootfs = fs.realpathSync(path.resolve(rootfs));
  const name = `bench-clients-${clients}`;
  const dir = path.join(cache, name);
  const tar = path.join(cache, `${name}.tar`);
  const stamp = path.join(cache, `${name}.stamp`);
  const plan = clientPlan(clients);
  const clientPaths = plan.filter((p) => p.client).map((p) => p.rel);
  const want = expectedStamp(rootfs, clients);
  let have = null;
  try {
    have = fs.readFileSync(stamp, 'utf8');
  } catch {}
  if (have === want && fs.existsSync(dir) && fs.existsSync(tar)) {
    log(`clients image up to date: ${dir}`);
    return { dir, tar, clients, clientPaths };
  }

  log(`building the clients image (${clients} clients) from ${rootfs} into ${dir}`);
  const t0 = Date.now();
  fs.mkdirSync(cache, { recursive: true });
  // Stale temporaries of an interrupted build.
  for (const e of fs.readdirSync(cache)) {
    if (e.startsWith(`.${name}.tmp.`)) fs.rmSync(path.join(cache, e), { recursive: true, force: true });
  }
  const tmp = fs.mkdtempSync(path.join(cache, `.${name}.tmp.`));
  try {
    const root = path.join(tmp, 'root');
    execFileSync('cp', ['-a', '--reflink=auto', rootfs, root]);
    const src = Object.fromEntries(inputs().map(([k, p]) => [k, fs.readFileSync(p)]));
    const files = plan.map((p) => (p.src
      // A few unique bytes after the end of the ELF file: distinct content, same structure.
      ? { rel: p.rel, bytes: Buffer.concat([src[p.src], Buffer.from(`\n#syslayer-bench ${p.rel}\n`)]), mode: 0o755 }
      : { rel: p.rel, bytes: Buffer.from(`${p.rel.split('/')[3]}: generated for the syslayer benchmarks. Public domain.\n`), mode: 0o644 }));
    for (const [k] of inputs()) {
      if (k.startsWith('layer:')) files.push({ rel: `usr/lib/syslayer/layers/${k.slice(6)}`, bytes: src[k], mode: 0o644 });
    }
    writeGeneratedTree(root, files);
    execFileSync('tar', ['--format=pax', '--pax-option=delete=atime,delete=ctime', '--numeric-owner', '--xattrs', '--xattrs-include=*', '--sort=name',
      '-C', root, '-cf', path.join(tmp, 'image.tar'), '.']);

    fs.rmSync(stamp, { force: true });
    fs.rmSync(dir, { recursive: true, force: true });
    fs.rmSync(tar, { force: true });
    fs.renameSync(root, dir);
    fs.renameSync(path.join(tmp, 'image.tar'), tar);
    fs.writeFileSync(path.join(tmp, 'stamp'), want);
    fs.renameSync(path.join(tmp, 'stamp'), stamp);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  log(`clients image built in ${((Date.now() - t0) / 1000).toFixed(1)} s: ${dir}, ${tar}`);
  return { dir, tar, clients, clientPaths };
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const a = process.argv.slice(2);
  const get = (k, d) => (a.includes(k) ? a[a.indexOf(k) + 1] : d);
  const cache = defaultCache();
  const r = ensureClientsImage({
    cache,
    rootfs: get('--rootfs', path.join(cache, 'rootfs-bookworm')),
    clients: Number(get('--clients', 2048)),
    log: (m) => process.stderr.write(`[clients-image] ${m}\n`),
  });
  process.stdout.write(`${r.dir}\n${r.tar}\n`);
}

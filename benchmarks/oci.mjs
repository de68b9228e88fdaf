#!/usr/bin/env node
// Issue 13, "Speed" of container images: `syslayer bind` of a two-layer OCI image of the clients
// image against skopeo re-packing the same image, and against binding the same tree as a plain
// tarball, on the same files, in the same run, with the ratios. See benchmarks/README.md.
//
//   node benchmarks/oci.mjs [--quick] [--only gzip,zstd,none] [options]     (npm run bench:oci)
//
// Groups, one per layer compression, run one after the other; each holds
//   syslayer bind -o OUT --kernel 4.11 LAYOUT         the OCI layout, layers rewritten in place
//   skopeo copy oci:LAYOUT:latest oci:OUT:latest      the peer that only re-packs: it copies the
//                                                     blobs as they are (digests checked; plain
//                                                     layers need --dest-oci-accept-uncompressed-layers)
//   skopeo copy --dest-compress-format <other> ...    the peer made to decompress and compress
//                                                     every layer (skopeo recompresses only into
//                                                     another format: gzip -> zstd, zstd -> gzip;
//                                                     plain layers: its default, gzip)
//   floor: <codec> -d | <codec> of each layer         the compression alone, C tools (gzip, zstd)
//   syslayer bind TREE.tar[.gz|.zst] -o OUT...        the same tree as one tarball: what the
//                                                     container machinery costs over the tar pass
// Inputs are built once into $SYSLAYER_CACHE (default ~/.cache/syslayer) by oci-images.mjs.

import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { defaultCache } from './clients-image.mjs';
import { ensureOciInputs, TAG } from './oci-images.mjs';
import { createRounds, groupTableLines, ratiosOf, rnd, statsOf } from './lib/rounds.mjs';
import { freeBytes, fsType, memAvailable, which } from './lib/facts.mjs';
import { messages, parseBenchmarkArgs, reportTail, resultHead, startSession, toolVersions, writeResult } from './lib/session.mjs';
import { countTree } from './lib/tree.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const REPO = path.resolve(HERE, '..');
const GROUPS = ['gzip', 'zstd', 'none'];
const KERNEL = ['--kernel', '4.11'];

// ---------------------------------------------------------------------------------------
// Arguments
// ---------------------------------------------------------------------------------------
const USAGE = `usage: node benchmarks/oci.mjs [--quick] [options]
  --only G           groups (layer compressions), comma-separated: ${GROUPS.join(',')} (default all)
  --quick            one round, whose syslayer runs carry --perf (no extra --perf runs)
  --rounds N         rounds (default 3; --quick: 1)
  --budget S         stop repeating a row once its runs, and its peer's, total S seconds
                     (default 120: every row runs in every round)
  --syslayer DIR     the checkout whose bin/syslayer.js is measured (default this one; built)
  --clients N        clients in the image (default 2048)
  --location L       where outputs go: tmpfs or disk (default tmpfs)
  --rootfs DIR       the rootfs (default: rootfs/build-rootfs.sh's, in the cache)
  --timeout S        kill a command that runs longer than S seconds (default 600)
  --out FILE         JSON results file (default benchmarks/results/oci-<date>[-HHMMSS].json)
  --no-write         print the tables only
Environment: SYSLAYER_CACHE (cache root, default ~/.cache/syslayer).
`;
const { opts } = (() => {
  const r = parseBenchmarkArgs({ usage: USAGE, groups: GROUPS, repo: REPO, budget: 120, clients: { value: 2048, min: 1 }, more: { location: { type: 'string' } } });
  r.opts.location = r.v.location ?? 'tmpfs';
  if (!['tmpfs', 'disk'].includes(r.opts.location)) r.usageError(`--location: tmpfs or disk (${r.opts.location})`);
  return r;
})();
const { log, die, note, notes } = messages('oci');

// ---------------------------------------------------------------------------------------
// Tools, the code under test, the runner
// ---------------------------------------------------------------------------------------
const TOOLS = Object.fromEntries(['skopeo', 'gzip', 'zstd', 'tar', 'sh', 'env', 'sync'].map((t) => [t, which(t)]));
for (const t of ['gzip', 'zstd', 'tar', 'sh', 'env', 'sync']) if (!TOOLS[t]) die(`${t} not found`);
if (!TOOLS.skopeo) note('skopeo not found: its rows are skipped (apt-get install skopeo)');
const CACHE = path.resolve(defaultCache());
fs.mkdirSync(CACHE, { recursive: true });
const session = startSession({ tag: 'oci', syslayer: opts.syslayer, timeout: opts.timeout, cache: CACHE, log, note, die });
const { run, CLI, cleanups, CHILD_ENV } = session;

const rmrf = (p) => fs.rmSync(p, { recursive: true, force: true });
const sync = () => spawnSync(TOOLS.sync);
const syslayer = (...a) => [process.execPath, CLI, ...a];
const GB = (b) => `${(b / 1e9).toFixed(2)} GB`;
const MB = (b) => `${(b / 1e6).toFixed(1)} MB`;

// ---------------------------------------------------------------------------------------
// Inputs
// ---------------------------------------------------------------------------------------
const rootfs = opts.rootfs ?? path.join(CACHE, 'rootfs-bookworm');
if (!opts.rootfs && !fs.existsSync(`${rootfs}.stamp`))
  die(`no cached rootfs in ${CACHE}: build it with benchmarks/rootfs/build-rootfs.sh (root, mmdebstrap), or pass --rootfs DIR`);
const prepT0 = Date.now();
const inputs = ensureOciInputs({ cache: CACHE, rootfs, clients: opts.clients, log });
const inputSeconds = (Date.now() - prepT0) / 1000;
const tree = (() => {
  const t = countTree(inputs.clientsImage.dir);
  return Object.fromEntries(Object.entries(t).filter(([k]) => !['elf', 'dynamic'].includes(k)));
})();
const treeText = `${tree.files} files, ${MB(tree.bytes)}, ${tree.elfFiles} ELF, ${opts.clients} clients`;

/** An OCI layout's image: its manifest's layers ({ mediaType, digest, size }) and their paths. */
function layersOf(layout) {
  const blob = (d) => path.join(layout, 'blobs', 'sha256', d.slice('sha256:'.length));
  const index = JSON.parse(fs.readFileSync(path.join(layout, 'index.json'), 'utf8'));
  const top = index.manifests.find((m) => m.annotations?.['org.opencontainers.image.ref.name'] === TAG) ?? index.manifests[0];
  const manifest = JSON.parse(fs.readFileSync(blob(top.digest), 'utf8'));
  return manifest.layers.map((l) => ({ mediaType: l.mediaType, digest: l.digest, size: l.size, path: blob(l.digest) }));
}
const layerText = (ls) => ls.map((l, i) => `layer ${i + 1} ${MB(l.size)}`).join(', ');
const tarBytes = fs.statSync(inputs.tar).size;

// Where outputs go: tmpfs (RAM: its room is the smaller of its free space and the memory
// available beyond 2 GB) or the working disk (the file system of the cache and the inputs).
const outDir = (() => {
  const need = tarBytes * 2.5 + 256e6;
  if (opts.location === 'tmpfs') {
    const shm = '/dev/shm';
    const room = fs.existsSync(shm) ? Math.min(freeBytes(shm), memAvailable() - 2e9) : 0;
    if (room >= need) {
      const d = fs.mkdtempSync(path.join(shm, 'syslayer-oci-'));
      cleanups.push(() => rmrf(d));
      return d;
    }
    note(`${shm} has ${GB(room)} usable (free space and memory), ${GB(need)} needed: outputs go to the working disk`);
  }
  if (freeBytes(CACHE) - 2e9 < need) die(`${GB(freeBytes(CACHE))} free in ${CACHE}, ${GB(need + 2e9)} needed`);
  const d = fs.mkdtempSync(path.join(CACHE, 'bench-oci-work-'));
  cleanups.push(() => rmrf(d));
  return d;
})();

// ---------------------------------------------------------------------------------------
// The groups: one per layer compression (see the header)
// ---------------------------------------------------------------------------------------
const bound = (n) => ({ re: /(\d+) bound/, count: n });
// skopeo recompresses a layer only into another format (containers/image keeps a blob that is
// already in the asked-for format as it is, whatever --dest-compress says).
const OTHER = { gzip: 'zstd', zstd: 'gzip' };
// The compression alone: each layer decompressed and compressed again with the settings syslayer
// writes (tar/compression.ts: gzip level 6; zstd -3 on all cores), by the C tools.
const FLOOR = {
  gzip: { label: 'floor: gzip -dc | gzip -n -6, each layer', pipe: 'gzip -dc "$1" | gzip -n -6 > "$2"' },
  zstd: { label: 'floor: zstd -dc | zstd -3 -T0, each layer', pipe: 'zstd -q -dc "$1" | zstd -q -3 -T0 > "$2"' },
};
const TARBALL = { gzip: ['tarGz', '.tar.gz'], zstd: ['tarZst', '.tar.zst'], none: ['tar', '.tar'] };

function setupGroup(compression) {
  const layout = inputs.oci[compression];
  const inLayers = layersOf(layout);
  const [tarKey, suffix] = TARBALL[compression];
  const tarball = inputs[tarKey];
  const out = path.join(outDir, 'out');
  const outTar = path.join(outDir, `out${suffix}`);
  const units = { files: tree.files, bytes: tree.bytes };
  const perFile = { n: opts.clients, what: 'clients' };
  // The output removed and dirty pages written back before each run (not timed).
  const fresh = (p) => ({ prep: () => {
    rmrf(p);
    sync();
  }, after: () => rmrf(p) });
  // What became of each layer, against the input's: the same blob, or a new one.
  const layerFates = () => layersOf(out).map((l, i) => ({
    layer: i + 1, kept: l.digest === inLayers[i]?.digest, mediaType: l.mediaType, size: l.size, inputSize: inLayers[i]?.size ?? null,
  }));
  const id = (k) => `${compression}.${k}`;
  const items = [{
    id: id('syslayer'), label: 'syslayer bind -o OUT --kernel 4.11 (OCI layout)', syslayer: true, units, perFile, ...fresh(out),
    argv: syslayer('bind', '-o', out, ...KERNEL, layout), expect: bound(opts.clients),
    check: () => {
      // The output must pass syslayer's own verify (not timed).
      const v = spawnSync(process.execPath, [CLI, 'verify', ...KERNEL, out], { env: CHILD_ENV, encoding: 'utf8', maxBuffer: 64 << 20 });
      return { layers: layerFates(), verifyStatus: v.status, verify: (v.stdout || v.stderr || '').split('\n')[0] };
    },
  }];
  if (compression === 'gzip') {
    // The same, written as an oci-archive: the layout packed into one tar at the end ("pack archive").
    const outArchive = path.join(outDir, 'out-archive.tar');
    items.push({ id: id('archive'), label: 'syslayer bind -o OUT.tar --kernel 4.11 (oci-archive)', syslayer: true, units, perFile, ...fresh(outArchive),
      argv: syslayer('bind', '-o', outArchive, ...KERNEL, layout), expect: bound(opts.clients) });
  }
  if (TOOLS.skopeo) {
    // skopeo stages blobs in TMPDIR (default /var/tmp, on the disk): it goes where its output does.
    const skopeo = (...a) => [TOOLS.env, `TMPDIR=${outDir}`, TOOLS.skopeo, 'copy', '--quiet', '--insecure-policy', ...a, `oci:${layout}:${TAG}`, `oci:${out}:${TAG}`];
    const check = () => ({ layers: layerFates() });
    // The re-packing peer, blobs as they are: skopeo keeps a compressed blob by default, and an
    // uncompressed one only when told (by default it gzips what is not compressed into an oci: layout).
    const asIs = compression === 'none' ? ['--dest-oci-accept-uncompressed-layers'] : [];
    items.push({ id: id('skopeo'), label: `skopeo copy ${asIs.length ? `${asIs[0]} ` : ''}oci:A oci:B (blobs as they are)`, units, ...fresh(out), argv: skopeo(...asIs), check });
    // The peer made to compress: into another format (gzip -> zstd, zstd -> gzip), or, for plain
    // layers, skopeo's default.
    const other = OTHER[compression];
    items.push({ id: id('skopeo-recompress'), label: other ? `skopeo copy --dest-compress-format ${other} (${compression} -> ${other})` : 'skopeo copy oci:A oci:B (default: plain -> gzip)',
      units, ...fresh(out), argv: other ? skopeo('--dest-compress-format', other) : skopeo(), check });
  }
  if (FLOOR[compression]) {
    const floorOut = path.join(outDir, 'floor');
    const script = `mkdir -p "${floorOut}" && ` + inLayers.map((l, i) => `sh -c '${FLOOR[compression].pipe}' sh "${l.path}" "${floorOut}/${i + 1}"`).join(' && ');
    items.push({ id: id('floor'), label: FLOOR[compression].label, units, ...fresh(floorOut), argv: [TOOLS.sh, '-c', script] });
  }
  items.push({ id: id('tarball'), label: `syslayer bind TREE${suffix} -o OUT${suffix} --kernel 4.11`, syslayer: true, units, perFile, ...fresh(outTar),
    argv: syslayer('bind', '-o', outTar, ...KERNEL, tarball), expect: bound(opts.clients) });
  const has = (k) => items.some((it) => it.id === id(k));
  const ratios = [[id('syslayer'), id('skopeo')], [id('syslayer'), id('skopeo-recompress')], [id('syslayer'), id('floor')], [id('syslayer'), id('tarball')]]
    .filter(([, b]) => has(b.slice(compression.length + 1)));
  const tarballText = `${tarball} (${MB(fs.statSync(tarball).size)}${compression === 'none' ? '' : `, ${MB(tarBytes)} of tar`})`;
  return {
    tables: [{ title: `${compression} layers: ${layout} (two layers: ${layerText(inLayers)}; merged view ${treeText}); tarball ${tarballText}; ` +
      `outputs to ${outDir} (${fsType(outDir)})`, ids: items.map((it) => it.id) }],
    items, ratios, warm: [layout, tarball], layout, tarball, inputLayers: inLayers,
    lines: (checks) => {
      const lines = [];
      const fate = (c) => c.layers.map((l) => `layer ${l.layer} ${l.kept ? 'kept (the same blob)' : `new blob (${l.mediaType.split('.').pop()}, ${MB(l.size)})`}`).join(', ');
      const s = checks[id('syslayer')];
      if (s) lines.push(`  ${compression}: syslayer's output: ${fate(s)}; syslayer verify --kernel 4.11 exit ${s.verifyStatus}${s.verifyStatus === 0 ? ' (passed)' : ' (FAILED)'}: ${s.verify}`);
      for (const k of ['skopeo', 'skopeo-recompress']) {
        const c = checks[id(k)];
        if (c) lines.push(`  ${compression}: ${k}'s output: ${fate(c)}`);
      }
      return lines;
    },
  };
}

// ---------------------------------------------------------------------------------------
// Rounds
// ---------------------------------------------------------------------------------------
const { runs, perf, checks, failures, order, runGroups } = createRounds({ run, rounds: opts.rounds, budget: opts.budget, quick: opts.quick, log, note });

// One unmeasured syslayer run first: Node's and syslayer's own files into the page cache.
await run(syslayer('scan', path.join(REPO, 'sdk', 'prebuilt', 'x86_64')), { okStatus: [0, 1] });
const groups = await runGroups(opts.only, setupGroup);
session.end();

// ---------------------------------------------------------------------------------------
// Figures and tables
// ---------------------------------------------------------------------------------------
const stats = statsOf(groups, { runs, checks, failures });
const ratios = ratiosOf(groups, stats);
const lines = [`inputs: the clients image ${inputs.clientsImage.dir} (${treeText}) as a two-layer OCI image: layer 1 the rootfs ${rootfs}, ` +
  `layer 2 what clients-image.mjs adds; built by oci-images.mjs in ${CACHE}/bench-oci/`, ''];
for (const g of Object.values(groups)) lines.push(...groupTableLines(g, stats));
const TOOL_VERSIONS = toolVersions(session, {
  skopeo: [TOOLS.skopeo, ['--version']], gzip: [TOOLS.gzip, ['--version']], zstd: [TOOLS.zstd, ['--version']], tar: [TOOLS.tar, ['--version']],
});
lines.push(...reportTail(session, { ratios, stats, ratioName: (r) => r.ours.split('.')[0], groups, checks, perf, notes, tools: TOOL_VERSIONS, opts }));
process.stdout.write(lines.join('\n') + '\n');

if (opts.write) {
  const result = {
    ...resultHead(session, { options: opts, tools: TOOL_VERSIONS }),
    inputs: { ...inputs, seconds: rnd(inputSeconds, 1), tree, tarBytes },
    outputs: { dir: outDir, fsType: fsType(outDir) },
    groups: Object.fromEntries(Object.entries(groups).map(([n, g]) => [n, {
      seconds: rnd(g.seconds, 1), prepSeconds: rnd(g.prepSeconds, 1), load1AtStart: rnd(g.load1, 2), tables: g.tables.map((t) => t.title),
      layout: g.layout, tarball: g.tarball, inputLayers: g.inputLayers,
    }])),
    notes,
    failures,
    order,
    results: stats,
    ratios,
    perf,
  };
  writeResult(session, result, { out: opts.out, resultsDir: path.join(HERE, 'results'), log });
}
if (Object.keys(failures).length) process.exitCode = 1;

#!/usr/bin/env node
// The inputs of the container benchmark (oci.mjs, issue 13): the clients image of
// clients-image.mjs as a two-layer OCI image layout, with gzip, zstd and uncompressed layers, and
// the same tree as a `.tar.zst` beside the suite's `.tar` and `.tar.gz`. Built once into
// $SYSLAYER_CACHE/bench-oci/ (default ~/.cache/syslayer), deterministic, each with a stamp
// beside it (lib/cached.mjs: built beside, renamed into place).
//
//   node benchmarks/oci-images.mjs [--clients N] [--rootfs DIR]
//
//   layers-<N>/lower.tar     the bottom layer: the Debian rootfs (rootfs/build-rootfs.sh) as it
//                            is, its top-level names without a `./` prefix (as docker and
//                            buildkit write layers)
//   layers-<N>/upper.tar     the top layer: what clients-image.mjs adds to the rootfs (N
//                            clients, the packages' copyright files, the reference layers in
//                            usr/lib/syslayer/layers/) with every directory above them, as the
//                            clients image holds them (their mtimes changed by the additions),
//                            so that the merged view is the clients image
//                            Both: GNU tar, PAX, name order, numeric owners, xattrs, no
//                            atime/ctime records and a fixed name for PAX headers (no pid)
//   clients-<N>-gzip/        OCI image layouts, tag `latest`, linux/amd64: the two layers as
//   clients-<N>-zstd/        `gzip -n -6`, `zstd -3 -T1 --check` (the settings of the container
//   clients-<N>-none/        test images, tests/fixtures/oci/layout.mjs) or uncompressed, a
//                            config with the diff_ids and a history entry per layer, a manifest
//   clients-<N>.tar.zst      the clients tarball (clients-image.mjs), `zstd -3 -T1`
// The `.tar.gz` of the clients tarball is bsdtar-inputs.mjs's (bench-bsdtar/), reused.
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { clientPlan, defaultCache, ensureClientsImage } from './clients-image.mjs';
import { ensureBsdtarInputs } from './bsdtar-inputs.mjs';
import { cached, hashOf } from './lib/cached.mjs';
import { CREATED, ImageLayout, MEDIA } from '../tests/fixtures/oci/layout.mjs';

const GENERATOR_VERSION = 1;
export const TAG = 'latest';
const TAR_FLAGS = ['--format=pax', '--pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime', '--numeric-owner',
  '--xattrs', '--xattrs-include=*', '--sort=name'];
/** The layer compressions: media type and the command that compresses standard input. */
export const LAYER_COMPRESSIONS = {
  gzip: { mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', argv: ['gzip', '-n', '-6', '-c'] },
  zstd: { mediaType: 'application/vnd.oci.image.layer.v1.tar+zstd', argv: ['zstd', '-3', '-T1', '--check', '-q', '-c'] },
  none: { mediaType: 'application/vnd.oci.image.layer.v1.tar', argv: null },
};
const env = { ...process.env, LC_ALL: 'C' };

const ociDir = (cache) => {
  const d = path.join(path.resolve(cache), 'bench-oci');
  fs.mkdirSync(d, { recursive: true });
  return d;
};

/** `argv` with standard input from `src` and standard output to `dst`. */
function pipeFile(argv, src, dst) {
  const [i, o] = [fs.openSync(src, 'r'), fs.openSync(dst, 'w')];
  try {
    execFileSync(argv[0], argv.slice(1), { stdio: [i, o, 'inherit'] });
  } finally {
    fs.closeSync(i);
    fs.closeSync(o);
  }
}

function sha256File(p) {
  const h = createHash('sha256');
  const buf = Buffer.allocUnsafe(1 << 22);
  const fd = fs.openSync(p, 'r');
  try {
    for (let n; (n = fs.readSync(fd, buf, 0, buf.length, null)) > 0;) h.update(buf.subarray(0, n));
  } finally {
    fs.closeSync(fd);
  }
  return `sha256:${h.digest('hex')}`;
}

/** The paths the clients image adds to the rootfs, with the directories above them, sorted. */
function upperPaths(clientsDir, clients) {
  const files = clientPlan(clients).map((p) => p.rel);
  const layers = path.join('usr', 'lib', 'syslayer', 'layers');
  for (const n of fs.readdirSync(path.join(clientsDir, layers))) files.push(path.join(layers, n));
  const all = new Set(files);
  for (const f of files) for (let d = path.dirname(f); d !== '.'; d = path.dirname(d)) all.add(d);
  return [...all].sort();
}

/** The two layer tars: { lower, upper }. */
export function ensureLayerTars({ cache = defaultCache(), rootfs, clientsImage, log = () => {} }) {
  rootfs = fs.realpathSync(path.resolve(rootfs));
  const want = [`generator=${GENERATOR_VERSION}`, 'image=layer-tars', `clients=${clientsImage.clients}`, `clientsDir=${clientsImage.dir}`,
    `clientsStamp=${hashOf(`${clientsImage.dir}.stamp`)}`, `rootfs=${rootfs}`, `rootfsStamp=${hashOf(`${rootfs}.stamp`)}`, `tar=${TAR_FLAGS.join(' ')}`].join('\n') + '\n';
  const dir = cached(path.join(ociDir(cache), `layers-${clientsImage.clients}`), want, 'the two layer tars', (out) => {
    fs.mkdirSync(out);
    execFileSync('tar', [...TAR_FLAGS, '-C', rootfs, '-cf', path.join(out, 'lower.tar'), '--', ...fs.readdirSync(rootfs).sort()],
      { env, stdio: ['ignore', 'ignore', 'inherit'] });
    const list = path.join(out, 'upper.list');
    fs.writeFileSync(list, upperPaths(clientsImage.dir, clientsImage.clients).join('\0') + '\0');
    execFileSync('tar', [...TAR_FLAGS, '--no-recursion', '-C', clientsImage.dir, '-cf', path.join(out, 'upper.tar'),
      '--null', '--verbatim-files-from', '-T', list], { env, stdio: ['ignore', 'ignore', 'inherit'] });
    fs.rmSync(list);
  }, log);
  return { dir, lower: path.join(dir, 'lower.tar'), upper: path.join(dir, 'upper.tar'), want };
}

/** An OCI layout of the two layers with `compression`; returns its path. */
export function ensureOciLayout({ cache = defaultCache(), tars, clients, compression, log = () => {} }) {
  const c = LAYER_COMPRESSIONS[compression];
  const want = `${tars.want}layout=${compression} ${c.argv?.join(' ') ?? 'none'}\ngenerator.layout=${GENERATOR_VERSION}\n`;
  return cached(path.join(ociDir(cache), `clients-${clients}-${compression}`), want, `the OCI layout, ${compression} layers`, (out) => {
    const layout = new ImageLayout(`clients-${clients}-${compression}`, out);
    const layers = [
      { tar: tars.lower, comment: 'the Debian bookworm rootfs (benchmarks/rootfs/build-rootfs.sh)' },
      { tar: tars.upper, comment: `${clients} syslayer clients and the reference layers (benchmarks/clients-image.mjs)` },
    ].map(({ tar, comment }) => {
      const blob = path.join(out, 'blobs', 'sha256', '.incoming');
      if (c.argv) pipeFile(c.argv, tar, blob);
      else fs.copyFileSync(tar, blob);
      const digest = sha256File(blob);
      fs.renameSync(blob, path.join(out, 'blobs', 'sha256', digest.slice(7)));
      return { descriptor: { mediaType: c.mediaType, digest, size: fs.statSync(path.join(out, 'blobs', 'sha256', digest.slice(7))).size }, diffId: sha256File(tar), comment };
    });
    const config = layout.json(MEDIA.config, {
      created: CREATED,
      architecture: 'amd64',
      os: 'linux',
      config: { Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'], Cmd: ['/bin/bash'] },
      rootfs: { type: 'layers', diff_ids: layers.map((l) => l.diffId) },
      history: layers.map(({ comment }) => ({ created: CREATED, created_by: 'benchmarks/oci-images.mjs', comment })),
    });
    const manifest = layout.json(MEDIA.manifest, { schemaVersion: 2, mediaType: MEDIA.manifest, config, layers: layers.map((l) => l.descriptor) });
    layout.finish(manifest, TAG);
  }, log);
}

/**
 * Every input: { clientsImage, layers: { lower, upper }, oci: { gzip, zstd, none }, tar, tarGz,
 * tarZst }.
 */
export function ensureOciInputs({ cache = defaultCache(), rootfs, clients = 2048, log = () => {} }) {
  const clientsImage = ensureClientsImage({ cache, rootfs, clients, log });
  const tars = ensureLayerTars({ cache, rootfs, clientsImage, log });
  const oci = Object.fromEntries(Object.keys(LAYER_COMPRESSIONS).map((k) => [k, ensureOciLayout({ cache, tars, clients, compression: k, log })]));
  const { smallGz } = ensureBsdtarInputs({ cache, rootfs, clientsTar: clientsImage.tar, clients, copies: 0, gz: 'small', log });
  const zstWant = `generator=${GENERATOR_VERSION}\nclientsTar=${clientsImage.tar}\nclientsStamp=${hashOf(`${clientsImage.dir}.stamp`)}\nzstd=-3 -T1\n`;
  const tarZst = cached(path.join(ociDir(cache), `clients-${clients}.tar.zst`), zstWant, 'the clients tarball, zstd',
    (f) => pipeFile(['zstd', '-3', '-T1', '-q', '-c'], clientsImage.tar, f), log);
  return { clientsImage, layers: { lower: tars.lower, upper: tars.upper }, oci, tar: clientsImage.tar, tarGz: smallGz, tarZst };
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { values: v } = parseArgs({ options: { clients: { type: 'string', default: '2048' }, rootfs: { type: 'string' } } });
  const cache = defaultCache();
  const r = ensureOciInputs({ cache, rootfs: v.rootfs ?? path.join(cache, 'rootfs-bookworm'), clients: Number(v.clients),
    log: (m) => process.stderr.write(`[oci-images] ${m}\n`) });
  process.stdout.write([...Object.values(r.oci), r.tar, r.tarGz, r.tarZst].join('\n') + '\n');
}

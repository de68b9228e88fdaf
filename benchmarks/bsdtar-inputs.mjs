#!/usr/bin/env node
// Inputs of the tar -> tar comparison against bsdtar (run.mjs, group tar-vs-bsdtar), built once
// into the cache, outside the repo, from the clients image of clients-image.mjs and the cached
// rootfs. Nothing existing in the cache is written to: everything here lives in its own folder.
//
//   node benchmarks/bsdtar-inputs.mjs [--rootfs DIR] [--clients N] [--copies N] [--gz none|small|both]
//
// Output, under $SYSLAYER_CACHE (default ~/.cache/syslayer)/bench-bsdtar/:
//   big-<N>-x<C>.tar        the clients tarball followed by C more copies of the rootfs, each
//                           under its own top directory ./srv/copy-<i>/ (GNU tar, the clients
//                           tarball's flags: PAX, name order, numeric owners, xattrs, no
//                           atime/ctime records). C = 3: 1.2 GB, 56,075 entries; the
//                           copies hold no syslayer client, so binding it binds the same 2,048
//                           clients as the small tarball, in a tarball 3.6 times larger
//   clients-<N>.tar.gz      the clients tarball, `gzip -6 -n` (level 6: zlib's default, the
//   big-<N>-x<C>.tar.gz     level of both syslayer's createGzip() and bsdtar's gzip filter)
//   <name>.stamp            beside each, written last: the generator version, the parameters,
//                           the hash of the source's own stamp; if it matches, nothing is redone
// Each file is made under a temporary name beside and renamed into place, so an interrupted build
// (or a concurrent one) leaves nothing half-made.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureClientsImage, defaultCache } from './clients-image.mjs';
import { cached, hashOf } from './lib/cached.mjs';

const GENERATOR_VERSION = 2;
// The clients tarball's GNU tar flags (clients-image.mjs).
const TAR_FLAGS = ['--format=pax', '--pax-option=delete=atime,delete=ctime', '--numeric-owner', '--xattrs', '--xattrs-include=*', '--sort=name'];

export const gzipTo = (src, dst) => {
  const fd = fs.openSync(dst, 'w');
  try {
    execFileSync('gzip', ['-6', '-n', '-c', src], { stdio: ['ignore', fd, 'inherit'] });
  } finally {
    fs.closeSync(fd);
  }
};

/**
 * The inputs: { small, smallGz, big, bigGz } (paths or null). `clientsTar` is the clients
 * tarball (its stamp beside it, `<dir>.stamp`, names its content), `rootfs` the rootfs directory.
 * copies: rootfs copies appended for the big tarball (0: none). gz: 'none' | 'small' | 'both'.
 */
export function ensureBsdtarInputs({ cache = defaultCache(), rootfs, clientsTar, clients, copies = 3, gz = 'small', log = () => {} }) {
  cache = path.resolve(cache);
  rootfs = fs.realpathSync(path.resolve(rootfs));
  const dir = path.join(cache, 'bench-bsdtar');
  fs.mkdirSync(dir, { recursive: true });
  const clientsStamp = hashOf(clientsTar.replace(/\.tar$/, '.stamp'));
  const rootfsStamp = hashOf(`${rootfs}.stamp`);
  const base = [`generator=${GENERATOR_VERSION}`, `clientsTar=${clientsTar}`, `clientsStamp=${clientsStamp}`, `clientsTarBytes=${fs.statSync(clientsTar).size}`];
  const r = { small: clientsTar, smallGz: null, big: null, bigGz: null };
  if (gz !== 'none') {
    r.smallGz = cached(path.join(dir, `clients-${clients}.tar.gz`), [...base, 'gzip=-6 -n'].join('\n') + '\n', 'the clients tarball, gzipped',
      (f) => gzipTo(clientsTar, f), log);
  }
  if (copies > 0) {
    const bigWant = [...base, `rootfs=${rootfs}`, `rootfsStamp=${rootfsStamp}`, `copies=${copies}`, `tar=${TAR_FLAGS.join(' ')}`].join('\n') + '\n';
    r.big = cached(path.join(dir, `big-${clients}-x${copies}.tar`), bigWant, `the big tarball (clients + ${copies} rootfs copies)`, (f) => {
      execFileSync('cp', ['--reflink=auto', clientsTar, f]);
      // Each copy packed on its own under ./srv/copy-<i>/ (names and hardlink targets renamed,
      // symlink targets (S) left as they are) and concatenated (tar -A copies its blocks as they
      // are). Not `tar -r`: appending to this archive, GNU tar 1.34 writes plain ustar headers,
      // without the PAX records (sub-second mtimes, xattrs) the clients part has.
      const part = `${f}.part`;
      for (let i = 1; i <= copies; i++) {
        execFileSync('tar', [...TAR_FLAGS, `--transform=s,^\\.,./srv/copy-${i},S`, '-C', rootfs, '-cf', part, '.']);
        execFileSync('tar', ['-Af', f, part]);
        fs.rmSync(part);
      }
    }, log);
    if (gz === 'both') {
      r.bigGz = cached(`${r.big}.gz`, bigWant + 'gzip=-6 -n\n', 'the big tarball, gzipped', (f) => gzipTo(r.big, f), log);
    }
  }
  return r;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const a = process.argv.slice(2);
  const get = (k, d) => (a.includes(k) ? a[a.indexOf(k) + 1] : d);
  const cache = defaultCache();
  const log = (m) => process.stderr.write(`[bsdtar-inputs] ${m}\n`);
  const rootfs = get('--rootfs', path.join(cache, 'rootfs-bookworm'));
  const clients = Number(get('--clients', 2048));
  const cl = ensureClientsImage({ cache, rootfs, clients, log });
  const r = ensureBsdtarInputs({ cache, rootfs, clientsTar: cl.tar, clients, copies: Number(get('--copies', 3)), gz: get('--gz', 'small'), log });
  process.stdout.write(Object.values(r).filter(Boolean).join('\n') + '\n');
}

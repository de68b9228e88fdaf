#!/usr/bin/env node
// The inputs of the peers benchmark (peers.mjs, issue 10) that the other benchmarks do not
// already build, made once into $SYSLAYER_CACHE/bench-peers/ (default ~/.cache/syslayer),
// deterministic, each with a stamp beside it (lib/cached.mjs: built beside, renamed into place).
//
//   node benchmarks/peers-images.mjs [--clients N] [--copies 4] [--growth 4,16] [--rootfs DIR]
//
//   inplace-<N>/          N small syslayer clients and nothing else: copies of the SDK's
//                         abi1-demo and abi2-demo in turn, as opt/p<k>/bin/prog-<i> over 100
//                         directories, each made distinct by a path-derived trailer after the
//                         end of the file (as in clients-image.mjs), plus the reference layers
//                         in usr/lib/syslayer/layers/; fixed mtimes. The input of `bind
//                         --in-place` against `patchelf --set-rpath` (10,000 clients: 160 MB).
//   rootfs-x<C>/          C copies of the rootfs as one image: the rootfs itself (cp -a) and
//                         C-1 more under srv/copy-<k>/ (k = 2..C). One image, not C siblings:
//                         the copies' dependency closures resolve against the root's libraries,
//                         as the programs of one image do.
//   clients-<N>-x<C>/     C copies of the clients image (clients-image.mjs) laid out the same
//                         way: the root a cp -a of it, the copies under srv/ hardlinked to the
//                         root's files (cp -al) to save disk and time, but for the clients:
//                         each copy's are files of their own (the 1x bytes plus a trailer
//                         naming the copy; same mode, owner and mtime), so that binding the
//                         image rewrites C times as many clients (hardlinked clients would be
//                         one inode, rewritten once). What is not a client stays hardlinked,
//                         and bind -o keeps hardlinks (as cp -a does): its output holds those
//                         bytes once, not C times.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { SDK, defaultCache, ensureClientsImage, mtimeOf, writeGeneratedTree } from './clients-image.mjs';
import { cached, hashOf } from './lib/cached.mjs';

const GENERATOR_VERSION = 3;
const INPLACE_DIRS = 100;

const peersDir = (cache) => {
  const d = path.join(path.resolve(cache), 'bench-peers');
  fs.mkdirSync(d, { recursive: true });
  return d;
};

/** The clients of the in-place image, relative to it: opt/p<k>/bin/prog-<i>, k = i mod 100. */
export function inplaceClientPaths(clients) {
  const dirs = Math.min(INPLACE_DIRS, clients);
  const width = String(clients - 1).length;
  return Array.from({ length: clients }, (_, i) =>
    `opt/p${String(i % dirs).padStart(String(dirs - 1).length, '0')}/bin/prog-${String(i).padStart(width, '0')}`);
}

/** The in-place image: { dir, clients, clientPaths }. */
export function ensureInplaceImage({ cache = defaultCache(), clients = 10000, log = () => {} }) {
  const sources = [path.join(SDK, 'bin', 'abi1-demo'), path.join(SDK, 'bin', 'abi2-demo')];
  const layers = fs.readdirSync(path.join(SDK, 'layers')).filter((n) => n.endsWith('.o')).sort();
  const want = [`generator=${GENERATOR_VERSION}`, 'image=inplace', `clients=${clients}`, `dirs=${INPLACE_DIRS}`,
    ...sources.map((p) => `${path.basename(p)}=${hashOf(p)}`),
    ...layers.map((n) => `layer:${n}=${hashOf(path.join(SDK, 'layers', n))}`)].join('\n') + '\n';
  const clientPaths = inplaceClientPaths(clients);
  const dir = cached(path.join(peersDir(cache), `inplace-${clients}`), want, `the in-place image (${clients} clients)`, (root) => {
    const bytes = sources.map((p) => fs.readFileSync(p));
    // A generator: 10,000 buffers need not all be held at once.
    function* files() {
      for (let i = 0; i < clientPaths.length; i++) {
        const rel = clientPaths[i];
        yield { rel, bytes: Buffer.concat([bytes[i % 2], Buffer.from(`\n#syslayer-bench ${rel}\n`)]), mode: 0o755 };
      }
      for (const n of layers) yield { rel: `usr/lib/syslayer/layers/${n}`, bytes: fs.readFileSync(path.join(SDK, 'layers', n)), mode: 0o644 };
    }
    fs.mkdirSync(root, { mode: 0o755 });
    writeGeneratedTree(root, files());
    fs.utimesSync(root, mtimeOf('.'), mtimeOf('.'));
  }, log);
  return { dir, clients, clientPaths };
}

// `copies` copies of `source` as one image: a copy of source (cp -a) at the root and copies-1
// more under srv/copy-<k>/, copied again or, with `links`, hardlinked to the root's files (never
// to source's: the shared images of the other benchmarks keep a link count of 1); srv/ keeps
// source's mtime.
function copiesOf(source, root, copies, { links }) {
  execFileSync('cp', ['-a', '--reflink=auto', source, root]);
  const srv = path.join(root, 'srv');
  const hadSrv = fs.existsSync(path.join(source, 'srv'));
  fs.mkdirSync(srv, { recursive: true });
  // Linked from a linked copy of the root taken before srv/ fills: not from the root itself,
  // which would come to hold its own copies.
  const base = links ? `${root}-links` : source;
  if (links) execFileSync('cp', ['-al', root, base]);
  for (let k = 2; k <= copies; k++) execFileSync('cp', [...(links ? ['-al'] : ['-a', '--reflink=auto']), base, path.join(srv, `copy-${k}`)]);
  if (links) fs.rmSync(base, { recursive: true });
  // touch -r: to the nanosecond (utimes from JavaScript rounds to the microsecond or so).
  if (hadSrv) execFileSync('touch', ['-r', path.join(source, 'srv'), srv]);
}

/** The rootfs C times over, as one image (see the header). Returns its path. */
export function ensureRootfsCopies({ cache = defaultCache(), rootfs, copies = 4, log = () => {} }) {
  rootfs = fs.realpathSync(path.resolve(rootfs));
  const want = [`generator=${GENERATOR_VERSION}`, 'image=rootfs-copies', `copies=${copies}`, `rootfs=${rootfs}`, `rootfsStamp=${hashOf(`${rootfs}.stamp`)}`].join('\n') + '\n';
  return cached(path.join(peersDir(cache), `rootfs-x${copies}`), want, `the rootfs x${copies}`,
    (root) => copiesOf(rootfs, root, copies, { links: false }), log);
}

/**
 * The clients image C times over, as one image (see the header). `clientsImage` is
 * ensureClientsImage's result. Returns { dir, copies, clientPaths } (every copy's clients).
 */
export function ensureClientsCopies({ cache = defaultCache(), clientsImage, copies, log = () => {} }) {
  const src = clientsImage.dir;
  const stamp = `${src}.stamp`;
  const want = [`generator=${GENERATOR_VERSION}`, 'image=clients-copies', `copies=${copies}`, `clients=${src}`, `clientsStamp=${hashOf(stamp)}`].join('\n') + '\n';
  const inCopy = (k, rel) => (k === 1 ? rel : `srv/copy-${k}/${rel}`);
  const clientPaths = Array.from({ length: copies }, (_, i) => clientsImage.clientPaths.map((rel) => inCopy(i + 1, rel))).flat();
  const dir = cached(path.join(peersDir(cache), `${path.basename(src).replace(/^bench-/, '')}-x${copies}`), want,
    `the clients image x${copies} (hardlinked but for the clients)`, (root) => {
      copiesOf(src, root, copies, { links: true });
      const parents = new Set(clientsImage.clientPaths.map((rel) => path.dirname(rel)));
      for (let k = 2; k <= copies; k++) {
        for (const rel of clientsImage.clientPaths) {
          const from = path.join(src, rel);
          const to = path.join(root, inCopy(k, rel));
          const st = fs.statSync(from);
          fs.rmSync(to);
          fs.writeFileSync(to, Buffer.concat([fs.readFileSync(from), Buffer.from(`#syslayer-bench copy-${k}\n`)]), { mode: st.mode & 0o7777 });
          fs.chmodSync(to, st.mode & 0o7777);
          fs.chownSync(to, st.uid, st.gid);
          fs.utimesSync(to, st.atime, st.mtime);
        }
        // The directories whose entries were replaced get their mtimes back.
        for (const d of parents) {
          const st = fs.statSync(path.join(src, d));
          fs.utimesSync(path.join(root, inCopy(k, d)), st.atime, st.mtime);
        }
      }
    }, log);
  return { dir, copies, clientPaths };
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { values: v } = parseArgs({ options: { clients: { type: 'string', default: '10000' }, copies: { type: 'string', default: '4' },
    growth: { type: 'string', default: '4,16' }, rootfs: { type: 'string' } } });
  const cache = defaultCache();
  const log = (m) => process.stderr.write(`[peers-images] ${m}\n`);
  const rootfs = v.rootfs ?? path.join(cache, 'rootfs-bookworm');
  const built = [ensureInplaceImage({ cache, clients: Number(v.clients), log }).dir, ensureRootfsCopies({ cache, rootfs, copies: Number(v.copies), log })];
  const clientsImage = ensureClientsImage({ cache, rootfs, log });
  for (const n of v.growth.split(',').map(Number).filter((x) => x > 1)) built.push(ensureClientsCopies({ cache, clientsImage, copies: n, log }).dir);
  process.stdout.write(built.join('\n') + '\n');
}

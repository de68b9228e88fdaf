#!/usr/bin/env node
// Assembles the bundled sample image (build/sample-rootfs): a small x86-64 root file system whose
// dependency closures all resolve. From committed files: the corpus's amd64 programs and
// libraries laid out like a usr-merged Debian root, the SDK's prebuilt x86-64 example clients
// (one of them, mixed-main, with a library of another ABI version) and reference layers (in
// usr/lib/syslayer/layers/, the image's own catalog), a lib/modules/6.1.0/ so that `--kernel auto`
// finds a kernel, an etc/ld.so.conf with an include, and the usual `lib -> usr/lib` symlinks. The
// C library comes from this machine (/lib/x86_64-linux-gnu/libc.so.6, as on any Debian or Ubuntu
// for x86-64): the corpus holds the dynamic loader but not libc. Left out: the corpus's other
// architectures (tests use them; here their libraries would be missing), and two amd64 files that
// need libraries the corpus does not have (klibc's cat, the EUC-KR gconv module). Rebuilt from
// scratch on every run.
import { cpSync, existsSync, mkdirSync, readFileSync, realpathSync, rmSync, symlinkSync, writeFileSync, renameSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const final = join(root, 'build', 'sample-rootfs');
const work = `${final}.tmp`;
rmSync(work, { recursive: true, force: true });

const put = (rel, source) => {
  mkdirSync(dirname(join(work, rel)), { recursive: true });
  cpSync(source, join(work, rel), { preserveTimestamps: true });
};

/** amd64 corpus files whose libraries neither the corpus nor libc provide. */
const NEEDS_MORE = new Set(['amd64/klibc-cat', 'amd64/EUC-KR.so']);

const [header, ...rows] = readFileSync(join(root, 'corpus', 'manifest.tsv'), 'utf8').trim().split('\n');
const cols = header.split('\t');
for (const line of rows) {
  const row = Object.fromEntries(line.split('\t').map((v, i) => [cols[i], v]));
  const source = join(root, 'corpus', row.file);
  const name = basename(row.path_in_package);
  if (row.arch !== 'amd64' || NEEDS_MORE.has(row.file)) continue;
  if (row.kind === 'shlib' || row.kind === 'interp') put(join('usr/lib/x86_64-linux-gnu', name), source);
  else put(join('usr/bin', name), source);
}
const HOST_LIBC = ['/lib/x86_64-linux-gnu/libc.so.6', '/usr/lib/x86_64-linux-gnu/libc.so.6'].find((p) => existsSync(p));
if (HOST_LIBC) put('usr/lib/x86_64-linux-gnu/libc.so.6', realpathSync(HOST_LIBC));
else console.error('sample image: no x86-64 libc.so.6 on this machine: closures that need it will say so');
const sdk = join(root, 'sdk/prebuilt/x86_64');
for (const name of ['abi1-demo', 'abi2-demo', 'mixed-main']) put(join('usr/bin', name), join(sdk, 'bin', name));
put('usr/lib/libmixed1.so', join(sdk, 'lib/libmixed1.so'));
for (const name of ['linux-3.2.o', 'linux-4.11.o']) put(join('usr/lib/syslayer/layers', name), join(sdk, 'layers', name));
mkdirSync(join(work, 'usr/lib/modules/6.1.0'), { recursive: true });
mkdirSync(join(work, 'etc/ld.so.conf.d'), { recursive: true });
writeFileSync(join(work, 'etc/ld.so.conf'), 'include /etc/ld.so.conf.d/*.conf\n');
writeFileSync(join(work, 'etc/ld.so.conf.d/x86_64-linux-gnu.conf'), '# Multiarch support\n/usr/local/lib/x86_64-linux-gnu\n/lib/x86_64-linux-gnu\n/usr/lib/x86_64-linux-gnu\n');
for (const dir of ['lib', 'bin', 'sbin']) symlinkSync(`usr/${dir}`, join(work, dir));
mkdirSync(join(work, 'usr/sbin'), { recursive: true });
mkdirSync(join(work, 'usr/lib64'), { recursive: true });
symlinkSync('usr/lib64', join(work, 'lib64'));
symlinkSync('../lib/x86_64-linux-gnu/ld-linux-x86-64.so.2', join(work, 'usr/lib64/ld-linux-x86-64.so.2'));

rmSync(final, { recursive: true, force: true });
renameSync(work, final);
console.error(`sample image: ${final}`);

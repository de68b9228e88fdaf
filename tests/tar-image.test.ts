// Tar images in and out (.tar and .tar.gz): every entry comes back with its metadata — modes with
// setuid, owners, mtimes, xattrs (security.capability), hardlinks, symlinks, fifos, devices, long
// and non-ASCII names — only the clients' contents change, bound clients run after extraction by
// GNU tar (the oracle), unbind gives the original image back, and hostile tarballs are refused.
import { beforeAll, describe, expect, it } from 'vitest';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync, linkSync, chmodSync, chownSync, utimesSync } from 'node:fs';
import { execFileSync, spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { gunzipSync } from 'node:zlib';
import { join } from 'node:path';
import { ROOT, syslayer } from './helpers/cli.js';
import { SYSLAYER_OWN } from './fixtures/image/entries.js';

const work = mkdtempSync(join(tmpdir(), 'syslayer-tar-'));
const layers = join(ROOT, 'sdk/prebuilt/x86_64/layers');
const CLIENTS = ['usr/bin/abi1-demo', 'usr/bin/abi2-demo', 'usr/bin/mixed-main', 'usr/lib/libmixed1.so', 'usr/bin/abi1-hardlink'];
// abi1-hardlink is a second name of abi1-demo: one file bound, not two.
const BOUND = CLIENTS.length - 1;
// What makeImage makes, as `find` names it: every entry must come back, and no other.
const LONG_NAME = `${'long-name-'.repeat(12)}.txt`;
const IMAGE_ENTRIES = [
  '.', 'usr', 'usr/bin', 'usr/lib', 'dev', 'empty', 'lib',
  'usr/bin/abi1-demo', 'usr/bin/abi2-demo', 'usr/bin/mixed-main', 'usr/bin/abi1-hardlink', 'usr/bin/demo-absolute',
  'usr/lib/libmixed1.so', 'usr/lib/libz.so.1.2.13', 'usr/lib/libz.so.1',
  'dev/fifo', 'dev/null-copy', LONG_NAME, 'naïve-ünïcode.txt', 'owned.txt',
].map((p) => (p === '.' ? p : `./${p}`)).sort();
// Regular files among them: the five client names, libz, and the three text files.
const REGULAR_FILES = CLIENTS.length + 1 + 3;
// The summary bind and verify print: abi1-demo and libmixed1 are linked for ABI 1, abi2-demo and
// mixed-main for ABI 2 (sdk/examples).
const LAYER_LINES = '  2 × linux-4.11, ABI 1\n  2 × linux-4.11, ABI 2\n';
const gnuTar = (...args: string[]) => execFileSync('tar', ['--xattrs', '--xattrs-include=*', ...args]);

function makeImage(dir: string): void {
  const bin = join(ROOT, 'sdk/prebuilt/x86_64');
  mkdirSync(join(dir, 'usr/bin'), { recursive: true });
  mkdirSync(join(dir, 'usr/lib'), { recursive: true });
  mkdirSync(join(dir, 'dev'), { recursive: true });
  mkdirSync(join(dir, 'empty'), { recursive: true });
  for (const p of ['abi1-demo', 'abi2-demo', 'mixed-main']) cpSync(join(bin, 'bin', p), join(dir, 'usr/bin', p));
  cpSync(join(bin, 'lib/libmixed1.so'), join(dir, 'usr/lib/libmixed1.so'));
  cpSync(join(ROOT, 'corpus/amd64/libz.so.1.2.13'), join(dir, 'usr/lib/libz.so.1.2.13'));
  symlinkSync('libz.so.1.2.13', join(dir, 'usr/lib/libz.so.1'));
  symlinkSync('usr/lib', join(dir, 'lib'));
  symlinkSync('/usr/bin/abi2-demo', join(dir, 'usr/bin/demo-absolute'));
  linkSync(join(dir, 'usr/bin/abi1-demo'), join(dir, 'usr/bin/abi1-hardlink'));
  chmodSync(join(dir, 'usr/bin/abi2-demo'), 0o4755);
  execFileSync('setcap', ['cap_net_raw+ep', join(dir, 'usr/bin/abi2-demo')]);
  execFileSync('setfattr', ['-n', 'user.syslayer', '-v', 'kept', join(dir, 'usr/bin/abi1-demo')]);
  execFileSync('mkfifo', [join(dir, 'dev/fifo')]);
  execFileSync('mknod', [join(dir, 'dev/null-copy'), 'c', '1', '3']);
  writeFileSync(join(dir, LONG_NAME), 'a name over 100 bytes\n');
  writeFileSync(join(dir, 'naïve-ünïcode.txt'), 'non-ASCII name\n');
  writeFileSync(join(dir, 'owned.txt'), 'owned\n');
  chownSync(join(dir, 'owned.txt'), 1234, 5678);
  utimesSync(join(dir, 'owned.txt'), new Date('2001-02-03T04:05:06Z'), new Date('2001-02-03T04:05:06Z'));
}

/** What GNU tar extracts, described entry by entry: type, mode, owner, mtime, size, link, xattrs, inode group. */
function describe_(dir: string): Map<string, string> {
  const rows = execFileSync('find', ['.', '-printf', '%p|%y|%m|%U|%G|%T@|%s|%l|%n|%i\\n'], { cwd: dir }).toString().trim().split('\n');
  // getfattr exits non-zero on entries it cannot read attributes of (fifos, devices); its output is what counts.
  const xattrs = spawnSync('getfattr', ['-R', '-h', '-d', '-m', '-', '-e', 'hex', '--absolute-names', '.'], { cwd: dir, encoding: 'utf8' }).stdout;
  const inodes = new Map<string, string>();
  const out = new Map<string, string>();
  for (const row of rows) {
    const [path, type, mode, uid, gid, mtime, size, link, nlink, inode] = row.split('|');
    // A directory output also holds syslayer's state and manifests (docs/living-images.md); a tarball does not.
    if (SYSLAYER_OWN.test(path!.replace(/^\.\//, ''))) continue;
    const group = inodes.get(inode!) ?? path!;
    inodes.set(inode!, group);
    const xattr = new RegExp(`# file: ${path!.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\n((?:[^#\\n].*\\n)*)`).exec(xattrs)?.[1] ?? '';
    // A directory's link count is its subdirectories': binding may add var/ (docs/living-images.md).
    out.set(path!, [type, mode, uid, gid, mtime, type === 'f' ? '' : size, link, type === 'd' ? '' : nlink, `links-with:${group}`, xattr.trim()].join('|'));
  }
  return out;
}

function extract(tarball: string, name: string): string {
  const dir = join(work, name);
  mkdirSync(dir);
  gnuTar('-C', dir, '-xf', tarball);
  return dir;
}

describe.each(['tar', 'tar.gz'])('a .%s image', (ext) => {
  let image: string;
  let input: string;
  beforeAll(() => {
    image = join(work, `image-${ext}`);
    makeImage(image);
    input = join(work, `in.${ext}`);
    gnuTar('--format=pax', '-C', image, ext === 'tar' ? '-cf' : '-czf', input, '.');
  });

  it('binds: every entry keeps its metadata, only clients change, and they run', () => {
    const output = join(work, `out.${ext}`);
    const r = syslayer('bind', input, '-o', output, '--kernel', '4.11', '--layers', layers);
    expect(r.status, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toContain(`: ${BOUND} bound\n${LAYER_LINES}`);
    const before = extract(input, `before-${ext}`);
    const after = extract(output, `after-${ext}`);
    const a = describe_(before);
    const b = describe_(after);
    expect([...a.keys()].sort()).toEqual(IMAGE_ENTRIES);
    expect([...b.keys()].sort()).toEqual(IMAGE_ENTRIES);
    for (const [path, meta] of a) expect(`${path} ${b.get(path)}`).toBe(`${path} ${meta}`);
    let regular = 0;
    for (const [path, type] of [...a].map(([p, m]) => [p, m.split('|')[0]] as const)) {
      if (type !== 'f') continue;
      regular++;
      const same = readFileSync(join(before, path)).equals(readFileSync(join(after, path)));
      expect(same, `${path}: ${same ? 'unchanged' : 'changed'}`).toBe(!CLIENTS.includes(path.replace(/^\.\//, '')));
    }
    expect(regular).toBe(REGULAR_FILES);
    const verified = syslayer('verify', output, '--layers', layers);
    expect(verified.status, verified.stdout + verified.stderr).toBe(0);
    expect(verified.stdout).toContain(`: ${BOUND} verified\n${LAYER_LINES}`);
    const run = execFileSync(join(after, 'usr/bin/mixed-main'), ['/']).toString();
    expect(run).toContain('[mixed-main abi2] exit: 0');
    expect(execFileSync(join(after, 'usr/bin/abi1-hardlink'), ['/']).toString()).toMatch(/getpid: \d+ matches/);
  });

  it('unbinds back to the original image, entry by entry, and to the original tar bytes', () => {
    const output = join(work, `out.${ext}`);
    const back = join(work, `back.${ext}`);
    const r = syslayer('unbind', output, '-o', back);
    expect(r.status, r.stdout + r.stderr).toBe(0);
    // Every header and the end blocks come back as they were: the uncompressed tar is the same bytes.
    const tarBytes = (file: string) => (ext === 'tar' ? readFileSync(file) : gunzipSync(readFileSync(file)));
    expect(tarBytes(back).equals(tarBytes(input)), 'the unbound tarball is the original, byte for byte').toBe(true);
    const before = extract(input, `orig-${ext}`);
    const restored = extract(back, `restored-${ext}`);
    const a = describe_(before);
    const b = describe_(restored);
    expect([...a.keys()].sort()).toEqual(IMAGE_ENTRIES);
    expect([...b.keys()].sort()).toEqual(IMAGE_ENTRIES);
    for (const [path, meta] of a) {
      expect(`${path} ${b.get(path)}`).toBe(`${path} ${meta}`);
      if (meta.startsWith('f|')) expect(readFileSync(join(restored, path)).equals(readFileSync(join(before, path))), path).toBe(true);
    }
  });
});

/** Runs the CLI with `stdin` as standard input; hands back its standard output as bytes. */
function syslayerPiped(stdin: Buffer | null, ...args: string[]): { status: number; stdout: Buffer; stderr: string } {
  const r = spawnSync(process.execPath, [join(ROOT, 'bin', 'syslayer.js'), ...args], { input: stdin ?? undefined, maxBuffer: 1 << 28 });
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr.toString() };
}

describe('every source with every sink', () => {
  // Sources: a directory (packed by GNU tar when the output is a stream), a .tar, a .tar.gz, and
  // the .tar.gz on standard input. Sinks: a directory (copied and rewritten, or extracted), a .tar,
  // a .tar.gz, and standard output. Every pair must give the image tar -> tar gives.
  const image = join(work, 'image-matrix');
  const tarIn = join(work, 'matrix.tar');
  const gzIn = join(work, 'matrix.tar.gz');
  type Source = { name: string; arg: string; stdin: () => Buffer | null };
  const sources: Source[] = [
    { name: 'directory', arg: image, stdin: () => null },
    { name: 'tar', arg: tarIn, stdin: () => null },
    { name: 'tar.gz', arg: gzIn, stdin: () => null },
    { name: 'stdin', arg: '-', stdin: () => readFileSync(gzIn) },
  ];
  const sinks = ['directory', 'tar', 'tar.gz', 'stdout'] as const;
  let reference: Map<string, string>;
  const referenceDir = join(work, 'matrix-ref');

  beforeAll(() => {
    makeImage(image);
    gnuTar('--format=pax', '-C', image, '-cf', tarIn, '.');
    gnuTar('--format=pax', '-C', image, '-czf', gzIn, '.');
    const r = syslayer('bind', tarIn, '-o', join(work, 'matrix-ref.tar'), '--kernel', '4.11', '--layers', layers);
    expect(r.status, r.stdout + r.stderr).toBe(0);
    reference = describe_(extract(join(work, 'matrix-ref.tar'), 'matrix-ref'));
    expect([...reference.keys()].sort()).toEqual(IMAGE_ENTRIES);
  });

  const pairs = sources.flatMap((source) => sinks.map((sink) => [source.name, sink] as const));
  it.each(pairs)('%s -> %s', (sourceName, sink) => {
    const source = sources.find((s) => s.name === sourceName)!;
    const stem = join(work, `matrix-${sourceName}-${sink}`);
    const output = sink === 'directory' ? stem : sink === 'stdout' ? '-' : `${stem}.${sink}`;
    const r = syslayerPiped(source.stdin(), 'bind', source.arg, '-o', output, '--kernel', '4.11', '--layers', layers);
    expect(r.status, `${sourceName} -> ${sink}: ${r.stderr}`).toBe(0);
    let dir = stem;
    if (sink === 'stdout') {
      expect(r.stderr, 'the report goes to standard error').toContain(`: ${BOUND} bound\n${LAYER_LINES}`);
      // Compressed like the input: gzip when the input was.
      expect(r.stdout[0] === 0x1f && r.stdout[1] === 0x8b, 'gzip magic').toBe(source.name === 'tar.gz' || source.name === 'stdin');
      writeFileSync(`${stem}.stream`, r.stdout);
      dir = extract(`${stem}.stream`, `matrix-${sourceName}-${sink}-x`);
    } else if (sink !== 'directory') {
      expect(readFileSync(output).subarray(0, 2).equals(Buffer.from([0x1f, 0x8b])), 'gzip magic').toBe(sink === 'tar.gz');
      dir = extract(output, `matrix-${sourceName}-${sink}-x`);
    }
    const got = describe_(dir);
    expect([...got.keys()].sort()).toEqual([...reference.keys()].sort());
    for (const [path, meta] of reference) expect(`${path} ${got.get(path)}`).toBe(`${path} ${meta}`);
    for (const client of CLIENTS) {
      expect(readFileSync(join(dir, client)).equals(readFileSync(join(referenceDir, client))), client).toBe(true);
    }
    expect(execFileSync(join(dir, 'usr/bin/mixed-main'), ['/']).toString()).toContain('[mixed-main abi2] exit: 0');
  });
});

describe('hostile tarballs are refused, naming the entry, and nothing is written', () => {
  const cases: [string, (dir: string) => string[]][] = [
    ['an absolute name', (dir) => ['-P', '-cf', join(dir, 't.tar'), join(dir, 'payload')]],
    ['a .. component', (dir) => ['-P', '-C', join(dir, 'sub'), '-cf', join(dir, 't.tar'), '../payload']],
  ];
  it.each(cases)('%s', (_name, args) => {
    const dir = mkdtempSync(join(work, 'hostile-'));
    mkdirSync(join(dir, 'sub'));
    writeFileSync(join(dir, 'payload'), 'x');
    execFileSync('tar', args(dir), { stdio: 'ignore' });
    const out = join(dir, 'out.tar');
    const r = syslayer('bind', join(dir, 't.tar'), '-o', out, '--kernel', '4.11', '--layers', layers);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/entry '.*payload' (has an absolute name|climbs out of the image with '\.\.')/);
    expect(existsSync(out)).toBe(false);
  });

  it('an entry written through a symlink of the image', () => {
    const dir = mkdtempSync(join(work, 'hostile-'));
    const tree = join(dir, 'tree');
    mkdirSync(tree);
    symlinkSync('/etc', join(tree, 'escape'));
    execFileSync('tar', ['-C', tree, '-cf', join(dir, 't.tar'), 'escape']);
    // Then a second member named through the symlink, as a hostile archive would hold it.
    writeFileSync(join(dir, 'passwd-evil'), 'x');
    execFileSync('tar', ['-C', dir, '--transform', 's|passwd-evil|escape/passwd-evil|', '-rf', join(dir, 't.tar'), 'passwd-evil']);
    const r = syslayer('bind', join(dir, 't.tar'), '-o', join(dir, 'out.tar'), '--kernel', '4.11', '--layers', layers);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/entry 'escape\/passwd-evil' would be written through the symlink 'escape'/);
    expect(existsSync(join(dir, 'out.tar'))).toBe(false);
  });
});

// The header walk over plain tar files (src/tar/header-walk.ts) against GNU tar, the oracle: for
// archives that GNU tar and bsdtar write in every format they have, each entry's name bytes, type,
// link target and size agree with `tar -tv`, in the same order; its data, read through the walk,
// is byte for byte what GNU tar extracts (sparse files expanded); and nothing of the source tree
// is lost. Hand-made headers cover what the tools do not write on their own (base-256 sizes, PAX
// size overrides, global headers), and corrupted archives give an error naming the archive, the
// header's byte offset and the problem (GNU tar refuses the same archives, where it can tell).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import { closeSync, linkSync, lstatSync, mkdirSync, mkdtempSync, rmSync, openSync, readdirSync, readFileSync, readlinkSync, readSync, statSync, symlinkSync, truncateSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { TarFormatError, walkTarHeaders, type TarEntry, type WalkOptions } from '../src/tar/header-walk.js';

const work = mkdtempSync(join(tmpdir(), 'syslayer-header-walk-'));
const isRoot = process.getuid?.() === 0;
const hasBsdtar = spawnSync('bsdtar', ['--version']).status === 0;
const hasSetfattr = spawnSync('setfattr', ['--version']).status === 0;
const hasGit = spawnSync('git', ['--version']).status === 0;
const C = { ...process.env, LC_ALL: 'C' };
const b = (s: string) => Buffer.from(s, 'latin1');
const at = (dir: string, name: Buffer) => Buffer.concat([b(dir), b('/'), name]);

/** Every entry of the walk, with its content read through it for the types that have one. */
interface Walked {
  name: Buffer;
  type: string;
  linkname: Buffer;
  size: number;
  sparse: boolean;
  data: Buffer | null;
}
function walk(archive: string, options: WalkOptions = {}): Walked[] {
  const out: Walked[] = [];
  for (const e of walkTarHeaders(archive, options)) {
    out.push({ name: e.name, type: e.type, linkname: e.linkname, size: e.size, sparse: e.sparse !== null, data: e.type === 'file' || e.type === 'contiguous' ? e.read() : null });
  }
  return out;
}

/** GNU tar's escape quoting undone: the name's bytes. */
function unescape(s: string): Buffer {
  const out: number[] = [];
  const simple: Record<string, number> = { a: 7, b: 8, f: 12, n: 10, r: 13, t: 9, v: 11, '\\': 0x5c, ' ': 0x20, '?': 0x3f, '"': 0x22, "'": 0x27 };
  for (let i = 0; i < s.length; i++) {
    if (s[i] !== '\\') {
      out.push(s.charCodeAt(i));
      continue;
    }
    const next = s[i + 1]!;
    if (/[0-7]/.test(next)) {
      out.push(parseInt(s.slice(i + 1, i + 4), 8));
      i += 3;
    } else if (next in simple) {
      out.push(simple[next]!);
      i += 1;
    } else {
      throw new Error(`unknown escape \\${next} in ${s}`);
    }
  }
  return Buffer.from(out);
}

/** What GNU tar lists: type letter, size (or "major,minor"), name and link target as bytes. */
interface Listed {
  letter: string;
  size: string;
  name: Buffer;
  link: Buffer | null;
}
function gnuList(archive: string): Listed[] {
  const text = execFileSync('tar', ['--quoting-style=escape', '-tvf', archive], { env: C, stdio: ['ignore', 'pipe', 'ignore'] }).toString('latin1');
  return text.split('\n').filter((l) => l !== '').map((line) => {
    const m = /^(\S)\S{9} \S+ +(\S+) \d{4}-\d\d-\d\d \d\d:\d\d (.*)$/.exec(line);
    if (!m) throw new Error(`cannot parse tar -tv line: ${line}`);
    const [, letter, size, rest] = m as unknown as [string, string, string, string];
    const sep = letter === 'l' ? ' -> ' : letter === 'h' ? ' link to ' : null;
    const cut = sep ? rest.indexOf(sep) : -1;
    return { letter, size, name: unescape(cut >= 0 ? rest.slice(0, cut) : rest), link: cut >= 0 ? unescape(rest.slice(cut + sep!.length)) : null };
  });
}
const LETTER: Record<string, string> = { '-': 'file', h: 'hardlink', l: 'symlink', d: 'directory', c: 'char', b: 'block', p: 'fifo', C: 'contiguous' };

/** Every path under `dir`, as bytes relative to it, directories included. */
function treePaths(dir: Buffer, prefix: Buffer = Buffer.alloc(0)): Buffer[] {
  const out: Buffer[] = [];
  for (const name of readdirSync(dir, { encoding: 'buffer' })) {
    const rel = prefix.length ? Buffer.concat([prefix, b('/'), name]) : name;
    out.push(rel);
    const full = Buffer.concat([dir, b('/'), name]);
    if (lstatSync(full).isDirectory()) out.push(...treePaths(full, rel));
  }
  return out;
}
const normal = (name: Buffer) => {
  let s = name.toString('latin1');
  while (s.startsWith('./')) s = s.slice(2);
  return s.replace(/\/+$/, '');
};

/** A tree with what an image holds and what tar formats find hard: long, non-UTF-8 and odd names, links, specials. */
function makeTree(dir: string): void {
  mkdirSync(dir);
  const put = (name: Buffer | string, data: Buffer | string) => writeFileSync(at(dir, typeof name === 'string' ? b(name) : name), data);
  put('plain.txt', 'plain text\n');
  put('empty', '');
  put('block-512', Buffer.alloc(512, 0x61));
  put('block-513', Buffer.alloc(513, 0x62));
  const big = Buffer.alloc(200_000);
  for (let i = 0; i < big.length; i += 4) big.writeUInt32LE((i * 2654435761) >>> 0, i);
  put('big.bin', big);
  mkdirSync(join(dir, 'usr/lib/modules/6.1.0-13-amd64'), { recursive: true });
  mkdirSync(join(dir, 'empty-dir'));
  put('usr/lib/modules/6.1.0-13-amd64/modules.dep', 'kernel/a.ko:\n');
  put('a'.repeat(120), 'a name of 120 bytes\n'); // > 100: GNU 'L', PAX path
  const deep = ['d'.repeat(200), 'e'.repeat(200), 'f'.repeat(200)];
  mkdirSync(join(dir, ...deep), { recursive: true });
  put([...deep, 'g'.repeat(100)].join('/'), 'a name of 704 bytes\n'); // > 255, and longer than the smallest read-ahead
  mkdirSync(join(dir, 'p'.repeat(120)));
  put(`${'p'.repeat(120)}/${'q'.repeat(90)}`, 'a name ustar splits into prefix and name\n');
  put(b('caf\xe9'), 'latin-1 name\n');
  put(b('\xff\xfe-not-utf8-\x80'), 'bytes that are no UTF-8\n');
  put(b('na\xc3\xafve'), 'a UTF-8 name\n');
  put('line\nbreak', 'a name with a newline\n');
  put('tab\tand\\backslash', 'escapes\n');
  linkSync(join(dir, 'plain.txt'), join(dir, 'plain-hardlink'));
  linkSync(join(dir, 'a'.repeat(120)), join(dir, 'hardlink-to-long')); // a link target over 100 bytes: GNU 'K'
  symlinkSync('plain.txt', join(dir, 'symlink-short'));
  symlinkSync(`../${'t'.repeat(150)}/target`, join(dir, 'symlink-long')); // dangling, target > 100 bytes
  symlinkSync(b('caf\xe9'), join(dir, 'symlink-latin1'));
  execFileSync('mkfifo', [join(dir, 'fifo')]);
  if (isRoot) {
    // Device nodes where the machine lets root make them (not in every container).
    spawnSync('mknod', [join(dir, 'char-dev'), 'c', '1', '3']);
    spawnSync('mknod', [join(dir, 'block-dev'), 'b', '7', '0']);
  }
  if (hasSetfattr) execFileSync('setfattr', ['-n', 'user.big', '-v', 'x'.repeat(3000), join(dir, 'plain.txt')]); // a PAX record longer than a read-ahead
}

/** A sparse file of 30 chunks (one old GNU header holds 4, an extension block 21) and a hole at the end. */
function makeSparse(dir: string): Buffer {
  mkdirSync(dir);
  const path = join(dir, 'sparse.img');
  const fd = openSync(path, 'w');
  const content = Buffer.alloc(30 * 65536 + 100_000);
  for (let i = 0; i < 30; i++) {
    const chunk = Buffer.from(`chunk ${i} `.repeat(20));
    chunk.copy(content, i * 65536 + 1000);
    writeSync(fd, chunk, 0, chunk.length, i * 65536 + 1000);
  }
  closeSync(fd);
  truncateSync(path, content.length);
  writeFileSync(join(dir, 'after-sparse'), 'the entry after\n');
  return content;
}

interface Made {
  label: string;
  archive: string;
  /** The format stores every entry of the tree (else it drops or cuts some: compare with its listing only). */
  complete: boolean;
}

function gnuTar(format: string, tree: string, extra: string[] = []): Made {
  const archive = join(work, `gnu-${format}${extra.length ? '-x' : ''}.tar`);
  const r = spawnSync('tar', [`--format=${format}`, ...extra, '-C', tree, '-cf', archive, '.'], { env: C });
  if (!statSync(archive, { throwIfNoEntry: false })) throw new Error(`tar --format=${format}: ${r.stderr}`);
  return { label: `GNU tar --format=${format}${extra.length ? ` ${extra.join(' ')}` : ''}`, archive, complete: r.status === 0 };
}
function bsdTar(format: string, tree: string): Made {
  const archive = join(work, `bsd-${format}.tar`);
  const r = spawnSync('bsdtar', [`--format=${format}`, '-C', tree, '-cf', archive, '.'], { env: C });
  if (!statSync(archive, { throwIfNoEntry: false })) throw new Error(`bsdtar --format=${format}: ${r.stderr}`);
  // bsdtar exits 1 on what it could not store (and on a name it cannot translate, stored anyway).
  return { label: `bsdtar --format=${format}`, archive, complete: format === 'pax' || format === 'gnutar' };
}

const tree = join(work, 'tree');
const made: Made[] = [];
afterAll(() => rmSync(work, { recursive: true, force: true }));
beforeAll(() => {
  makeTree(tree);
  for (const f of ['gnu', 'oldgnu', 'pax', 'posix', 'ustar', 'v7']) made.push(gnuTar(f, tree));
  made.push(gnuTar('pax', tree, ['--xattrs', '--xattrs-include=*']));
  if (hasBsdtar) for (const f of ['pax', 'paxr', 'gnutar', 'ustar', 'v7tar']) made.push(bsdTar(f, tree));
  // The archives' own check: the scenarios hold (long names through GNU L/K records or PAX
  // headers, xattrs as PAX records, the full formats losing no entry), or nothing is tested.
  const raw = (label: string) => readFileSync(made.find((m) => m.label === label)!.archive);
  const wrong = [
    ...(raw('GNU tar --format=gnu').includes(b('././@LongLink')) ? [] : ['GNU format with long names has no L/K records']),
    ...(raw('GNU tar --format=pax').includes(b(' path=')) ? [] : ['PAX format has no path records']),
    ...(!hasSetfattr || readFileSync(made.find((m) => m.label.includes('--xattrs'))!.archive).includes(b('SCHILY.xattr.user.big='))
      ? [] : ['xattrs did not become PAX records']),
    ...made.filter((m) => m.complete && gnuList(m.archive).length !== treePaths(b(tree)).length + 1) // + "./"
      .map((m) => `${m.label} lost entries`),
  ];
  if (wrong.length > 0) throw new Error(`test archives: ${wrong.join('; ')}`);
});

describe('archives written by GNU tar and bsdtar', () => {
  it('every entry agrees with `tar -tv`: name bytes, type, link target, size, in order', () => {
    for (const m of made) {
      const listed = gnuList(m.archive);
      const ours = walk(m.archive);
      expect(ours.map((e) => e.name.toString('latin1')), m.label).toEqual(listed.map((l) => l.name.toString('latin1')));
      for (let i = 0; i < listed.length; i++) {
        const l = listed[i]!;
        const e = ours[i]!;
        const what = `${m.label}: ${JSON.stringify(l.name.toString('latin1'))}`;
        expect(e.name.equals(l.name), what).toBe(true);
        expect(e.type, what).toBe(LETTER[l.letter]);
        expect(e.linkname.toString('latin1'), what).toBe(l.link?.toString('latin1') ?? '');
        if (l.letter === '-' || l.letter === 'C') expect(String(e.size), what).toBe(l.size);
      }
    }
  });

  it('what GNU tar extracts is what the walk reads: file contents, link targets, hardlinks, directories, specials', () => {
    for (const m of made) {
      const out = join(work, `x-${m.archive.split('/').pop()}`);
      mkdirSync(out);
      execFileSync('tar', ['-C', out, '-xf', m.archive], { env: C, stdio: 'ignore' });
      for (const e of walk(m.archive)) {
        const what = `${m.label}: ${JSON.stringify(e.name.toString('latin1'))}`;
        const path = at(out, e.name);
        const st = lstatSync(path);
        switch (e.type) {
          case 'file':
            expect(st.isFile(), what).toBe(true);
            expect(e.data!.equals(readFileSync(path)), `${what}: contents`).toBe(true);
            break;
          case 'directory':
            expect(st.isDirectory(), what).toBe(true);
            break;
          case 'symlink':
            expect(readlinkSync(path, { encoding: 'buffer' }).equals(e.linkname), what).toBe(true);
            break;
          case 'hardlink':
            expect(st.ino, what).toBe(lstatSync(at(out, e.linkname)).ino);
            break;
          case 'fifo':
            expect(st.isFIFO(), what).toBe(true);
            break;
          case 'char':
            expect(st.isCharacterDevice(), what).toBe(true);
            break;
          case 'block':
            expect(st.isBlockDevice(), what).toBe(true);
            break;
          default:
            throw new Error(`${what}: unexpected type ${e.type}`);
        }
      }
    }
  });

  it('the full formats give back every path of the source tree, byte for byte', () => {
    const source = treePaths(b(tree)).map((p) => p.toString('latin1')).sort();
    for (const m of made.filter((m) => m.complete)) {
      const names = walk(m.archive).map((e) => normal(e.name)).filter((n) => n !== '').sort();
      expect(names, m.label).toEqual(source);
    }
  });

  it('the read-ahead size changes nothing (one block, the default, 1 MiB)', () => {
    for (const m of made) {
      const base = walk(m.archive);
      for (const readAhead of [512, 1 << 20]) {
        const other = walk(m.archive, { readAhead });
        expect(other.length, `${m.label}, readAhead ${readAhead}`).toBe(base.length);
        other.forEach((e, i) => {
          const o = base[i]!;
          const same = e.name.equals(o.name) && e.type === o.type && e.linkname.equals(o.linkname) && e.size === o.size && (e.data === null ? o.data === null : e.data.equals(o.data!));
          expect(same, `${m.label}, readAhead ${readAhead}: ${JSON.stringify(e.name.toString('latin1'))}`).toBe(true);
        });
      }
    }
  });

  it.skipIf(!hasGit)('git archive: a global PAX header (its comment) is read and skipped', () => {
    const repo = join(work, 'git-repo');
    mkdirSync(repo);
    writeFileSync(join(repo, 'README'), 'readme\n');
    const git = (...args: string[]) => execFileSync('git', ['-C', repo, '-c', 'user.name=t', '-c', 'user.email=t@example.invalid', ...args]);
    git('init', '-q');
    git('add', '.');
    git('commit', '-q', '-m', 'one');
    const archive = join(work, 'git.tar');
    writeFileSync(archive, git('archive', '--format=tar', 'HEAD'));
    expect(readFileSync(archive)[156], 'the first header is a global one').toBe(0x67);
    const ours = walk(archive);
    expect(ours.map((e) => e.name.toString('latin1'))).toEqual(gnuList(archive).map((l) => l.name.toString('latin1')));
    expect(ours.find((e) => e.name.toString() === 'README')?.data?.toString()).toBe('readme\n');
  });
});

describe('sparse files', () => {
  const dir = join(work, 'sparse-tree');
  let content: Buffer;
  const archives: Made[] = [];
  beforeAll(() => {
    content = makeSparse(dir);
    archives.push(gnuTar('gnu', dir, ['--sparse']));
    // The archive's own check: its entry after the directory's is an old GNU sparse ('S') header.
    if (readFileSync(archives[0]!.archive)[156 + 512] !== 0x53) throw new Error('test archive: the old GNU archive holds no S header');
    for (const v of ['0.0', '0.1', '1.0']) {
      const m = gnuTar('pax', dir, ['--sparse', `--sparse-version=${v}`]);
      const renamed = m.archive.replace('.tar', `-${v}.tar`);
      execFileSync('mv', [m.archive, renamed]);
      archives.push({ ...m, archive: renamed });
    }
    if (hasBsdtar) {
      const m = bsdTar('pax', dir); // PAX sparse 1.0, as libarchive writes it
      const renamed = m.archive.replace('.tar', '-sparse.tar');
      execFileSync('mv', [m.archive, renamed]);
      archives.push({ ...m, archive: renamed });
    }
  });

  it('old GNU (S with extension blocks) and PAX 0.0, 0.1, 1.0 (GNU tar and bsdtar): real name, real size, holes read as zeros', () => {
    for (const m of archives) {
      const ours = walk(m.archive);
      const listed = gnuList(m.archive);
      expect(ours.map((e) => e.name.toString('latin1')), m.label).toEqual(listed.map((l) => l.name.toString('latin1')));
      const sparse = ours.find((e) => normal(e.name) === 'sparse.img')!;
      expect(sparse.sparse, `${m.label}: stored as a sparse entry`).toBe(true);
      expect(sparse.type).toBe('file');
      expect(sparse.size, m.label).toBe(content.length);
      expect(sparse.data!.equals(content), `${m.label}: expanded contents`).toBe(true);
      expect(ours.find((e) => normal(e.name) === 'after-sparse')?.data?.toString(), `${m.label}: the entry after`).toBe('the entry after\n');
    }
  });

  it('a part of a sparse file reads as the same part of the file, across holes and chunks', () => {
    let seen = 0;
    for (const m of archives) {
      for (const e of walkTarHeaders(m.archive)) {
        if (normal(e.name) !== 'sparse.img') continue;
        seen++;
        // 30 data chunks; how a tar maps the trailing hole (a last empty chunk or none) and how the
        // file system rounds data regions are the tar's and the file system's business.
        expect(e.sparse!.length, `${m.label}: chunks`).toBeGreaterThanOrEqual(30);
        for (const [from, length] of [[0, 10], [1000, 5], [995, 20], [65536 + 900, 70_000], [content.length - 50, 50], [5, 0]] as const) {
          expect(e.read(from, length).equals(content.subarray(from, from + length)), `${m.label}: read(${from}, ${length})`).toBe(true);
        }
      }
    }
    expect(seen, 'one sparse.img in every archive').toBe(archives.length);
  });
});

// Headers made by hand, for what the tools write only for huge files or not at all.
function header(o: { name: string; type?: string; size?: number; sizeField?: Buffer; linkname?: string; checksumDelta?: number }): Buffer {
  const h = Buffer.alloc(512);
  b(o.name).copy(h, 0);
  h.write('0000644\0', 100, 'latin1');
  h.write('0000000\0', 108, 'latin1');
  h.write('0000000\0', 116, 'latin1');
  if (o.sizeField) o.sizeField.copy(h, 124);
  else h.write(`${(o.size ?? 0).toString(8).padStart(11, '0')}\0`, 124, 'latin1');
  h.write('00000000000\0', 136, 'latin1');
  h[156] = (o.type ?? '0').charCodeAt(0);
  b(o.linkname ?? '').copy(h, 157);
  h.write('ustar\x0000', 257, 'latin1');
  h.fill(0x20, 148, 156);
  let sum = o.checksumDelta ?? 0;
  for (const x of h) sum += x;
  h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
  return h;
}
const pad = (data: Buffer) => Buffer.concat([data, Buffer.alloc((512 - (data.length % 512)) % 512)]);
function paxRecords(records: [string, string][]): Buffer {
  return Buffer.concat(records.map(([k, v]) => {
    const body = b(` ${k}=${v}\n`);
    let n = body.length + 1;
    while (String(n).length + body.length !== n) n++;
    return Buffer.concat([b(String(n)), body]);
  }));
}
const END = Buffer.alloc(1024);
let crafted = 0;
function craft(...parts: Buffer[]): string {
  const path = join(work, `crafted-${++crafted}.tar`);
  writeFileSync(path, Buffer.concat(parts));
  return path;
}
const gnuAccepts = (archive: string) => spawnSync('tar', ['-tf', archive], { env: C }).status === 0;

describe('headers made by hand, GNU tar as the oracle', () => {
  it('a size in GNU base-256', () => {
    const field = Buffer.alloc(12);
    field[0] = 0x80;
    field.writeUIntBE(70_000, 6, 6);
    const data = Buffer.alloc(70_000, 0x41);
    const archive = craft(header({ name: 'base256', sizeField: field }), pad(data), header({ name: 'next', size: 3 }), pad(b('abc')), END);
    expect(gnuList(archive).map((l) => l.size)).toEqual(['70000', '3']);
    const ours = walk(archive);
    expect(ours.map((e) => [e.name.toString(), e.size])).toEqual([['base256', 70_000], ['next', 3]]);
    expect(ours[0]!.data!.equals(data)).toBe(true);
    expect(ours[1]!.data!.toString()).toBe('abc');
  });

  it('a PAX size overrides the header\'s, a PAX path and linkpath its names', () => {
    const data = Buffer.alloc(1500, 0x42);
    const utf8 = Buffer.from('from/pax/é');
    const x1 = paxRecords([['size', '1500'], ['path', utf8.toString('latin1')]]);
    const x2 = paxRecords([['linkpath', 'target/from/pax']]);
    const archive = craft(
      header({ name: 'PaxHeader', type: 'x', size: x1.length }), pad(x1), header({ name: 'ustar-name', size: 0 }), pad(data),
      header({ name: 'PaxHeader', type: 'x', size: x2.length }), pad(x2), header({ name: 'link', type: '2', linkname: 'ustar-target' }), END,
    );
    const listed = gnuList(archive);
    expect(listed.map((l) => [l.name.toString('latin1'), l.size])).toEqual([[utf8.toString('latin1'), '1500'], ['link', '0']]);
    const ours = walk(archive);
    expect(ours[0]!.name.equals(utf8)).toBe(true);
    expect(ours[0]!.size).toBe(1500);
    expect(ours[0]!.data!.equals(data)).toBe(true);
    expect(ours[1]!.linkname.toString()).toBe(listed[1]!.link!.toString());
  });

  it('global headers: a path-less one is skipped; a global path applies to the entries after it, as GNU tar has it', () => {
    const g1 = paxRecords([['comment', 'made by hand'], ['SCHILY.xattr.user.x', 'y']]);
    const g2 = paxRecords([['path', 'global-name']]);
    const archive = craft(
      header({ name: 'g1', type: 'g', size: g1.length }), pad(g1), header({ name: 'one', size: 2 }), pad(b('1\n')),
      header({ name: 'g2', type: 'g', size: g2.length }), pad(g2), header({ name: 'two', size: 0 }), header({ name: 'three', size: 0 }), END,
    );
    expect(walk(archive).map((e) => e.name.toString())).toEqual(gnuList(archive).map((l) => l.name.toString()));
    expect(walk(archive).map((e) => e.name.toString())).toEqual(['one', 'global-name', 'global-name']);
  });

  it('directories as old tars wrote them, data after a directory header, and archives ending without or with a lone zero block', () => {
    const archive = craft(
      header({ name: 'old-dir/', type: '\0' }), header({ name: 'regular-dir/', type: '0' }),
      header({ name: 'sized-dir/', type: '5', size: 512 }), // GNU tar reads no data after a directory
      header({ name: 'inside', size: 1 }), pad(b('i')),
    );
    expect(walk(archive).map((e) => `${e.name}:${e.type}`)).toEqual(gnuList(archive).map((l) => `${l.name}:${LETTER[l.letter]}`));
    const lone = craft(readFileSync(archive), Buffer.alloc(512));
    expect(walk(lone).length).toBe(4);
  });

  it('an fd the caller owns: read at offsets, the fd left open and unmoved; reads after a walk by path ended are refused', () => {
    const archive = made[0]!.archive;
    const fd = openSync(archive, 'r');
    try {
      const names = [...walkTarHeaders({ fd, name: archive })].map((e) => e.name.toString('latin1'));
      expect(names).toEqual(gnuList(archive).map((l) => l.name.toString('latin1')));
      const first = Buffer.alloc(10);
      expect(readSync(fd, first, 0, 10, null), 'fd still open').toBe(10);
      expect(first.equals(readFileSync(archive).subarray(0, 10)), 'fd position untouched by the walk').toBe(true);
    } finally {
      closeSync(fd);
    }
    let kept: TarEntry | null = null;
    for (const e of walkTarHeaders(archive)) if (e.type === 'file' && e.size > 0) kept ??= e;
    expect(() => kept!.read()).toThrow(/read after the walk over it ended/);
    for (const e of walkTarHeaders(archive)) expect(() => e.read(0, e.size + 1), 'a read past the entry').toThrow(RangeError);
  });
});

describe('corrupted archives: an error naming the archive, the header\'s offset and the problem', () => {
  /** The TarFormatError the walk ends with; it must be one line, and lower case after the archive's name. */
  function failure(archive: string, readAhead?: number): TarFormatError {
    try {
      for (const e of walkTarHeaders(archive, readAhead ? { readAhead } : {})) if (e.type === 'file') e.read();
    } catch (error) {
      expect(error, String(error)).toBeInstanceOf(TarFormatError);
      const e = error as TarFormatError;
      expect(e.message).toBe(`${archive}: header at byte ${e.offset}: ${e.problem}`);
      expect(e.message.includes('\n'), e.message).toBe(false);
      expect(e.problem, e.message).toBe(e.problem.toLowerCase());
      return e;
    }
    throw new Error(`${archive}: the walk ended without an error`);
  }
  const good = () => craft(header({ name: 'first', size: 5 }), pad(b('first')), header({ name: 'second', size: 700 }), pad(Buffer.alloc(700, 0x43)), header({ name: 'third' }), END);

  it('a bad checksum', () => {
    const bytes = readFileSync(good());
    bytes[1024 + 3] ^= 0x20; // in the second header's name
    const archive = craft(bytes);
    expect(gnuAccepts(archive), 'GNU tar rejects it too').toBe(false);
    const e = failure(archive);
    expect(e.offset).toBe(1024);
    expect(e.problem).toMatch(/^checksum [0-7]+ \(octal\) does not match the header's sum [0-7]+$/);
  });

  it('a header cut short by the end of the file', () => {
    const archive = craft(readFileSync(good()).subarray(0, 1024 + 2048 + 100));
    const e = failure(archive);
    expect([e.offset, e.problem]).toEqual([1024 + 2048, 'truncated header: the file ends 100 bytes into it']);
  });

  it('data cut short by the end of the file, and a size past the end', () => {
    const cut = craft(readFileSync(good()).subarray(0, 1024 + 512 + 300));
    expect(gnuAccepts(cut), 'GNU tar rejects it too').toBe(false);
    const e = failure(cut);
    expect([e.offset, e.problem]).toEqual([1024, 'size 700 (data at byte 1536) runs past the end of the file (1836 bytes)']);
    const huge = craft(header({ name: 'huge', size: 0o77777777777 }), pad(b('x')), END);
    expect(gnuAccepts(huge), 'GNU tar rejects it too').toBe(false);
    expect(failure(huge).problem).toBe(`size ${0o77777777777} (data at byte 512) runs past the end of the file (2048 bytes)`);
    const field = Buffer.alloc(12, 0xff);
    field[0] = 0x80; // base-256, far over 2^53
    expect(failure(craft(header({ name: 'x', sizeField: field }), END)).problem).toMatch(/^size field '.*' is a base-256 number over 2\^53$/);
  });

  it('malformed PAX records', () => {
    const bad = (records: Buffer, readAhead?: number) =>
      failure(craft(header({ name: 'ok', size: 0 }), header({ name: 'PaxHeader', type: 'x', size: records.length }), pad(records), header({ name: 'f' }), END), readAhead);
    expect(bad(b('abc path=x\n')).problem).toMatch(/^pax record at byte 1024: 'abc path=x\\x0a' does not start with a decimal length and a space$/);
    expect(bad(b('99 path=x\n')).problem).toBe('pax record at byte 1024: length 99 runs past the end of the extended header (byte 1034)');
    expect(bad(b('10 pathxx\n')).problem).toBe("pax record at byte 1024: has no '='");
    expect(bad(b('11 path=xyz')).problem).toBe('pax record at byte 1024: does not end with a newline');
    expect(bad(b('12 size=1x2\n')).problem).toBe("pax record at byte 1024: size value '1x2' is not a decimal number");
    const long = Buffer.concat([b('1010 SCHILY.xattr.user.a='), Buffer.alloc(1010 - 25, 0x61)]);
    expect(bad(long, 512).problem, 'a record longer than the read-ahead').toBe('pax record at byte 1024: does not end with a newline');
    const e = bad(b('10 pathxx\n'));
    expect(e.offset, 'the offset is the extended header\'s').toBe(512);
  });

  it('compressed input, a lone zero block before a header, an extended header with no entry, a non-octal size, an unknown sparse version', () => {
    const gz = join(work, 'compressed.tar.gz');
    writeFileSync(gz, gzipSync(readFileSync(good())));
    expect(failure(gz).problem).toBe('gzip-compressed data, not a plain tar file');
    const lone = failure(craft(header({ name: 'a' }), Buffer.alloc(512), header({ name: 'b' }), END));
    expect([lone.offset, lone.problem]).toEqual([512, 'a lone zero block is followed by data at byte 1024, not by a second zero block']);
    const L = b('long-name\0');
    const dangling = failure(craft(header({ name: '././@LongLink', type: 'L', size: L.length }), pad(L), END));
    expect([dangling.offset, dangling.problem]).toEqual([1024, 'a zero block follows the extended header at byte 0 instead of its entry']);
    const size = Buffer.from('0000000009a\0', 'latin1');
    expect(failure(craft(header({ name: 'x', sizeField: size }), END)).problem).toBe("size field '0000000009a\\x00' is not an octal number");
    const s2 = paxRecords([['GNU.sparse.major', '2'], ['GNU.sparse.minor', '0'], ['GNU.sparse.realsize', '10']]);
    expect(failure(craft(header({ name: 'PaxHeader', type: 'x', size: s2.length }), pad(s2), header({ name: 'f' }), END)).problem)
      .toBe('sparse entry of pax version 2.0: only 0.0, 0.1 and 1.0 are read');
  });

  it('random corruptions of real headers (checksums fixed up, files cut short) give a TarFormatError or a clean walk, never anything else', () => {
    let seed = 12345; // a fixed sequence: a failure here is reproducible
    const random = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32;
    const sums = (h: Buffer) => h.reduce((s, x, i) => s + (i >= 148 && i < 156 ? 0x20 : x), 0);
    const sources = [made.find((m) => m.label === 'GNU tar --format=gnu')!, made.find((m) => m.label === 'GNU tar --format=pax')!];
    const outcomes = { walked: 0, refused: 0 };
    for (const source of sources) {
      const original = readFileSync(source.archive);
      for (let round = 0; round < 400; round++) {
        const bytes = Buffer.from(original);
        for (let k = 1 + Math.floor(random() * 4); k > 0; k--) {
          const offset = Math.floor(random() * Math.min(bytes.length, 40 * 512));
          bytes[offset] = random() < 0.5 ? Math.floor(random() * 256) : [0x30, 0x20, 0, 0x0a, 0x3d, 0x37, 0x80, 0xff][Math.floor(random() * 8)]!;
        }
        // Most rounds re-sum the headers they changed, so that the change reaches the parser.
        if (random() < 0.7) {
          for (let p = 0; p + 512 <= Math.min(bytes.length, 40 * 512); p += 512) {
            const h = bytes.subarray(p, p + 512);
            const was = original.subarray(p, p + 512);
            if (!h.equals(was) && parseInt(was.toString('latin1', 148, 155), 8) === sums(was)) h.write(`${sums(h).toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
          }
        }
        const archive = join(work, 'corrupted.tar');
        writeFileSync(archive, random() < 0.1 ? bytes.subarray(0, Math.floor(random() * bytes.length)) : bytes);
        try {
          for (const e of walkTarHeaders(archive, { readAhead: random() < 0.5 ? 512 : 64 * 1024 })) if (e.size < 1 << 26) e.read();
          outcomes.walked++;
        } catch (error) {
          expect(error, `${source.label}, round ${round}: ${String(error)}`).toBeInstanceOf(TarFormatError);
          expect((error as Error).message.includes('\n')).toBe(false);
          outcomes.refused++;
        }
      }
    }
    expect(outcomes.refused, 'some corruptions are refused').toBeGreaterThan(100);
    expect(outcomes.walked, 'some corruptions (in names, unused fields) still walk').toBeGreaterThan(100);
  });

  it('a signed checksum, as some old tars wrote, is accepted', () => {
    const h = header({ name: 'caf\xe9-signed' });
    // Re-sum with bytes over 0x7f counted as negative.
    h.fill(0x20, 148, 156);
    let sum = 0;
    for (const x of h) sum += x >= 0x80 ? x - 256 : x;
    h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
    expect(walk(craft(h, END)).map((e) => e.name.toString('latin1'))).toEqual(['caf\xe9-signed']);
  });
});

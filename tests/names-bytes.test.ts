// Names are bytes (DESIGN §9): entries whose names are not UTF-8 (Latin-1 `caf\xe9`), hold a
// newline, a backslash sequence tar would unquote, or start with '-', are scanned, bound, unbound
// and verified like any other, in directories and in tarballs (GNU, ustar and PAX headers, made
// by GNU tar), and keep their exact name bytes. The oracles: find(1) lists the names' bytes, GNU
// tar extracts what syslayer writes (bsdtar too, where installed), and the bound clients run.
//
// Names in this file are latin1 strings: one char per byte, so 'caf\xe9' is the four bytes.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, linkSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, syslayer } from './helpers/cli.js';
import { SYSLAYER_OWN } from './fixtures/image/entries.js';
import { runProgram } from './helpers/run.js';

const LAYERS = join(ROOT, 'sdk/prebuilt/x86_64/layers');
const BIND = ['--kernel', '4.11', '--layers', LAYERS];
const work = mkdtempSync(join(tmpdir(), 'syslayer-names-'));

/** The clients (copies of abi2-demo), by their name bytes; HARDLINK is a second name of CAFE. */
const CAFE = 'usr/bin/caf\xe9';
const NEWLINE = 'usr/bin/new\nline';
const HARDLINK = 'usr/sbin/hard\xfe';
const DASH_DIR = '-dash\xe9/client';
const BACKSLASH_DIR = 'back\\x41slash/client';
const CLIENTS = [CAFE, NEWLINE, HARDLINK, DASH_DIR, BACKSLASH_DIR];
/** Entries that are not clients, with such names. */
const SYMLINK = 'usr/bin/lnk\xff'; // -> caf\xe9
const ASCII_SYMLINK = 'usr/bin/ascii-link'; // -> caf\xe9: an ASCII name, only the target is not UTF-8
const OTHERS = ['etc/caf\xe9.txt', 'etc/notes\nfile.txt', 'etc/repl\xef\xbf\xbd.txt', 'usr/lib/libz-\xff.so'];

const bytes = (latin1: string) => Buffer.from(latin1, 'latin1');
/** A path under `root` as bytes, for Node's fs. */
const at = (root: string, name: string) => Buffer.concat([Buffer.from(`${root}/`), bytes(name)]);

function makeImage(dir: string): void {
  const demo = join(ROOT, 'sdk/prebuilt/x86_64/bin/abi2-demo');
  for (const d of ['usr/bin', 'usr/sbin', 'usr/lib', 'etc', '-dash\xe9', 'back\\x41slash']) mkdirSync(at(dir, d), { recursive: true });
  for (const c of [CAFE, NEWLINE, DASH_DIR, BACKSLASH_DIR]) copyFileSync(demo, at(dir, c));
  linkSync(at(dir, CAFE), at(dir, HARDLINK));
  symlinkSync(bytes('caf\xe9'), at(dir, SYMLINK));
  symlinkSync(bytes('caf\xe9'), at(dir, ASCII_SYMLINK));
  writeFileSync(at(dir, 'etc/caf\xe9.txt'), 'Latin-1 name\n');
  writeFileSync(at(dir, 'etc/notes\nfile.txt'), 'a newline in the name\n');
  writeFileSync(at(dir, 'etc/repl\xef\xbf\xbd.txt'), 'a real U+FFFD in a UTF-8 name\n');
  copyFileSync(join(ROOT, 'corpus/amd64/libz.so.1.2.13'), at(dir, 'usr/lib/libz-\xff.so'));
}

interface Entry { type: string; mode: string; owner: string; mtime: string; nlink: string; inode: string; target: string; sha256: string }

/** Every entry under `root` as find(1) reports it, keyed by its name bytes (latin1). */
function entries(root: string): Map<string, Entry> {
  const out = execFileSync('find', ['.', '-printf', '%P\\0%y\\0%m\\0%U:%G\\0%T@\\0%n\\0%i\\0%l\\0'], { cwd: root, maxBuffer: 1 << 26 }).toString('latin1').split('\0');
  const map = new Map<string, Entry>();
  for (let i = 0; i + 8 <= out.length; i += 8) {
    const [path, type, mode, owner, mtime, nlink, inode, target] = out.slice(i, i + 8) as string[];
    const sha256 = type === 'f' ? createHash('sha256').update(readFileSync(at(root, path!))).digest('hex') : '';
    map.set(path!, { type: type!, mode: mode!, owner: owner!, mtime: mtime!, nlink: nlink!, inode: inode!, target: target!, sha256 });
  }
  return map;
}

const show = (name: string) => JSON.stringify(name);

/**
 * `actual` has exactly `expected`'s names, and the same type, mode, owner, link target and
 * hardlink structure for each; the same bytes for all but `changed`, other bytes for those.
 * `mtimes` compares modification times too (not for tar round trips of directories' times).
 */
function expectSameImage(expected: Map<string, Entry>, actual: Map<string, Entry>, changed: readonly string[], mtimes = true): void {
  // What binding adds by design (var/lib/syslayer/: docs/living-images.md) aside.
  const names = [...actual.keys()].filter((p) => expected.has(p) || !SYSLAYER_OWN.test(p));
  expect(names.sort().map(show)).toEqual([...expected.keys()].sort().map(show));
  const groupOf = (m: Map<string, Entry>, e: Entry) => [...m].filter(([, x]) => x.type === 'f' && x.inode === e.inode).map(([p]) => p).sort().join('|');
  for (const [path, e] of expected) {
    const a = actual.get(path)!;
    // A directory's link count is its subdirectories': binding may add var/ (docs/living-images.md).
    const describe_ = (x: Entry, m: Map<string, Entry>) => [x.type, x.mode, x.owner, mtimes ? x.mtime : '', x.type === 'd' ? '' : x.nlink, JSON.stringify(x.target), x.type === 'f' ? groupOf(m, x) : ''].join(' ');
    expect(`${show(path)} ${describe_(a, actual)}`).toBe(`${show(path)} ${describe_(e, expected)}`);
    if (e.type === 'f') expect(a.sha256 === e.sha256, `${show(path)} ${changed.includes(path) ? 'is bound' : 'is unchanged'}`).toBe(!changed.includes(path));
  }
}

/** The file at name bytes `name` under `root`, run through a symlink (Node cannot spawn a path that is not UTF-8). */
function runClient(root: string, name: string): void {
  const link = join(mkdtempSync(join(work, 'run-')), 'client');
  symlinkSync(at(root, name), link);
  const r = runProgram('x86_64', link, ['/']);
  const what = `${show(name)}: exit ${r.status}\n${r.stdout}${r.stderr}`;
  expect(r.status, what).toBe(0);
  expect(r.stdout, what).toMatch(/getpid: \d+ matches/);
  expect(r.stdout, what).toContain('getrandom: 16 bytes');
}

/** The name bytes a JSON record stands for: `pathBase64` when present, else `path` as UTF-8. */
const nameOf = (record: { path: string; pathBase64?: string }) => (record.pathBase64 !== undefined ? Buffer.from(record.pathBase64, 'base64') : Buffer.from(record.path, 'utf8')).toString('latin1');

interface ReportJson { clients: { path: string; pathBase64?: string; outcome?: { path: string; pathBase64?: string; status: string } }[] }

function json<T>(args: string[]): { status: number; report: T; stderr: string } {
  const r = syslayer(...args, '--json');
  expect([0, 1], `${args.join(' ')}: ${r.stderr}`).toContain(r.status);
  return { status: r.status, report: JSON.parse(r.stdout) as T, stderr: r.stderr };
}

const gnuTar = (...args: string[]) => execFileSync('tar', args, { stdio: ['ignore', 'pipe', 'pipe'] });
function extract(tarball: string, name: string): string {
  const dir = join(work, name);
  mkdirSync(dir);
  gnuTar('--warning=no-unknown-keyword', '-C', dir, '-xf', tarball);
  return dir;
}

const image = join(work, 'image');
let input: Map<string, Entry>;

beforeAll(() => {
  makeImage(image);
  input = entries(image);
  // The image's own check, as find(1) reads it: every name as bytes, the hardlink, the targets.
  const wrong = [
    ...[...CLIENTS, SYMLINK, ASCII_SYMLINK, ...OTHERS].filter((n) => !input.has(n)).map((n) => `missing ${show(n)}`),
    ...(input.get(CAFE)?.inode === input.get(HARDLINK)?.inode ? [] : [`${show(HARDLINK)} is not a hardlink of ${show(CAFE)}`]),
    ...[SYMLINK, ASCII_SYMLINK].filter((n) => input.get(n)?.target !== 'caf\xe9').map((n) => `${show(n)} does not point at caf\\xe9`),
  ];
  if (wrong.length > 0) throw new Error(`test image: ${wrong.join('; ')}`);
});

afterAll(() => {
  if (!process.env.SYSLAYER_KEEP_TEST_DIRS) rmSync(work, { recursive: true, force: true });
});

describe('a directory image', () => {
  it('scan lists every ELF file with its exact name bytes, and prints names escaped', () => {
    const { status, report } = json<{ files: { path: string; pathBase64?: string; error?: string }[]; counts: Record<string, number> }>(['scan', image]);
    expect(status).toBe(0);
    expect(report.files.map(nameOf).sort().map(show)).toEqual([...CLIENTS, 'usr/lib/libz-\xff.so'].sort().map(show));
    expect(report.counts.files).toBe([...input.values()].filter((e) => e.type === 'f').length);
    const cafe = report.files.find((f) => nameOf(f) === CAFE)!;
    expect(cafe.path).toBe('usr/bin/caf\\xe9');
    expect(report.files.find((f) => nameOf(f) === NEWLINE)!.pathBase64, 'a newline is valid UTF-8: JSON holds it').toBeUndefined();
    const text = syslayer('scan', image);
    expect(text.stdout).toContain('usr/bin/new\\x0aline: ');
    expect(text.stdout).not.toContain('\ufffd');
  });

  it('plan selects a layer for every client', () => {
    const { status, report } = json<ReportJson>(['plan', image, ...BIND]);
    expect(status).toBe(0);
    expect(report.clients.map(nameOf).sort().map(show)).toEqual([...CLIENTS].sort().map(show));
  });

  describe.each(['-o', '--in-place'] as const)('bind %s', (how) => {
    const out = join(work, `bound${how}`);
    let bound: Map<string, Entry>;
    let bindReport: ReportJson;
    beforeAll(() => {
      if (how === '--in-place') execFileSync('cp', ['-a', image, out]);
      const r = json<ReportJson>(['bind', how === '-o' ? image : out, ...(how === '-o' ? ['-o', out] : ['--in-place']), ...BIND]);
      expect(r.status, r.stderr).toBe(0);
      bindReport = r.report;
      bound = entries(out);
    });

    it('binds every client and reports each by its exact bytes', () => {
      const outcomes = bindReport.clients.map((c) => c.outcome!);
      expect(outcomes.map((o) => `${show(nameOf(o))} ${o.status}`).sort()).toEqual(CLIENTS.map((c) => `${show(c)} bound`).sort());
    });

    it('keeps every name byte for byte, and every entry but the clients as it was', () => {
      expectSameImage(input, bound, CLIENTS);
      expect(entries(image), 'the input is untouched').toEqual(input);
    });

    it('the bound clients run', () => {
      for (const c of CLIENTS) runClient(out, c);
    });

    it('verify re-derives every client', () => {
      const r = syslayer('verify', out, '--layers', LAYERS);
      expect(r.status, r.stdout + r.stderr).toBe(0);
      expect(r.stdout).toContain(`${CLIENTS.length} verified`);
    });

    it('unbind gives back the original bytes', () => {
      const back = join(work, `unbound${how}`);
      const r = how === '-o' ? syslayer('unbind', out, '-o', back) : syslayer('unbind', out, '--in-place');
      expect(r.status, r.stdout + r.stderr).toBe(0);
      expectSameImage(input, entries(how === '-o' ? back : out), []);
    });
  });
});

/**
 * The clients a tarball stores as files: every client but one of the two names of CAFE's inode,
 * which GNU tar stores as a hardlink entry to the other (the one it met first).
 */
function expectStoredClients(names: string[]): void {
  const pair = names.filter((n) => n === CAFE || n === HARDLINK);
  expect(pair.length, `one of ${show(CAFE)} and ${show(HARDLINK)} is stored as a file: ${names.map(show).join(', ')}`).toBe(1);
  expect(names.map(show).sort()).toEqual(CLIENTS.filter((c) => c === pair[0] || (c !== CAFE && c !== HARDLINK)).map(show).sort());
}

describe.each(['gnu', 'ustar', 'pax'])('a tarball in --format=%s', (format) => {
  const tarball = join(work, `in-${format}.tar`);
  let extracted: Map<string, Entry>;
  beforeAll(() => {
    gnuTar(`--format=${format}`, '-C', image, '-cf', tarball, '.');
    extracted = entries(extract(tarball, `in-${format}`));
  });

  it('scan lists the clients by their exact bytes', () => {
    const { report } = json<{ files: { path: string; pathBase64?: string }[] }>(['scan', tarball]);
    expectStoredClients(report.files.map(nameOf).filter((n) => n !== 'usr/lib/libz-\xff.so'));
    expect(report.files.map(nameOf)).toContain('usr/lib/libz-\xff.so');
  });

  it('bind to .tar: GNU tar extracts the exact names with bound contents; verify and unbind', () => {
    const out = join(work, `out-${format}.tar`);
    const r = json<ReportJson>(['bind', tarball, '-o', out, ...BIND]);
    expect(r.status, r.stderr).toBe(0);
    expectStoredClients(r.report.clients.map(nameOf));
    const dir = extract(out, `out-${format}`);
    expectSameImage(extracted, entries(dir), CLIENTS);
    for (const c of CLIENTS) runClient(dir, c);
    const verified = syslayer('verify', out, '--layers', LAYERS);
    expect(verified.status, verified.stdout + verified.stderr).toBe(0);
    const back = join(work, `back-${format}.tar`);
    const unbound = syslayer('unbind', out, '-o', back);
    expect(unbound.status, unbound.stdout + unbound.stderr).toBe(0);
    expectSameImage(extracted, entries(extract(back, `back-${format}`)), []);
  });

  it('bind to a directory gives the exact names with bound contents', () => {
    const out = join(work, `dir-from-${format}`);
    const r = syslayer('bind', tarball, '-o', out, ...BIND);
    expect(r.status, r.stdout + r.stderr).toBe(0);
    expectSameImage(extracted, entries(out), CLIENTS);
    for (const c of CLIENTS) runClient(out, c);
  });
});

describe('a directory image to a tarball', () => {
  it('keeps the exact names, with bound contents, for GNU tar and bsdtar', () => {
    const out = join(work, 'from-dir.tar');
    const r = syslayer('bind', image, '-o', out, ...BIND);
    expect(r.status, r.stdout + r.stderr).toBe(0);
    const dir = extract(out, 'from-dir');
    // Directories' mtimes change as GNU tar extracts into them: compared for files only.
    expectSameImage(input, entries(dir), CLIENTS, false);
    for (const [path, e] of input) if (e.type === 'f') expect(entries(dir).get(path)!.mtime.split('.')[0], show(path)).toBe(e.mtime.split('.')[0]);
    for (const c of CLIENTS) runClient(dir, c);
  });

  // The tar pass keeps every header as it came; packing a directory, GNU tar writes such a name as
  // raw bytes in a PAX path record without `hdrcharset=BINARY`, and bsdtar refuses to convert it
  // ("Pathname can't be converted from UTF-8"), from GNU tar's own archive as from ours. What
  // matters is that the output is no worse than GNU tar's: bsdtar does with it what it does with
  // GNU tar's archive of the same directory.
  it.skipIf(spawnSync('bsdtar', ['--version']).status !== 0)('bsdtar treats it as it treats GNU tar\'s own archive of the directory', () => {
    const own = join(work, 'gnu-own.tar');
    execFileSync('tar', ['--format=pax', '--sort=name', '-C', image, '-cf', own, '.']);
    const results = [own, join(work, 'from-dir.tar')].map((tarball, i) => {
      const dir = join(work, `bsdtar-${i}`);
      mkdirSync(dir);
      const r = spawnSync('bsdtar', ['-C', dir, '-xf', tarball], { encoding: 'utf8' });
      return { status: r.status, names: [...entries(dir).keys()].sort().map(show) };
    });
    expect(results[1]).toEqual(results[0]);
  });
});

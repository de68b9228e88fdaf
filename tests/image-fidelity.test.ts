// Whole-image fidelity of directory rewrites (DESIGN §7, issue 4). A test image built by
// tests/fixtures/image/make-image.sh holds every kind of entry and attribute: clients of both
// ABIs, the mixed-ABI program with its library under RUNPATH $ORIGIN/../lib, real Debian
// binaries and a foreign one, relative and absolute symlinks, hardlinked clients and hardlinked
// plain files, setuid/setgid files, a sticky directory, security.capability and user/trusted
// xattrs, a fifo, character and block devices, an empty directory, long and non-ASCII names,
// other owners, old nanosecond mtimes, an empty file.
//
// For `bind -o` and for `bind --in-place` (on a `cp -a` copy): every entry of the result has the
// input's type, mode, owner, mtime (ns), size, bytes (the clients excepted), symlink target,
// device numbers, xattrs and hardlink structure; the clients are bound and run; then `unbind`
// gives back the original image, entry by entry, byte for byte.
//
// Needs root (the image has other owners, devices and security.capability) and getfattr/setfattr
// (package attr) and setcap (package libcap2-bin).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, syslayer } from './helpers/cli.js';
import { runProgram } from './helpers/run.js';
import { ATTRIBUTES, differences, missingOrExtra, snapshot, type Attribute, type Snapshot } from './fixtures/image/entries.js';

const LAYERS = join(ROOT, 'sdk/prebuilt/x86_64/layers');
const MAKE_IMAGE = join(ROOT, 'tests/fixtures/image/make-image.sh');
const work = mkdtempSync(join(tmpdir(), 'syslayer-fidelity-'));
const image = join(work, 'image');

/** The syslayer clients make-image.sh puts in the image (abi1-demo and abi1-hardlink are one inode). */
const CLIENTS = new Set([
  'usr/bin/abi1-demo',
  'usr/sbin/abi1-hardlink',
  'usr/bin/abi2-demo',
  'usr/bin/mixed-main',
  'usr/lib/libmixed1.so',
  'usr/bin/abi2-setuid',
  'usr/bin/abi1-setgid',
  'usr/bin/abi2-cap',
  'usr/bin/démo-ünïcode',
]);
/** Temporaries a rewrite may make beside a file (src/util/write-beside.ts) or an output. */
const TEMPORARY = /\.syslayer-\d+-(\d+|link|journal)$|\.syslayer-tmp-\d+/;

let input: Snapshot;
const target = join(work, 'target.txt');
let expectedStat: string;

beforeAll(() => {
  execFileSync('bash', [MAKE_IMAGE, image], { stdio: ['ignore', 'inherit', 'inherit'] });
  input = snapshot(image);
  writeFileSync(target, 'y'.repeat(4321));
  const [dev, ino, mode, nlink, uid, gid, size, mtime] = execFileSync('stat', ['-c', '%d %i %f %h %u %g %s %Y', target]).toString().trim().split(' ');
  expectedStat = `dev=${dev} ino=${ino} mode=${parseInt(mode!, 16).toString(8)} nlink=${nlink} uid=${uid} gid=${gid} size=${size} mtime=${mtime}`;
});

afterAll(() => {
  if (!process.env.SYSLAYER_KEEP_TEST_DIRS) rmSync(work, { recursive: true, force: true });
});

/** Fails with every entry at fault for one attribute, so the report says exactly what was lost. */
function expectSame(expected: Snapshot, actual: Snapshot, attribute: Attribute, skip: ReadonlySet<string> = new Set()) {
  const lines = differences(expected, actual, attribute, skip);
  expect(lines, `${attribute} differs for ${lines.length} entries:\n${lines.join('\n')}`).toEqual([]);
}

function expectSameEntries(expected: Snapshot, actual: Snapshot) {
  const lines = missingOrExtra(expected, actual);
  expect(lines, lines.join('\n')).toEqual([]);
}

function expectDemoOutput(program: string, r: { status: number; stdout: string; stderr: string }, abi: 1 | 2, tag = '') {
  const what = `${program}\nexit ${r.status}\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`;
  expect(r.status, what).toBe(0);
  expect(r.stdout, what).toMatch(new RegExp(`${tag.replace(/[[\]]/g, '\\$&')}getpid: \\d+ matches`));
  expect(r.stdout, what).toContain(`${tag}stat ${target}: ${expectedStat}`);
  if (abi === 2) expect(r.stdout, what).toContain(`${tag}getrandom: 16 bytes`);
}

describe.each(['-o', '--in-place'] as const)('bind %s, then unbind', (how) => {
  const out = how === '-o' ? join(work, 'bound-o', 'image') : join(work, 'bound-in-place');
  let before: Snapshot; // the image bound in place, before binding (a cp -a copy of the input)
  let bound: Snapshot;
  let bindResult: ReturnType<typeof syslayer>;

  beforeAll(() => {
    if (how === '-o') {
      execFileSync('mkdir', ['-p', join(work, 'bound-o')]);
      bindResult = syslayer('bind', image, '-o', out, '--kernel', '4.11', '--layers', LAYERS);
    } else {
      execFileSync('cp', ['-a', image, out]);
      before = snapshot(out);
      bindResult = syslayer('bind', out, '--in-place', '--kernel', '4.11', '--layers', LAYERS);
    }
    bound = existsSync(out) ? snapshot(out) : new Map();
  });

  it('exits 0 and leaves the input untouched', () => {
    expect(bindResult.status, bindResult.stdout + bindResult.stderr).toBe(0);
    const now = snapshot(image);
    expectSameEntries(input, now);
    for (const a of ATTRIBUTES) expectSame(input, now, a);
    for (const [p, e] of input) expect(now.get(p)?.ino, `${p} is still the same inode`).toBe(e.ino);
  });

  it('has exactly the input\'s entries, and no temporaries left behind', () => {
    expectSameEntries(input, bound);
    if (how === '-o') {
      const siblings = readdirSync(join(work, 'bound-o')).filter((n) => n !== 'image');
      expect(siblings, 'nothing is left beside the output').toEqual([]);
    }
    expect([...bound.keys()].filter((p) => TEMPORARY.test(p))).toEqual([]);
  });

  it.each(ATTRIBUTES.filter((a) => a !== 'content' && a !== 'size'))('keeps the %s of every entry', (attribute) => {
    expectSame(input, bound, attribute);
  });

  it('keeps the size and bytes of every file but the clients, and binds every client', () => {
    expectSame(input, bound, 'size', CLIENTS);
    expectSame(input, bound, 'content', CLIENTS);
    for (const c of CLIENTS) expect(bound.get(c)?.sha256, `${c} is bound`).not.toBe(input.get(c)!.sha256);
  });

  if (how === '--in-place') {
    it('rewrites only the clients: every other entry keeps its inode', () => {
      const moved = [...before].filter(([p, e]) => !CLIENTS.has(p) && bound.get(p)?.ino !== e.ino).map(([p]) => p);
      expect(moved, moved.join('\n')).toEqual([]);
    });

    it('gives the same bytes as -o', () => {
      const viaO = snapshot(join(work, 'bound-o', 'image'), { xattrs: false });
      for (const c of CLIENTS) expect(bound.get(c)?.sha256, c).toBe(viaO.get(c)?.sha256);
    });
  }

  it('verify re-derives every client', () => {
    const r = syslayer('verify', out, '--layers', LAYERS);
    expect(r.status, r.stdout + r.stderr).toBe(0);
  });

  it('bound clients run from the output and print what the system says', () => {
    for (const [p, abi] of [
      ['usr/bin/abi1-demo', 1],
      ['usr/sbin/abi1-hardlink', 1],
      ['usr/bin/abi1-setgid', 1],
      ['usr/bin/abi2-demo', 2],
      ['usr/bin/abi2-setuid', 2],
      ['usr/bin/abi2-cap', 2],
      ['usr/bin/démo-ünïcode', 2],
    ] as const) {
      expectDemoOutput(p, runProgram('x86_64', join(out, p), [target]), abi);
    }
    // mixed-main finds the output's own (bound) libmixed1.so through RUNPATH $ORIGIN/../lib.
    const r = runProgram('x86_64', join(out, 'usr/bin/mixed-main'), [target]);
    expectDemoOutput('usr/bin/mixed-main', r, 2, '[mixed-main abi2] ');
    expect(r.stdout).toContain(`[libmixed1 abi1] stat ${target}: ${expectedStat}`);
    expect(r.stdout).toContain('[mixed-main abi2] exit: 0');
    const ldd = spawnSync('ldd', [join(out, 'usr/bin/mixed-main')], { encoding: 'utf8' });
    expect(ldd.stdout, 'mixed-main loads the output\'s own library').toContain(`libmixed1.so => ${out}/usr/bin/../lib/libmixed1.so`);
  });

  describe('unbind -o', () => {
    const back = join(work, `unbound-${how === '-o' ? 'o' : 'in-place'}`, 'image');
    let restored: Snapshot;
    let result: ReturnType<typeof syslayer>;
    beforeAll(() => {
      execFileSync('mkdir', ['-p', join(back, '..')]);
      result = syslayer('unbind', out, '-o', back);
      restored = existsSync(back) ? snapshot(back) : new Map();
    });

    it('exits 0', () => expect(result.status, result.stdout + result.stderr).toBe(0));
    it('gives back exactly the input\'s entries', () => expectSameEntries(input, restored));
    it.each(ATTRIBUTES)('gives back the %s of every entry', (attribute) => expectSame(input, restored, attribute));
  });

  if (how === '--in-place') {
    describe('unbind --in-place', () => {
      let restored: Snapshot;
      let result: ReturnType<typeof syslayer>;
      beforeAll(() => {
        result = syslayer('unbind', out, '--in-place');
        restored = snapshot(out);
      });

      it('exits 0', () => expect(result.status, result.stdout + result.stderr).toBe(0));
      it('gives back exactly the input\'s entries', () => expectSameEntries(input, restored));
      it.each(ATTRIBUTES)('gives back the %s of every entry', (attribute) => expectSame(input, restored, attribute));
    });
  }
});

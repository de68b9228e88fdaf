// One image in shards (issue 16, part B; docs/scale.md): `bind IMAGE --shard i/n -o SHARD` for
// i = 0..n-1, then `merge IMAGE SHARD... -o OUT`, must write what `bind IMAGE -o OUT` writes: the
// oracle is the unsharded bind's output, compared by its canonical listing (names, types, modes,
// owners, mtimes, content sha256s, hardlinks; tests/helpers/small-images.ts says what of
// var/lib/syslayer is host-specific). Every refusal of merge leaves nothing at OUT.
import { beforeAll, describe, expect, it } from 'vitest';
import { appendFileSync, cpSync, existsSync, mkdtempSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { syslayer, type CliResult } from './helpers/cli.js';
import { LAYERS, makeClientImage, outputDigest, packImage } from './helpers/small-images.js';

const work = mkdtempSync(join(tmpdir(), 'syslayer-scale-merge-'));
const at = (...p: string[]) => join(work, ...p);
const image = at('image');
const N = 3;
const common = ['--kernel', '4.11', '--layers', LAYERS];

interface Manifest {
  key: string;
  shard: { index: number; count: number };
  outcomes: { path: string; status: string }[];
  files: { path: string; sha256: string }[];
}
const manifest = (dir: string) => JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as Manifest;

function ok(r: CliResult): CliResult {
  expect(r.status, r.stderr).toBe(0);
  return r;
}

/** merge must refuse with `message`, exit 1, and leave nothing at OUT or beside it. */
function refusedMerge(shards: string[], message: RegExp, { img = image, status = 1, extra = common, out = at(`refused-${Math.random().toString(36).slice(2)}`) }: { img?: string; status?: number; extra?: string[]; out?: string } = {}): void {
  const r = syslayer('merge', img, ...shards, '-o', out, ...extra);
  expect(r.status, r.stderr).toBe(status);
  expect(r.stderr).toMatch(message);
  expect(existsSync(out), 'nothing at OUT').toBe(false);
  expect(readdirSync(work).filter((n) => n.includes(out.split('/').pop()!)), 'nothing beside OUT').toEqual([]);
}

const shardDirs = Array.from({ length: N }, (_, i) => at(`shard-${i}`));

beforeAll(() => {
  makeClientImage(image, 'merge', 30);
  ok(syslayer('bind', image, '-o', at('whole'), ...common));
  for (const [i, dir] of shardDirs.entries()) ok(syslayer('bind', image, '--shard', `${i}/${N}`, '-o', dir, ...common, '--json'));
}, 300_000);

describe('bind IMAGE --shard i/n', () => {
  it('splits the clients into disjoint shares that cover them, hardlink groups together', () => {
    const whole = syslayer('plan', '--json', image, ...common);
    const clients = (JSON.parse(whole.stdout) as { clients: { path: string }[] }).clients.map((c) => c.path).sort();
    const shares = shardDirs.map((d) => manifest(d).outcomes.map((o) => o.path));
    expect(shares.flat().sort()).toEqual(clients);
    expect(new Set(shares.flat()).size).toBe(clients.length);
    expect(shares.filter((s) => s.length > 0).length, 'every shard has some of the 34 clients').toBe(N);
    const pair = shares.findIndex((s) => s.includes('usr/bin/abi1-demo'));
    expect(shares[pair], 'the hardlinked pair is in one shard').toContain('usr/bin/abi1-demo-again');
    for (const [i, d] of shardDirs.entries()) expect(manifest(d).shard).toEqual({ index: i, count: N });
    expect(new Set(shardDirs.map((d) => manifest(d).key)).size).toBe(1);
  });

  it('writes only the bound clients of its share, as the unsharded bind wrote them', () => {
    for (const d of shardDirs) {
      for (const f of manifest(d).files) {
        expect(readFileSync(join(d, 'files', f.path)).equals(readFileSync(at('whole', f.path))), f.path).toBe(true);
      }
    }
  });

  it('refuses a bad share and an image it does not shard, writing nothing', () => {
    for (const [args, message] of [
      [['--shard', '3/3'], /--shard 3\/3: the index must be below n/],
      [['--shard', 'x'], /--shard wants i\/n/],
    ] as const) {
      const r = syslayer('bind', image, ...args, '-o', at('bad-shard'), ...common);
      expect(r.status).toBe(2);
      expect(r.stderr).toMatch(message);
      expect(existsSync(at('bad-shard'))).toBe(false);
    }
    const r = syslayer('bind', join(image, 'usr/bin/abi2-demo'), '--shard', '0/2', '-o', at('bad-shard'), ...common);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/bind --shard of one image takes a directory or a tar image \(one file is not shared out\)/);
    expect(existsSync(at('bad-shard'))).toBe(false);
  });
});

describe('merge', () => {
  it('joins the n shards into what the unsharded bind writes', () => {
    const r = ok(syslayer('merge', image, ...[...shardDirs].reverse(), '-o', at('merged'), ...common));
    expect(r.stdout).toMatch(new RegExp(`merged ${N} shards`));
    expect(outputDigest(at('merged'))).toBe(outputDigest(at('whole')));
    // The hardlinked pair is still one inode, bound.
    const [a, b] = ['usr/bin/abi1-demo', 'usr/bin/abi1-demo-again'].map((p) => statSync(at('merged', p)));
    expect(a!.ino).toBe(b!.ino);
    expect(readFileSync(at('merged', 'usr/bin/abi1-demo')).equals(readFileSync(at('whole', 'usr/bin/abi1-demo')))).toBe(true);
    expect(readFileSync(at('merged', 'usr/bin/abi1-demo')).equals(readFileSync(join(image, 'usr/bin/abi1-demo')))).toBe(false);
    // And it verifies as a bound image.
    ok(syslayer('verify', at('merged'), '--layers', LAYERS));
  });

  it('refuses a missing shard, a shard given twice, and shards of another n', () => {
    refusedMerge(shardDirs.slice(0, 2), /shard 2\/3 missing: merge needs every shard, 0\/3 to 2\/3/);
    refusedMerge([shardDirs[0]!, ...shardDirs], /shard-0 and .*shard-0 are both shard 0\/3/);
    ok(syslayer('bind', image, '--shard', '0/2', '-o', at('half-0'), ...common));
    refusedMerge([...shardDirs, at('half-0')], /half-0 is shard 0\/2 but .*shard-0 is shard 0\/3: they are not shares of one run/);
    refusedMerge([at('no-such-shard'), ...shardDirs.slice(1)], /no-such-shard: not a shard result/);
  });

  it('refuses shards of mismatched keys, an image that changed, and other options', () => {
    ok(syslayer('bind', image, '--shard', `1/${N}`, '-o', at('other-kernel-1'), '--kernel', '3.2', '--layers', LAYERS));
    refusedMerge([shardDirs[0]!, at('other-kernel-1'), shardDirs[2]!], /have different keys .*they differ in options\)/);
    const changed = at('changed');
    cpSync(image, changed, { recursive: true, verbatimSymlinks: true, preserveTimestamps: true });
    appendFileSync(join(changed, 'etc/variant'), 'one more line\n');
    refusedMerge(shardDirs, /changed: its input digest is sha256:\w+, the shards were made from an image whose digest is sha256:\w+/, { img: changed });
    refusedMerge(shardDirs, /the shards were made with other options than this merge \(they differ in options\)/, { extra: ['--kernel', '3.2', '--layers', LAYERS] });
  });

  it('refuses a shard whose bound file was changed', () => {
    const tampered = at('tampered');
    const victim = shardDirs.find((d) => manifest(d).files.length > 0)!;
    cpSync(victim, tampered, { recursive: true });
    const f = manifest(tampered).files[0]!;
    writeFileSync(join(tampered, 'files', f.path), Buffer.concat([readFileSync(join(tampered, 'files', f.path)), Buffer.from('x')]));
    refusedMerge(shardDirs.map((d) => (d === victim ? tampered : d)), new RegExp(`tampered: files/${f.path.replace(/[/.]/g, '\\$&')} has sha256 \\w+, its manifest says \\w+: the shard result was changed`));
  });
});

describe('a tar image in shards', () => {
  for (const name of ['image.tar', 'image.tar.gz', 'image.tar.zst']) {
    it(`${name}: merge writes the unsharded bind's bytes`, () => {
      const tarball = packImage(image, at(name));
      const whole = at(`whole-${name}`);
      ok(syslayer('bind', tarball, '-o', whole, ...common));
      const shards = [0, 1, 2].map((i) => at(`${name}-shard-${i}`));
      for (const [i, dir] of shards.entries()) ok(syslayer('bind', tarball, '--shard', `${i}/3`, '-o', dir, ...common));
      const bound = shards.flatMap((d) => manifest(d).files.map((f) => f.path));
      expect(bound.length, 'the shards bound every client once (the hardlinked pair is one entry)').toBe(new Set(bound).size);
      expect(bound.length).toBe(34);
      const merged = at(`merged-${name}`);
      ok(syslayer('merge', tarball, ...shards, '-o', merged, ...common));
      expect(outputDigest(merged)).toBe(outputDigest(whole));
      expect(outputDigest(merged)).not.toBe(outputDigest(tarball));
    });
  }

  it('merge writes the image in its own format only, and not over the input', () => {
    const tarball = at('image.tar.gz');
    const shards = [0, 1, 2].map((i) => at(`image.tar.gz-shard-${i}`));
    refusedMerge(shards, /-o .*\.tar: the image is a gzip tar, and merge writes it in its own format/, { img: tarball, status: 2, out: at('wrong.tar') });
    const r = syslayer('merge', tarball, ...shards, '-o', tarball, ...common);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/is the input itself/);
  });
});

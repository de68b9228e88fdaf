// Many images per run (issue 16, part A; docs/scale.md): `bind --images LIST -o OUTDIR` with its
// key, --shard i/n over the list and --cache. The oracles are digests: sha256 of each output file,
// and of each output directory's canonical listing (tests/helpers/small-images.ts says what of a
// directory is left out); and the union of n shard runs against one unsharded run.
import { beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync, cpSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, syslayer } from './helpers/cli.js';
import { execFileSync, spawnSync } from 'node:child_process';
import { LAYERS, makeClientImage, outputDigest, packImage } from './helpers/small-images.js';
import { schemaProblems } from './helpers/report-schema.js';

const work = mkdtempSync(join(tmpdir(), 'syslayer-scale-images-'));
const at = (...p: string[]) => join(work, ...p);
const list = at('images.list');
/** The list's inputs by output name: directories and tarballs of every compression. */
const NAMES = ['alpha', 'beta.tar', 'gamma.tar.gz', 'delta.tar.zst', 'epsilon.tar.xz', 'zeta'];

interface Summary {
  counts: Record<string, number>;
  images: { input: string; output: string; report: string; status: string; key?: string; error?: string; warning?: string; exitStatus?: number }[];
}

function runImages(listFile: string, out: string, ...extra: string[]): { status: number; summary: Summary; stderr: string } {
  // The container fixtures carry the reference layers themselves: --layers would name them twice.
  const layers = listFile.endsWith('containers.list') ? [] : ['--layers', LAYERS];
  const r = syslayer('bind', '--images', listFile, '-o', out, '--kernel', '4.11', ...layers, '--json', ...extra);
  if (r.status !== 0 && r.status !== 1) throw new Error(`bind --images exited ${r.status}: ${r.stderr}`);
  return { status: r.status, summary: JSON.parse(r.stdout) as Summary, stderr: r.stderr };
}

/** Output name → digest of the output, for every output a run wrote under `out`. */
function outputs(out: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const name of readdirSync(out).sort()) if (!name.endsWith('.report.json') && !name.startsWith('.')) m.set(name, outputDigest(join(out, name)));
  return m;
}

const keyOf = (out: string, name: string) => (JSON.parse(readFileSync(join(out, `${name}.report.json`), 'utf8')) as { key: string }).key;

beforeAll(() => {
  for (const [i, name] of NAMES.entries()) {
    const tree = makeClientImage(at('trees', name.replace(/\..*$/, '')), `variant ${i}`);
    if (name.includes('.tar')) packImage(tree, at('inputs', name));
    else cpSync(tree, at('inputs', name), { recursive: true, verbatimSymlinks: true });
  }
  // Relative lines are taken from the current directory; comments and blank lines are left out.
  writeFileSync(list, ['# the scale test images', '', ...NAMES.map((n) => at('inputs', n)), ''].join('\n'));
}, 120_000);

describe('the input digest', () => {
  it('is the same for a directory and its tarball, plain or compressed, and differs for another tree', () => {
    const tree = at('trees', 'alpha');
    mkdirSync(at('packed'), { recursive: true });
    const forms = [tree, packImage(tree, at('packed', 'alpha.tar')), packImage(tree, at('packed', 'alpha.tar.gz')), packImage(tree, at('packed', 'alpha.tar.zst')), packImage(tree, at('packed', 'alpha.tar.xz'))];
    const digests = forms.map((f) => {
      const r = syslayer('digest', '--json', '--kernel', '4.11', '--layers', LAYERS, f);
      expect(r.status, r.stderr).toBe(0);
      return (JSON.parse(r.stdout) as { keyParts: { input: { digest: string } } }).keyParts.input.digest;
    });
    expect(new Set(digests).size, `digests: ${digests.join(' ')}`).toBe(1);
    const other = syslayer('digest', at('trees', 'beta')).stdout.split('\n')[0];
    expect(other).toMatch(/^input sha256:[0-9a-f]{64}$/);
    expect(other).not.toBe(`input ${digests[0]}`);
  });
});

describe('bind --images', () => {
  let first: ReturnType<typeof runImages>;
  beforeAll(() => { first = runImages(list, at('out-1')); }, 300_000);

  it('binds every image to OUTDIR/<name> in its own format, with its report and key beside it', () => {
    expect(first.status, first.stderr).toBe(0);
    expect(first.summary.images.map((i) => [i.output, i.status])).toEqual(NAMES.map((n) => [at('out-1', n), 'bound']));
    expect(first.summary.counts).toEqual({ bound: 6, cached: 0, 'up-to-date': 0, failed: 0, 'not-in-shard': 0 });
    for (const name of NAMES) {
      const report = JSON.parse(readFileSync(at('out-1', `${name}.report.json`), 'utf8')) as { key: string; clients: { outcome: { status: string } }[] };
      expect(schemaProblems('bind', report), name).toEqual([]);
      expect(report.key).toBe(first.summary.images.find((i) => i.output.endsWith(`/${name}`))!.key);
      // Four clients (a directory's report names the hardlinked pair's second name as well).
      expect(report.clients.length, name).toBeGreaterThanOrEqual(4);
      expect(new Set(report.clients.map((c) => c.outcome.status)), name).toEqual(new Set(['bound']));
      // The output is in the input's format: `syslayer digest` reads it as one.
      expect(syslayer('digest', at('out-1', name)).status).toBe(0);
    }
    expect(outputDigest(at('out-1', 'gamma.tar.gz'))).not.toBe(outputDigest(at('inputs', 'gamma.tar.gz')));
  });

  it('two runs give byte-identical outputs and the same keys', () => {
    const second = runImages(list, at('out-2'));
    expect(second.status, second.stderr).toBe(0);
    expect(second.summary.images.map((i) => i.key)).toEqual(first.summary.images.map((i) => i.key));
    expect(outputs(at('out-2'))).toEqual(outputs(at('out-1')));
  });

  it('run again into the same directory, does nothing: every image is up to date', () => {
    const again = runImages(list, at('out-1'));
    expect(again.status, again.stderr).toBe(0);
    expect(again.summary.images.map((i) => i.status)).toEqual(NAMES.map(() => 'up-to-date'));
  });

  it('--shard i/n for n = 3: the shards are disjoint and together write exactly what one run writes', () => {
    const whole = outputs(at('out-1'));
    const union = new Map<string, string>();
    for (let i = 0; i < 3; i++) {
      const shard = runImages(list, at(`shard-${i}`), '--shard', `${i}/3`);
      expect(shard.status, shard.stderr).toBe(0);
      const done = shard.summary.images.filter((e) => e.status !== 'not-in-shard').map((e) => e.output.split('/').pop()!);
      for (const [name, digest] of outputs(at(`shard-${i}`))) {
        expect(done, `shard ${i} wrote ${name}, which it did not list as done`).toContain(name);
        expect(union.has(name), `${name} is in two shards`).toBe(false);
        union.set(name, digest);
      }
      // The share is decided by the output name's hash: the same with the list in another order.
      const reversed = at(`reversed-${i}.list`);
      writeFileSync(reversed, NAMES.map((n) => at('inputs', n)).reverse().join('\n'));
      const other = runImages(reversed, at(`shard-${i}-reversed`), '--shard', `${i}/3`);
      expect(other.summary.images.filter((e) => e.status !== 'not-in-shard').map((e) => e.output.split('/').pop()!).sort()).toEqual([...done].sort());
    }
    expect([...union.entries()].sort()).toEqual([...whole.entries()].sort());
  });

  it('--cache: a second run copies every image from the cache, byte-identical', () => {
    const cache = at('cache');
    const filling = runImages(list, at('cached-1'), '--cache', cache);
    expect(filling.summary.images.map((i) => i.status)).toEqual(NAMES.map(() => 'bound'));
    expect(readdirSync(cache).filter((n) => !n.startsWith('.')).sort()).toEqual(filling.summary.images.map((i) => i.key!.slice('sha256:'.length)).sort());
    const reading = runImages(list, at('cached-2'), '--cache', cache);
    expect(reading.status, reading.stderr).toBe(0);
    expect(reading.summary.images.map((i) => i.status)).toEqual(NAMES.map(() => 'cached'));
    expect(outputs(at('cached-2'))).toEqual(outputs(at('out-1')));
    expect(NAMES.map((n) => keyOf(at('cached-2'), n))).toEqual(NAMES.map((n) => keyOf(at('out-1'), n)));
  });

  it('--cache that cannot be written: the images are bound all the same, each with a warning', () => {
    const notADirectory = at('cache-is-a-file');
    writeFileSync(notADirectory, 'not a directory\n');
    const one = at('one.list');
    writeFileSync(one, `${at('inputs', 'beta.tar')}\n`);
    const r = runImages(one, at('out-bad-cache'), '--cache', notADirectory);
    expect(r.status, r.stderr).toBe(0);
    expect(r.summary.images.map((i) => [i.status, i.warning?.replace(/:.*/s, '')])).toEqual([['bound', 'not kept in the cache']]);
    expect(outputDigest(at('out-bad-cache', 'beta.tar'))).toBe(outputs(at('out-1')).get('beta.tar'));
  });

  it('one corrupt image is reported; the others are bound; exit 1', () => {
    const corrupt = at('inputs', 'broken.tar.gz');
    const good = readFileSync(at('inputs', 'gamma.tar.gz'));
    writeFileSync(corrupt, Buffer.concat([good.subarray(0, 200), Buffer.alloc(300, 0x55)])); // gzip magic, then garbage
    const missing = at('inputs', 'no-such-image.tar');
    const bad = at('bad.list');
    writeFileSync(bad, [at('inputs', 'alpha'), corrupt, missing, at('inputs', 'beta.tar')].join('\n'));
    const r = runImages(bad, at('out-bad'));
    expect(r.status).toBe(1);
    expect(r.summary.images.map((i) => i.status)).toEqual(['bound', 'failed', 'failed', 'bound']);
    expect(r.summary.images[1]!.error).toMatch(/broken\.tar\.gz/);
    expect(r.summary.images[2]!.error).toMatch(/no-such-image\.tar: cannot open image/);
    expect(existsSync(at('out-bad', 'broken.tar.gz'))).toBe(false);
    expect(existsSync(at('out-bad', 'broken.tar.gz.report.json'))).toBe(false);
    expect(readdirSync(at('out-bad')).sort()).toEqual(['alpha', 'alpha.report.json', 'beta.tar', 'beta.tar.report.json']);
    expect(outputDigest(at('out-bad', 'beta.tar'))).toBe(outputs(at('out-1')).get('beta.tar'));
  });
});

describe('bind --images: what a line names', () => {
  it('takes a relative line from the current directory, and binds one ELF file to a file that runs', () => {
    const dir = at('relative');
    mkdirSync(join(dir, 'in'), { recursive: true });
    cpSync(join(ROOT, 'sdk/prebuilt/x86_64/bin/abi2-demo'), join(dir, 'in', 'abi2-demo'));
    writeFileSync(join(dir, 'relative.list'), 'in/abi2-demo\n');
    const r = spawnSync(process.execPath, [join(ROOT, 'bin', 'syslayer.js'), 'bind', '--images', 'relative.list', '-o', 'out', '--kernel', '4.11', '--layers', LAYERS, '--json'], { cwd: dir, encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    const summary = JSON.parse(r.stdout) as Summary;
    expect(summary.images.map((i) => [i.input, i.output, i.status])).toEqual([['in/abi2-demo', 'out/abi2-demo', 'bound']]);
    const run = spawnSync(join(dir, 'out', 'abi2-demo'), ['/etc/hostname'], { encoding: 'utf8' });
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/abi2-demo: ABI 2/);
  });
});

describe('bind --images: usage errors write nothing', () => {
  const refused = (args: string[], message: RegExp) => {
    const out = at(`refused-${Math.random().toString(36).slice(2)}`);
    const r = syslayer('bind', ...args.map((a) => (a === 'OUT' ? out : a)));
    expect(r.status, r.stderr).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(existsSync(out), 'nothing is written').toBe(false);
  };

  it('refuses a --shard that is not i/n with 0 <= i < n', () => {
    refused(['--images', list, '-o', 'OUT', '--shard', '3/3'], /--shard 3\/3: the index must be below n/);
    refused(['--images', list, '-o', 'OUT', '--shard', '0/0'], /--shard 0\/0: n must be a whole number of at least 1/);
    refused(['--images', list, '-o', 'OUT', '--shard=-1/2'], /--shard wants i\/n/);
    refused(['--images', list, '-o', 'OUT', '--shard', '1.5/4'], /--shard wants i\/n/);
    refused(['--images', list, '-o', 'OUT', '--shard', '2'], /--shard wants i\/n/);
  });

  it('refuses an image operand beside --images, two inputs of one base name, and a list that names none', () => {
    refused(['--images', list, '-o', 'OUT', at('inputs', 'alpha')], /--images names the images/);
    const twice = at('twice.list');
    writeFileSync(twice, `${at('inputs', 'alpha')}\n# another\n${at('trees', 'alpha')}\n`);
    refused(['--images', twice, '-o', 'OUT'], /lines 1 .* and 3 .* would both write alpha/);
    const empty = at('empty.list');
    writeFileSync(empty, '# nothing\n\n');
    refused(['--images', empty, '-o', 'OUT'], /names no image/);
    refused(['--images', at('no-such.list'), '-o', 'OUT'], /no-such\.list: cannot read the list/);
    refused(['--images', list], /-o <dir> names the directory/);
    // Not the key of a run without --layers, which a cache or an earlier output could answer.
    refused(['--images', list, '-o', 'OUT', '--layers', at('no-such-layers')], /--layers .*no-such-layers: no such file or directory/);
  });
});

describe('bind --images with container images', () => {
  const images = at('oci');
  const CONTAINERS = ['oci-gzip', 'oci-zstd', 'oci-archive.tar', 'docker-archive.tar', 'bad-digest'];
  const containerList = at('containers.list');
  beforeAll(() => {
    execFileSync(process.execPath, [join(ROOT, 'tests/fixtures/oci/make-images.mjs'), images], { stdio: ['ignore', 'ignore', 'pipe'] });
    writeFileSync(containerList, CONTAINERS.map((n) => join(images, n)).join('\n'));
  }, 120_000);

  it('binds each in its own format, keyed by its index or manifest; a broken one fails alone; two runs are identical', () => {
    const runs = ['c-1', 'c-2'].map((out) => runImages(containerList, at(out)));
    for (const r of runs) {
      expect(r.status).toBe(1);
      expect(r.summary.images.map((i) => [i.status, i.exitStatus])).toEqual([['bound', 0], ['bound', 0], ['bound', 0], ['bound', 0], ['failed', undefined]]);
      expect(r.summary.images[4]!.error).toMatch(/bad-digest/);
    }
    expect(runs[1]!.summary.images.map((i) => i.key)).toEqual(runs[0]!.summary.images.map((i) => i.key));
    const kinds = CONTAINERS.slice(0, 4).map((n) => (JSON.parse(readFileSync(at('c-1', `${n}.report.json`), 'utf8')) as { keyParts: { input: { of: string }; options: { output: string } } }).keyParts);
    expect(kinds.map((k) => [k.input.of, k.options.output])).toEqual([
      ['oci-index', 'oci-layout'], ['oci-index', 'oci-layout'], ['oci-index', 'oci-archive'], ['docker-manifest', 'docker-archive'],
    ]);
    for (const n of CONTAINERS.slice(0, 4)) expect(outputDigest(at('c-2', n)), n).toBe(outputDigest(at('c-1', n)));
    expect(outputDigest(at('c-1', 'oci-gzip'))).not.toBe(outputDigest(join(images, 'oci-gzip')));
  });
});

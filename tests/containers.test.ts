// Container images (DESIGN §10, docs/containers.md): the images of tests/fixtures/oci/make-images.mjs
// (an OCI layout of two layers in gzip, zstd and plain, a multi-platform index, an oci-archive,
// both docker archive forms, and four broken copies) bound, unbound and verified. Expectations
// come from the builder's images.json; the oracles are tools we did not write: sha256sum's
// digest of every blob, skopeo inspect and copy, umoci unpack, GNU tar, and the bound programs
// run from the unpacked root (x86-64 natively, AArch64 under qemu-user).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { ROOT, syslayer } from './helpers/cli.js';

interface Descriptor { mediaType: string; digest: string; size: number; annotations?: Record<string, string>; platform?: { architecture: string; variant?: string } }
interface SpecLayer { mediaType: string; digest: string; diffId: string; clients: { path: string }[]; whiteouts: { entry: string }[]; opaque: { entry: string }[]; hardlinks: { path: string }[] }
interface SpecPlatform { architecture: string; os: string; variant?: string; layers: SpecLayer[]; merged: { clients: { path: string }[]; absent: string[] } }
interface Spec { images: Record<string, { path: string; platforms: SpecPlatform[] }> }

const WORK = mkdtempSync(join(tmpdir(), 'syslayer-containers-'));
const IMAGES = join(WORK, 'images');
const KERNEL = ['--kernel', '4.11'];
let spec: Spec;

beforeAll(() => {
  execFileSync(process.execPath, [join(ROOT, 'tests/fixtures/oci/make-images.mjs'), IMAGES], { stdio: ['ignore', 'ignore', 'pipe'] });
  spec = JSON.parse(readFileSync(join(IMAGES, 'images.json'), 'utf8')) as Spec;
}, 120_000);
afterAll(() => rmSync(WORK, { recursive: true, force: true }));

const sha256 = (bytes: Uint8Array) => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
const out = (name: string) => join(WORK, name);
const blob = (layout: string, digest: string) => readFileSync(join(layout, 'blobs/sha256', digest.slice(7)));
const json = <T>(layout: string, d: Descriptor) => JSON.parse(blob(layout, d.digest).toString('utf8')) as T;
const tool = (cmd: string, ...args: string[]) => {
  const r = spawnSync(cmd, args, { encoding: 'utf8', env: { ...process.env, LC_ALL: 'C', TMPDIR: WORK }, maxBuffer: 1 << 28 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: exit ${r.status}: ${r.stderr}`);
  return r.stdout;
};

interface Manifest { config: Descriptor; layers: Descriptor[]; annotations?: Record<string, string> }
interface Config { rootfs: { diff_ids: string[] }; history: unknown[]; [k: string]: unknown }

/** Every manifest reachable from index.json, with the index descriptor that named it. */
function manifestsOf(layout: string): { descriptor: Descriptor; manifest: Manifest }[] {
  const walk = (list: Descriptor[]): { descriptor: Descriptor; manifest: Manifest }[] => list.flatMap((d) =>
    d.mediaType.endsWith('index.v1+json') ? walk(json<{ manifests: Descriptor[] }>(layout, d).manifests) : [{ descriptor: d, manifest: json<Manifest>(layout, d) }]);
  return walk(JSON.parse(readFileSync(join(layout, 'index.json'), 'utf8')).manifests);
}

/** The layout's blobs are exactly those its index references, and each one's sha256 is its name and its size its descriptor's. */
function checkBlobs(layout: string): void {
  const referenced = new Set<string>();
  const note = (d: Descriptor) => {
    const bytes = blob(layout, d.digest);
    expect(sha256(bytes), `${layout}: blob ${d.digest}`).toBe(d.digest);
    expect(bytes.length, `${layout}: size of ${d.digest}`).toBe(d.size);
    referenced.add(d.digest.slice(7));
  };
  const walk = (list: Descriptor[]) => list.forEach((d) => {
    note(d);
    if (d.mediaType.endsWith('index.v1+json')) walk(json<{ manifests: Descriptor[] }>(layout, d).manifests);
    else {
      const m = json<Manifest>(layout, d);
      [m.config, ...m.layers].forEach(note);
    }
  });
  walk(JSON.parse(readFileSync(join(layout, 'index.json'), 'utf8')).manifests);
  expect(readdirSync(join(layout, 'blobs/sha256')).sort()).toEqual([...referenced].sort());
}

function uncompressed(layout: string, d: Descriptor): Buffer {
  const bytes = blob(layout, d.digest);
  if (d.mediaType.endsWith('+gzip')) return gunzipSync(bytes);
  if (d.mediaType.endsWith('+zstd')) return execFileSync('zstd', ['-q', '-d', '-c'], { input: bytes, maxBuffer: 1 << 28 });
  return bytes;
}

const tarNames = (tar: Buffer) => execFileSync('tar', ['-tf', '-'], { input: tar, env: { ...process.env, LC_ALL: 'C' } }).toString().trim().split('\n');

/** sha256 of every file under a directory, by relative path: two outputs compared whole. */
function treeDigest(dir: string): Record<string, string> {
  const files: Record<string, string> = {};
  const walk = (d: string) => readdirSync(d, { withFileTypes: true }).forEach((e) => {
    const p = join(d, e.name);
    if (e.isDirectory()) walk(p);
    else files[relative(dir, p)] = sha256(readFileSync(p));
  });
  walk(dir);
  return files;
}

/** umoci's unpacked root of one platform (through a gzip copy by skopeo: umoci reads neither zstd nor indexes). */
function unpack(ref: string, p: SpecPlatform, name: string): string {
  const copy = out(`${name}-gzip-copy`);
  const platform = ['--override-os', p.os, '--override-arch', p.architecture, ...(p.variant ? ['--override-variant', p.variant] : [])];
  tool('skopeo', ...platform, 'copy', '--quiet', '--insecure-policy', '--dest-compress-format', 'gzip', ref, `oci:${copy}:latest`);
  const bundle = out(`${name}-bundle`);
  tool('umoci', 'unpack', '--rootless', '--image', `${copy}:latest`, bundle);
  return join(bundle, 'rootfs');
}

/** Runs a program of an unpacked root with that root's loader and libraries (no chroot: no root needed). */
function runFrom(rootfs: string, program: string, arch: 'x86_64' | 'aarch64') {
  const triplet = `${arch}-linux-gnu`;
  const libs = [`usr/lib/${triplet}`, 'usr/lib'].map((d) => join(rootfs, d)).join(':');
  const loader = readdirSync(join(rootfs, 'usr/lib', triplet)).find((n) => n.startsWith('ld-linux'))!;
  const args = [join(rootfs, 'usr/lib', triplet, loader), '--library-path', libs, join(rootfs, program)];
  return arch === 'x86_64' ? spawnSync(args[0]!, args.slice(1), { encoding: 'utf8' }) : spawnSync('qemu-aarch64', args, { encoding: 'utf8' });
}

interface BindJson { catalog: { path: string }[]; clients: { path: string; layer?: { path: string }; selection?: { layer: number | null; candidates: number[] }; outcome?: { status: string; layer?: string; imageLayer?: number } }[]; hiddenOutcomes?: { path: string; status: string; imageLayer: number }[] }

describe.each(['oci-gzip', 'oci-zstd', 'oci-plain'])('an OCI layout with %s layers', (name) => {
  const input = () => join(IMAGES, name);
  const bound = out(`${name}-bound`);
  let report: BindJson;

  beforeAll(() => {
    const r = syslayer('bind', '--json', input(), '-o', bound, ...KERNEL);
    expect(r.status, r.stderr).toBe(0);
    report = JSON.parse(r.stdout) as BindJson;
  });

  it('binds every client of every layer, and reports the merged view', () => {
    const p = spec.images[name]!.platforms[0]!;
    const links = new Set(p.layers.flatMap((l) => l.hardlinks.map((h) => h.path)));
    // A hardlink entry has no bytes of its own: it follows the file it links to.
    const visible = p.merged.clients.map((c) => c.path).filter((c) => !links.has(c)).sort();
    expect(report.clients.map((c) => c.path).sort()).toEqual(visible);
    for (const c of report.clients) expect(c.outcome, c.path).toMatchObject({ status: 'bound', layer: 'linux-4.11' });
    const hidden = p.layers.flatMap((l, i) => l.clients.filter((c) => !links.has(c.path)).map((c) => `${c.path}@${i + 1}`))
      .filter((k) => !report.clients.some((c) => `${c.path}@${c.outcome!.imageLayer}` === k)).sort();
    expect((report.hiddenOutcomes ?? []).map((o) => `${o.path}@${o.imageLayer}`).sort()).toEqual(hidden);
    expect(hidden).toContain('usr/bin/mixed-main@1'); // whited out above, bound all the same
    for (const o of report.hiddenOutcomes!) expect(o.status).toBe('bound');
  });

  it('writes a layout whose blobs are exactly the referenced ones, each with its digest and size', () => checkBlobs(bound));

  it('keeps media types, history, annotations and every tar entry; only diff_ids, digests and sizes change', () => {
    const [before] = manifestsOf(input());
    const [after] = manifestsOf(bound);
    expect(after!.descriptor.annotations).toEqual(before!.descriptor.annotations);
    expect(after!.manifest.layers.map((l) => l.mediaType)).toEqual(before!.manifest.layers.map((l) => l.mediaType));
    const oldConfig = json<Config>(input(), before!.manifest.config);
    const newConfig = json<Config>(bound, after!.manifest.config);
    expect({ ...newConfig, rootfs: null }).toEqual({ ...oldConfig, rootfs: null });
    after!.manifest.layers.forEach((d, i) => {
      const tar = uncompressed(bound, d);
      expect(sha256(tar), `layer ${i + 1}: diff_id`).toBe(newConfig.rootfs.diff_ids[i]);
      expect(newConfig.rootfs.diff_ids[i], `layer ${i + 1} holds clients, so its tar changed`).not.toBe(oldConfig.rootfs.diff_ids[i]);
      // Same entries in the same order, whiteouts and opaque markers included.
      expect(tarNames(tar)).toEqual(tarNames(uncompressed(input(), before!.manifest.layers[i]!)));
    });
    const upper = tarNames(uncompressed(bound, after!.manifest.layers[1]!));
    expect(upper).toContain('usr/bin/.wh.mixed-main');
    expect(upper).toContain('opt/demo/.wh..wh..opq');
    expect(uncompressed(bound, after!.manifest.layers[0]!).includes('SCHILY.xattr.user.test=kept')).toBe(true);
  });

  it('is accepted by skopeo and unpacked by umoci into a root whose bound programs run', () => {
    const [after] = manifestsOf(bound);
    const seen = JSON.parse(tool('skopeo', 'inspect', `oci:${bound}:latest`)) as { Layers: string[] };
    expect(seen.Layers).toEqual(after!.manifest.layers.map((l) => l.digest));
    const p = spec.images[name]!.platforms[0]!;
    const rootfs = unpack(`oci:${bound}:latest`, p, name);
    for (const gone of p.merged.absent) expect(existsSync(join(rootfs, gone)), gone).toBe(false);
    for (const program of ['usr/bin/abi1-new', 'usr/bin/abi1-demo', 'usr/bin/abi2-demo']) {
      const r = runFrom(rootfs, program, 'x86_64');
      expect(r.status, `${program}: ${r.stderr}`).toBe(0);
      expect(r.stdout).toMatch(/getpid: \d+ matches/);
    }
    const v = syslayer('verify', rootfs);
    expect(v.status, v.stdout + v.stderr).toBe(0);
    // Unpacked, the hardlinked pair is two files of the directory image.
    expect(v.stdout).toMatch(new RegExp(`: ${p.merged.clients.length} verified`));
  });

  it('gives the same bytes on a second run', () => {
    const again = out(`${name}-again`);
    expect(syslayer('bind', input(), '-o', again, ...KERNEL).status).toBe(0);
    expect(treeDigest(again)).toEqual(treeDigest(bound));
  });

  it('comes out as it went in when there is nothing to do (unbind of an image never bound)', () => {
    const same = out(`${name}-nothing-to-do`);
    const r = syslayer('unbind', input(), '-o', same);
    expect(r.status, r.stderr).toBe(0);
    expect(treeDigest(same)).toEqual(treeDigest(input()));
  });

  it('unbinds to layers whose tars are the originals: the diff_ids come back', () => {
    const original = out(`${name}-unbound`);
    const r = syslayer('unbind', bound, '-o', original);
    expect(r.status, r.stderr).toBe(0);
    checkBlobs(original);
    const [back] = manifestsOf(original);
    const p = spec.images[name]!.platforms[0]!;
    back!.manifest.layers.forEach((d, i) => expect(sha256(uncompressed(original, d))).toBe(p.layers[i]!.diffId));
    expect(json<Config>(original, back!.manifest.config).rootfs.diff_ids).toEqual(p.layers.map((l) => l.diffId));
  });
});

describe('scan and plan of a container image', () => {
  it('plan lists the merged view\'s clients, each with its layer, and scan the merged view\'s files', () => {
    const p = spec.images['oci-zstd']!.platforms[0]!;
    const links = new Set(p.layers.flatMap((l) => l.hardlinks.map((h) => h.path)));
    const plan = syslayer('plan', '--json', join(IMAGES, 'oci-zstd'), ...KERNEL);
    expect(plan.status, plan.stderr).toBe(0);
    const planned = JSON.parse(plan.stdout) as BindJson;
    expect(planned.clients.map((c) => c.path).sort()).toEqual(p.merged.clients.map((c) => c.path).filter((c) => !links.has(c)).sort());
    for (const c of planned.clients) expect(c.layer!.path).toBe(`${join(IMAGES, 'oci-zstd')}:usr/lib/syslayer/layers/linux-4.11.o`);
    const scan = syslayer('scan', '--json', join(IMAGES, 'oci-zstd'));
    expect(scan.status, scan.stderr).toBe(0);
    const files = (JSON.parse(scan.stdout) as { files: { path: string }[] }).files.map((f) => f.path);
    for (const c of p.merged.clients) if (!links.has(c.path)) expect(files).toContain(c.path);
    for (const gone of p.merged.absent) expect(files).not.toContain(gone);
  });
});

describe('archives and docker images', () => {
  it('an oci-archive is written as one, deterministically, and skopeo reads it', () => {
    const a = out('bound-oci-archive.tar');
    const b = out('bound-oci-archive-again.tar');
    expect(syslayer('bind', join(IMAGES, 'oci-archive.tar'), '-o', a, ...KERNEL).status).toBe(0);
    expect(syslayer('bind', join(IMAGES, 'oci-archive.tar'), '-o', b, ...KERNEL).status).toBe(0);
    expect(sha256(readFileSync(a))).toBe(sha256(readFileSync(b)));
    const names = tool('tar', '-tf', a).trim().split('\n');
    expect(names.filter((n) => !n.startsWith('blobs/'))).toEqual(['index.json', 'oci-layout']);
    const layout = out('bound-oci-archive-layout');
    execFileSync('mkdir', ['-p', layout]);
    tool('tar', '-xf', a, '-C', layout);
    checkBlobs(layout);
    expect(JSON.parse(tool('skopeo', 'inspect', `oci-archive:${a}`)).Layers).toEqual(manifestsOf(layout)[0]!.manifest.layers.map((l) => l.digest));
  });

  it.each(['docker-archive.tar', 'docker-oci-archive.tar'])('%s is written as a docker archive that skopeo copies, and its programs are bound', (name) => {
    const bound = out(`bound-${name}`);
    const r = syslayer('bind', join(IMAGES, name), '-o', bound, ...KERNEL);
    expect(r.status, r.stderr).toBe(0);
    const entries = JSON.parse(tool('tar', '-xOf', bound, 'manifest.json')) as { Config: string; RepoTags: string[]; Layers: string[] }[];
    const before = JSON.parse(tool('tar', '-xOf', join(IMAGES, name), 'manifest.json')) as typeof entries;
    expect(entries.map((e) => e.RepoTags)).toEqual(before.map((e) => e.RepoTags));
    const files = tool('tar', '-tf', bound).trim().split('\n');
    for (const path of [entries[0]!.Config, ...entries[0]!.Layers]) expect(files).toContain(path);
    const config = JSON.parse(tool('tar', '-xOf', bound, entries[0]!.Config)) as Config;
    entries[0]!.Layers.forEach((path, i) => {
      const tar = execFileSync('tar', ['-xOf', bound, path], { maxBuffer: 1 << 28 });
      expect(sha256(tar), `${path}: its diff_id`).toBe(config.rootfs.diff_ids[i]);
    });
    const copy = out(`${name}-as-oci`);
    tool('skopeo', 'copy', '--quiet', '--insecure-policy', `docker-archive:${bound}`, `oci:${copy}:x`);
    const v = syslayer('verify', copy);
    expect(v.status, v.stdout + v.stderr).toBe(0);
    expect(v.stdout).toMatch(/: 7 verified/); // every client of both layers, the hidden copies too
  });

  it('a docker archive goes through standard input and output as it does through files', () => {
    const viaFiles = out('docker-via-files.tar');
    expect(syslayer('bind', join(IMAGES, 'docker-archive.tar'), '-o', viaFiles, ...KERNEL).status).toBe(0);
    const r = spawnSync('sh', ['-c', `node "${join(ROOT, 'bin/syslayer.js')}" bind - -o - --kernel 4.11 < "${join(IMAGES, 'docker-archive.tar')}"`], { maxBuffer: 1 << 28 });
    expect(r.status, r.stderr.toString()).toBe(0);
    expect(sha256(r.stdout)).toBe(sha256(readFileSync(viaFiles)));
    expect(r.stderr.toString()).toMatch(/7 bound/);
  });
});

describe('a multi-platform image', () => {
  const bound = out('multi-bound');
  let report: BindJson;
  beforeAll(() => {
    const r = syslayer('bind', '--json', join(IMAGES, 'oci-multi'), '-o', bound, ...KERNEL);
    expect(r.status, r.stderr).toBe(0);
    report = JSON.parse(r.stdout) as BindJson;
  });

  it('binds each platform with the layers of its own machine, and names the platform in every path', () => {
    checkBlobs(bound);
    const platforms = spec.images['oci-multi']!.platforms.map((p) => [p.os, p.architecture, ...(p.variant ? [p.variant] : [])].join('/'));
    expect(new Set(report.clients.map((c) => c.path.slice(0, c.path.indexOf(':'))))).toEqual(new Set(platforms));
    for (const c of report.clients) {
      expect(c.outcome!.status, c.path).toBe('bound');
      // Each platform's own layer objects: the layer's path names the client's platform.
      const platform = c.path.slice(0, c.path.indexOf(':'));
      expect(c.layer!.path, c.path).toBe(`${join(IMAGES, 'oci-multi')}:${platform}:usr/lib/syslayer/layers/linux-4.11.o`);
      // The selection's indices point into the combined catalog, at the same layer.
      expect(report.catalog[c.selection!.layer!]!.path, c.path).toBe(c.layer!.path);
      for (const k of c.selection!.candidates) expect(report.catalog[k]!.path.startsWith(`${join(IMAGES, 'oci-multi')}:${platform}:`), c.path).toBe(true);
    }
    const manifests = manifestsOf(bound);
    expect(manifests.map((m) => m.descriptor.platform?.architecture).sort()).toEqual(['amd64', 'arm64']);
  });

  it('the arm64 programs run under qemu-user from the unpacked root', () => {
    const p = spec.images['oci-multi']!.platforms.find((x) => x.architecture === 'arm64')!;
    const rootfs = unpack(`oci:${bound}`, p, 'multi-arm64');
    const r = runFrom(rootfs, 'usr/bin/abi1-new', 'aarch64');
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/getpid: \d+ matches/);
  });
});

describe('what a container image cannot be given', () => {
  it('no --kernel: a usage error that says a container has no kernel, and nothing written', () => {
    const target = out('no-kernel');
    const r = syslayer('bind', join(IMAGES, 'oci-gzip'), '-o', target);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/a container image has no kernel.*--kernel/);
    expect(existsSync(target)).toBe(false);
  });

  it.each([
    ['bad-missing-blob', /names blob sha256:[0-9a-f]{64}, which is missing/],
    ['bad-digest', /blob sha256:[0-9a-f]{64} does not match its digest: its bytes are sha256:[0-9a-f]{64}/],
    ['bad-not-tar', /layer 2 of 2 \(sha256:[0-9a-f]{64}\): header at byte 0: not a tar archive/],
    ['bad-escape', /layer 2 of 2 \(sha256:[0-9a-f]{64}\): entry '\.\.\/escape' climbs out of the image/],
  ])('%s: a clear error naming the blob, exit 1, nothing written', (name, message) => {
    const target = out(`${name}-out`);
    const r = syslayer('bind', join(IMAGES, name), '-o', target, ...KERNEL);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(message);
    expect(existsSync(target)).toBe(false);
    expect(readdirSync(WORK).filter((n) => n.startsWith(`.${name}-out`))).toEqual([]);
  });

  it('--in-place and compressed archive names are usage errors', () => {
    expect(syslayer('bind', join(IMAGES, 'oci-gzip'), '--in-place', ...KERNEL).stderr).toMatch(/--in-place does not rewrite a container image/);
    const r = syslayer('bind', join(IMAGES, 'oci-gzip'), '-o', out('x.tar.gz'), ...KERNEL);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/a container image is written as a directory \(an OCI image layout\) or a \.tar archive/);
    expect(statSync(WORK).isDirectory()).toBe(true);
    expect(existsSync(out('x.tar.gz'))).toBe(false);
  });
});

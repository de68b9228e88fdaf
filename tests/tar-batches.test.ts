// A tarball with hundreds of clients: they go to the workers in groups, their bytes moved there and
// back, so a result given to the wrong entry, lost, or taken from a reused buffer would show here.
// Each client is distinct (its own trailing bytes), and the tar result must equal, entry for entry,
// what binding the same image as a directory writes (files read and written by the workers one by
// one, no groups), as extracted by GNU tar. Among the clients: one bigger than a group's buffer
// (binding it needs all of it, where the scan read a few chunks), and an ELF file that is no client
// and bigger than a group (written back unchanged from the bytes as read).
import { beforeAll, describe, expect, it } from 'vitest';
import { cpSync, mkdtempSync, readFileSync, writeFileSync, chmodSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, syslayer } from './helpers/cli.js';
import { SYSLAYER_OWN } from './fixtures/image/entries.js';
import { makeLargeImage } from './fixtures/image/large-image.js';

const work = mkdtempSync(join(tmpdir(), 'syslayer-tar-batches-'));
const SDK = join(ROOT, 'sdk/prebuilt/x86_64');
const layers = join(SDK, 'layers');
const image = join(work, 'image');
const CLIENTS = 600;
const BIG = 3 << 20; // over a group's 1 MiB

const sha = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');

/** Every regular file under `dir`, by path, with the SHA-256 of its contents. */
function contents(dir: string): Map<string, string> {
  const paths = execFileSync('find', ['.', '-type', 'f', '-printf', '%P\\n'], { cwd: dir }).toString().trim().split('\n');
  // A directory output also holds syslayer's state and manifests (docs/living-images.md); a tarball does not.
  return new Map(paths.filter((p) => !SYSLAYER_OWN.test(p)).map((p) => [p, sha(join(dir, p))]));
}

function untar(tarball: string, name: string): string {
  const dir = join(work, name);
  execFileSync('mkdir', ['-p', dir]);
  execFileSync('tar', ['-xf', tarball, '-C', dir]);
  return dir;
}

let clients: string[] = [];
/** The clients' files (hardlinked names are one). */
let files = 0;

beforeAll(() => {
  ({ clients } = makeLargeImage(image, SDK, { clients: CLIENTS, files: 400, dirs: 12 }));
  // A client with 3 MiB of trailing bytes, and a library that is no client, padded the same way.
  const big = 'opt/big/bin/abi2-demo.big';
  execFileSync('mkdir', ['-p', join(image, 'opt/big/bin'), join(image, 'usr/lib')]);
  writeFileSync(join(image, big), Buffer.concat([readFileSync(join(SDK, 'bin/abi2-demo')), Buffer.alloc(BIG, 0x5a)]));
  chmodSync(join(image, big), 0o755);
  clients.push(big);
  files = clients.filter((c) => !c.startsWith('opt/links/')).length;
  writeFileSync(join(image, 'usr/lib/libz-padded.so'), Buffer.concat([readFileSync(join(ROOT, 'corpus/amd64/libz.so.1.2.13')), Buffer.alloc(BIG, 0xa5)]));
  cpSync(join(ROOT, 'corpus/amd64/libz.so.1.2.13'), join(image, 'usr/lib/libz.so.1.2.13'));
  execFileSync('tar', ['--format=pax', '--sort=name', '-C', image, '-cf', join(work, 'in.tar'), '.']);
}, 300_000);

describe(`a tarball with ${CLIENTS} clients`, () => {
  it('binds every client, each entry getting its own result, as binding the directory does', () => {
    const r = syslayer('bind', join(work, 'in.tar'), '-o', join(work, 'out.tar'), '--kernel', '4.11', '--layers', layers, '--json');
    expect(r.status, r.stderr).toBe(0);
    // A hardlinked client is one file entry and one link entry: the report names the file.
    const report = JSON.parse(r.stdout) as { clients: { path: string; outcome?: { status: string } }[] };
    for (const c of report.clients) expect(c.outcome?.status, `${c.path} in the report`).toBe('bound');
    expect(report.clients.length).toBe(files);

    const d = syslayer('bind', image, '-o', join(work, 'out-dir'), '--kernel', '4.11', '--layers', layers);
    expect(d.status, d.stderr).toBe(0);
    const fromTar = contents(untar(join(work, 'out.tar'), 'out-tar'));
    const fromDir = contents(join(work, 'out-dir'));
    const input = contents(image);
    expect([...fromTar.keys()].sort()).toEqual([...fromDir.keys()].sort());
    let changed = 0;
    for (const [path, digest] of fromDir) {
      expect(fromTar.get(path), `${path}: the tar result differs from the directory's`).toBe(digest);
      if (digest !== input.get(path)) changed++;
    }
    // Every name of a client bound, everything else as it was.
    expect(changed).toBe(clients.length);
    expect(fromTar.get('usr/lib/libz-padded.so')).toBe(input.get('usr/lib/libz-padded.so'));
  });

  it('verifies every client of the result, and unbinds it back to the input, entry for entry', () => {
    const v = syslayer('verify', join(work, 'out.tar'), '--layers', layers, '--json');
    expect(v.status, v.stderr).toBe(0);
    const verified = (JSON.parse(v.stdout) as { clients: { outcome?: { status: string } }[] }).clients.filter((c) => c.outcome?.status === 'verified');
    expect(verified.length).toBe(files);

    const u = syslayer('unbind', join(work, 'out.tar'), '-o', join(work, 'back.tar'));
    expect(u.status, u.stderr).toBe(0);
    expect(contents(untar(join(work, 'back.tar'), 'back'))).toEqual(contents(image));
  });
});

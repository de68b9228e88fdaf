// The hooks that keep an image bound (DESIGN §11), end to end with the real dpkg: a test root
// gets a kernel, the syslayer-hooks package (`syslayer hooks install`), and a small package that
// ships an SDK client, each installed with `dpkg --root R --force-script-chrootless`, which runs
// the maintainer scripts and the file trigger here, outside the root, with DPKG_ROOT set. The
// kernel packages run /etc/kernel/post{inst,rm}.d as linux-image packages do. The oracles are
// dpkg itself (its trigger processing and --verify), the bind record as `inspect` reads it, the
// programs running, and strace: the 3.2 layer opens /dev/urandom, the 4.11 layer calls getrandom.
// Everything is built here with dpkg-deb; nothing comes from the network.
import { beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, syslayer } from './helpers/cli.js';
import { buildDeb, dpkg, dpkgRoot, dpkgVerifyFlags, kernelPackage, type Run } from './helpers/debian.js';
import { runProgram } from './helpers/run.js';

const SDK = join(ROOT, 'sdk/prebuilt');
const LAYERS = join(SDK, 'x86_64/layers');
const OLD_KERNEL = '3.2.0-1-amd64';
const NEW_KERNEL = '4.11.0-1-amd64';
const work = mkdtempSync(join(tmpdir(), 'syslayer-hooks-dpkg-'));
const root = dpkgRoot('syslayer-hooks-root-');
const demo = join(root, 'usr/bin/demo');
/** A second root: hooks installed before it had a kernel. */
let bare = '';

const debs = {
  v1: buildDeb(work, { name: 'demo', version: '1', files: { 'usr/bin/demo': join(SDK, 'x86_64/bin/abi1-demo') } }),
  v2: buildDeb(work, { name: 'demo', version: '2', files: { 'usr/bin/demo': join(SDK, 'x86_64/bin/abi2-demo') } }),
  oldKernel: kernelPackage(work, OLD_KERNEL),
  newKernel: kernelPackage(work, NEW_KERNEL),
  // A client no layer of the catalog serves (AArch64, the catalog x86-64 only): it cannot be bound.
  foreign: buildDeb(work, { name: 'foreign', version: '1', files: { 'usr/bin/arm-demo': join(SDK, 'aarch64/bin/abi2-demo') } }),
};

function installed(r: Run, what: string): Run {
  expect(r.status, `${what}: ${r.stdout}${r.stderr}`).toBe(0);
  return r;
}

/** The layer `inspect --json` reads from the file's bind record. */
function binding(file: string): { layer: string } {
  const r = syslayer('inspect', '--json', file);
  const b = (JSON.parse(r.stdout) as { binding: { layerName?: string } | null }).binding;
  expect(b?.layerName, `${file} is not bound: ${r.stdout}`).toBeTruthy();
  return { layer: b!.layerName! };
}

const sha = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');

/** The layer the program calls through, as strace shows it. */
function layerInTrace(program: string): '3.2' | '4.11' {
  const r = runProgram('x86_64', program, ['/etc/hostname'], { trace: true });
  expect(r.status, r.stderr).toBe(0);
  const urandom = /openat\(AT_FDCWD, "\/dev\/urandom"/.test(r.stderr);
  const getrandom = /getrandom\(/.test(r.stderr);
  expect(urandom !== getrandom, `one of /dev/urandom and getrandom: ${r.stderr}`).toBe(true);
  return urandom ? '3.2' : '4.11';
}

describe('hooks: dpkg\'s file trigger and the kernel hooks keep a root bound', () => {
  beforeAll(() => {
    installed(dpkg(root, '-i', debs.oldKernel), 'the 3.2 kernel');
    const r = syslayer('hooks', 'install', '--root', root, '--layers', LAYERS);
    expect(r.status, r.stdout + r.stderr).toBe(0);
  });

  it('hooks package builds the same .deb every time: a trigger on the program and library directories, the kernel hooks, the layers', () => {
    const [a, b] = [join(work, 'a.deb'), join(work, 'b.deb')];
    for (const deb of [a, b]) expect(syslayer('hooks', 'package', '--layers', LAYERS, '-o', deb).status).toBe(0);
    expect(readFileSync(a).equals(readFileSync(b)), 'two builds differ').toBe(true);
    const listing = spawnSync('dpkg-deb', ['-c', a], { encoding: 'utf8' }).stdout;
    for (const path of ['./etc/kernel/postinst.d/zz-syslayer', './etc/kernel/postrm.d/zz-syslayer', './usr/share/syslayer-hooks/sync', './usr/lib/syslayer/layers/linux-3.2.o', './usr/lib/syslayer/layers/linux-4.11.o']) {
      expect(listing).toContain(path);
    }
    const triggers = spawnSync('dpkg-deb', ['-I', a, 'triggers'], { encoding: 'utf8' }).stdout;
    for (const d of ['/usr/bin', '/usr/sbin', '/usr/lib', '/usr/libexec', '/opt']) expect(triggers).toContain(`interest-noawait ${d}\n`);
    expect(spawnSync('dpkg-deb', ['-f', a, 'Package'], { encoding: 'utf8' }).stdout.trim()).toBe('syslayer-hooks');
    const status = spawnSync('dpkg', ['--root', root, '-s', 'syslayer-hooks'], { encoding: 'utf8' }).stdout;
    expect(status, 'installed by hooks install').toMatch(/Status: install ok installed/);
  });

  it('version 1 is bound by the trigger as dpkg installs it', () => {
    const r = installed(dpkg(root, '-i', debs.v1), 'demo 1');
    expect(r.stdout).toContain('Processing triggers for syslayer-hooks');
    expect(binding(demo).layer).toBe('linux-3.2');
    const run = runProgram('x86_64', demo, ['/etc/hostname']);
    expect(run.status, run.stdout + run.stderr).toBe(0);
    expect(run.stdout).toMatch(/getpid: \d+ matches/);
  });

  it('the upgrade to version 2 replaces the file, and the new file is bound: it runs through the 3.2 layer', () => {
    const before = sha(demo);
    installed(dpkg(root, '-i', debs.v2), 'demo 2');
    expect(sha(demo)).not.toBe(before);
    expect(binding(demo).layer).toBe('linux-3.2');
    const run = runProgram('x86_64', demo, ['/etc/hostname']);
    expect(run.stdout, run.stderr).toContain('getrandom: 16 bytes');
    expect(layerInTrace(demo)).toBe('3.2');
  });

  it('a newer kernel changes nothing: the oldest installed kernel still decides', () => {
    const before = sha(demo);
    installed(dpkg(root, '-i', debs.newKernel), 'the 4.11 kernel');
    expect(existsSync(join(root, 'lib/modules', NEW_KERNEL))).toBe(true);
    expect(sha(demo), 'the file was rewritten').toBe(before);
    expect(layerInTrace(demo)).toBe('3.2');
  });

  it('removing the old kernel moves the layer from 3.2 to 4.11', () => {
    const r = installed(dpkg(root, '-r', `linux-image-${OLD_KERNEL}`), 'removing the 3.2 kernel');
    expect(existsSync(join(root, 'lib/modules', OLD_KERNEL)), r.stdout).toBe(false);
    expect(binding(demo).layer).toBe('linux-4.11');
    expect(layerInTrace(demo)).toBe('4.11');
  });

  it('dpkg --verify flags the bound file; verify --packages explains it as bound and intact', () => {
    const flagged = dpkgVerifyFlags(root);
    expect(flagged.paths).toEqual(['usr/bin/demo']);
    const v = syslayer('verify', '--packages', '--root', root, '--json');
    expect(v.status, v.stdout).toBe(0);
    const files = (JSON.parse(v.stdout) as { files: { path: string; status: string; layer?: string }[] }).files;
    expect(files).toEqual([expect.objectContaining({ path: 'usr/bin/demo', status: 'bound-intact', layer: 'linux-4.11' })]);
  });

  it('a client that cannot be bound is left as it was and reported; dpkg does not fail', () => {
    const original = readFileSync(join(SDK, 'aarch64/bin/abi2-demo'));
    const r = installed(dpkg(root, '-i', debs.foreign), 'a package with a client no layer serves');
    expect(r.stderr).toMatch(/syslayer-hooks: some files under .* could not be bound/);
    expect(readFileSync(join(root, 'usr/bin/arm-demo')).equals(original)).toBe(true);
    const v = JSON.parse(syslayer('verify', '--packages', '--root', root, '--json').stdout) as { files: { path: string; status: string }[] };
    expect(v.files.find((f) => f.path === 'usr/bin/arm-demo')?.status).toBe('unbound-client');
  });

  it('the hook fails dpkg when sync cannot run at all (no kernel to bind for); dpkg --configure -a runs it again', () => {
    bare = dpkgRoot('syslayer-hooks-bare-');
    installed(dpkg(bare, '-i', debs.v1), 'demo 1, before the hooks');
    const r = syslayer('hooks', 'install', '--root', bare, '--layers', LAYERS);
    expect(r.status, r.stdout + r.stderr).toBe(1);
    expect(r.stderr).toMatch(/syslayer sync --root .* could not run/);
    expect(spawnSync('dpkg', ['--root', bare, '-s', 'syslayer-hooks'], { encoding: 'utf8' }).stdout).toMatch(/Status: install ok half-configured/);
    mkdirSync(join(bare, 'lib/modules', OLD_KERNEL), { recursive: true });
    installed(dpkg(bare, '--configure', '-a'), 'dpkg --configure -a, with a kernel');
    expect(spawnSync('dpkg', ['--root', bare, '-s', 'syslayer-hooks'], { encoding: 'utf8' }).stdout).toMatch(/Status: install ok installed/);
    expect(binding(join(bare, 'usr/bin/demo')).layer, 'configure binds the root').toBe('linux-3.2');
  });

  it('the kernel hook alone re-binds when the oldest kernel changes (run as a kernel package runs it, without dpkg and its trigger)', () => {
    rmSync(join(bare, 'lib/modules', OLD_KERNEL), { recursive: true });
    mkdirSync(join(bare, 'lib/modules', NEW_KERNEL), { recursive: true });
    const r = spawnSync('run-parts', ['--report', '--exit-on-error', `--arg=${OLD_KERNEL}`, join(bare, 'etc/kernel/postrm.d')], { encoding: 'utf8', env: { ...process.env, DPKG_ROOT: bare } });
    expect(r.status, r.stdout + r.stderr).toBe(0);
    expect(binding(join(bare, 'usr/bin/demo')).layer).toBe('linux-4.11');
  });

  it('hooks remove takes the package, its trigger and its kernel hooks away', () => {
    expect(syslayer('hooks', 'remove', '--root', root).status).toBe(0);
    for (const path of ['etc/kernel/postinst.d/zz-syslayer', 'usr/share/syslayer-hooks/sync']) expect(existsSync(join(root, path)), path).toBe(false);
    const status = spawnSync('dpkg', ['--root', root, '-s', 'syslayer-hooks'], { encoding: 'utf8' });
    expect(status.stdout).not.toMatch(/Status: install ok installed/);
  });
});

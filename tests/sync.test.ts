// `syslayer sync` (DESIGN §11, docs/living-images.md): an image stays bound as it changes. A
// client replaced by an unbound copy (what `apt upgrade` does) is bound, and only it; a touched
// file whose bytes the state knows is not read by the pass; an older kernel installed re-binds
// everything for it; a corrupt state is a warning, not a wrong answer; and the image's lock
// makes a second run wait, or fail naming who holds it, while a dead holder leaves no lock.
// The oracles: each client's own bind record (`syslayer inspect --json`, docs/abi.md), which
// `syslayer verify` re-derives from the original bytes, and the sha256 of the files.
import { beforeEach, describe, expect, it } from 'vitest';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, syslayer, type CliResult } from './helpers/cli.js';

const work = mkdtempSync(join(tmpdir(), 'syslayer-sync-'));
const x86 = join(ROOT, 'sdk/prebuilt/x86_64');
const layers = join(x86, 'layers');
const CLIENTS = ['usr/bin/abi1-demo', 'usr/bin/abi2-demo', 'usr/bin/mixed-main', 'usr/lib/libmixed1.so'];
const REFUSED = 'usr/bin/arm-demo'; // no AArch64 layer in the catalog given

let image = '';

function makeImage(kernel = '4.11.0'): string {
  const dir = mkdtempSync(join(work, 'image-'));
  for (const d of ['usr/bin', 'usr/lib', 'etc', `lib/modules/${kernel}`]) mkdirSync(join(dir, d), { recursive: true });
  for (const p of ['abi1-demo', 'abi2-demo', 'mixed-main']) cpSync(join(x86, 'bin', p), join(dir, 'usr/bin', p));
  cpSync(join(x86, 'lib/libmixed1.so'), join(dir, 'usr/lib/libmixed1.so'));
  cpSync(join(ROOT, 'sdk/prebuilt/aarch64/bin/abi2-demo'), join(dir, REFUSED));
  writeFileSync(join(dir, 'etc/hostname'), 'living\n');
  return dir;
}

interface SyncReport {
  kernel: string;
  warnings: string[];
  clients: { path: string; error?: string; outcome?: { status: string; layer?: string } }[];
  sync: { files: number; full: boolean; why: string | null; examined: number; skipped: number; confirmed: number; bound: number; unchanged: number; refused: number };
}

function sync(root: string, ...extra: string[]): { r: CliResult; report: SyncReport } {
  const r = syslayer('sync', '--root', root, '--layers', layers, '--json', ...extra);
  if (r.status !== 0) throw new Error(`sync exited ${r.status}: ${r.stderr}`);
  return { r, report: JSON.parse(r.stdout) as SyncReport };
}

/** Each client's layer as its own bind record says (inspect --json), or null when it is not bound. */
function recordedLayer(root: string, path: string): string | null {
  const r = syslayer('inspect', '--json', join(root, path));
  const binding = (JSON.parse(r.stdout) as { binding?: { layerName?: string } | null }).binding;
  return binding?.layerName ?? null;
}

interface StateFile { kernel: string; files: Record<string, { stat: string; outcome: string; sha256?: string; layer?: string; reason?: string }> }
const state = (root: string) => JSON.parse(readFileSync(join(root, 'var/lib/syslayer/state.json'), 'utf8')) as StateFile;
const sha256 = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');

function verifyJson(root: string): { status: number; outcomes: Map<string, { status: string; layer?: string; error?: string }> } {
  const r = syslayer('verify', root, '--layers', layers, '--json');
  const report = JSON.parse(r.stdout) as SyncReport;
  return { status: r.status, outcomes: new Map(report.clients.map((c) => [c.path, c.outcome as { status: string; layer?: string; error?: string }])) };
}

describe('sync', () => {
  beforeEach(() => {
    image = makeImage();
  });

  it('binds everything the first time, then only the file an upgrade replaced', () => {
    const first = sync(image);
    expect(first.r.stderr, 'no state yet: a warning').toMatch(/warning: no state file .*every file is read/);
    expect(first.report.sync).toMatchObject({ full: true, why: 'no usable state', bound: 4, refused: 1 });
    expect(first.r.status, 'a file that cannot be bound does not fail the run: it is reported and recorded').toBe(0);
    expect(first.r.stdout).toMatch(/"sync"/);
    for (const c of CLIENTS) expect(recordedLayer(image, c), c).toBe('linux-4.11');
    const recorded = state(image);
    expect(recorded.files[REFUSED], 'the refusal is recorded').toMatchObject({ outcome: 'refused', reason: expect.stringMatching(/no candidate|no layer|AARCH64|catalog/i) });
    for (const c of CLIENTS) expect(recorded.files[c], c).toMatchObject({ outcome: 'bound', layer: 'linux-4.11', sha256: sha256(join(image, c)) });

    const again = sync(image);
    expect(again.report.sync, 'nothing changed: nothing read').toMatchObject({ full: false, examined: 0, skipped: again.report.sync.files, bound: 0 });
    expect(again.report.clients).toEqual([]);

    // An upgrade puts an unbound copy in place; another file is touched but keeps its bytes.
    cpSync(join(x86, 'bin/abi1-demo'), join(image, 'usr/bin/abi1-demo'));
    const later = new Date(Date.now() + 5000);
    utimesSync(join(image, 'usr/bin/abi2-demo'), later, later);
    const abi2Before = sha256(join(image, 'usr/bin/abi2-demo'));
    const third = sync(image);
    expect(third.report.sync, JSON.stringify(third.report.sync)).toMatchObject({ full: false, examined: 1, confirmed: 1, bound: 1, unchanged: 0, refused: 0 });
    expect(third.report.clients.map((c) => [c.path, c.outcome?.status])).toEqual([['usr/bin/abi1-demo', 'bound']]);
    expect(third.r.status).toBe(0);
    expect(sha256(join(image, 'usr/bin/abi2-demo')), 'the touched file was not rewritten').toBe(abi2Before);
    expect(state(image).files['usr/bin/abi1-demo']).toMatchObject({ outcome: 'bound', sha256: sha256(join(image, 'usr/bin/abi1-demo')) });

    const v = verifyJson(image);
    for (const c of CLIENTS) expect(v.outcomes.get(c), c).toMatchObject({ status: 'verified', layer: 'linux-4.11' });
    expect(v.outcomes.get(REFUSED)?.status, 'verify lists the file that could not be bound').toBe('error');
  }, 60_000);

  it('re-binds every client for an older kernel once it is installed (the oldest is the target)', () => {
    sync(image);
    mkdirSync(join(image, 'lib/modules/3.2.0'));
    const { report } = sync(image);
    expect(report.kernel).toBe('3.2.0');
    expect(report.sync).toMatchObject({ full: true, why: 'the target kernel changed from 4.11.0 to 3.2.0', bound: 4 });
    for (const c of CLIENTS) expect(recordedLayer(image, c), c).toBe('linux-3.2');
    const v = verifyJson(image);
    for (const c of CLIENTS) expect(v.outcomes.get(c), c).toMatchObject({ status: 'verified', layer: 'linux-3.2' });
    expect(state(image).kernel).toBe('3.2.0');
    // And back: the older kernel removed, the newer one is the oldest again.
    rmSync(join(image, 'lib/modules/3.2.0'), { recursive: true });
    expect(sync(image).report.sync).toMatchObject({ full: true, bound: 4 });
    for (const c of CLIENTS) expect(recordedLayer(image, c), c).toBe('linux-4.11');
  }, 60_000);

  it('a corrupt or missing state file is a warning and a full, correct run that rebuilds it', () => {
    sync(image);
    cpSync(join(x86, 'bin/abi2-demo'), join(image, 'usr/bin/abi2-demo')); // unbound again
    writeFileSync(join(image, 'var/lib/syslayer/state.json'), '{"format":"syslayer-image-state","version":1,"files":{"usr/bin/abi1-demo":');
    const corrupt = sync(image);
    expect(corrupt.r.stderr).toMatch(/warning: the state file .*state\.json is corrupt: .*every file is read, and the state is rebuilt/);
    expect(corrupt.report.warnings.join('\n')).toMatch(/corrupt/);
    expect(corrupt.report.sync).toMatchObject({ full: true, bound: 1, unchanged: 3, refused: 1 });
    expect(state(image).files['usr/bin/abi2-demo']).toMatchObject({ outcome: 'bound' });

    // A state that parses but lies (an entry of the wrong shape) is not trusted either.
    const s = state(image);
    (s.files['usr/bin/abi1-demo'] as unknown as Record<string, unknown>).outcome = 'teleported';
    writeFileSync(join(image, 'var/lib/syslayer/state.json'), JSON.stringify(s));
    expect(sync(image).r.stderr).toMatch(/the entry of "usr\/bin\/abi1-demo" is not valid/);

    rmSync(join(image, 'var/lib/syslayer/state.json'));
    const missing = sync(image);
    expect(missing.r.stderr).toMatch(/warning: no state file/);
    expect(missing.report.sync).toMatchObject({ full: true, bound: 0, unchanged: 4 });
    expect(existsSync(join(image, 'var/lib/syslayer/state.json'))).toBe(true);
  }, 60_000);
});

describe('the state of a copy (bind -o)', () => {
  it('holds no stat tuples, so two runs write the same bytes; its first sync reads every file once and binds nothing', () => {
    const image = makeImage();
    const copies = [1, 2].map((n) => {
      const out = join(work, `copy-${n}-${Math.random().toString(36).slice(2)}`);
      const r = syslayer('bind', image, '-o', out, '--layers', layers);
      expect(r.status, r.stderr).toBe(1); // the AArch64 client has no layer
      return out;
    });
    const [first, second] = copies.map((c) => readFileSync(join(c, 'var/lib/syslayer/state.json')));
    expect(first!.equals(second!), 'the same state, byte for byte').toBe(true);
    expect(Object.values(state(copies[0]!).files).every((f) => f.stat === '')).toBe(true);
    const { r, report } = sync(copies[0]!);
    expect(r.status, r.stderr).toBe(0);
    expect(report.sync.bound).toBe(0);
    // Each client the state knows the bytes of, bound or refused (the AArch64 one), hashed once against it.
    expect(report.sync.confirmed).toBe(CLIENTS.length + 1);
    expect(Object.values(state(copies[0]!).files).every((f) => /^\d+:\d+:\d+:\d+$/.test(f.stat)), 'real stat tuples after the sync').toBe(true);
  }, 60_000);
});

describe('sync, usage', () => {
  it('takes a directory and no operand: anything else is a usage error, and nothing is made', () => {
    const file = join(work, 'not-a-directory');
    writeFileSync(file, '');
    for (const args of [['--root', join(work, 'no-such-root')], ['--root', file], ['--root', work, 'operand']]) {
      const r = syslayer('sync', ...args);
      expect(r.status, `${args.join(' ')}: ${r.stderr}`).toBe(2);
      expect(r.stderr).toMatch(/^syslayer: /);
    }
    const noKernel = mkdtempSync(join(work, 'no-kernel-'));
    const r = syslayer('sync', '--root', noKernel);
    expect(r.status, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/--kernel auto found no lib\/modules/);
    expect(existsSync(join(noKernel, 'var')), 'a run that could not proceed leaves nothing behind').toBe(false);
  });
});

describe('the image lock', () => {
  const lockFile = (root: string) => join(root, 'var/lib/syslayer/lock');
  /** A lock file naming `pid` as a `command` run, as a run writes it. */
  function writeHolder(root: string, pid: number, command = 'bind'): void {
    mkdirSync(join(root, 'var/lib/syslayer'), { recursive: true });
    writeFileSync(lockFile(root), `${JSON.stringify({ pid, command, since: '2026-01-01T00:00:00.000Z' })}\n`);
  }
  /** A process that holds the image's lock (flock(1) on the lock file) until killed, named in the file as a `command` run. */
  async function holdLock(root: string, command = 'bind'): Promise<ChildProcess> {
    writeHolder(root, 0, command);
    // One process throughout (exec): killing it closes the file, which is what releases a lock.
    const holder = spawn('sh', ['-c', 'exec 3<>"$0"; flock --exclusive 3; exec sleep 60', lockFile(root)], { stdio: 'ignore' });
    // Held once a non-blocking try fails.
    while (spawnSync('flock', ['--exclusive', '--nonblock', lockFile(root), 'true']).status === 0) await new Promise((r) => setTimeout(r, 20));
    writeHolder(root, holder.pid!, command);
    return holder;
  }

  beforeEach(() => {
    image = makeImage();
  });

  it('a second run fails after a short wait, naming the holder; bind and unbind in place take the same lock', async () => {
    const holder = await holdLock(image);
    try {
      const r = syslayer('sync', '--root', image, '--layers', layers, '--wait', '1');
      expect(r.status).toBe(1);
      expect(r.stderr).toMatch(new RegExp(`waiting for the image lock, held by pid ${holder.pid} \\(syslayer bind, since 2026-01-01T00:00:00.000Z\\)`));
      expect(r.stderr).toMatch(new RegExp(`the image is locked, held by pid ${holder.pid} \\(syslayer bind, since .*\\); gave up after 1 s`));
      for (const command of ['bind', 'unbind']) {
        const other = syslayer(command, image, '--in-place', '--wait', '0', ...(command === 'bind' ? ['--layers', layers] : []));
        expect(other.status, command).toBe(1);
        expect(other.stderr, command).toMatch(new RegExp(`held by pid ${holder.pid}`));
      }
      expect(recordedLayer(image, 'usr/bin/abi1-demo'), 'nothing was bound').toBeNull();
      expect(readFileSync(lockFile(image), 'utf8'), 'the holder keeps its lock').toMatch(new RegExp(`"pid":${holder.pid}`));
    } finally {
      holder.kill();
    }
  }, 60_000);

  it('a second run waits for the holder, then proceeds', async () => {
    const holder = await holdLock(image, 'sync');
    const run = spawn(process.execPath, [join(ROOT, 'bin/syslayer.js'), 'sync', '--root', image, '--layers', layers, '--wait', '30'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    run.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number>((resolve) => run.on('exit', (code) => resolve(code ?? -1)));
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(recordedLayer(image, 'usr/bin/abi1-demo'), 'it waits: nothing bound yet').toBeNull();
    // The holder finishes: it removes its lock, and the state directory it made, and exits.
    rmSync(join(image, 'var/lib/syslayer'), { recursive: true });
    holder.kill();
    const status = await exited;
    expect(stderr).toMatch(new RegExp(`waiting for the image lock, held by pid ${holder.pid} \\(syslayer sync`));
    expect(status, stderr).toBe(0);
    for (const c of CLIENTS) expect(recordedLayer(image, c), c).toBe('linux-4.11');
    expect(existsSync(lockFile(image)), 'released').toBe(false);
  }, 60_000);

  it('a lock file its holder left when it died is no lock: taken at once, even when its pid now names another process', () => {
    for (const pid of [spawnSync('true').pid, process.pid]) {
      writeHolder(image, pid);
      const { r, report } = sync(image, '--wait', '0');
      expect(r.stderr).not.toMatch(/waiting/);
      expect(report.sync.bound, `pid ${pid}`).toBe(pid === process.pid ? 0 : 4);
      expect(existsSync(lockFile(image)), 'released').toBe(false);
      expect(statSync(join(image, 'var/lib/syslayer')).isDirectory()).toBe(true);
    }
  }, 60_000);

  it('follows no symlink out of the image: not the lock file\'s, not the state directory\'s', () => {
    const outside = mkdtempSync(join(work, 'host-'));
    writeFileSync(join(outside, 'shadow'), 'root:secret\n');
    mkdirSync(join(image, 'var/lib/syslayer'), { recursive: true });
    symlinkSync(join(outside, 'shadow'), lockFile(image));
    const viaLock = syslayer('sync', '--root', image, '--layers', layers);
    expect(viaLock.status).toBe(1);
    expect(viaLock.stderr).toContain(`${lockFile(image)}: a symlink: syslayer follows no link out of the image's var/lib/syslayer/`);
    expect(readFileSync(join(outside, 'shadow'), 'utf8')).toBe('root:secret\n');
    rmSync(join(image, 'var'), { recursive: true });
    symlinkSync(outside, join(image, 'var'));
    const viaDirectory = syslayer('bind', image, '--in-place', '--layers', layers);
    expect(viaDirectory.status).toBe(1);
    expect(viaDirectory.stderr).toContain(`${join(image, 'var')}: not a directory (a symlink?)`);
    expect(readdirSync(outside)).toEqual(['shadow']);
  }, 60_000);

  it('a holder killed with SIGKILL leaves no lock behind: the kernel releases it', async () => {
    const holder = await holdLock(image);
    const waiting = syslayer('sync', '--root', image, '--layers', layers, '--wait', '0');
    expect(waiting.status).toBe(1);
    holder.kill('SIGKILL');
    await new Promise((r) => holder.on('exit', r));
    const { r, report } = sync(image, '--wait', '0');
    expect(r.stderr).not.toMatch(/waiting/);
    expect(report.sync.bound).toBe(4);
  }, 60_000);
});

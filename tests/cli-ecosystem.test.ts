// The command line as other tools meet it (issue 12): --version, help that says what the code
// does, options a command does not use refused, and reports cut short by their reader or by a
// full disk ending in one line and a documented status, never a stack trace.
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, linkSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { syslayer } from './helpers/cli.js';

const ROOT = join(import.meta.dirname, '..');
const CLI = join(ROOT, 'bin', 'syslayer.js');
const SDK_BIN = join(ROOT, 'sdk', 'prebuilt', 'x86_64', 'bin');
const LAYERS = join(ROOT, 'sdk', 'prebuilt', 'x86_64', 'layers');
const NO_TRACE = /\n\s+at |node:internal|Unhandled 'error' event/;

describe('the command line', () => {
  it('--version and -V print the version of package.json', () => {
    const { version } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
    for (const flag of ['--version', '-V']) {
      const r = syslayer(flag);
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout).toBe(`syslayer ${version}\n`);
    }
  });

  it('--help lists every command, examples and the exit statuses', () => {
    const r = syslayer('--help');
    expect(r.status).toBe(0);
    for (const c of ['scan', 'inspect', 'layers', 'plan', 'bind', 'unbind', 'verify', 'sync']) expect(r.stdout).toMatch(new RegExp(`^  ${c} `, 'm'));
    expect(r.stdout).toMatch(/^Exit status:\n {2}0 .*\n {2}1 .*\n {2}2 .*\n {2}141 /m);
    expect(r.stdout).toContain('Examples:');
  });

  it('says which kernel verify checks against by default: the recorded one', () => {
    const r = syslayer('verify', '--help');
    expect(r.stdout).toMatch(/default:\s+the\s+kernel\s+each\s+file's\s+bind\s+record\s+names/);
    expect(syslayer('bind', '--help').stdout).toMatch(/auto\s+\(the\s+default/);
  });

  it('refuses options a command does not use, naming them', () => {
    for (const [args, named] of [[['unbind', '--kernel', 'banana', SDK_BIN], '--kernel'], [['unbind', '--layers', SDK_BIN, SDK_BIN], '--layers'],
      [['scan', '--kernel', '4.11', SDK_BIN], '--kernel'], [['verify', '-o', '/tmp/x', SDK_BIN], '-o']] as const) {
      const r = syslayer(...args);
      expect(r.status, `${args.join(' ')}: ${r.stderr}`).toBe(2);
      expect(r.stderr).toContain(named);
      expect(r.stderr).not.toMatch(NO_TRACE);
    }
  });

  it('names -o and --in-place together as a conflict', () => {
    const r = syslayer('bind', '--kernel', '4.11', '--in-place', '-o', '/tmp/never-written', SDK_BIN);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/-o and --in-place exclude each other/);
  });

  it('ends quietly with 141 when the reader of the report goes away', () => {
    // A report far larger than a pipe holds (3,000 names of one client: ~4 MB of JSON), so that
    // the writer is still writing when head leaves.
    const dir = mkdtempSync(join(tmpdir(), 'syslayer-cli-'));
    try {
      for (let i = 0; i < 3000; i++) linkSync(join(SDK_BIN, 'abi1-demo'), join(dir, `prog-${i}`));
      const r = spawnSync('bash', ['-c', `set -o pipefail; node "${CLI}" scan --json "${dir}" | head -c 100 >/dev/null`], { encoding: 'utf8' });
      expect(r.status, r.stderr).toBe(141);
      expect(r.stderr).toBe('');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it.runIf(existsSync('/dev/full'))('says in one line that a report could not be written, exit 1', () => {
    const r = spawnSync('bash', ['-c', `node "${CLI}" scan --json "${SDK_BIN}" > /dev/full`], { encoding: 'utf8' });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^syslayer: cannot write the report to standard output: ENOSPC[^\n]*\n$/);
    const file = syslayer('plan', '--kernel', '4.11', SDK_BIN, '--report', '/dev/full');
    expect(file.status).toBe(1);
    expect(file.stderr).toMatch(/syslayer: cannot write the report to \/dev\/full: ENOSPC/);
    expect(file.stderr).not.toMatch(NO_TRACE);
  });

  const asRoot = process.getuid?.() === 0 && spawnSync('setpriv', ['--version']).status === 0;
  it.runIf(asRoot)('warns, in text and in JSON, when a user who is not root cannot keep the owners of a copy', () => {
    const dir = mkdtempSync(join(tmpdir(), 'syslayer-owners-'));
    try {
      const image = join(dir, 'img');
      mkdirSync(join(image, 'usr', 'bin'), { recursive: true });
      linkSync(join(SDK_BIN, 'abi1-demo'), join(image, 'usr', 'bin', 'abi1-demo'));
      writeFileSync(join(image, 'usr', 'readme'), 'hello\n');
      chmodSync(dir, 0o1777);
      const asNobody = (out: string, ...extra: string[]) => spawnSync('setpriv', ['--reuid=nobody', '--regid=nogroup', '--clear-groups',
        process.execPath, CLI, 'bind', '--kernel', '4.11', '--layers', LAYERS, ...extra, '-o', join(dir, out), image], { encoding: 'utf8' });
      const text = asNobody('out-text');
      expect(text.status, text.stderr).toBe(0);
      expect(text.stderr).toMatch(/^syslayer: warning: not running as root, owners cannot be kept: 2 files that other users own are yours in the copy.*-o image\.tar/m);
      const json = asNobody('out-json', '--json');
      expect(json.status, json.stderr).toBe(0);
      expect((JSON.parse(json.stdout) as { warnings: string[] }).warnings).toEqual([expect.stringMatching(/owners cannot be kept: 2 files/)]);
      // As root, owners are kept and nothing is said.
      const root = syslayer('bind', '--kernel', '4.11', '--layers', LAYERS, '--json', '-o', join(dir, 'out-root'), image);
      expect((JSON.parse(root.stdout) as { warnings: string[] }).warnings).toEqual([]);
      expect(root.stderr).not.toContain('warning');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  const hasScript = spawnSync('script', ['--version']).status === 0;
  it.runIf(hasScript)('on a terminal, lists the first ten of each kind and how many more; in a pipe, all of them', () => {
    const dir = mkdtempSync(join(tmpdir(), 'syslayer-list-'));
    try {
      // Fourteen clients no layer serves (no --layers, no layers in the image): fourteen refusals.
      for (let i = 0; i < 14; i++) linkSync(join(SDK_BIN, 'abi1-demo'), join(dir, `prog-${String(i).padStart(2, '0')}`));
      const piped = syslayer('plan', '--kernel', '4.11', dir);
      expect(piped.stdout.match(/^ {2}prog-\d\d: /gm)).toHaveLength(14);
      const tty = spawnSync('script', ['-qec', `"${process.execPath}" "${CLI}" plan --kernel 4.11 "${dir}"`, '/dev/null'], { encoding: 'utf8' });
      expect(tty.stdout.match(/^ {2}prog-\d\d: /gm)).toHaveLength(10);
      expect(tty.stdout).toMatch(/^ {2}… and 4 more \(--json lists them all\)/m);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('--progress plain writes progress lines for a log; without it a pipe gets none; an unknown mode is refused', () => {
    const dir = mkdtempSync(join(tmpdir(), 'syslayer-progress-'));
    try {
      const plain = syslayer('bind', '--kernel', '4.11', '--layers', LAYERS, '--progress', 'plain', '-o', join(dir, 'a'), SDK_BIN);
      expect(plain.status, plain.stderr).toBe(0);
      expect(plain.stderr).toMatch(/^syslayer: walking the tree: /m);
      expect(plain.stderr).toMatch(/^syslayer: binding: \d+ of \d+ files read, \d+ clients$/m);
      const quiet = syslayer('bind', '--kernel', '4.11', '--layers', LAYERS, '-o', join(dir, 'b'), SDK_BIN);
      expect(quiet.status, quiet.stderr).toBe(0);
      expect(quiet.stderr).toBe('');
      const bad = syslayer('scan', '--progress', 'loud', SDK_BIN);
      expect(bad.status).toBe(2);
      expect(bad.stderr).toMatch(/--progress wants auto, plain or none, not 'loud'/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});


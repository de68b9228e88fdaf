// Bytes appended to a bound file after binding (a signature, a payload some tool adds at the end)
// are never dropped. Restoring the original truncates the file to the recorded size, so the core
// takes such a file as changed after binding: unbind refuses it, naming how many bytes follow the
// bound file, and bind detaches the old binding and binds the whole file, trailer included.
import { execFileSync } from 'node:child_process';
import { appendFileSync, copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, syslayer } from './helpers/cli.js';

const LAYERS = join(ROOT, 'sdk', 'prebuilt', 'x86_64', 'layers');
const TRAILER = Buffer.from('\0appended after binding: a signature block\n');
const CLIENT = 'usr/bin/abi1-demo';

let work: string;
let appended: string;
let boundLength: number;

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'syslayer-appended-'));
  mkdirSync(join(work, 'image', 'usr', 'bin'), { recursive: true });
  copyFileSync(join(ROOT, 'sdk', 'prebuilt', 'x86_64', 'bin', 'abi1-demo'), join(work, 'image', CLIENT));
  const r = syslayer('bind', join(work, 'image'), '-o', join(work, 'bound'), '--kernel', '4.11', '--layers', LAYERS);
  expect(r.status, r.stderr).toBe(0);
  appended = join(work, 'bound', CLIENT);
  boundLength = statSync(appended).size;
  appendFileSync(appended, TRAILER);
});

afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('bytes appended to a bound file', () => {
  it('make unbind refuse the file, saying how many bytes follow it, and leave it as it is', () => {
    const before = readFileSync(appended);
    const r = syslayer('unbind', join(work, 'bound'), '--in-place');
    expect(r.status).toBe(1);
    expect(r.stdout).toContain(`${CLIENT}: the bind record does not match the file: ${TRAILER.length} bytes follow the section header table that binding wrote last (appended after binding?), and undoing the binding would drop them`);
    expect(readFileSync(appended).equals(before)).toBe(true);
    const stdout = syslayer('unbind', '--stdout', appended);
    expect(stdout.status).toBe(1);
    expect(stdout.stdout).toBe('');
    expect(stdout.stderr).toContain(`${TRAILER.length} bytes follow the section header table`);
  });

  it('are flagged by verify', () => {
    const r = syslayer('verify', join(work, 'bound'), '--layers', LAYERS);
    expect(r.status).toBe(1);
    expect(r.stdout).toContain(`${CLIENT}: the bind record does not match the file`);
  });

  it('are kept by a new binding, which detaches the old one and binds the whole file; the program runs and unbinds with them in place', () => {
    const withTrailer = readFileSync(appended);
    const r = syslayer('bind', join(work, 'bound'), '-o', join(work, 'rebound'), '--kernel', '3.2', '--layers', LAYERS);
    expect(r.status, r.stdout + r.stderr).toBe(0);
    const rebound = readFileSync(join(work, 'rebound', CLIENT));
    expect(rebound.subarray(boundLength, boundLength + TRAILER.length).equals(TRAILER)).toBe(true);
    expect(execFileSync(join(work, 'rebound', CLIENT), { encoding: 'utf8' })).toContain('abi1-demo: ABI 1');
    const back = syslayer('unbind', join(work, 'rebound'), '-o', join(work, 'unbound'));
    expect(back.status, back.stdout).toBe(0);
    // The original of the new binding is the file as found, its old binding detached (docs/abi.md):
    // as long, and the appended bytes where they were.
    const unbound = readFileSync(join(work, 'unbound', CLIENT));
    expect(unbound.length).toBe(withTrailer.length);
    expect(unbound.subarray(boundLength).equals(TRAILER)).toBe(true);
  });
});

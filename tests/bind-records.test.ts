// Records that outlive versions (docs/abi.md, "The bind record"): files bound by every earlier
// record version, frozen in tests/fixtures/records/v<N>/ by scripts/freeze-bind-records.mjs, still
// verify and unbind byte for byte with this build; a record from a newer syslayer is refused for
// unbind, verify and re-bind, naming the file and both versions, and nothing is written.
import { describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, syslayer } from './helpers/cli.js';

const FROZEN = join(ROOT, 'tests/fixtures/records');
const THIS_VERSION = Number(/BIND_RECORD_VERSION: u32 = (\d+);/.exec(readFileSync(join(ROOT, 'assembly/bind/bind-note.ts'), 'utf8'))![1]);

interface Frozen {
  recordVersion: number;
  files: { file: string; original: string; originalSha256: string; boundSha256: string; kernel: string }[];
}

const sha256 = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');
const versions = readdirSync(FROZEN).filter((d) => /^v\d+$/.test(d)).sort();

/** The file offset of the bind record's version field, from readelf's section table and note layout. */
function recordVersionOffset(file: string): number {
  const sections = execFileSync('readelf', ['-SW', file], { env: { ...process.env, LC_ALL: 'C' } }).toString();
  const m = /\]\s+\.syslayer\.bind\s+NOTE\s+[0-9a-f]+\s+([0-9a-f]+)/.exec(sections);
  if (!m) throw new Error(`${file}: readelf lists no .syslayer.bind note section`);
  // Elf_Nhdr (12 bytes), then the owner "syslayer\0" padded to 12: the descriptor starts 24 bytes in.
  return parseInt(m[1]!, 16) + 24;
}

describe('bind records written by earlier builds', () => {
  it('a version is frozen for the record this build writes', () => {
    expect(versions).toContain(`v${THIS_VERSION}`);
  });

  describe.each(versions)('record %s', (version) => {
    const dir = join(FROZEN, version);
    const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as Frozen;

    it('verify passes on every file, with the layers it was bound with', () => {
      const layers = readdirSync(join(dir, 'layers')).flatMap((arch) => ['--layers', join(dir, 'layers', arch)]);
      const r = syslayer('verify', '--json', dir, ...layers);
      expect(r.status, r.stderr).toBe(0);
      const report = JSON.parse(r.stdout) as { clients: { path: string; outcome: { status: string } }[] };
      const verified = report.clients.filter((c) => c.outcome.status === 'verified').map((c) => c.path).sort();
      expect(verified).toEqual(manifest.files.map((f) => f.file).sort());
    });

    it('unbind gives back every original byte for byte', () => {
      const out = join(mkdtempSync(join(tmpdir(), 'syslayer-records-')), 'out');
      const r = syslayer('unbind', dir, '-o', out);
      expect(r.status, r.stderr).toBe(0);
      expect(manifest.files.length).toBe(16);
      for (const f of manifest.files) {
        expect(sha256(join(dir, f.file)), `${f.file}: the frozen file changed`).toBe(f.boundSha256);
        expect(sha256(join(out, f.file)), f.file).toBe(f.originalSha256);
      }
    });
  });
});

describe('a record from a newer syslayer', () => {
  const newer = THIS_VERSION + 1;
  const image = mkdtempSync(join(tmpdir(), 'syslayer-future-'));
  const victim = 'x86_64/4.11/bin/abi2-demo';
  cpSync(join(FROZEN, `v${THIS_VERSION}`, victim), join(image, 'abi2-demo'));
  cpSync(join(FROZEN, `v${THIS_VERSION}`, 'x86_64/4.11/bin/abi1-demo'), join(image, 'abi1-demo'));
  const file = join(image, 'abi2-demo');
  const bytes = readFileSync(file);
  const at = recordVersionOffset(file);
  expect(bytes.readUInt32LE(at)).toBe(THIS_VERSION);
  bytes.writeUInt32LE(newer, at);
  writeFileSync(file, bytes);
  const expected = new RegExp(`abi2-demo.*version ${newer}, from a newer syslayer \\(this one reads up to ${THIS_VERSION}\\)`);

  it('is refused by unbind, which writes nothing for it and restores the other file', () => {
    const out = join(mkdtempSync(join(tmpdir(), 'syslayer-future-out-')), 'out');
    const r = syslayer('unbind', image, '-o', out);
    expect(r.status).toBe(1);
    expect(r.stderr + r.stdout).toMatch(expected);
    expect(sha256(join(out, 'abi2-demo'))).toBe(sha256(file)); // passed through untouched, never "restored"
    expect(sha256(join(out, 'abi1-demo'))).toBe(sha256(join(ROOT, 'sdk/prebuilt/x86_64/bin/abi1-demo')));
  });

  it('is refused by verify', () => {
    const r = syslayer('verify', image);
    expect(r.status).toBe(1);
    expect(r.stderr + r.stdout).toMatch(expected);
  });

  it('is refused by bind, which leaves the file as it was', () => {
    const before = sha256(file);
    const r = syslayer('bind', '--in-place', image, '--kernel', '4.11', '--layers', join(ROOT, 'sdk/prebuilt/x86_64/layers'));
    expect(r.status).toBe(1);
    expect(r.stderr + r.stdout).toMatch(expected);
    expect(sha256(file)).toBe(before);
    expect(existsSync(file)).toBe(true);
  });
});

// Hostile and truncated files: single-field corruptions and truncations of real corpus files, and
// seeded random byte flips. Every variant must come back from one pooled scan as a clean per-file
// error or with correct facts, and the pool must survive. An error's offset must be the one the
// generator names for the variant (tests/corrupt/mutations.ts: the corrupted field, or the end of
// the file or region where the bytes ran out), never one parsed back from our own message.
import { describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { scanJson, syslayer, type ScanJsonFile } from './helpers/cli.js';
import { CORPUS_DIR, corpusFiles } from './corpus.js';
import { mutationsOf } from './corrupt/mutations.js';
import { readelf } from './oracle/readelf.mjs';
import { prng } from './helpers/prng.js';

const FACT_FIELDS = ['class', 'endian', 'machine', 'type', 'interpreter', 'soname', 'needed', 'rpath', 'runpath', 'buildId', 'abiTag'];
const facts = (f: ScanJsonFile) => Object.fromEntries(FACT_FIELDS.map((k) => [k, f[k]]));

const pick = (o: Record<string, unknown>, keys: string[]) => Object.fromEntries(keys.map((k) => [k, o[k]]));

function readelfOrNull(path: string) {
  try {
    return readelf(path);
  } catch {
    return null;
  }
}

// The release and debug runs flip the same bytes (same seed): readelf reads each variant once.
const readelfOfFlip = new Map<string, ReturnType<typeof readelfOrNull>>();
function readelfOfBytes(path: string) {
  const key = createHash('sha256').update(readFileSync(path)).digest('hex');
  if (!readelfOfFlip.has(key)) readelfOfFlip.set(key, readelfOrNull(path));
  return readelfOfFlip.get(key)!;
}

// One program and one library per architecture keeps the variant count near a thousand.
const originals = corpusFiles().filter((f, i, all) => ['pie-exe', 'shlib', 'exe', 'static-exe', 'static-pie'].includes(f.kind) &&
  all.findIndex((g) => g.arch === f.arch && g.kind === f.kind) === i);

describe.each([
  ['release core', '0'],
  ['debug core (assertions on)', '1'],
])('corrupt files through the %s', (_label, debug) => {
  it('give a clean per-file error or correct facts, and never crash the pool', () => {
    const image = mkdtempSync(join(tmpdir(), 'syslayer-corrupt-'));
    const expected = new Map<string, { original: string; name: string; errorOffset: number }>();
    for (const o of originals) {
      const path = join(CORPUS_DIR, o.file);
      const bytes = readFileSync(path);
      const variants = mutationsOf(path, bytes);
      expect(variants.length, `${o.file}: no mutations generated`).toBeGreaterThan(20);
      variants.forEach((v, i) => {
        const name = `${o.arch}-${o.kind}-${i}`;
        writeFileSync(join(image, name), v.bytes);
        expected.set(name, { original: o.file, name: v.name, errorOffset: v.errorOffset });
      });
    }
    process.env.SYSLAYER_CORE_DEBUG = debug;
    const { report } = scanJson(image);
    const { report: clean } = scanJson(CORPUS_DIR);
    delete process.env.SYSLAYER_CORE_DEBUG;
    const cleanFacts = new Map(clean.files.map((f) => [f.path, facts(f)]));
    const byPath = new Map(report.files.map((f) => [f.path, f]));
    let errors = 0;
    for (const [name, { original, name: mutation, errorOffset }] of expected) {
      const got = byPath.get(name);
      const what = `${name} (${original}, ${mutation})`;
      if (got === undefined) {
        // Only a cut before the magic number is not an ELF file any more.
        expect(mutation, `${what}: missing from the report`).toMatch(/^truncated at [0-3]$/);
        continue;
      }
      if (got.error !== undefined) {
        errors++;
        // One line, lower case or a field's own name first, no trailing period (STYLE.md).
        expect(got.error, what).toMatch(/^([a-z]|[A-Z][A-Z_]+\b)/);
        expect(got.error, what).not.toMatch(/\n|internal error|\.$/);
        expect({ what, error: got.error, errorOffset: got.errorOffset }).toEqual({ what, error: got.error, errorOffset });
        continue;
      }
      // A cut file whose section headers were at its end cannot scan cleanly.
      expect(mutation, `${what}: scanned without error`).not.toMatch(/^truncated at/);
      const ours = facts(got);
      if (JSON.stringify(ours) === JSON.stringify(cleanFacts.get(original))) continue;
      // Facts that differ from the original must be what readelf itself reads in the variant.
      const theirs = readelfOrNull(join(image, name));
      expect(theirs, `${what}: facts changed and readelf cannot read the file`).not.toBeNull();
      expect({ what, ...ours }).toEqual({ what, ...Object.fromEntries(FACT_FIELDS.map((k) => [k, (theirs as unknown as Record<string, unknown>)[k]])) });
    }
    expect(errors).toBeGreaterThan(expected.size / 4);
  });

  it('survive seeded random byte flips', () => {
    const image = mkdtempSync(join(tmpdir(), 'syslayer-flips-'));
    const random = prng(0x5eed);
    let count = 0;
    for (const o of originals) {
      const bytes = readFileSync(join(CORPUS_DIR, o.file));
      for (let k = 0; k < 40; k++) {
        const copy = Buffer.from(bytes);
        // Flip bytes in the first 4 KiB (headers, notes, dynamic strings) where parsing happens.
        for (let n = 0; n < 4; n++) copy[Math.floor(random() * Math.min(4096, copy.length))]! ^= 1 + Math.floor(random() * 255);
        copy[0] = 0x7f; copy[1] = 0x45; copy[2] = 0x4c; copy[3] = 0x46;
        writeFileSync(join(image, `flip-${count++}`), copy);
      }
    }
    process.env.SYSLAYER_CORE_DEBUG = debug;
    const r = syslayer('scan', '--json', image);
    delete process.env.SYSLAYER_CORE_DEBUG;
    expect([0, 1], r.stderr).toContain(r.status);
    const report = JSON.parse(r.stdout) as { files: ScanJsonFile[] };
    expect(report.files.length).toBe(count);
    // Judged against readelf on the same flipped file: a file we read cleanly must give readelf's
    // facts (and so must be one readelf can read); an error must point inside the file, at most at
    // its end (where a range that runs out is reported).
    let clean = 0;
    const problems: unknown[] = [];
    for (const f of report.files) {
      const path = join(image, f.path);
      if (f.error !== undefined) {
        const length = statSync(path).size;
        const offset = f.errorOffset;
        if (typeof offset !== 'number' || offset < 0 || offset > length) problems.push({ path: f.path, error: f.error, offset, length });
        continue;
      }
      clean++;
      const theirs = readelfOfBytes(path);
      if (theirs === null) {
        problems.push({ path: f.path, problem: 'scanned without error but readelf cannot read it' });
        continue;
      }
      const ours = facts(f);
      const differ = FACT_FIELDS.filter((k) => JSON.stringify(ours[k]) !== JSON.stringify((theirs as unknown as Record<string, unknown>)[k]));
      if (differ.length > 0) problems.push({ path: f.path, ours: pick(ours, differ), readelf: pick(theirs as unknown as Record<string, unknown>, differ) });
    }
    expect(problems).toEqual([]);
    // Four flips in the headers do not wreck every file: the comparison above must have run.
    expect(clean).toBeGreaterThan(count / 4);
  });
});

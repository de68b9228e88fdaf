// `syslayer scan` agrees with GNU readelf, field by field, on real Debian binaries of seven
// architectures (the committed corpus) and on a sample of this machine's own binaries; and it
// reports the same whether reader threads take part or not.
import { describe, expect, it } from 'vitest';
import { mkdtempSync, readdirSync, lstatSync, copyFileSync, mkdirSync, writeFileSync, cpSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { readelf } from './oracle/readelf.mjs';
import { scanJson, syslayer, type ScanJsonFile } from './helpers/cli.js';
import { CORPUS_DIR, corpusFiles } from './corpus.js';
import { DF_TABLE, DF_1_TABLE } from '../src/elf/generated/elf.js';

function flagNames(table: ReadonlyMap<number, string>, prefix: string, value: unknown): string[] | null {
  if (value === null || value === undefined) return null;
  return [...table].filter(([bit]) => ((value as number) & bit) !== 0).map(([, n]) => n.slice(prefix.length));
}

/** True when readelf reads the file without failing. */
function readelfReads(path: string): boolean {
  try {
    readelf(path);
    return true;
  } catch {
    return false;
  }
}

function expectAgreement(image: string, file: ScanJsonFile): void {
  const o = readelf(join(image, file.path));
  const ours = {
    class: file.class, endian: file.endian, osabi: file.osabi, type: file.type, machine: file.machine,
    entry: file.entry, flags: file.flags, phnum: file.phnum, shnum: file.shnum,
    interpreter: file.interpreter, needed: file.needed, soname: file.soname, rpath: file.rpath,
    runpath: file.runpath, buildId: file.buildId, abiTag: file.abiTag,
    dtFlags: flagNames(DF_TABLE, 'DF_', file.dtFlags),
    dtFlags1: flagNames(DF_1_TABLE, 'DF_1_', file.dtFlags1),
  };
  const theirs = { ...o, dtFlags: o.dtFlags?.sort() ?? null, dtFlags1: o.dtFlags1?.sort() ?? null };
  ours.dtFlags?.sort();
  ours.dtFlags1?.sort();
  expect({ path: file.path, ...ours }).toEqual({ path: file.path, ...theirs });
}

describe('scan agrees with readelf', () => {
  it('on every file of the multi-architecture corpus', () => {
    const manifest = corpusFiles();
    const { status, report } = scanJson(CORPUS_DIR);
    expect(status).toBe(0);
    const byPath = new Map(report.files.map((f) => [f.path, f]));
    // One ELF file per manifest row, and nothing else the scan calls a file.
    expect(report.files.map((f) => f.path).sort()).toEqual(manifest.map((e) => e.file).sort());
    const arches = new Set<string>();
    for (const entry of manifest) {
      const file = byPath.get(entry.file);
      expect(file, `scan reported nothing for ${entry.file}`).toBeDefined();
      expect(file!.error, `${entry.file}: ${file!.error}`).toBeUndefined();
      expectAgreement(CORPUS_DIR, file!);
      arches.add(entry.arch);
    }
    for (const arch of ['amd64', 'arm64', 'armhf', 'i386', 's390x', 'ppc64el', 'mips64el']) expect(arches).toContain(arch);
  });

  it("on a sample of this machine's own programs and libraries", () => {
    const image = mkdtempSync(join(tmpdir(), 'syslayer-host-'));
    let copied = 0;
    for (const dir of ['/usr/bin', '/usr/lib/x86_64-linux-gnu', '/usr/sbin']) {
      const names = readdirSync(dir).sort();
      // Every seventh file: a spread over the directory that is the same on every run.
      for (let i = 0; i < names.length; i += 7) {
        const src = join(dir, names[i]!);
        const st = lstatSync(src);
        if (!st.isFile() || st.size > 8 * 1024 * 1024) continue;
        mkdirSync(join(image, dir), { recursive: true });
        copyFileSync(src, join(image, dir, names[i]!));
        copied++;
      }
    }
    const { report } = scanJson(image);
    const elf = report.files.filter((f) => f.error === undefined);
    // How many of the host's files are ELF depends on the host; a sample this small is no test.
    expect(copied).toBeGreaterThan(50);
    expect(elf.length).toBeGreaterThan(20);
    for (const file of elf) expectAgreement(image, file);
    // A file we could not read must be one readelf cannot read either: an error is not a way out
    // of the comparison.
    const refused = report.files.filter((f) => f.error !== undefined && readelfReads(join(image, f.path)));
    expect(refused.map((f) => `${f.path}: ${f.error}`)).toEqual([]);
  });
});

// Reader threads (src/classify/reader-threads.ts) read beside the main thread: on request, and
// (on more than two cores) on their own once a walk has found 16,384 files. Whichever thread
// reads a file, the report is the one the main thread alone makes, byte for byte; the readelf
// agreement above holds for it.
describe('scan reports alike whichever threads read the files', () => {
  it('with reader threads asked for, on the corpus', () => {
    const alone = syslayer('scan', '--json', '--threads', '0', CORPUS_DIR);
    expect(alone.status, alone.stderr).toBe(0);
    for (const threads of ['1', '2']) {
      const shared = syslayer('scan', '--json', '--threads', threads, CORPUS_DIR);
      expect(shared.status, shared.stderr).toBe(0);
      expect(shared.stdout, `--threads ${threads}`).toBe(alone.stdout);
    }
  });

  it('with the readers a large tree starts on its own (on more than two cores)', () => {
    const image = mkdtempSync(join(tmpdir(), 'syslayer-large-'));
    // 17,000 small files in 170 directories, then the corpus's ELF files after them in the walk's
    // order of discovery (a directory of its own), so that readers are running when they are read.
    for (let d = 0; d < 170; d++) {
      const dir = join(image, 'data', `d${d}`);
      mkdirSync(dir, { recursive: true });
      for (let f = 0; f < 100; f++) writeFileSync(join(dir, `f${f}`), `${d}/${f}\n`);
    }
    cpSync(CORPUS_DIR, join(image, 'corpus'), { recursive: true });
    try {
      const alone = syslayer('scan', '--json', '--threads', '0', image);
      expect(alone.status, alone.stderr).toBe(0);
      const report = JSON.parse(alone.stdout) as { counts: { files: number; elf: number } };
      // 170 * 100 data files, then the corpus: its ELF files (one per manifest row) and the rest.
      const corpusAll = readdirSync(CORPUS_DIR, { recursive: true }).filter((p) => lstatSync(join(CORPUS_DIR, String(p))).isFile()).length;
      expect(report.counts.files).toBe(170 * 100 + corpusAll);
      expect(report.counts.elf).toBe(corpusFiles().length);
      const shared = syslayer('scan', '--json', '--perf', image);
      expect(shared.status, shared.stderr).toBe(0);
      if (availableParallelism() > 2) expect(shared.stderr).toMatch(/start readers/);
      expect(shared.stdout).toBe(alone.stdout);
    } finally {
      rmSync(image, { recursive: true, force: true });
    }
  });
});

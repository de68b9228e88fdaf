#!/usr/bin/env node
// Validates `syslayer scan --json` on a whole root file system against oracles nobody here wrote:
//   1. GNU readelf (-W -h -l -d -n) for the header/dynamic/note facts of EVERY ELF file;
//   2. our own file-system walk (ELF magic on regular files) for the set of ELF files scan reports;
//   3. glibc's ldd, run inside the rootfs with chroot, for the dependency closure of programs.
//
//   node scripts/check-rootfs.mjs [rootfs]         (default /work/cache/rootfs-bookworm)
//
// Needs root (chroot), readelf on the host, and a built dist/ (`npm run build`).
// Environment: CHECK_ROOTFS_JOBS (concurrent child processes, default 4),
//              CHECK_ROOTFS_DIFFS (diffs printed, default 20),
//              CHECK_ROOTFS_OUT (optional path: every diff is written there as JSON),
//              CHECK_ROOTFS_LDD_ALL=1 (run ldd on every ELF object scan gave a closure, libraries
//              and plugins included, not only on the programs),
//              CHECK_ROOTFS_SCAN_JSON (optional path: use this saved scan output instead of running
//              scan; for checking the checker itself with a doctored report).
// Exits 1 when anything disagrees, 0 otherwise.
import { spawn } from 'node:child_process';
import { opendir, lstat, open, readFile, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { performance } from 'node:perf_hooks';
import { parseReadelf, READELF_ARGS } from '../tests/oracle/readelf.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const rootfs = resolve(process.argv[2] ?? '/work/cache/rootfs-bookworm');
const JOBS = Number(process.env.CHECK_ROOTFS_JOBS ?? 4);
const SHOW = Number(process.env.CHECK_ROOTFS_DIFFS ?? 20);
const ENV_C = { ...process.env, LC_ALL: 'C', LANG: 'C' };

// The bit names come from the generated constants (data/elf-constants.json), not from scan output.
const { DF_TABLE, DF_1_TABLE } = await import(pathToFileURL(join(ROOT, 'dist/src/elf/generated/elf.js')).href);

// ---------------------------------------------------------------------------------------------
// Child processes

/** Runs a command; resolves with { code, stdout, stderr, ms } (never rejects on exit status). */
function run(cmd, args, { maxBuffer = 512 * 1024 * 1024 } = {}) {
  return new Promise((resolvePromise, reject) => {
    const t0 = performance.now();
    const child = spawn(cmd, args, { env: ENV_C, stdio: ['ignore', 'pipe', 'pipe'] });
    const out = [];
    const err = [];
    let size = 0;
    child.stdout.on('data', (b) => {
      size += b.length;
      if (size > maxBuffer) child.kill();
      out.push(b);
    });
    child.stderr.on('data', (b) => err.push(b));
    child.on('error', reject);
    child.on('close', (code, signal) =>
      resolvePromise({
        code: code ?? -1,
        signal,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
        ms: performance.now() - t0,
      }),
    );
  });
}

/** Maps items through an async function with at most `limit` in flight; keeps input order. */
async function pool(items, limit, fn) {
  const results = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      try {
        results[i] = { ok: true, value: await fn(items[i], i) };
      } catch (error) {
        results[i] = { ok: false, error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  return results;
}

// ---------------------------------------------------------------------------------------------
// Oracle 1: GNU readelf, parsed by the tests' own oracle (tests/oracle/readelf.mjs).

async function readelf(path) {
  const r = await run('readelf', [...READELF_ARGS, path], { maxBuffer: 64 * 1024 * 1024 });
  if (r.code !== 0) throw new Error(`readelf exited ${r.code} for ${path}: ${r.stderr.trim()}`);
  return parseReadelf(r.stdout, path);
}

// ---------------------------------------------------------------------------------------------
// Comparison of one scan record with readelf's facts (the same normalisation as
// tests/scan-readelf.test.ts, plus: bits scan reports that the table does not name are kept, as
// hex, so that they cannot silently vanish from the comparison).

function flagNames(table, prefix, value) {
  if (value === null || value === undefined) return null;
  if (typeof value !== 'number') return [`<not a number: ${JSON.stringify(value)}>`];
  let rest = value >>> 0;
  const names = [];
  for (const [bit, name] of table) {
    if ((value & bit) !== 0) {
      names.push(name.slice(prefix.length));
      rest &= ~bit >>> 0;
    }
  }
  if (rest !== 0) names.push(`0x${rest.toString(16)}`);
  return names.sort();
}

const FIELDS = ['class', 'endian', 'osabi', 'type', 'machine', 'entry', 'flags', 'phnum', 'shnum', 'interpreter',
  'needed', 'soname', 'rpath', 'runpath', 'buildId', 'abiTag', 'dtFlags', 'dtFlags1'];

function canon(field, v) {
  if (v === undefined) return '<absent>';
  if (field === 'abiTag' && v && typeof v === 'object') return JSON.stringify({ os: v.os, version: v.version });
  return JSON.stringify(v);
}

function compareFacts(file, o) {
  const ours = { ...file, dtFlags: flagNames(DF_TABLE, 'DF_', file.dtFlags), dtFlags1: flagNames(DF_1_TABLE, 'DF_1_', file.dtFlags1) };
  const theirs = { ...o, dtFlags: o.dtFlags ? [...o.dtFlags].sort() : null, dtFlags1: o.dtFlags1 ? [...o.dtFlags1].sort() : null };
  const diffs = [];
  for (const f of FIELDS) {
    const a = canon(f, ours[f]);
    const b = canon(f, theirs[f]);
    if (a !== b) diffs.push({ path: file.path, field: f, scan: a, oracle: b });
  }
  return diffs;
}

// ---------------------------------------------------------------------------------------------
// Oracle 2: our own walk of the tree. Regular files (lstat, symlinks not followed) starting with
// the four bytes 0x7f 'E' 'L' 'F'.

async function findElfFiles(root) {
  const elf = [];
  let regular = 0;
  const unreadable = [];
  const dirs = [''];
  while (dirs.length > 0) {
    const rel = dirs.pop();
    let handle;
    try {
      handle = await opendir(join(root, rel));
    } catch (error) {
      unreadable.push({ path: rel, error: error.message });
      continue;
    }
    for await (const d of handle) {
      const p = rel === '' ? d.name : `${rel}/${d.name}`;
      const st = await lstat(join(root, p));
      if (st.isDirectory()) dirs.push(p);
      else if (st.isFile()) {
        regular++;
        if (st.size < 4) continue;
        let fh;
        try {
          fh = await open(join(root, p), 'r');
          const buf = Buffer.alloc(4);
          const { bytesRead } = await fh.read(buf, 0, 4, 0);
          if (bytesRead === 4 && buf[0] === 0x7f && buf[1] === 0x45 && buf[2] === 0x4c && buf[3] === 0x46) elf.push(p);
        } catch (error) {
          unreadable.push({ path: p, error: error.message });
        } finally {
          await fh?.close();
        }
      }
    }
  }
  return { elf: elf.sort(), regular, unreadable };
}

// ---------------------------------------------------------------------------------------------
// Oracle 3: ldd inside the rootfs.

/**
 * Parses ldd's output. ldd prints `name => /path (0x...)`, `name => not found`, the vDSO
 * (`linux-vdso.so.1 (0x...)`, no slash) and the interpreter (`/lib64/ld-linux-x86-64.so.2 (0x...)`,
 * an absolute path without `=>`).
 */
function parseLdd(text) {
  const libs = [];
  const missing = [];
  const interpreters = [];
  const other = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '') continue;
    let m;
    if ((m = /^(\S+) => not found$/.exec(line))) missing.push(m[1]);
    else if ((m = /^(\S+) => (\/\S*) \(0x[0-9a-f]+\)$/.exec(line))) libs.push({ name: m[1], path: m[2] });
    else if ((m = /^(\/\S*) \(0x[0-9a-f]+\)$/.exec(line))) interpreters.push(m[1]);
    else if (/^\S+ \(0x[0-9a-f]+\)$/.test(line)) continue; // linux-vdso.so.1 / linux-gate.so.1
    else other.push(line);
  }
  return { libs, missing, interpreters, other };
}

/** Canonical, rootfs-relative paths, resolved by the rootfs's own readlink -f (symlinks inside the image). */
async function canonicalize(paths) {
  const unique = [...new Set(paths)];
  const map = new Map();
  for (let i = 0; i < unique.length; i += 200) {
    const chunk = unique.slice(i, i + 200);
    const r = await run('chroot', [rootfs, '/usr/bin/readlink', '-f', '--', ...chunk]);
    const lines = r.stdout.split('\n').slice(0, -1);
    if (r.code !== 0 || lines.length !== chunk.length) {
      // Fall back to one call per path, so that a single bad path does not lose the others.
      for (const p of chunk) {
        const one = await run('chroot', [rootfs, '/usr/bin/readlink', '-f', '--', p]);
        map.set(p, one.code === 0 ? one.stdout.trim().replace(/^\/+/, '') : `<unresolvable ${p}>`);
      }
    } else chunk.forEach((p, j) => map.set(p, lines[j].replace(/^\/+/, '')));
  }
  return map;
}

const setDiff = (a, b) => [...a].filter((x) => !b.has(x)).sort();

// ---------------------------------------------------------------------------------------------

function fmt(v) {
  return typeof v === 'string' && v.length > 200 ? `${v.slice(0, 200)}…` : v;
}

async function main() {
  console.log(`rootfs: ${rootfs}`);

  // 1. scan
  const scanCmd = [join(ROOT, 'bin', 'syslayer.js'), 'scan', '--json', rootfs];
  const scanRun = process.env.CHECK_ROOTFS_SCAN_JSON
    ? { code: 0, ms: 0, stdout: await readFile(process.env.CHECK_ROOTFS_SCAN_JSON, 'utf8'), stderr: '' }
    : await run(process.execPath, scanCmd);
  if (scanRun.code !== 0 && scanRun.code !== 1) {
    console.error(`scan exited ${scanRun.code}${scanRun.signal ? ` (${scanRun.signal})` : ''}:\n${scanRun.stderr}`);
    return 2;
  }
  const report = JSON.parse(scanRun.stdout);
  console.log(`scan: exit ${scanRun.code}, ${(scanRun.ms / 1000).toFixed(2)} s wall, ${report.files.length} records, counts ${JSON.stringify(report.counts)}`);

  const records = new Map();
  const dupRecords = [];
  for (const f of report.files) {
    if (records.has(f.path)) dupRecords.push(f.path);
    records.set(f.path, f);
  }
  const errorRecords = report.files.filter((f) => f.error !== undefined);
  const scanElf = new Set(report.files.filter((f) => f.error === undefined).map((f) => f.path));

  // 2a. set of ELF files
  const walk = await findElfFiles(rootfs);
  const fsElf = new Set(walk.elf);
  const onlyFs = setDiff(fsElf, scanElf);
  const onlyScan = setDiff(scanElf, fsElf);
  console.log(`walk: ${walk.regular} regular files, ${fsElf.size} start with ELF magic, ${walk.unreadable.length} unreadable`);

  // 2b. readelf on every ELF file (those we found and those scan found)
  const all = [...new Set([...fsElf, ...scanElf])].sort();
  const oracle = await pool(all, JOBS, (p) => readelf(join(rootfs, p)));
  const factDiffs = [];
  const oracleErrors = [];
  const oracleByPath = new Map();
  let compared = 0;
  all.forEach((p, i) => {
    const res = oracle[i];
    if (!res.ok) {
      oracleErrors.push({ path: p, error: res.error.message });
      return;
    }
    oracleByPath.set(p, res.value);
    const rec = records.get(p);
    if (!rec) return; // counted in onlyFs
    if (rec.error !== undefined) {
      factDiffs.push({ path: p, field: 'error', scan: rec.error, oracle: 'readelf reads it' });
      return;
    }
    compared++;
    factDiffs.push(...compareFacts(rec, res.value));
  });

  // 3. ldd
  const isProgramDir = (p) => p.startsWith('usr/bin/') || p.startsWith('usr/sbin/') || p.startsWith('usr/lib/systemd/');
  const programs = process.env.CHECK_ROOTFS_LDD_ALL
    ? all.filter((p) => records.get(p)?.closure && (oracleByPath.get(p)?.interpreter || oracleByPath.get(p)?.needed.length))
    : all.filter((p) => isProgramDir(p) && oracleByPath.get(p)?.interpreter);
  const lddRuns = await pool(programs, JOBS, async (p) => {
    const r = await run('chroot', [rootfs, '/usr/bin/ldd', `/${p}`]);
    return { ...parseLdd(r.stdout), code: r.code, stderr: r.stderr };
  });
  const toResolve = [];
  for (const r of lddRuns) if (r.ok) toResolve.push(...r.value.libs.map((l) => l.path), ...r.value.interpreters);
  const canonical = await canonicalize(toResolve);
  const lddDiffs = [];
  let lddChecked = 0;
  programs.forEach((p, i) => {
    const r = lddRuns[i];
    if (!r.ok) {
      lddDiffs.push({ path: p, field: 'ldd', scan: '', oracle: `ldd failed: ${r.error.message}` });
      return;
    }
    const l = r.value;
    if (l.other.length > 0 || (l.code !== 0 && l.missing.length === 0)) {
      lddDiffs.push({ path: p, field: 'ldd-output', scan: '', oracle: `exit ${l.code}; unparsed: ${JSON.stringify(l.other)} ${l.stderr.trim()}` });
      return;
    }
    lddChecked++;
    const rec = records.get(p);
    const closure = rec?.closure;
    if (!closure) {
      lddDiffs.push({ path: p, field: 'closure', scan: rec ? JSON.stringify(closure) : '<no record>', oracle: `${l.libs.length} libraries` });
      return;
    }
    // ldd prints the interpreter once, without `=>`, even when a library (libc) names it in
    // DT_NEEDED: the dynamic loader is already loaded. Scan lists it in `resolved` as libc's
    // dependency, so the interpreter's canonical path is set aside on both sides and compared
    // on its own.
    const lddInterp = l.interpreters.map((x) => canonical.get(x));
    const interp = lddInterp[0] ?? null;
    // (A library without PT_INTERP has no interpreter of its own; ldd still prints its loader.)
    const hasInterp = oracleByPath.get(p)?.interpreter != null;
    if (hasInterp && (lddInterp.length !== 1 || interp !== closure.interpreter))
      lddDiffs.push({ path: p, field: 'closure.interpreter', scan: JSON.stringify(closure.interpreter), oracle: JSON.stringify(lddInterp) });
    const theirs = new Set(l.libs.map((x) => canonical.get(x.path)).filter((x) => x !== interp));
    const ours = new Set(closure.resolved.map((x) => x.path).filter((x) => x !== interp));
    const extra = setDiff(ours, theirs);
    const lacking = setDiff(theirs, ours);
    if (extra.length || lacking.length)
      lddDiffs.push({ path: p, field: 'closure.resolved', scan: `only scan: ${JSON.stringify(extra)}`, oracle: `only ldd: ${JSON.stringify(lacking)}` });
    const missTheirs = new Set(l.missing);
    const missOurs = new Set(closure.missing.map((x) => x.name));
    const mExtra = setDiff(missOurs, missTheirs);
    const mLacking = setDiff(missTheirs, missOurs);
    if (mExtra.length || mLacking.length)
      lddDiffs.push({ path: p, field: 'closure.missing', scan: `only scan: ${JSON.stringify(mExtra)}`, oracle: `only ldd: ${JSON.stringify(mLacking)}` });
  });

  // 4. summary
  const setDiffs = [
    ...onlyFs.map((p) => ({ path: p, field: 'elf-set', scan: 'not reported', oracle: 'regular file with ELF magic' })),
    ...onlyScan.map((p) => ({ path: p, field: 'elf-set', scan: 'reported as ELF', oracle: 'no ELF magic / not a regular file' })),
    ...dupRecords.map((p) => ({ path: p, field: 'elf-set', scan: 'reported twice', oracle: 'one file' })),
    ...errorRecords.filter((f) => !fsElf.has(f.path)).map((f) => ({ path: f.path, field: 'error', scan: f.error, oracle: '(not an ELF file)' })),
  ];
  const oracleDiffs = oracleErrors.map((e) => ({ path: e.path, field: 'oracle', scan: '', oracle: e.error }));
  const elfDiffs = [...setDiffs, ...oracleDiffs, ...factDiffs];

  const byField = (diffs) => {
    const c = {};
    for (const d of diffs) c[d.field] = (c[d.field] ?? 0) + 1;
    return c;
  };
  const files = (diffs) => new Set(diffs.map((d) => d.path)).size;
  const show = (diffs) => {
    for (const d of diffs.slice(0, SHOW)) console.log(`  ${d.path}  [${d.field}]\n      scan:   ${fmt(d.scan)}\n      oracle: ${fmt(d.oracle)}`);
    if (diffs.length > SHOW) console.log(`  … ${diffs.length - SHOW} more`);
  };

  console.log('');
  console.log(`ELF set: walk ${fsElf.size}, scan ${scanElf.size}; only walk ${onlyFs.length}, only scan ${onlyScan.length}, duplicate records ${dupRecords.length}, error records ${errorRecords.length}`);
  console.log(`readelf: ${compared} ELF files compared, ${oracleErrors.length} oracle failures`);
  console.log(`ELF mismatches: ${files(elfDiffs)} files, ${elfDiffs.length} field diffs ${JSON.stringify(byField(elfDiffs))}`);
  show(elfDiffs);
  console.log('');
  console.log(`ldd: ${programs.length} ${process.env.CHECK_ROOTFS_LDD_ALL ? 'objects with a closure' : 'programs with an interpreter'}, ${lddChecked} checked`);
  console.log(`ldd mismatches: ${files(lddDiffs)} programs, ${lddDiffs.length} diffs ${JSON.stringify(byField(lddDiffs))}`);
  show(lddDiffs);

  if (process.env.CHECK_ROOTFS_OUT) {
    await writeFile(process.env.CHECK_ROOTFS_OUT, JSON.stringify({ elfDiffs, lddDiffs }, null, 2));
    console.log(`\nall diffs written to ${process.env.CHECK_ROOTFS_OUT}`);
  }
  const bad = elfDiffs.length + lddDiffs.length;
  console.log(`\n${bad === 0 ? 'OK' : 'FAIL'}: scan wall time ${(scanRun.ms / 1000).toFixed(2)} s`);
  return bad === 0 ? 0 : 1;
}

process.exitCode = await main();

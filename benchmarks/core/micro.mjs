#!/usr/bin/env node
// Micro-benchmark of the core (issue 5): the AssemblyScript core against a plain JavaScript
// DataView reader (dataview-reader.mjs) computing the same facts, on ELF files already in memory,
// in one process. No I/O is timed.
//
//   node benchmarks/core/micro.mjs [--rounds N] [--warmup N] [--rootfs DIR | --no-rootfs]
//                                  [--fuzz N] [--seed S] [--out FILE] [--no-write]
//
// Files: every ELF file (by magic) of corpus/*/* and of the Debian rootfs (default
// /work/cache/rootfs-bookworm, or $SYSLAYER_CACHE/rootfs-bookworm, when present; symlinks not
// followed), read once into Buffers. Both readers must agree on every file (deep equality of
// what scanLoaded returns); the sample images under build/ (syslayer clients and layers), the
// same files with their section headers removed (notes from PT_NOTE) and --fuzz mutated files
// (truncated or with header bytes changed) are checked too but not timed, as are the corpus's
// ELF32 files turned big-endian (the corpus has no big-endian ELF32 file).
//
// Timed, per round, in an order that rotates from round to round (gc() before each pass):
//   as:full        core.loadBytes + core.scanLoaded per file: copy into WASM memory, scan, decode
//                  the record into JS objects. What a user of Core pays. Public API.
//   ts:full        readElf(buffer) per file.
//   as:copy        core.loadBytes alone (public). as:full - as:copy, taken in the same round, is
//                  scanLoaded on bytes already in WASM memory (scan + decode).
//   as:copy+scan   loadBytes + the wasm `scan` export, no decode. Diagnostic: reaches Core's
//                  TypeScript-private `exports` (not public API). It splits scanLoaded into the
//                  wasm scan ((copy+scan) - copy) and decodeScanRecord (full - (copy+scan)).
//   as:chunked     diagnostic: Core.scanFile's loop on a Buffer: the first 64 KiB, then only the
//                  chunks the core asks for (loadingInChunks/chunksLoaded), then the decode.
//   as:per-call    public, per call timed: loadBytes | scanLoaded.
//   as:split       diagnostic, per call timed: loadBytes untimed, then wasm scan | decodeScanRecord.
//   ts:per-call    readElf per call timed.
// Aggregate passes are reported as the median of round totals. Per-call passes are reported as the
// sum over files of each file's median time over the rounds, minus the measured cost of one
// performance.now() interval: on a busy machine one preempted call or GC pause moves that little,
// while same-round differences of aggregate totals carry the noise of both totals.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import v8 from 'node:v8';
import vm from 'node:vm';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { isDeepStrictEqual } from 'node:util';
import { performance } from 'node:perf_hooks';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const REPO = path.resolve(HERE, '..', '..');
if (!fs.existsSync(path.join(REPO, 'dist', 'src', 'core', 'core.js'))) {
  console.error('dist/ is missing: run `npm run build` first');
  process.exit(2);
}
const { Core, compileCore, corePath } = await import(path.join(REPO, 'dist/src/core/core.js'));
const { decodeScanRecord } = await import(path.join(REPO, 'dist/src/core/scan-record.js'));
const { readElf } = await import(path.join(HERE, 'dataview-reader.mjs'));

// ---- Options -------------------------------------------------------------------------------------
const argv = process.argv.slice(2);
const opts = { rounds: 5, warmup: 2, rootfs: undefined, fuzz: 3000, seed: 1, out: null, write: true };
for (let i = 0; i < argv.length; i++) {
  const a = argv[i];
  const next = () => {
    if (i + 1 >= argv.length) usage(`${a} needs a value`);
    return argv[++i];
  };
  if (a === '--rounds') opts.rounds = posInt(next(), a);
  else if (a === '--warmup') opts.warmup = posInt(next(), a, true);
  else if (a === '--rootfs') opts.rootfs = next();
  else if (a === '--no-rootfs') opts.rootfs = null;
  else if (a === '--fuzz') opts.fuzz = posInt(next(), a, true);
  else if (a === '--seed') opts.seed = posInt(next(), a, true);
  else if (a === '--out') opts.out = next();
  else if (a === '--no-write') opts.write = false;
  else if (a === '-h' || a === '--help') usage();
  else usage(`unknown argument ${a}`);
}
function usage(msg) {
  if (msg) console.error(msg);
  console.error('usage: node benchmarks/core/micro.mjs [--rounds N] [--warmup N] [--rootfs DIR | --no-rootfs] [--fuzz N] [--seed S] [--out FILE] [--no-write]');
  process.exit(msg ? 2 : 0);
}
function posInt(s, name, zeroOk = false) {
  const n = Number(s);
  if (!Number.isInteger(n) || n < (zeroOk ? 0 : 1)) usage(`${name}: not a ${zeroOk ? 'non-negative' : 'positive'} integer: ${s}`);
  return n;
}
if (opts.rootfs === undefined) {
  const cache = process.env.SYSLAYER_CACHE;
  const candidates = [cache && path.join(cache, 'rootfs-bookworm'), '/work/cache/rootfs-bookworm'].filter(Boolean);
  opts.rootfs = candidates.find((d) => fs.existsSync(d)) ?? null;
}

const log = (...a) => console.error(...a);
v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc');

// ---- Files -----------------------------------------------------------------------------------------
function isElfFile(p) {
  const fd = fs.openSync(p, 'r');
  try {
    const head = Buffer.alloc(4);
    return fs.readSync(fd, head, 0, 4, 0) === 4 && head[0] === 0x7f && head[1] === 0x45 && head[2] === 0x4c && head[3] === 0x46;
  } finally {
    fs.closeSync(fd);
  }
}
function* walk(dir) {
  const entries = fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const e of entries) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) yield* walk(p);
    else if (e.isFile()) yield p;
  }
}
function corpusFiles() {
  const root = path.join(REPO, 'corpus');
  const out = [];
  for (const d of fs.readdirSync(root, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
    if (!d.isDirectory()) continue;
    for (const f of fs.readdirSync(path.join(root, d.name), { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const p = path.join(root, d.name, f.name);
      if (f.isFile() && isElfFile(p)) out.push(p);
    }
  }
  return out;
}
function treeElfFiles(root) {
  const out = [];
  for (const p of walk(root)) if (isElfFile(p)) out.push(p);
  return out;
}
const load = (paths, set) => paths.map((p) => ({ path: p, set, bytes: fs.readFileSync(p) }));

const core = new Core(compileCore());
const startedAt = new Date();
const loadBefore = os.loadavg();
const build0 = buildHash();

const timed = [...load(corpusFiles(), 'corpus')];
if (opts.rootfs) timed.push(...load(treeElfFiles(opts.rootfs), 'rootfs'));
const totalBytes = timed.reduce((s, f) => s + f.bytes.length, 0);
const perSet = {};
for (const f of timed) {
  perSet[f.set] ??= { files: 0, bytes: 0 };
  perSet[f.set].files++;
  perSet[f.set].bytes += f.bytes.length;
}
log(`files: ${timed.length} ELF files, ${(totalBytes / 1e6).toFixed(1)} MB (${Object.entries(perSet).map(([k, v]) => `${k} ${v.files}`).join(', ')})` +
  (opts.rootfs ? `; rootfs ${opts.rootfs}` : '; no rootfs'));

// ---- Agreement ---------------------------------------------------------------------------------------
const asScan = (bytes) => core.scanLoaded(core.loadBytes(bytes));

/** Paths (a.b[2].c) where two values differ. */
function differences(a, b, at = '') {
  if (isDeepStrictEqual(a, b)) return [];
  if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object' || Array.isArray(a) !== Array.isArray(b)) return [at || '(root)'];
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  return [...keys].flatMap((k) => differences(a[k], b[k], at ? `${at}.${k}` : k));
}
const show = (v) => JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? `${x}n` : x));

/** A hex number in a message that a double cannot hold exactly (>= 2^53). */
const hasHugeHex = (s) => /0x[0-9a-f]{14,}/.test(s ?? '') && [...s.matchAll(/0x([0-9a-f]+)/g)].some((m) => BigInt(`0x${m[1]}`) >= 2n ** 53n);

function compare(label, bytes, where, tally, detailLimit = 10) {
  let a, t;
  try {
    a = asScan(bytes);
  } catch (e) {
    a = { status: 'threw', error: String(e) };
  }
  try {
    t = readElf(bytes);
  } catch (e) {
    t = { status: 'threw', error: String(e?.stack ?? e) };
  }
  tally.files++;
  tally.status[a.status] = (tally.status[a.status] ?? 0) + 1;
  if (a.facts?.syslayer) tally.syslayer++;
  if (a.facts?.syslayer?.refusal) tally.refusals++;
  if (isDeepStrictEqual(a, t)) return;
  // Both fail at the same offset and only a 64-bit value >= 2^53 printed in the message differs: the
  // JavaScript reader's numbers are doubles (see dataview-reader.mjs).
  const numbersOut = (m) => m.replace(/0x[0-9a-f]+|\d+/g, '#');
  const lossy = a.status === 'error' && t.status === 'error' && a.errorOffset === t.errorOffset &&
    numbersOut(a.error) === numbersOut(t.error) && (hasHugeHex(a.error) || /\d{16,}/.test(a.error));
  if (lossy) tally.lossyMessage++;
  else tally.disagree++;
  if (tally.shown < detailLimit && (!lossy || tally.shownLossy++ < 3)) {
    tally.shown++;
    const d = differences(a, t);
    log(`  ${lossy ? 'lossy message' : 'DISAGREE'} ${label} ${where}: ${d.join(', ')}`);
    for (const k of d.slice(0, 4)) {
      const get = (o) => (k === '(root)' ? o : k.split('.').reduce((x, p) => x?.[p], o));
      log(`    core: ${show(get(a)).slice(0, 400)}\n    ts:   ${show(get(t)).slice(0, 400)}`);
    }
  }
}
const newTally = () => ({ files: 0, disagree: 0, lossyMessage: 0, shown: 0, shownLossy: 0, status: {}, syslayer: 0, refusals: 0 });

const agreement = {};
function check(name, items) {
  const tally = newTally();
  for (const it of items) compare(name, it.bytes, it.path, tally);
  agreement[name] = { files: tally.files, disagreements: tally.disagree, lossyMessageOnly: tally.lossyMessage, status: tally.status };
  log(`agreement ${name}: ${tally.files} files, ${tally.disagree} disagreements` +
    (tally.lossyMessage ? `, ${tally.lossyMessage} error messages differing only in a printed value >= 2^53` : '') +
    ` (core statuses: ${Object.entries(tally.status).map(([k, v]) => `${k} ${v}`).join(', ')})`);
}

check('timed files', timed);

const samples = ['build/sample-rootfs', 'build/sample-bound'].map((d) => path.join(REPO, d)).filter((d) => fs.existsSync(d));
const sampleFiles = samples.flatMap((d) => load(treeElfFiles(d), 'sample'));
if (samples.length) check('sample images (syslayer clients, layers)', sampleFiles);

/** The same file without section headers: e_shoff, e_shnum, e_shstrndx zeroed (notes from PT_NOTE). */
function withoutSections(b) {
  const c = Buffer.from(b);
  const dv = new DataView(c.buffer, c.byteOffset, c.byteLength);
  const is64 = c[4] === 2;
  const le = c[5] === 1;
  if (is64) dv.setBigUint64(40, 0n, le);
  else dv.setUint32(32, 0, le);
  dv.setUint16(is64 ? 60 : 48, 0, le);
  dv.setUint16(is64 ? 62 : 50, 0, le);
  return c;
}
const corpusOnly = timed.filter((f) => f.set === 'corpus');
check('corpus without section headers', corpusOnly.map((f) => ({ path: f.path, bytes: withoutSections(f.bytes) })));

/**
 * A little-endian ELF32 file turned big-endian in every structure the readers look at: the ELF
 * header, program and section headers, the dynamic section, note headers and the words of the
 * GNU ABI tag and syslayer notes. (No big-endian ELF32 file is in the corpus.)
 */
function toBigEndian32(b) {
  const c = Buffer.from(b);
  const src = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const dst = new DataView(c.buffer, c.byteOffset, c.byteLength);
  const s16 = (o) => dst.setUint16(o, src.getUint16(o, true), false);
  const s32 = (o) => dst.setUint32(o, src.getUint32(o, true), false);
  c[5] = 2; // ELFDATA2MSB
  for (const o of [16, 18]) s16(o);
  for (const o of [20, 24, 28, 32, 36]) s32(o);
  for (let o = 40; o < 52; o += 2) s16(o);
  const phoff = src.getUint32(28, true), phent = src.getUint16(42, true), phnum = src.getUint16(44, true);
  const shoff = src.getUint32(32, true), shent = src.getUint16(46, true), shnum = src.getUint16(48, true);
  for (let i = 0; i < phnum; i++) for (let k = 0; k < 32; k += 4) s32(phoff + i * phent + k);
  for (let i = 0; i < shnum; i++) for (let k = 0; k < 40; k += 4) s32(shoff + i * shent + k);
  const notes = (off, size) => {
    for (let p = off; p + 12 <= off + size;) {
      const namesz = src.getUint32(p, true), descsz = src.getUint32(p + 4, true), type = src.getUint32(p + 8, true);
      const name = b.toString('latin1', p + 12, p + 12 + namesz);
      const desc = p + 12 + Math.ceil(namesz / 4) * 4;
      s32(p); s32(p + 4); s32(p + 8);
      if ((name === 'GNU\0' && type === 1) || name === 'syslayer\0') for (let k = 0; k + 4 <= Math.min(descsz, 16); k += 4) s32(desc + k);
      p = desc + Math.ceil(descsz / 4) * 4;
    }
  };
  for (let i = 0; i < phnum; i++) {
    const h = phoff + i * phent;
    const type = src.getUint32(h, true), off = src.getUint32(h + 4, true), size = src.getUint32(h + 16, true);
    if (type === 2) for (let p = off; p + 8 <= off + size; p += 4) s32(p);
    if (type === 4 && shnum === 0) notes(off, size);
  }
  for (let i = 0; i < shnum; i++) {
    const h = shoff + i * shent;
    if (src.getUint32(h + 4, true) === 7) notes(src.getUint32(h + 16, true), src.getUint32(h + 20, true));
  }
  return c;
}
const elf32le = corpusOnly.filter((f) => f.bytes[4] === 1 && f.bytes[5] === 1);
const be32 = elf32le.map((f) => ({ path: `${f.path} (as big-endian)`, bytes: toBigEndian32(f.bytes) }));
check('corpus ELF32 turned big-endian', [...be32, ...be32.map((f) => ({ path: `${f.path} (no sections)`, bytes: withoutSections(f.bytes) }))]);

// Mutated files: deterministic (mulberry32 from --seed). Each is a corpus file (or one turned
// big-endian, or without section headers, or a syslayer client or layer of the sample images)
// truncated, or with 1-4 bytes of its ELF header, program headers, section headers, dynamic
// section or notes changed.
function mulberry32(seed) {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
/** Interesting byte ranges of a file: [start, end) of its headers and of what they point at. */
function regions(b) {
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const is64 = b[4] === 2, le = b[5] === 1;
  const w = (o) => (is64 ? Number(dv.getBigUint64(o, le)) : dv.getUint32(o, le));
  const out = [[0, is64 ? 64 : 52]];
  const phoff = w(is64 ? 32 : 28), phent = dv.getUint16(is64 ? 54 : 42, le), phnum = dv.getUint16(is64 ? 56 : 44, le);
  const shoff = w(is64 ? 40 : 32), shent = dv.getUint16(is64 ? 58 : 46, le), shnum = dv.getUint16(is64 ? 60 : 48, le);
  if (phnum) out.push([phoff, phoff + phent * phnum]);
  if (shnum) out.push([shoff, shoff + shent * shnum]);
  for (let i = 0; i < phnum; i++) {
    const p = phoff + i * phent;
    const t = dv.getUint32(p, le);
    if (t === 2 || t === 3 || t === 4) {
      const off = w(p + (is64 ? 8 : 4)), size = w(p + (is64 ? 32 : 16));
      out.push([off, off + Math.min(size, 512)]);
    }
  }
  for (let i = 0; i < shnum; i++) {
    const s = shoff + i * shent;
    const t = dv.getUint32(s + 4, le);
    if (t === 7 || t === 3) {
      const off = w(s + (is64 ? 24 : 16)), size = w(s + (is64 ? 32 : 20));
      out.push([off, off + Math.min(size, 512)]);
    }
  }
  return out.filter(([s, e]) => e > s && e <= b.length);
}
if (opts.fuzz > 0) {
  const rnd = mulberry32(opts.seed);
  const pick = (n) => Math.floor(rnd() * n);
  // The syslayer clients and layers of the sample images exercise the reservation and refusal checks.
  const syslayerSamples = sampleFiles.filter((f) => asScan(f.bytes).facts?.syslayer);
  const bases = [...corpusOnly, ...be32, ...corpusOnly.map((f) => ({ path: `${f.path} (no sections)`, bytes: withoutSections(f.bytes) })), ...syslayerSamples]
    .map((f) => ({ ...f, bytes: Buffer.from(f.bytes), regions: regions(f.bytes) }));
  const tally = newTally();
  for (let n = 0; n < opts.fuzz; n++) {
    const base = bases[pick(bases.length)];
    const b = base.bytes;
    if (rnd() < 0.2) {
      const len = rnd() < 0.5 ? pick(Math.min(b.length, 4096)) : pick(b.length);
      compare('fuzz', b.subarray(0, len), `${base.path} truncated to ${len}`, tally);
      continue;
    }
    const [s, e] = base.regions[pick(base.regions.length)];
    const count = 1 + pick(4);
    const saved = [];
    const what = [];
    for (let k = 0; k < count; k++) {
      const at = s + pick(e - s);
      const r = rnd();
      const v = r < 0.3 ? 0 : r < 0.6 ? 0xff : pick(256);
      saved.push([at, b[at]]);
      what.push(`[${at}]=${v}`);
      b[at] = v;
    }
    compare('fuzz', b, `${base.path} ${what.join(' ')}`, tally);
    for (let k = saved.length - 1; k >= 0; k--) b[saved[k][0]] = saved[k][1];
  }
  agreement.fuzz = { files: tally.files, seed: opts.seed, disagreements: tally.disagree, lossyMessageOnly: tally.lossyMessage, status: tally.status, withSyslayerFacts: tally.syslayer, withRefusal: tally.refusals };
  log(`agreement fuzz (seed ${opts.seed}): ${tally.files} mutated files, ${tally.disagree} disagreements` +
    (tally.lossyMessage ? `, ${tally.lossyMessage} error messages differing only in a printed value >= 2^53 (same status and offset)` : '') +
    ` (core statuses: ${Object.entries(tally.status).map(([k, v]) => `${k} ${v}`).join(', ')}; ${tally.syslayer} with syslayer facts, ${tally.refusals} with a refusal)`);
}

// ---- Timing ---------------------------------------------------------------------------------------------
const files = timed.map((f) => f.bytes);
const F = files.length;
const now = () => performance.now();
// Core internals for the diagnostic variants only (TypeScript-private fields, reachable at run time).
const ex = core.exports;
const CHUNK = 65536; // SR_CHUNK_SIZE: what Core.scanFile reads first, then chunk by chunk
let sink = 0;

/** Core.scanFile's loop (src/core/core.ts), with the file in a Buffer instead of on disk. */
function scanChunked(b) {
  const size = b.length;
  const first = Math.min(size, CHUNK);
  core.inputView(first).set(b.subarray(0, first));
  if (first === CHUNK && first < size) {
    core.inputView(size); // keeps the first chunk
    ex.loadingInChunks(size);
    ex.chunksLoaded(0, first);
  }
  for (;;) {
    const r = decodeScanRecord(ex.memory, ex.scan(size), core.inputAddress);
    if (r.status !== 'need-bytes') return r;
    const from = Math.floor(r.offset / CHUNK) * CHUNK;
    const to = Math.min(size, Math.ceil((r.offset + r.length) / CHUNK) * CHUNK);
    new Uint8Array(ex.memory.buffer, core.inputAddress + from, to - from).set(b.subarray(from, to));
    ex.chunksLoaded(from, to - from);
  }
}
{
  let differ = 0;
  for (const f of timed) if (!isDeepStrictEqual(scanChunked(f.bytes), asScan(f.bytes))) differ++;
  agreement['chunked diagnostic vs scanLoaded'] = { files: timed.length, disagreements: differ };
  log(`agreement chunked diagnostic vs scanLoaded: ${timed.length} files, ${differ} disagreements`);
}

// Aggregate passes: one timer around the loop over all files.
const aggregate = {
  // Public API, what a user of Core pays: copy into WASM memory, scan, decode.
  'as:full'() {
    for (let i = 0; i < F; i++) sink += core.scanLoaded(core.loadBytes(files[i])).status.length;
  },
  'ts:full'() {
    for (let i = 0; i < F; i++) sink += readElf(files[i]).status.length;
  },
  // Public: the copy alone. full - copy (same round) = scanLoaded on bytes already in WASM memory.
  'as:copy'() {
    for (let i = 0; i < F; i++) sink += core.loadBytes(files[i]);
  },
  // Diagnostic (private `exports`): copy + wasm scan, no decode.
  'as:copy+scan'() {
    for (let i = 0; i < F; i++) sink += ex.scan(core.loadBytes(files[i]));
  },
  // Diagnostic: scanFile's chunked loading, from memory.
  'as:chunked'() {
    for (let i = 0; i < F; i++) sink += scanChunked(files[i]).status.length;
  },
};
// Per-call passes: every piece timed per file, kept per file (robust sums of per-file medians).
const perCall = {
  // Public: loadBytes | scanLoaded (scan + decode on bytes already in WASM memory).
  'as:per-call'(out) {
    for (let i = 0; i < F; i++) {
      const t0 = now();
      const n = core.loadBytes(files[i]);
      const t1 = now();
      const r = core.scanLoaded(n);
      const t2 = now();
      out.copy[i] = t1 - t0;
      out.scanLoaded[i] = t2 - t1;
      sink += r.status.length;
    }
  },
  // Diagnostic (private `exports`): loadBytes untimed, then wasm scan | decodeScanRecord.
  'as:split'(out) {
    for (let i = 0; i < F; i++) {
      const n = core.loadBytes(files[i]);
      const t0 = now();
      const rec = ex.scan(n);
      const t1 = now();
      const r = decodeScanRecord(ex.memory, rec, core.inputAddress);
      const t2 = now();
      out.scan[i] = t1 - t0;
      out.decode[i] = t2 - t1;
      sink += r.status.length;
    }
  },
  'ts:per-call'(out) {
    for (let i = 0; i < F; i++) {
      const t0 = now();
      const r = readElf(files[i]);
      out.read[i] = now() - t0;
      sink += r.status.length;
    }
  },
};
const pieceNames = { 'as:per-call': ['copy', 'scanLoaded'], 'as:split': ['scan', 'decode'], 'ts:per-call': ['read'] };
const names = [...Object.keys(aggregate), ...Object.keys(perCall)];
const newPieces = (n) => Object.fromEntries(pieceNames[n].map((k) => [k, new Float64Array(F)]));
function run(n) {
  if (n in aggregate) {
    const t0 = now();
    aggregate[n]();
    return { total: now() - t0 };
  }
  const out = newPieces(n);
  const t0 = now();
  perCall[n](out);
  return { total: now() - t0, pieces: out };
}

/** The cost of one timed interval (two now() calls back to back), ms. */
function timerOverhead() {
  const n = 200000;
  let s = 0;
  for (let i = 0; i < n; i++) {
    const a = now();
    s += now() - a;
  }
  return s / n;
}

log(`warm-up: ${opts.warmup} round(s)`);
for (let w = 0; w < opts.warmup; w++) for (const n of names) run(n);
const overheadMs = (timerOverhead() + timerOverhead()) / 2;
log(`timer: one per-call interval costs ${(overheadMs * 1e6).toFixed(0)} ns (subtracted from per-call times)`);

const rounds = [];
const order = [];
for (let r = 0; r < opts.rounds; r++) {
  const o = names.map((_, i) => names[(i + r) % names.length]);
  order.push(o);
  const round = {};
  for (const n of o) {
    gc();
    round[n] = run(n);
  }
  rounds.push(round);
  log(`round ${r + 1}/${opts.rounds}: ` + names.map((n) => `${n} ${round[n].total.toFixed(1)}`).join(', ') + ' ms');
}
const loadAfter = os.loadavg();
const build1 = buildHash();
if (build0 !== build1) log('warning: build/syslayer.wasm or dist/ changed during the run (the run used the build loaded at start)');

// ---- Results --------------------------------------------------------------------------------------------
const median = (xs) => {
  const s = Array.from(xs).sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const r3 = (x) => (x == null ? null : Number(x.toFixed(3)));
const totals = (n) => rounds.map((r) => r[n].total);

const stats = {};
for (const n of names) stats[n] = { totalMs: totals(n).map(r3), medianMs: r3(median(totals(n))), minMs: r3(Math.min(...totals(n))) };
// Per-call pieces: for each file, the median of its times over the rounds, minus the timer overhead;
// summed over files. One slow call (preemption on a busy machine, a GC pause) moves this little.
// Also the plain median over rounds of the per-round sums (everything included).
const perFileMedianSum = (n, k) => {
  let s = 0;
  const xs = new Float64Array(rounds.length);
  for (let i = 0; i < F; i++) {
    for (let r = 0; r < rounds.length; r++) xs[r] = rounds[r][n].pieces[k][i];
    s += Math.max(0, median(xs) - overheadMs);
  }
  return s;
};
const roundSumMedian = (n, k) => median(rounds.map((r) => r[n].pieces[k].reduce((a, b) => a + b, 0) - overheadMs * F));
for (const n of Object.keys(perCall)) {
  stats[n].pieces = Object.fromEntries(pieceNames[n].map((k) => [k, { sumOfPerFileMediansMs: r3(perFileMedianSum(n, k)), medianOfRoundSumsMs: r3(roundSumMedian(n, k)) }]));
}
// Differences of aggregate passes taken in the same round, then the median over rounds.
const paired = (a, b) => r3(median(rounds.map((r) => r[a].total - r[b].total)));
const as = stats['as:full'].medianMs, ts = stats['ts:full'].medianMs;
const P = (n, k) => stats[n].pieces[k].sumOfPerFileMediansMs;
const pieces = {
  aggregate: {
    full: as,
    ts,
    copy: stats['as:copy'].medianMs,
    scanLoadedNoCopy: paired('as:full', 'as:copy'),
    wasmScan: paired('as:copy+scan', 'as:copy'),
    decode: paired('as:full', 'as:copy+scan'),
    chunked: stats['as:chunked'].medianMs,
  },
  perCall: {
    copy: P('as:per-call', 'copy'),
    scanLoaded: P('as:per-call', 'scanLoaded'),
    wasmScan: P('as:split', 'scan'),
    decode: P('as:split', 'decode'),
    ts: P('ts:per-call', 'read'),
  },
};
pieces.perCall.full = r3(pieces.perCall.copy + pieces.perCall.scanLoaded);
const A = pieces.aggregate, C = pieces.perCall;
const q = (a, b) => r3(a / b);
const ratios = {
  // Speed of AssemblyScript over TypeScript: TS time / AS time. The issue's target is >= 2.
  aggregate: {
    full: q(ts, as),
    fullMin: q(stats['ts:full'].minMs, stats['as:full'].minMs),
    scanLoadedNoCopy: q(ts, A.scanLoadedNoCopy),
    wasmScanOnly: q(ts, A.wasmScan),
    chunked: q(ts, A.chunked),
  },
  perCall: {
    full: q(C.ts, C.full),
    scanLoadedNoCopy: q(C.ts, C.scanLoaded),
    wasmScanOnly: q(C.ts, C.wasmScan),
  },
};
const rate = (ms) => ({ filesPerSecond: Math.round(F / (ms / 1000)), mbPerSecond: Number((totalBytes / 1e6 / (ms / 1000)).toFixed(1)) });

const fmt = (x, d = 2) => (x == null || !Number.isFinite(x) ? '-' : x.toFixed(d));
const head = (t) => `${t.padEnd(52)} ${'ms'.padStart(8)} ${'files/s'.padStart(9)} ${'MB/s'.padStart(7)} ${'TS/AS'.padStart(6)}`;
const row = (label, ms, tsMs) => {
  const r = rate(ms);
  return `${label.padEnd(52)} ${fmt(ms).padStart(8)} ${String(r.filesPerSecond).padStart(9)} ${fmt(r.mbPerSecond, 0).padStart(7)} ${(tsMs === null ? '' : fmt(tsMs / ms)).padStart(6)}`;
};
console.log(`\n${F} ELF files, ${(totalBytes / 1e6).toFixed(1)} MB in memory (${Object.entries(perSet).map(([k, v]) => `${k} ${v.files}`).join(', ')}); ` +
  `${opts.rounds} rounds after ${opts.warmup} warm-up`);
console.log(head('aggregate loops, median over rounds'));
console.log(row('AS  loadBytes + scanLoaded (copy, scan, decode)', as, ts));
console.log(row('TS  readElf (DataView)', ts, null));
console.log(row('AS  loadBytes alone (copy into WASM memory)', A.copy, ts));
console.log(row('AS  scanLoaded on bytes in WASM memory (full-copy)', A.scanLoadedNoCopy, ts));
console.log(row('AS    wasm scan export ((copy+scan)-copy) [diag]', A.wasmScan, ts));
console.log(row('AS    decodeScanRecord (full-(copy+scan)) [diag]', A.decode, ts));
console.log(row('AS  scanFile-style chunked copy + scan + decode [diag]', A.chunked, ts));
console.log(head(`per call, sum over files of per-file medians (-${(overheadMs * 1e6).toFixed(0)} ns/call)`));
console.log(row('AS  loadBytes + scanLoaded', C.full, C.ts));
console.log(row('TS  readElf', C.ts, null));
console.log(row('AS  loadBytes (copy)', C.copy, C.ts));
console.log(row('AS  scanLoaded on bytes in WASM memory', C.scanLoaded, C.ts));
console.log(row('AS    wasm scan export [diag]', C.wasmScan, C.ts));
console.log(row('AS    decodeScanRecord [diag]', C.decode, C.ts));
const share = (x, s) => `${((100 * x) / s).toFixed(0)}%`;
const cs = C.copy + C.wasmScan + C.decode;
console.log(`\nAS/TS speed (TS time / AS time; issue 5 target >= 2):`);
console.log(`  as Core's users pay it (copy+scan+decode)  ${fmt(ratios.aggregate.full)}x (min/min ${fmt(ratios.aggregate.fullMin)}x; per call ${fmt(ratios.perCall.full)}x)`);
console.log(`  scanLoaded without the copy                ${fmt(ratios.aggregate.scanLoadedNoCopy)}x (per call ${fmt(ratios.perCall.scanLoadedNoCopy)}x)`);
console.log(`  the wasm scan alone                        ${fmt(ratios.aggregate.wasmScanOnly)}x (per call ${fmt(ratios.perCall.wasmScanOnly)}x)`);
console.log(`  AS time per call: copy ${share(C.copy, cs)}, wasm scan ${share(C.wasmScan, cs)}, decode ${share(C.decode, cs)}`);
console.log(`agreement (disagreements/files): ${Object.entries(agreement).map(([k, v]) => `${k} ${v.disagreements}/${v.files}`).join('; ')}`);
console.log(`load average ${loadBefore.map((x) => x.toFixed(2)).join(' ')} -> ${loadAfter.map((x) => x.toFixed(2)).join(' ')} (nproc ${os.availableParallelism()})`);

if (opts.write) {
  const result = {
    benchmark: 'core-micro',
    date: startedAt.toISOString(),
    durationSeconds: Number(((Date.now() - startedAt.getTime()) / 1000).toFixed(1)),
    commandLine: [process.execPath, ...process.argv.slice(1)].join(' '),
    machine: machine(),
    node: process.version,
    loadavgBefore: loadBefore.map(r3),
    loadavgAfter: loadAfter.map(r3),
    syslayer: { ...gitInfo(), core: path.relative(REPO, corePath()), buildHash: build0, buildChangedDuringRun: build0 !== build1 },
    files: { count: F, bytes: totalBytes, perSet, rootfs: opts.rootfs },
    agreement,
    rounds: opts.rounds,
    warmupRounds: opts.warmup,
    order,
    timerOverheadNsPerInterval: Number((overheadMs * 1e6).toFixed(1)),
    results: stats,
    piecesMs: pieces,
    rates: {
      aggregate: Object.fromEntries(Object.entries(A).map(([k, v]) => [k, rate(v)])),
      perCall: Object.fromEntries(Object.entries(C).map(([k, v]) => [k, rate(v)])),
    },
    speedRatioAsOverTs: ratios,
    target: 'AS at least 2x the TS reader: speedRatioAsOverTs >= 2 (TS time / AS time)',
  };
  let out = opts.out;
  if (!out) {
    const dir = path.join(REPO, 'benchmarks', 'results');
    fs.mkdirSync(dir, { recursive: true });
    const day = startedAt.toISOString().slice(0, 10);
    out = path.join(dir, `core-micro-${day}.json`);
    if (fs.existsSync(out)) out = path.join(dir, `core-micro-${day}-${startedAt.toISOString().slice(11, 19).replace(/:/g, '')}.json`);
  } else fs.mkdirSync(path.dirname(path.resolve(out)), { recursive: true });
  fs.writeFileSync(out, JSON.stringify(result, null, 2) + '\n');
  log(`wrote ${path.relative(process.cwd(), out) || out}`);
}
if (sink === -1) console.log(sink);
const bad = Object.values(agreement).reduce((s, a) => s + a.disagreements, 0);
process.exitCode = bad === 0 ? 0 : 1;

// ---- Machine and build facts --------------------------------------------------------------------------------
function machine() {
  let model = null;
  try {
    model = /^model name\s*:\s*(.*)$/m.exec(fs.readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? null;
  } catch {}
  return { nproc: os.availableParallelism(), cpuModel: model ?? os.cpus()[0]?.model ?? null, memTotalBytes: os.totalmem(), kernel: `${os.type()} ${os.release()}`, arch: process.arch };
}
function gitInfo() {
  const g = (...a) => spawnSync('git', ['-C', REPO, ...a], { encoding: 'utf8' });
  const head = g('rev-parse', 'HEAD');
  const st = g('status', '--porcelain', '--', 'src', 'assembly', 'data', 'scripts', 'package.json');
  return { commit: head.status === 0 ? head.stdout.trim() : null, dirtyCodePaths: st.status === 0 ? st.stdout.split('\n').filter(Boolean).length : null };
}
function buildHash() {
  const h = createHash('sha256');
  const list = [path.join(REPO, 'build', 'syslayer.wasm')];
  for (const d of ['dist/src/core', 'dist/src/core/generated', 'dist/src/elf', 'dist/src/elf/generated']) {
    const dir = path.join(REPO, d);
    if (!fs.existsSync(dir)) continue;
    for (const f of fs.readdirSync(dir).sort()) if (f.endsWith('.js')) list.push(path.join(dir, f));
  }
  for (const f of list) {
    h.update(`${path.relative(REPO, f)}\0`);
    h.update(fs.readFileSync(f));
  }
  return h.digest('hex').slice(0, 16);
}

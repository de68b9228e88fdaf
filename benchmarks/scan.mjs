#!/usr/bin/env node
// Scan benchmark: `syslayer scan --json` against same-run baselines.
//
//   node benchmarks/scan.mjs [image-dir] [--rounds N] [--timeout S] [--out file.json] [--no-write]
//
// Without image-dir, benchmarks/rootfs/build-rootfs.sh is run (it builds the Debian
// rootfs once, cached under $SYSLAYER_CACHE, default ~/.cache/syslayer) and the path on
// the last line of its stdout is used.
//
// One warm-up round, then N measured rounds (default 5). Each round runs, one after the
// other, in an order that rotates from round to round:
//   syslayer  node bin/syslayer.js scan --json <image>        (stdout piped and drained)
//   scanelf   scanelf -R -q -n -i -r -S -k .note.gnu.build-id -D -I <image>
//   raw read  a small Node loop reading every byte of every regular file once
// Every command is a child process timed from spawn to exit (Node start-up included for
// the two Node commands). See benchmarks/README.md for how to read the output.
//
// No dependencies beyond Node itself (and scanelf from pax-utils, /usr/bin/time if present).

import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const REPO = path.resolve(HERE, '..');
const SELF = fileURLToPath(import.meta.url);

// ---------------------------------------------------------------------------------------
// Child mode: the raw-read baseline. Walks the tree without following symlinks and reads
// every regular file to its end into one reused buffer. Prints "files bytes" on stdout.
// ---------------------------------------------------------------------------------------
if (process.argv[2] === '--raw-read-child') {
  const root = process.argv[3];
  const buf = Buffer.allocUnsafe(1 << 22);
  let files = 0;
  let bytes = 0;
  const stack = [root];
  while (stack.length) {
    const dir = stack.pop();
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = dir + '/' + e.name;
      if (e.isDirectory()) stack.push(p);
      else if (e.isFile()) {
        const fd = fs.openSync(p, 'r');
        try {
          for (;;) {
            const n = fs.readSync(fd, buf, 0, buf.length, null);
            if (n === 0) break;
            bytes += n;
          }
        } finally {
          fs.closeSync(fd);
        }
        files++;
      }
    }
  }
  process.stdout.write(`${files} ${bytes}\n`);
  process.exit(0);
}

// ---------------------------------------------------------------------------------------
// Arguments
// ---------------------------------------------------------------------------------------
function usage(code) {
  (code ? process.stderr : process.stdout).write(
    'usage: node benchmarks/scan.mjs [image-dir] [--rounds N] [--timeout S] [--out file.json] [--no-write]\n' +
      '  image-dir   directory image to scan (default: the cached Debian rootfs from\n' +
      '              benchmarks/rootfs/build-rootfs.sh; set SYSLAYER_CACHE to choose the cache)\n' +
      '  --rounds N  measured rounds after one warm-up round (default 5)\n' +
      '  --timeout S kill a command that runs longer than S seconds and stop (default 300)\n' +
      '  --out FILE  JSON results file (default benchmarks/results/scan-<date>.json)\n' +
      '  --no-write  print the table only\n',
  );
  process.exit(code);
}

const opts = { image: null, rounds: 5, timeout: 300, out: null, write: true };
{
  const a = process.argv.slice(2);
  for (let i = 0; i < a.length; i++) {
    const v = a[i];
    if (v === '-h' || v === '--help') usage(0);
    else if (v === '--rounds' || v.startsWith('--rounds=')) {
      const s = v.includes('=') ? v.slice(9) : a[++i];
      opts.rounds = Number(s);
      if (!Number.isInteger(opts.rounds) || opts.rounds < 1) {
        process.stderr.write(`--rounds: expected a positive integer, got ${s}\n`);
        usage(2);
      }
    } else if (v === '--timeout' || v.startsWith('--timeout=')) {
      const s = v.includes('=') ? v.slice(10) : a[++i];
      opts.timeout = Number(s);
      if (!(opts.timeout > 0)) {
        process.stderr.write(`--timeout: expected a positive number of seconds, got ${s}\n`);
        usage(2);
      }
    } else if (v === '--out' || v.startsWith('--out=')) {
      opts.out = v.includes('=') ? v.slice(6) : a[++i];
      if (!opts.out) usage(2);
    } else if (v === '--no-write') opts.write = false;
    else if (v.startsWith('-')) {
      process.stderr.write(`unknown option ${v}\n`);
      usage(2);
    } else if (opts.image === null) opts.image = v;
    else usage(2);
  }
}

const log = (m) => process.stderr.write(`[bench:scan] ${m}\n`);
function die(m) {
  log(`error: ${m}`);
  process.exit(1);
}

// ---------------------------------------------------------------------------------------
// The image
// ---------------------------------------------------------------------------------------
if (opts.image === null) {
  const script = path.join(HERE, 'rootfs', 'build-rootfs.sh');
  log(`no image given: running ${path.relative(process.cwd(), script) || script}`);
  const r = spawnSync(script, [], { stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8' });
  if (r.error) die(`cannot run ${script}: ${r.error.message}`);
  if (r.status !== 0) die(`${script} exited with ${r.status}; pass the image directory as an argument instead`);
  const lines = r.stdout.split('\n').filter((l) => l.trim() !== '');
  if (!lines.length) die(`${script} printed no path`);
  opts.image = lines[lines.length - 1].trim();
}
const IMAGE = path.resolve(opts.image);
if (!fs.statSync(IMAGE, { throwIfNoEntry: false })?.isDirectory()) die(`not a directory: ${IMAGE}`);

const CLI = path.join(REPO, 'bin', 'syslayer.js');
if (!fs.existsSync(CLI)) die(`${CLI} missing`);
if (!fs.existsSync(path.join(REPO, 'build', 'syslayer.wasm')) || !fs.existsSync(path.join(REPO, 'dist')))
  die('syslayer is not built: run `npm run build` first');

function which(cmd) {
  for (const d of (process.env.PATH || '').split(':')) {
    const p = path.join(d || '.', cmd);
    try {
      fs.accessSync(p, fs.constants.X_OK);
      return p;
    } catch {}
  }
  return null;
}
const SCANELF = which('scanelf');
if (!SCANELF) die('scanelf not found (apt-get install pax-utils)');

// ---------------------------------------------------------------------------------------
// Count the tree once: regular files (each path once; symlinks are not followed), their
// bytes, and how many of them start with the ELF magic.
// ---------------------------------------------------------------------------------------
function countTree(root) {
  const c = { files: 0, bytes: 0, elfFiles: 0, elfBytes: 0, dirs: 0, symlinks: 0, other: 0, unreadable: 0 };
  const magic = Buffer.alloc(4);
  const stack = [root];
  while (stack.length) {
    const dir = stack.pop();
    c.dirs++;
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = dir + '/' + e.name;
      if (e.isDirectory()) stack.push(p);
      else if (e.isSymbolicLink()) c.symlinks++;
      else if (e.isFile()) {
        const size = fs.lstatSync(p).size;
        c.files++;
        c.bytes += size;
        try {
          const fd = fs.openSync(p, 'r');
          const n = fs.readSync(fd, magic, 0, 4, 0);
          fs.closeSync(fd);
          if (n === 4 && magic[0] === 0x7f && magic[1] === 0x45 && magic[2] === 0x4c && magic[3] === 0x46) {
            c.elfFiles++;
            c.elfBytes += size;
          }
        } catch {
          c.unreadable++;
        }
      } else c.other++;
    }
  }
  return c;
}

// ---------------------------------------------------------------------------------------
// Running and timing one command
// ---------------------------------------------------------------------------------------
// Peak RSS and CPU time of a child: /usr/bin/time (GNU) when present; otherwise, for the
// Node commands only, an --import hook that writes process.resourceUsage() at exit.
// SYSLAYER_BENCH_NO_GNU_TIME=1 forces the fallback (to test it).
const GNU_TIME = !process.env.SYSLAYER_BENCH_NO_GNU_TIME && fs.existsSync('/usr/bin/time') &&
  spawnSync('/usr/bin/time', ['-f', '%M', '-o', '/dev/null', 'true']).status === 0
  ? '/usr/bin/time'
  : null;
const RUSAGE_HOOK =
  'data:text/javascript,' +
  encodeURIComponent(
    "import fs from 'node:fs';process.on('exit',()=>{const u=process.resourceUsage();" +
      "fs.writeFileSync(process.env.SYSLAYER_BENCH_RUSAGE,`${u.maxRSS} ${u.userCPUTime/1e6} ${u.systemCPUTime/1e6}`)})",
  );
// The children's environment. NODE_EXTRA_CA_CERTS makes every Node start-up parse a CA bundle
// (about 0.25 s on the reference machine): a property of the shell, not of a scan, which never
// uses TLS; it is removed so that it does not weigh on the Node rows only.
const CHILD_ENV = { ...process.env };
const ENV_REMOVED = ['NODE_EXTRA_CA_CERTS'].filter((k) => k in CHILD_ENV);
for (const k of ENV_REMOVED) delete CHILD_ENV[k];
const TMP = fs.mkdtempSync(path.join(os.tmpdir(), 'syslayer-bench-'));
process.on('exit', () => fs.rmSync(TMP, { recursive: true, force: true }));

const COMMANDS = [
  {
    key: 'syslayer',
    label: 'syslayer scan --json',
    node: true,
    argv: [CLI, 'scan', '--json', IMAGE],
    okStatus: [0, 1], // 1 = some files unreadable; still a complete scan
  },
  {
    key: 'scanelf',
    label: 'scanelf -R',
    node: false,
    // -n NEEDED, -i INTERP, -r RPATH/RUNPATH, -S SONAME, -k .note.gnu.build-id (presence
    // of the build-id section: this scanelf has no build-id printer; -b is BIND, lazy/now),
    // -D byte order, -I OS ABI. -q leaves out files with nothing to report. -R recurses
    // without following symlinks.
    argv: [SCANELF, '-R', '-q', '-n', '-i', '-r', '-S', '-k', '.note.gnu.build-id', '-D', '-I', IMAGE],
    okStatus: [0],
  },
  {
    key: 'raw',
    label: 'raw read (node)',
    node: true,
    argv: [SELF, '--raw-read-child', IMAGE],
    okStatus: [0],
  },
];

function cmdline(c) {
  return (c.node ? [process.execPath, ...c.argv] : c.argv).join(' ');
}

// The running child, so that a timeout or Ctrl-C can kill its whole process group
// (/usr/bin/time, node and its worker threads, or scanelf).
let current = null;
function killCurrent() {
  if (current && current.exitCode === null && current.signalCode === null) {
    try {
      process.kill(-current.pid, 'SIGKILL');
    } catch {}
  }
}
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => {
    killCurrent();
    process.exit(130);
  });
}

function runOnce(c) {
  return new Promise((resolve, reject) => {
    const ru = path.join(TMP, `rusage-${c.key}`);
    fs.rmSync(ru, { force: true });
    let file, args;
    const env = { ...CHILD_ENV };
    const base = c.node ? [process.execPath, ...c.argv] : [...c.argv];
    if (GNU_TIME) {
      file = GNU_TIME;
      args = ['-f', '%M %U %S', '-o', ru, ...base];
    } else if (c.node) {
      file = process.execPath;
      args = ['--import', RUSAGE_HOOK, ...c.argv];
      env.SYSLAYER_BENCH_RUSAGE = ru;
    } else {
      file = base[0];
      args = base.slice(1);
    }
    let outBytes = 0;
    const head = [];
    let headLen = 0;
    const err = [];
    const t0 = process.hrtime.bigint();
    const child = spawn(file, args, { stdio: ['ignore', 'pipe', 'pipe'], env, cwd: REPO, detached: true });
    current = child;
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      killCurrent();
    }, opts.timeout * 1000);
    child.stdout.on('data', (d) => {
      outBytes += d.length;
      if (headLen < 256) {
        head.push(d);
        headLen += d.length;
      }
    });
    child.stderr.on('data', (d) => err.push(d));
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code, signal) => {
      const wall = Number(process.hrtime.bigint() - t0) / 1e9;
      clearTimeout(timer);
      current = null;
      const stderr = Buffer.concat(err).toString('utf8');
      if (timedOut) {
        reject(new Error(`${cmdline(c)}: killed after ${opts.timeout} s (--timeout)\n${stderr.slice(-2000)}`));
        return;
      }
      if (signal || !c.okStatus.includes(code)) {
        reject(new Error(`${cmdline(c)}: exit ${signal ?? code}\n${stderr.slice(-2000)}`));
        return;
      }
      let rssKB = null;
      let cpu = null;
      try {
        // GNU time may print a "Command exited with non-zero status" line first.
        const last = fs.readFileSync(ru, 'utf8').trim().split('\n').pop().trim().split(/\s+/).map(Number);
        if (last.length === 3 && last.every(Number.isFinite)) {
          rssKB = last[0];
          cpu = last[1] + last[2];
        }
      } catch {}
      resolve({ wall, cpu, rssKB, status: code, outBytes, head: Buffer.concat(head).toString('utf8'), stderr });
    });
  });
}

// ---------------------------------------------------------------------------------------
// Facts about the machine and the code under test
// ---------------------------------------------------------------------------------------
function readFileOr(p, d = '') {
  try {
    return fs.readFileSync(p, 'utf8');
  } catch {
    return d;
  }
}
function machine() {
  const cpuinfo = readFileOr('/proc/cpuinfo');
  const model = /^model name\s*:\s*(.*)$/m.exec(cpuinfo)?.[1] ?? os.cpus()[0]?.model ?? null;
  const memKB = Number(/^MemTotal:\s*(\d+)/m.exec(readFileOr('/proc/meminfo'))?.[1] ?? NaN);
  const np = spawnSync('nproc', [], { encoding: 'utf8' });
  return {
    nproc: np.status === 0 ? Number(np.stdout.trim()) : os.availableParallelism(),
    cpuModel: model,
    memTotalBytes: Number.isFinite(memKB) ? memKB * 1024 : os.totalmem(),
    kernel: `${os.type()} ${os.release()}`,
    arch: process.arch,
    hostname: os.hostname(),
  };
}
function gitInfo() {
  const g = (...a) => spawnSync('git', ['-C', REPO, ...a], { encoding: 'utf8' });
  const head = g('rev-parse', 'HEAD');
  // Uncommitted changes to the code under test (not to benchmarks/ or tests/).
  const st = g('status', '--porcelain', '--', 'src', 'assembly', 'workers', 'data', 'bin', 'scripts', 'package.json');
  return {
    commit: head.status === 0 ? head.stdout.trim() : null,
    dirtyCodePaths: st.status === 0 ? st.stdout.split('\n').filter(Boolean).length : null,
  };
}
function buildHash() {
  // The code actually run: the release core and the compiled TypeScript. Others may rebuild
  // while a benchmark runs; comparing this before and after catches it.
  const h = createHash('sha256');
  const files = [path.join(REPO, 'build', 'syslayer.wasm')];
  const walk = (d) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile() && p.endsWith('.js')) files.push(p);
    }
  };
  walk(path.join(REPO, 'dist'));
  for (const f of files) {
    h.update(path.relative(REPO, f) + '\0');
    h.update(fs.readFileSync(f));
  }
  return h.digest('hex').slice(0, 16);
}
function version(cmd, args) {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  return ((r.stdout || '') + (r.stderr || '')).split('\n')[0].trim() || null;
}
function fsType(p) {
  const f = spawnSync('findmnt', ['-n', '-o', 'FSTYPE', '-T', p], { encoding: 'utf8' });
  if (f.status === 0 && f.stdout.trim()) return f.stdout.trim();
  const r = spawnSync('stat', ['-f', '-c', '%T', p], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : null;
}

// ---------------------------------------------------------------------------------------
// Statistics and formatting
// ---------------------------------------------------------------------------------------
function median(xs) {
  const s = xs.filter((x) => x != null).sort((a, b) => a - b);
  if (!s.length) return null;
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}
const min = (xs) => (xs.length ? Math.min(...xs) : null);
const round = (x, d) => (x == null ? null : Number(x.toFixed(d)));
const pad = (s, n) => String(s).padStart(n);
const padR = (s, n) => String(s).padEnd(n);

// ---------------------------------------------------------------------------------------
// Main
// ---------------------------------------------------------------------------------------
const startedAt = new Date();
const loadBefore = os.loadavg();
const build0 = buildHash();
log(`image ${IMAGE}`);
if (ENV_REMOVED.length) log(`removed from the children's environment: ${ENV_REMOVED.join(', ')}`);
if (process.env.NODE_OPTIONS) log(`note: NODE_OPTIONS is set (${process.env.NODE_OPTIONS}) and applies to the Node rows`);
log(`load average before: ${loadBefore.map((x) => x.toFixed(2)).join(' ')} (nproc ${machine().nproc})`);
log('counting the tree');
const tree = countTree(IMAGE);
log(
  `${tree.files} regular files (${(tree.bytes / 1e6).toFixed(1)} MB), ${tree.elfFiles} ELF ` +
    `(${(tree.elfBytes / 1e6).toFixed(1)} MB), ${tree.symlinks} symlinks, ${tree.dirs} directories`,
);

const runs = Object.fromEntries(COMMANDS.map((c) => [c.key, []]));
const order = [];
for (let r = 0; r <= opts.rounds; r++) {
  const warm = r === 0;
  // Rotate the order so that no command always runs first (or right after another).
  const seq = COMMANDS.map((_, i) => COMMANDS[(i + r) % COMMANDS.length]);
  if (!warm) order.push(seq.map((c) => c.key));
  for (const c of seq) {
    let res;
    try {
      res = await runOnce(c);
    } catch (e) {
      die(e.message);
    }
    if (c.key === 'raw') {
      const [f, b] = res.head.trim().split(/\s+/).map(Number);
      if (f !== tree.files || b !== tree.bytes)
        log(`warning: raw read saw ${f} files / ${b} bytes, the count saw ${tree.files} / ${tree.bytes} (tree changing?)`);
    }
    if (c.key === 'syslayer' && res.status !== 0) log(`note: syslayer exited 1 (some files unreadable)`);
    log(
      `${warm ? 'warm-up' : `round ${r}/${opts.rounds}`}  ${padR(c.key, 8)} ${res.wall.toFixed(3)} s` +
        (res.cpu != null ? `  cpu ${res.cpu.toFixed(2)} s` : '') +
        (res.rssKB != null ? `  rss ${(res.rssKB / 1024).toFixed(0)} MiB` : ''),
    );
    if (!warm) runs[c.key].push(res);
  }
}

// One extra, unmeasured syslayer run with --perf for the per-pass breakdown.
let perf = null;
{
  const c = { ...COMMANDS[0], key: 'syslayer-perf', argv: [CLI, 'scan', '--json', '--perf', IMAGE] };
  try {
    const res = await runOnce(c);
    perf = {};
    for (const line of res.stderr.split('\n')) {
      const m = /^\s*(\S+)\s+([\d.]+)\s*ms\s*$/.exec(line);
      if (m) perf[m[1]] = Number(m[2]);
    }
    if (!Object.keys(perf).length) perf = { raw: res.stderr.trim() };
  } catch (e) {
    log(`--perf run failed: ${e.message.split('\n')[0]}`);
  }
}

const loadAfter = os.loadavg();
const build1 = buildHash();
if (build1 !== build0) log('WARNING: build/ or dist/ changed during the run; the numbers mix two builds');

const stats = {};
for (const c of COMMANDS) {
  const rs = runs[c.key];
  const walls = rs.map((x) => x.wall);
  const med = median(walls);
  stats[c.key] = {
    command: cmdline(c),
    wallSeconds: walls.map((x) => round(x, 4)),
    medianSeconds: round(med, 4),
    minSeconds: round(min(walls), 4),
    filesPerSecond: round(tree.files / med, 0),
    mbPerSecond: round(tree.bytes / 1e6 / med, 1),
    elfFilesPerSecond: round(tree.elfFiles / med, 0),
    cpuSecondsMedian: round(median(rs.map((x) => x.cpu)), 3),
    peakRssKB: rs.some((x) => x.rssKB != null) ? Math.max(...rs.map((x) => x.rssKB ?? 0)) : null,
    stdoutBytes: rs[0]?.outBytes ?? null,
  };
}
const ratio = {
  median: round(stats.syslayer.medianSeconds / stats.scanelf.medianSeconds, 3),
  min: round(stats.syslayer.minSeconds / stats.scanelf.minSeconds, 3),
  target: 0.5,
};
const rawRatio = round(stats.syslayer.medianSeconds / stats.raw.medianSeconds, 3);

// The table
const rows = [
  ['command', 'median s', 'min s', 'files/s', 'MB/s', 'cpu s', 'peak RSS'],
  ...COMMANDS.map((c) => {
    const s = stats[c.key];
    return [
      c.label,
      s.medianSeconds.toFixed(3),
      s.minSeconds.toFixed(3),
      String(s.filesPerSecond),
      s.mbPerSecond.toFixed(1),
      s.cpuSecondsMedian == null ? '-' : s.cpuSecondsMedian.toFixed(2),
      s.peakRssKB == null ? '-' : `${(s.peakRssKB / 1024).toFixed(0)} MiB`,
    ];
  }),
];
const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
const table = rows
  .map((r) => r.map((x, i) => (i === 0 ? padR(x, widths[i]) : pad(x, widths[i]))).join('  '))
  .join('\n');
const m = machine();
const lines = [
  `image ${IMAGE}: ${tree.files} regular files, ${(tree.bytes / 1e6).toFixed(1)} MB ` +
    `(${tree.elfFiles} ELF, ${(tree.elfBytes / 1e6).toFixed(1)} MB)`,
  `${opts.rounds} rounds after 1 warm-up, interleaved; files/s and MB/s over all regular files at the median`,
  '',
  table,
  '',
  `syslayer / scanelf: ${ratio.median.toFixed(2)} (median), ${ratio.min.toFixed(2)} (min); target <= ${ratio.target}`,
  `syslayer / raw read: ${rawRatio.toFixed(2)} (median)`,
  perf && !perf.raw
    ? `syslayer --perf (one extra run): ` + Object.entries(perf).map(([k, v]) => `${k} ${v} ms`).join(', ')
    : null,
  `machine: ${m.nproc} cpu (${m.cpuModel}), ${(m.memTotalBytes / 2 ** 30).toFixed(1)} GiB, node ${process.version}; ` +
    `load ${loadBefore.map((x) => x.toFixed(2)).join(' ')} before, ${loadAfter.map((x) => x.toFixed(2)).join(' ')} after`,
].filter((x) => x !== null);
process.stdout.write(lines.join('\n') + '\n');

if (opts.write) {
  const result = {
    benchmark: 'scan',
    date: startedAt.toISOString(),
    durationSeconds: round((Date.now() - startedAt.getTime()) / 1000, 1),
    commandLine: [process.execPath, ...process.argv.slice(1)].join(' '),
    machine: m,
    node: process.version,
    scanelf: version(SCANELF, ['-V']),
    loadavgBefore: loadBefore.map((x) => round(x, 2)),
    loadavgAfter: loadAfter.map((x) => round(x, 2)),
    childEnvRemoved: ENV_REMOVED,
    nodeOptions: process.env.NODE_OPTIONS ?? null,
    rssMethod: GNU_TIME ? 'GNU time %M' : 'process.resourceUsage() via --import hook (node commands only)',
    syslayer: { ...gitInfo(), buildHash: build0, buildChangedDuringRun: build0 !== build1 },
    image: { path: IMAGE, fsType: fsType(IMAGE), ...tree },
    rounds: opts.rounds,
    timeoutSeconds: opts.timeout,
    warmupRounds: 1,
    order,
    results: stats,
    ratioSyslayerOverScanelf: ratio,
    ratioSyslayerOverRawRead: rawRatio,
    syslayerPerfMs: perf,
  };
  let out = opts.out;
  if (!out) {
    const dir = path.join(HERE, 'results');
    fs.mkdirSync(dir, { recursive: true });
    const day = startedAt.toISOString().slice(0, 10);
    out = path.join(dir, `scan-${day}.json`);
    if (fs.existsSync(out)) out = path.join(dir, `scan-${day}-${startedAt.toISOString().slice(11, 19).replace(/:/g, '')}.json`);
  } else fs.mkdirSync(path.dirname(path.resolve(out)), { recursive: true });
  fs.writeFileSync(out, JSON.stringify(result, null, 2) + '\n');
  log(`wrote ${path.relative(process.cwd(), out) || out}`);
}

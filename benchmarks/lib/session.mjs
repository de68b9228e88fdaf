// What every peers-style benchmark (peers.mjs, oci.mjs) does around its rows: checks the checkout
// is built, copies the build to a temporary directory and runs syslayer from the copy, sets up
// the runner (GNU time, the children's environment), cleans up on exit; and at the end, the
// lines that say on what machine, with what tools and which build the figures were taken, and
// the JSON's common fields.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { buildHash, copyBuild } from './build-copy.mjs';
import { gitInfo, machine, version } from './facts.mjs';
import { childEnvironment, createRunner, findGnuTime } from './measure.mjs';
import { perfLines, ratioLines, resultsFile, rnd } from './rounds.mjs';

/** The benchmark's messages on stderr, `[tag] ...`: log, die (exit 1), note (kept in `notes`). */
export function messages(tag) {
  const notes = [];
  const log = (m) => process.stderr.write(`[${tag}] ${m}\n`);
  return {
    notes,
    log,
    die(m) {
      log(`error: ${m}`);
      process.exit(1);
    },
    note(n) {
      notes.push(n);
      log(`note: ${n}`);
    },
  };
}

/**
 * The options every peers-style benchmark takes (--only among `groups`, --quick, --rounds,
 * --budget, --syslayer, --clients, --rootfs, --timeout, --out, --no-write, --help), with its own
 * (`more`, for parseArgs). Returns { opts, v, num, usageError }: `opts` the common ones parsed,
 * `v` every raw value, `num(name, default, { int, min })` a checked number.
 */
export function parseBenchmarkArgs({ usage, groups, repo, budget, clients, more = {} }) {
  const usageError = (m) => {
    process.stderr.write(`${m}\n${usage}`);
    process.exit(2);
  };
  let v;
  try {
    ({ values: v } = parseArgs({
      options: {
        only: { type: 'string' }, quick: { type: 'boolean' }, rounds: { type: 'string' }, budget: { type: 'string' },
        syslayer: { type: 'string' }, clients: { type: 'string' }, rootfs: { type: 'string' },
        timeout: { type: 'string' }, out: { type: 'string' }, 'no-write': { type: 'boolean' }, help: { type: 'boolean', short: 'h' }, ...more,
      },
    }));
  } catch (e) {
    usageError(e.message);
  }
  if (v.help) {
    process.stdout.write(usage);
    process.exit(0);
  }
  const num = (name, d, { int = true, min = 0 } = {}) => {
    if (v[name] === undefined) return d;
    const n = Number(v[name]);
    if (!Number.isFinite(n) || n < min || (int && !Number.isInteger(n))) usageError(`--${name}: bad number ${v[name]}`);
    return n;
  };
  const only = v.only ? v.only.split(',').filter(Boolean) : groups;
  for (const g of only) if (!groups.includes(g)) usageError(`--only: unknown group ${g}`);
  const opts = {
    only, quick: !!v.quick, rounds: num('rounds', v.quick ? 1 : 3, { min: 1 }), budget: num('budget', budget, { int: false }),
    syslayer: path.resolve(v.syslayer ?? repo), clients: num('clients', clients.value, { min: clients.min }),
    rootfs: v.rootfs ? path.resolve(v.rootfs) : null, timeout: num('timeout', 600, { int: false, min: 1 }), out: v.out ?? null, write: !v['no-write'],
  };
  return { opts, v, num, usageError };
}

/**
 * Starts a benchmark `tag` (the temporary directory's and the results file's name) of the checkout
 * `syslayer`: { run, CLI, SNAP, TMP, cleanups, M, GNU_TIME, CHILD_ENV, ENV_REMOVED, git0, build0,
 * startedAt, loadBefore, end() }. `end()`, after the rows, says whether the checkout was rebuilt
 * meanwhile and takes the load.
 */
export function startSession({ tag, syslayer, timeout, cache, log, note, die }) {
  for (const f of ['bin/syslayer.js', 'dist/src/cli/main.js', 'build/syslayer.wasm', 'node_modules'])
    if (!fs.existsSync(path.join(syslayer, f))) die(`${syslayer} is not a built syslayer checkout (no ${f}): run \`npm run build\` there first`);
  const GNU_TIME = findGnuTime();
  if (!GNU_TIME) note('GNU time (/usr/bin/time) not found: no peak RSS or CPU figures (apt-get install time)');
  const { env: CHILD_ENV, removed: ENV_REMOVED } = childEnvironment();
  const startedAt = new Date();
  const loadBefore = os.loadavg();
  const TMP = fs.mkdtempSync(path.join(os.tmpdir(), `syslayer-${tag}-`));
  const cleanups = [];
  let killCurrent = () => {};
  process.on('exit', () => {
    killCurrent();
    for (const f of cleanups.splice(0).reverse()) {
      try {
        f();
      } catch {}
    }
    fs.rmSync(TMP, { recursive: true, force: true });
  });
  for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => process.exit(130));
  // The build under test is copied first and run from the copy, so that a rebuild of the checkout
  // during the run (others work here) cannot mix two builds.
  const build0 = buildHash(syslayer);
  const SNAP = path.join(TMP, 'syslayer');
  const CLI = copyBuild(syslayer, SNAP);
  if (buildHash(SNAP) !== build0) die(`${syslayer} was rebuilt while the benchmark copied it; run again`);
  const git0 = gitInfo(syslayer);
  const runner = createRunner({ tmp: TMP, env: CHILD_ENV, timeoutSeconds: timeout, gnuTime: GNU_TIME, cwd: TMP });
  killCurrent = runner.killCurrent;
  const M = machine();
  log(`syslayer ${syslayer} (commit ${git0.commit?.slice(0, 12) ?? '?'}, build ${build0}); cache ${cache}; ` +
    `${M.nproc} cpu, ${(M.memTotalBytes / 2 ** 30).toFixed(1)} GiB; load ${loadBefore.map((x) => x.toFixed(2)).join(' ')}`);
  if (process.env.NODE_OPTIONS) note(`NODE_OPTIONS is set (${process.env.NODE_OPTIONS}) and applies to the Node rows`);
  const s = { tag, syslayer, cache, run: runner.run, CLI, SNAP, TMP, cleanups, M, GNU_TIME, CHILD_ENV, ENV_REMOVED, git0, build0, startedAt, loadBefore };
  s.end = () => {
    s.loadAfter = os.loadavg();
    s.build1 = buildHash(syslayer);
    if (s.build1 !== build0) note(`${syslayer} was rebuilt during the run; every figure comes from the copy taken at the start`);
    s.seconds = (Date.now() - startedAt.getTime()) / 1000;
  };
  return s;
}

/** `tools`: name -> [path, version arguments]; GNU time is added. Versions by name. */
export function toolVersions(s, tools) {
  const v = Object.fromEntries(Object.entries(tools).map(([k, [p, args]]) => [k, version(p, args)]));
  v.time = s.GNU_TIME ? `${s.GNU_TIME} (${version(s.GNU_TIME, ['--version'])})` : null;
  return v;
}

/** The closing lines: machine, tools, build, load and rounds, time per group. After `end()`. */
export function closingLines(s, { tools, rounds, budget, quick, groups }) {
  return [
    `machine: ${s.M.nproc} cpu (${s.M.cpuModel}), ${(s.M.memTotalBytes / 2 ** 30).toFixed(1)} GiB, ${s.M.kernel}, node ${process.version}`,
    `tools: ${Object.entries(tools).map(([k, v]) => `${k}: ${v ?? 'missing'}`).join('; ')}`,
    `syslayer: ${s.syslayer}, commit ${s.git0.commit ?? '?'}, ${s.git0.dirtyCodePaths?.length ? `uncommitted code: ${s.git0.dirtyCodePaths.join(', ')}` : 'code paths clean'}; ` +
      `build ${s.build0}, run from a copy${s.build1 !== s.build0 ? ' (the checkout was rebuilt during the run)' : ''}`,
    `load ${s.loadBefore.map((x) => x.toFixed(2)).join(' ')} before, ${s.loadAfter.map((x) => x.toFixed(2)).join(' ')} after; ` +
      `${rounds} round(s), a row repeated while its runs (or its peer's) total under ${budget} s${quick ? '' : ', plus one --perf run of each syslayer row'}; ` +
      `children without ${s.ENV_REMOVED.join(', ') || '(nothing removed)'}`,
    `time: ${Object.entries(groups).map(([n, g]) => `${n} ${g.seconds.toFixed(0)} s${g.skipped ? ' (skipped)' : ` (preparation ${g.prepSeconds.toFixed(0)} s)`}`).join(', ')}; ${s.seconds.toFixed(0)} s in all`,
  ];
}

/**
 * What follows the tables: the ratios, each group's check lines (`g.lines(checks)`), the per-pass
 * times (`printed`: ids whose --perf output is also shown as printed), the notes and the closing
 * lines. After `end()`.
 */
export function reportTail(s, { ratios, stats, ratioName, groups, checks, perf, printed, notes, tools, opts }) {
  const lines = ratioLines(ratios, stats, ratioName);
  const checkLines = Object.values(groups).flatMap((g) => (g.lines ? g.lines(checks) : []));
  if (checkLines.length) lines.push('checks (not timed):', ...checkLines, '');
  lines.push(...perfLines(perf, { quick: opts.quick, printed }));
  for (const n of notes) lines.push(`note: ${n}`);
  lines.push(...closingLines(s, { tools, rounds: opts.rounds, budget: opts.budget, quick: opts.quick, groups }));
  return lines;
}

/** The JSON's first fields, common to the benchmarks. After `end()`. */
export function resultHead(s, { options, tools }) {
  return {
    benchmark: s.tag,
    date: s.startedAt.toISOString(),
    durationSeconds: rnd(s.seconds, 1),
    commandLine: [process.execPath, ...process.argv.slice(1)].join(' '),
    options,
    machine: s.M,
    node: process.version,
    tools,
    loadavgBefore: s.loadBefore.map((x) => rnd(x, 2)),
    loadavgAfter: s.loadAfter.map((x) => rnd(x, 2)),
    childEnvRemoved: s.ENV_REMOVED,
    nodeOptions: process.env.NODE_OPTIONS ?? null,
    syslayer: { checkout: s.syslayer, ...s.git0, buildHash: s.build0, ranFromCopy: s.SNAP, rebuiltDuringRun: s.build0 !== s.build1 },
    cache: s.cache,
  };
}

/** Writes `result` to `out`, or to `resultsDir`/<tag>-<date>[-HHMMSS].json; logs where. */
export function writeResult(s, result, { out, resultsDir, log }) {
  if (!out) {
    fs.mkdirSync(resultsDir, { recursive: true });
    out = resultsFile(resultsDir, s.tag, s.startedAt, fs.existsSync);
  } else fs.mkdirSync(path.dirname(path.resolve(out)), { recursive: true });
  fs.writeFileSync(out, JSON.stringify(result, null, 2) + '\n');
  log(`wrote ${path.relative(process.cwd(), out) || out}`);
}

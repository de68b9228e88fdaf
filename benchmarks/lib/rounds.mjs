// Rounds of measured rows, and the figures and tables made of them: what peers.mjs and oci.mjs
// share. A group is { items, ratios, warm: [paths], tables: [{ title, ids }] }; an item is
// { id, label, argv, syslayer, stdout, units: { files, bytes }, perFile: { n, what }, prep,
// after, check(res), expect: { re, count }, okStatus }. A ratio is [ours, peer, target, floor]
// (ids; target { op: '<=', value } or null; floor an id or undefined).
import os from 'node:os';
import { formatPerf, median, parsePerf } from './measure.mjs';
import { readTree } from './tree.mjs';

/** The --perf flag goes after the command's name: node CLI <command> --perf ... */
export const withPerf = (argv) => [...argv.slice(0, 3), '--perf', ...argv.slice(3)];

/**
 * The measurements of a run: `runGroup(g)` runs a group's rows `rounds` times (a row repeated
 * while its runs, or its ratio peer's, total under `budget` seconds), then each syslayer row once
 * more with --perf (with `quick`, the rounds' syslayer runs carry it instead).
 */
export function createRounds({ run, rounds, budget, quick, log, note }) {
  const runs = {};
  const perf = {};
  const checks = {};
  const failures = {};
  const order = [];

  async function runItem(it, perfRun) {
    if (it.prep) it.prep();
    const argv = perfRun ? withPerf(it.argv) : it.argv;
    let res;
    try {
      res = await run(argv, { okStatus: it.okStatus ?? [0], stdout: it.stdout ?? 'pipe' });
      if (it.check && !checks[it.id]) checks[it.id] = it.check(res);
    } catch (e) {
      // A failing command is a finding, not the end of the run: the row stops, the others go on.
      failures[it.id] = e.message.slice(0, 2000);
      note(`${it.id} failed: ${e.message.split('\n').filter(Boolean).slice(0, 4).join(' | ')}`);
      return null;
    } finally {
      if (it.after) it.after();
    }
    if (it.expect) {
      const m = it.expect.re.exec(res.head);
      res.count = m ? Number(m[1]) : null;
      if (res.count !== it.expect.count) note(`${it.id}: expected ${it.expect.count}, the output says ${res.count ?? '?'}: ${res.head.split('\n')[0]}`);
    }
    if (perfRun) perf[it.id] = { argv: argv.join(' '), wallSeconds: res.wall, passes: parsePerf(res.stderr), stderr: res.stderr.trim() };
    runs[it.id].push({ wall: res.wall, cpu: res.cpu, rssKB: res.rssKB, load1: res.load1, perf: perfRun, count: res.count ?? null });
    order.push(`${it.id}${perfRun ? ' --perf' : ''}`);
    log(`${it.id.padEnd(22)} ${res.wall.toFixed(3)} s` + (res.cpu != null ? `  cpu ${res.cpu.toFixed(2)} s` : '') +
      (res.rssKB != null ? `  rss ${(res.rssKB / 1024).toFixed(0)} MiB` : '') + (perfRun ? '  (--perf)' : ''));
    return res;
  }

  async function runGroup(g) {
    for (const it of g.items) runs[it.id] = [];
    // The two rows of a ratio run as many rounds: a row is repeated while its runs so far, or its
    // peer's, total under the budget.
    const peerOf = new Map((g.ratios ?? []).flatMap(([a, b]) => [[a, b], [b, a]]));
    const spent = (id) => runs[id].reduce((s, x) => s + x.wall, 0);
    const repeat = (id) => !runs[id].length || spent(id) < budget || (peerOf.has(id) && spent(peerOf.get(id)) < budget);
    // Warm-up, not measured: every input read once, so that every figure is a warm-cache figure.
    readTree(g.warm);
    for (let r = 0; r < rounds; r++) {
      // The order rotates from round to round, so that no row always follows the same one.
      const seq = g.items.map((_, i) => g.items[(i + r) % g.items.length]);
      // Decided at the start of the round, for both rows of a pair alike.
      const todo = new Set(seq.filter((it) => repeat(it.id)).map((it) => it.id));
      for (const it of seq) {
        if (todo.has(it.id) && !failures[it.id]) await runItem(it, quick && it.syslayer);
      }
    }
    // Each syslayer row once more with --perf. --perf only adds a few timer reads (its runs fall
    // within the spread of the plain ones), so this run also counts as a measurement, marked so.
    if (!quick) for (const it of g.items.filter((x) => x.syslayer && !failures[x.id])) await runItem(it, true);
  }

  /**
   * Each named group set up (`setup(name)`: a group, or null when it cannot run) and run in
   * turn; returns the groups by name, with their time, set-up time and the load at their start.
   */
  async function runGroups(names, setup) {
    const groups = {};
    for (const name of names) {
      const t0 = Date.now();
      const load1 = os.loadavg()[0];
      log(`group ${name}: preparing`);
      const g = setup(name);
      const prepSeconds = (Date.now() - t0) / 1000;
      if (!g) {
        groups[name] = { skipped: true, seconds: prepSeconds };
        continue;
      }
      await runGroup(g);
      groups[name] = { ...g, seconds: (Date.now() - t0) / 1000, prepSeconds, load1 };
    }
    return groups;
  }

  return { runs, perf, checks, failures, order, runItem, runGroup, runGroups };
}

export const rnd = (x, d) => (x == null || !Number.isFinite(x) ? null : Number(x.toFixed(d)));

/** Each item's figures, by id, from the measurements of `createRounds`. */
export function statsOf(groups, { runs, checks, failures }) {
  const stats = {};
  for (const g of Object.values(groups)) {
    for (const it of g.items ?? []) {
      const rs = runs[it.id] ?? [];
      const walls = rs.map((x) => x.wall);
      const med = median(walls);
      stats[it.id] = {
        label: it.label,
        command: it.argv.join(' '),
        runs: rs.length,
        failed: failures[it.id] ?? null,
        runDetail: rs.map((x) => ({ wall: rnd(x.wall, 4), cpu: rnd(x.cpu, 3), rssKB: x.rssKB, load1: rnd(x.load1, 2), perf: x.perf, count: x.count })),
        medianSeconds: rnd(med, 4),
        minSeconds: rs.length ? rnd(Math.min(...walls), 4) : null,
        maxSeconds: rs.length ? rnd(Math.max(...walls), 4) : null,
        filesPerSecond: it.units?.files && med ? rnd(it.units.files / med, 0) : null,
        mbPerSecond: it.units?.bytes && med ? rnd(it.units.bytes / 1e6 / med, 1) : null,
        perFile: it.perFile && med ? { what: it.perFile.what, n: it.perFile.n, perSecond: rnd(it.perFile.n / med, 1) } : null,
        cpuSecondsMedian: rnd(median(rs.map((x) => x.cpu)), 3),
        peakRssKB: rs.some((x) => x.rssKB != null) ? Math.max(...rs.map((x) => x.rssKB ?? 0)) : null,
        units: it.units ?? null,
        check: checks[it.id] ?? null,
      };
    }
  }
  return stats;
}

/**
 * Ratios: ours over the peer's wall time (below 1: syslayer is faster), median over median and
 * min over min; with a floor, also the ratio once the floor is taken off syslayer's median.
 */
export function ratiosOf(groups, stats) {
  const S = (id) => (stats[id]?.runs ? stats[id] : null);
  const ratios = [];
  for (const g of Object.values(groups)) {
    for (const [ours, peer, target, floor] of g.ratios ?? []) {
      const a = S(ours);
      const b = S(peer);
      if (!a || !b) continue;
      const v = a.medianSeconds / b.medianSeconds;
      const f = floor ? S(floor) : null;
      ratios.push({
        ours, peer, value: rnd(v, 3), minOverMin: rnd(a.minSeconds / b.minSeconds, 3), target, met: target ? v <= target.value : null,
        floor: f ? { id: floor, medianSeconds: f.medianSeconds, shareOfOurs: rnd(f.medianSeconds / a.medianSeconds, 3), withoutFloor: rnd((a.medianSeconds - f.medianSeconds) / b.medianSeconds, 3) } : null,
      });
    }
  }
  return ratios;
}

export const mib = (kb) => (kb == null ? '-' : `${(kb / 1024).toFixed(0)} MiB`);
export const rate = (x) => (x == null ? '-' : x >= 100 ? String(Math.round(x)) : String(x));
export const fix = (x, d = 3) => (x == null ? '-' : x.toFixed(d));

/** Rows of cells as lines: the first column left-aligned, the others right-aligned. */
export function textTable(rows) {
  const w = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return rows.map((r) => '  ' + r.map((x, i) => (i === 0 ? x.padEnd(w[i]) : x.padStart(w[i]))).join('  '));
}

/** The lines of one group's tables (its `tables`: a title and the ids of its rows). */
export function groupTableLines(g, stats) {
  const lines = [];
  const header = ['', 'runs', 'median s', 'min s', 'max s', 'files/s', 'MB/s', 'per file', 'cpu s', 'peak RSS'];
  for (const tb of g.tables ?? []) {
    lines.push(tb.title);
    const rows = [header];
    for (const id of tb.ids) {
      const s = stats[id];
      if (!s) continue;
      if (!s.runs) {
        rows.push([s.label, '0', 'FAILED', '-', '-', '-', '-', '-', '-', '-']);
        continue;
      }
      rows.push([s.label, String(s.runs), fix(s.medianSeconds), fix(s.minSeconds), fix(s.maxSeconds), rate(s.filesPerSecond), s.mbPerSecond == null ? '-' : s.mbPerSecond.toFixed(1),
        s.perFile ? `${rate(s.perFile.perSecond)}/s ${s.perFile.what}` : '-', fix(s.cpuSecondsMedian, 2), mib(s.peakRssKB)]);
    }
    lines.push(...textTable(rows), '');
  }
  return lines;
}

/** The ratio lines under the tables. `name(r)` says which pair a ratio is (its first words). */
export function ratioLines(ratios, stats, name = (r) => r.ours.split('.').slice(0, -1).join(' ')) {
  if (!ratios.length) return [];
  const lines = ['ratios to peers (syslayer\'s wall time over the peer\'s: below 1, syslayer is faster; median over median, and min over min)'];
  for (const r of ratios) {
    const t = r.target ? `  target <= ${r.target.value}: ${r.met ? 'REACHED' : 'NOT reached'}` : '';
    lines.push(`  ${name(r)}: ${stats[r.ours].label} / ${stats[r.peer].label}: ${r.value.toFixed(2)}x (min ${r.minOverMin.toFixed(2)})${t}`);
    if (r.floor) lines.push(`    (start-up floor, ${stats[r.floor.id].label}: ${r.floor.medianSeconds.toFixed(3)} s = ${(100 * r.floor.shareOfOurs).toFixed(0)} % of syslayer's median; ` +
      `without it ${r.floor.withoutFloor.toFixed(2)}x)`);
  }
  lines.push('');
  return lines;
}

/** The per-pass lines: each --perf run's tree on one line; `printed` ids also as syslayer printed them. */
export function perfLines(perf, { quick, printed = [] }) {
  if (!Object.keys(perf).length) return [];
  const lines = [`per-pass times (${quick ? 'the measured run, with --perf' : 'one extra run with --perf, also counted as a run'}; the total counts from the process's start, Node's start-up and module loading its first lines):`];
  for (const [id, p] of Object.entries(perf)) lines.push(`  ${id}: ` + (p.passes ? formatPerf(p.passes) : p.stderr.split('\n')[0] || '(nothing on stderr)'));
  for (const id of printed.filter((x) => perf[x])) lines.push(`  ${id}, --perf as printed:`, ...perf[id].stderr.split('\n').map((l) => `    ${l}`));
  lines.push('');
  return lines;
}

/** results/<name>-<date>.json, or -<date>-HHMMSS.json when that exists. */
export function resultsFile(dir, name, startedAt, exists) {
  const out = `${dir}/${name}-${startedAt.toISOString().slice(0, 10)}.json`;
  return exists(out) ? out.replace(/\.json$/, `-${startedAt.toISOString().slice(11, 19).replace(/:/g, '')}.json`) : out;
}

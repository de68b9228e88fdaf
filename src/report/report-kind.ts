// Which of our JSON reports a parsed document is: one function that decides, for the CLI (which
// refuses anything else with exit 2) and for the page (which shows a message instead of a blank
// page). Knows no DOM and no Node, so both the CLI and the bundled page import it.

/** The commands whose `--json` report the page shows (docs/scan-json.md, docs/report-json.md). */
export const PAGE_COMMANDS = ['scan', 'plan', 'bind', 'unbind', 'verify', 'sync'] as const;
export type PageCommand = (typeof PAGE_COMMANDS)[number];

/** What a page input is: a command's report, a `verify --packages` report, or a run of the benchmark suites (benchmarks/run.mjs, peers.mjs). */
export type ReportCommand = PageCommand | 'verify --packages' | 'bench';

export type ReportKind = { ok: true; command: ReportCommand } | { ok: false; why: string };

const isObject = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);

/** Whether `doc` is a scan, plan, bind, unbind, verify, sync or benchmark report; if not, why not (one line). */
export function reportKind(doc: unknown): ReportKind {
  if (!isObject(doc)) return { ok: false, why: `not a syslayer report: a JSON ${Array.isArray(doc) ? 'array' : doc === null ? 'null' : typeof doc}, not an object` };
  // The benchmark suites write their own shape (no "tool"): a run's date and its ratios to each peer.
  if (typeof doc.benchmark === 'string' && typeof doc.date === 'string' && Array.isArray(doc.ratios)) return { ok: true, command: 'bench' };
  if (doc.tool !== 'syslayer') return { ok: false, why: `not a syslayer report: its "tool" is ${JSON.stringify(doc.tool) ?? 'missing'}, not "syslayer"` };
  const command = doc.command;
  if (typeof command !== 'string' || !(PAGE_COMMANDS as readonly string[]).includes(command)) {
    return { ok: false, why: `not a report the page shows: its "command" is ${JSON.stringify(command) ?? 'missing'} (the page shows ${PAGE_COMMANDS.join(', ')} and benchmark results)` };
  }
  const packages = command === 'verify' && doc.mode === 'packages';
  const list = command === 'scan' || packages ? 'files' : 'clients';
  const what = packages ? 'verify --packages' : command;
  if (!Array.isArray(doc[list])) return { ok: false, why: `not a complete ${what} report: it has no "${list}" list` };
  return { ok: true, command: packages ? 'verify --packages' : command as PageCommand };
}

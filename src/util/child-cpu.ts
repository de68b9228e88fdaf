// The processor time of the helper processes a run waited for (cp, tar, xargs): --perf shows
// their share beside the passes, which only time this process. Linux counts it in
// /proc/self/stat (cutime and cstime, the 16th and 17th fields, in clock ticks); elsewhere it is
// not known.
import { readFileSync } from 'node:fs';

/** Clock ticks per second: 100 on every Linux this runs on (sysconf(_SC_CLK_TCK)). */
const TICKS_PER_SECOND = 100;

export function helperCpuMs(): number | null {
  try {
    const stat = readFileSync('/proc/self/stat', 'latin1');
    // The command name (field 2) is in parentheses and may hold spaces: fields count after it.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[13]) + Number(fields[14]);
    return Number.isFinite(ticks) ? (ticks * 1000) / TICKS_PER_SECOND : null;
  } catch {
    return null;
  }
}

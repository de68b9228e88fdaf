// Work goes to the pool in batches of files, not file by file. Apart from the pool so that a
// scan without workers does not load piscina.

/** Files per task: large enough that the message round trip is noise, small enough to balance. */
export const BATCH_FILES = 64;

export function batches<T>(items: readonly T[], size = BATCH_FILES): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

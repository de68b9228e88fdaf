// What `merge` prints: the shards joined, the bound files put in, the clients by status, the key.
import type { MergeResult } from '../commands/merge.js';
import { reportHeader } from './report-header.js';

function counts(m: MergeResult): Record<string, number> {
  const c: Record<string, number> = {};
  for (const o of m.outcomes) c[o.status] = (c[o.status] ?? 0) + 1;
  return c;
}

export function mergeJson(m: MergeResult, image: string, output: string) {
  return { ...reportHeader('merge'), image, output, key: m.key, shards: m.count, written: m.written, outcomes: counts(m) };
}

export function formatMerge(m: MergeResult, image: string, output: string): string {
  const clients = Object.entries(counts(m)).map(([k, n]) => `${n} ${k}`).join(', ') || 'none';
  return `merged ${m.count} shard${m.count === 1 ? '' : 's'} of ${image} into ${output}: ${m.written} bound files put in; clients: ${clients}\nkey ${m.key}`;
}

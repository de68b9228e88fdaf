// What `bind --images` prints: one line (or JSON entry) per image of the list, and the counts.
// The schema: docs/schemas/images-report.schema.json (docs/report-json.md).
import type { ImageEntry, ImageStatus, ImagesResult } from '../commands/bind-images.js';
import type { Shard } from '../scale/shard.js';
import { reportHeader } from './report-header.js';

const STATUSES: readonly ImageStatus[] = ['bound', 'cached', 'up-to-date', 'failed', 'not-in-shard'];

function counts(images: readonly ImageEntry[]): Record<ImageStatus, number> {
  const c = Object.fromEntries(STATUSES.map((s) => [s, 0])) as Record<ImageStatus, number>;
  for (const i of images) c[i.status]++;
  return c;
}

export function imagesJson(r: ImagesResult, o: { list: string; outDir: string; shard: Shard | null; cache: string | null }) {
  return { ...reportHeader('bind'), mode: 'images', list: o.list, output: o.outDir, shard: o.shard, cache: o.cache, counts: counts(r.images), images: r.images };
}

export function formatImages(r: ImagesResult, o: { shard: Shard | null }): string {
  const width = Math.max(...STATUSES.map((s) => s.length));
  const lines = r.images.map((i) => {
    // Most errors name the image already ("x.tar: not a tar image"): not twice.
    const what = i.status === 'failed' ? (i.error!.startsWith(`${i.input}: `) ? i.error : `${i.input}: ${i.error}`)
      : i.status === 'not-in-shard' ? i.input
      : `${i.input} -> ${i.output}  ${i.key}${i.exitStatus === 1 ? '  (some clients not bound: see its report)' : ''}${i.warning ? `  (${i.warning})` : ''}`;
    return `${i.status.padEnd(width)}  ${what}`;
  });
  const c = counts(r.images);
  const shard = o.shard ? ` (shard ${o.shard.index}/${o.shard.count})` : '';
  lines.push(`${r.images.length} images${shard}: ${STATUSES.filter((s) => c[s] > 0).map((s) => `${c[s]} ${s}`).join(', ')}`);
  return lines.join('\n');
}

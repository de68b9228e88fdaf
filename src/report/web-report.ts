// `syslayer report`'s page: one self-contained HTML file holding the bundled page (web/report/,
// bundled by scripts/build-web.mjs into build/web/) and the reports it shows. Nothing is fetched:
// the page opens from file:// with no network. Its policy allows what the inspector needs and no
// more: WebAssembly compiled from the inlined core, and a worker made from a Blob.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../util/package-root.js';

export interface PageInput {
  /** What the page calls the report: the file or image it came from. */
  name: string;
  /** A parsed JSON report (the page checks its kind itself, and says so when it is not one of ours). */
  report: unknown;
  /** For an image planned here: its scan report too, so the page's tree holds every ELF file, not only the clients. */
  scan?: unknown;
}

/**
 * JSON that stays inside its <script> element: `<` is written as \u003c, so neither `</script>`
 * nor `<!--` in a file name can end the element early; JSON.parse reads the escape back.
 */
export function scriptSafeJson(value: unknown): string {
  return JSON.stringify(value).replace(/</g, '\\u003c');
}

const escapeHtml = (text: string) => text.replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`);

/** The bundled page, built by `npm run build` (build:web). */
function bundle(): { script: string; style: string } {
  const dir = join(packageRoot(), 'build', 'web');
  try {
    return { script: readFileSync(join(dir, 'main.js'), 'utf8'), style: readFileSync(join(dir, 'report.css'), 'utf8') };
  } catch (error) {
    throw new Error(`the report page is not built (${(error as Error).message}): run npm run build`);
  }
}

export function reportPage(inputs: readonly PageInput[]): string {
  const { script, style } = bundle();
  const title = `syslayer report: ${inputs.map((i) => i.name).join(', ')}`;
  // The bundle is a script, not JSON: only a literal `</script` in it could end the element.
  const safeScript = script.replace(/<\/script/gi, '<\\/script');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'unsafe-inline' 'wasm-unsafe-eval'; worker-src blob:; style-src 'unsafe-inline'; img-src data:">
<title>${escapeHtml(title)}</title>
<style>${style}</style>
</head><body>
<div id="app"><noscript>This report needs JavaScript.</noscript></div>
<script type="application/json" id="syslayer-reports">${scriptSafeJson(inputs)}</script>
<script>${safeScript}</script>
</body></html>
`;
}

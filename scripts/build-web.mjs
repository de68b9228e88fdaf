#!/usr/bin/env node
// Bundles the report page (web/report/) and its inspector (web/inspector/) into build/web/main.js
// and report.css, which `syslayer report` inlines into one self-contained HTML file. Type-checked
// first (web/tsconfig.json), since esbuild only strips types.
//
// The inspector's worker is bundled first, with build/syslayer.wasm and the SDK's reference layers
// inlined as bytes, and its code goes into the page as a string the page makes a Blob of: a page
// opened from file:// can fetch nothing from beside it. Both bundles are for the browser platform,
// so a Node-only import that reached them would fail the build.
import { execFileSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
execFileSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', join(root, 'web/tsconfig.json')], { stdio: 'inherit' });

const common = { bundle: true, minify: true, format: 'iife', platform: 'browser', target: 'es2020', legalComments: 'none', logLevel: 'warning' };

/** src/catalog/abi-table.ts reads data/abi.json through abi-file.js; in the browser that file is inlined instead. */
const inlinedAbiFile = {
  name: 'inlined-abi-file',
  setup(b) {
    b.onResolve({ filter: /\/abi-file\.js$/ }, (args) =>
      args.importer.endsWith(join('src', 'catalog', 'abi-table.ts')) ? { path: join(root, 'web/inspector/abi-file.ts') } : undefined);
  },
};

const worker = await build({
  ...common,
  entryPoints: [join(root, 'web/inspector/worker.ts')],
  write: false,
  loader: { '.wasm': 'binary', '.o': 'binary' },
  inject: [join(root, 'web/inspector/buffer-shim.ts')],
  plugins: [inlinedAbiFile],
});

await build({
  ...common,
  entryPoints: [join(root, 'web/report/main.ts'), join(root, 'web/report/report.css')],
  outdir: join(root, 'build/web'),
  define: { INSPECTOR_WORKER_SOURCE: JSON.stringify(worker.outputFiles[0].text) },
});

#!/usr/bin/env node
// Bundles the report page (web/report/) into build/web/report.js and report.css, which
// `syslayer report` inlines into one self-contained HTML file. Type-checked first (web/tsconfig.json:
// DOM types, no Node), since esbuild only strips types.
import { execFileSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
execFileSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', join(root, 'web/tsconfig.json')], { stdio: 'inherit' });
await build({
  entryPoints: [join(root, 'web/report/main.ts'), join(root, 'web/report/report.css')],
  outdir: join(root, 'build/web'),
  bundle: true, minify: true, format: 'iife', target: 'es2020', legalComments: 'none', logLevel: 'warning',
});

#!/usr/bin/env node
// The installed command. The CLI is compiled to dist/ by `npm run build` (run by `npm ci` in a
// checkout, and before `npm pack`: the package carries dist/ prebuilt).
import { main } from '../dist/src/cli/main.js';

process.exitCode = await main(process.argv.slice(2));

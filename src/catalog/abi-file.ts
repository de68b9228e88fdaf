// Where the userland ABI tables come from in Node: data/abi.json of the package. The browser
// bundle (scripts/build-web.mjs) replaces this module with web/inspector/abi-file.ts, which holds
// the same file inlined, so abi-table.ts is one lookup for both.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../util/package-root.js';
import type { AbiFile } from './abi-table.js';

export function readAbiFile(): AbiFile {
  return JSON.parse(readFileSync(join(packageRoot(), 'data', 'abi.json'), 'utf8')) as AbiFile;
}

// The userland ABI tables in the browser: data/abi.json inlined by the bundler. scripts/build-web.mjs
// puts this module where src/catalog/abi-table.ts imports abi-file.js (which reads the file in Node).
import data from '../../data/abi.json';
import type { AbiFile } from '../../src/catalog/abi-table.js';

export function readAbiFile(): AbiFile {
  return data as AbiFile;
}

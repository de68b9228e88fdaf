// `syslayer inspect <file>`: one file in detail, with its bind record decoded by the core.
import { readFileSync } from 'node:fs';
import { Core, compileCore } from '../core/core.js';
import { inspectBytes, type Inspection } from '../report/inspection.js';
import { fsPath } from '../names/path-bytes.js';
import { UsageError } from '../errors.js';

export function inspectFile(path: string): Inspection {
  let bytes: Buffer;
  try {
    bytes = readFileSync(fsPath(path));
  } catch (error) {
    throw new UsageError(`${path}: cannot read: ${(error as Error).message}`);
  }
  return inspectBytes(new Core(compileCore()), bytes);
}

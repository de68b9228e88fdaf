// What every JSON report starts with: which tool wrote it, its version, and the version of the
// report's schema (docs/scan-json.md, docs/report-json.md), so that a reader can tell what fields
// to expect. The schema version changes when a field changes meaning or goes; added fields do not.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../util/package-root.js';

export const SCHEMA_VERSION = 2;

let version: string | null = null;

export function toolVersion(): string {
  version ??= (JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as { version: string }).version;
  return version;
}

export function reportHeader(command: string) {
  return { tool: 'syslayer', toolVersion: toolVersion(), schemaVersion: SCHEMA_VERSION, command };
}

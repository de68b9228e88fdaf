// Every JSON report the tests get from the CLI is checked against the published schemas
// (docs/schemas/, JSON Schema 2020-12) with ajv, so that the schemas and the code cannot drift.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import type { ValidateFunction } from 'ajv';
import { packageRoot } from '../../src/util/package-root.js';

const SCHEMAS = join(packageRoot(), 'docs', 'schemas');
const ajv = new Ajv2020({ allErrors: true, strict: true });
const load = (name: string): ValidateFunction => ajv.compile(JSON.parse(readFileSync(join(SCHEMAS, name), 'utf8')) as object);

export const validators = {
  scan: load('scan-report.schema.json'),
  rewrite: load('rewrite-report.schema.json'),
  packages: load('package-verify-report.schema.json'),
  images: load('images-report.schema.json'),
};

const REPORTING = new Set(['scan', 'plan', 'bind', 'unbind', 'verify', 'sync']);

/** The problems of `report` (a parsed JSON report of `command`, `verify --packages` for that one) against its schema; empty when it conforms. */
export function schemaProblems(command: string, report: unknown): string[] {
  const validate = command === 'scan' ? validators.scan : command === 'verify --packages' ? validators.packages : command === 'bind --images' ? validators.images : validators.rewrite;
  if (validate(report)) return [];
  return (validate.errors ?? []).slice(0, 10).map((e) => `${e.instancePath || '/'} ${e.message ?? ''} ${JSON.stringify(e.params)}`);
}

/**
 * For a CLI run with --json that printed a report: throws when the report does not conform. The
 * report is on standard output, or on standard error when the image went to standard output.
 */
export function checkReport(args: readonly string[], stdout: string, stderr: string): void {
  const command = args[0] ?? '';
  if (!REPORTING.has(command) || !args.includes('--json')) return;
  const o = args.indexOf('-o');
  const text = o >= 0 && args[o + 1] === '-' ? stderr : stdout;
  let report: unknown;
  try {
    report = JSON.parse(text);
  } catch {
    return; // no report: the run failed before one (its status and message are the test's business)
  }
  const kind = command === 'verify' && args.includes('--packages') ? 'verify --packages' : command === 'bind' && args.includes('--images') ? 'bind --images' : command;
  const problems = schemaProblems(kind, report);
  if (problems.length > 0) throw new Error(`syslayer ${args.join(' ')}: the report does not match its schema (docs/schemas):\n${problems.join('\n')}`);
}

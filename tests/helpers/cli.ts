// Runs the built CLI the way a user does, and hands back its exit code and output.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { packageRoot } from '../../src/util/package-root.js';
import { checkReport } from './report-schema.js';

export const ROOT = packageRoot();

export interface CliResult {
  status: number;
  stdout: string;
  stderr: string;
}

export function syslayer(...args: string[]): CliResult {
  const r = spawnSync(process.execPath, [join(ROOT, 'bin', 'syslayer.js'), ...args], {
    encoding: 'utf8',
    maxBuffer: 512 * 1024 * 1024,
  });
  if (r.error) throw r.error;
  checkReport(args, r.stdout, r.stderr);
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** `syslayer scan --json`, parsed; fails the test with stderr when the command crashed. */
export function scanJson(image: string, ...extra: string[]): { status: number; report: ScanJson; stderr: string } {
  const r = syslayer('scan', '--json', ...extra, image);
  if (r.status !== 0 && r.status !== 1) throw new Error(`scan exited ${r.status}: ${r.stderr}`);
  return { status: r.status, report: JSON.parse(r.stdout) as ScanJson, stderr: r.stderr };
}

export interface ScanJsonFile {
  path: string;
  error?: string;
  [field: string]: unknown;
}

export interface ScanJson {
  image: string;
  counts: Record<string, number>;
  files: ScanJsonFile[];
}

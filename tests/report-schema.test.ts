// The published report schemas (docs/schemas/) are valid JSON Schema, accept the reports the CLI
// writes (tests/helpers/cli.ts checks every --json report a test gets), and reject reports that
// break them: a check that could not fail would prove nothing.
import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { syslayer } from './helpers/cli.js';
import { schemaProblems } from './helpers/report-schema.js';

const ROOT = join(import.meta.dirname, '..');
const SDK_BIN = join(ROOT, 'sdk', 'prebuilt', 'x86_64', 'bin');
const LAYERS = join(ROOT, 'sdk', 'prebuilt', 'x86_64', 'layers');

describe('report schemas', () => {
  const scan = JSON.parse(syslayer('scan', '--json', SDK_BIN).stdout) as Record<string, unknown>;
  const plan = JSON.parse(syslayer('plan', '--json', '--kernel', '4.11', '--layers', LAYERS, SDK_BIN).stdout) as Record<string, unknown>;

  it('accept what scan and plan print', () => {
    expect(schemaProblems('scan', scan)).toEqual([]);
    expect(schemaProblems('plan', plan)).toEqual([]);
    expect((plan.clients as unknown[]).length).toBe(3);
  });

  it('reject a report without a required field, with a field of the wrong type, or of another schema version', () => {
    const { counts: _, ...noCounts } = scan;
    expect(schemaProblems('scan', noCounts).join()).toMatch(/counts/);
    const files = structuredClone(scan.files) as Record<string, unknown>[];
    files[0]!.class = 48;
    expect(schemaProblems('scan', { ...scan, files }).join()).toMatch(/class/);
    expect(schemaProblems('plan', { ...plan, schemaVersion: 3 }).join()).toMatch(/schemaVersion/);
    const clients = structuredClone(plan.clients) as Record<string, unknown>[];
    clients[0]!.outcome = { path: 'x', status: 'error' }; // an error outcome must say why
    expect(schemaProblems('plan', { ...plan, clients }).join()).toMatch(/error/);
  });
});

// Fuzzing the core's entry points (issue 11; benchmarks/fuzz-core.mjs runs 100,000 cases and more
// of the same generator). Every fixture kept from a run must now pass, and a few thousand fresh
// cases must give no crash, hang, failed oracle or memory over its bound. The seed is printed;
// SYSLAYER_FUZZ_SEED and SYSLAYER_FUZZ_CASES replay a run.
import { describe, expect, it } from 'vitest';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
// Plain JavaScript, shared with benchmarks/fuzz-core.mjs: worker threads load it as it is.
import { prepareInputs, runFuzz, FIXTURES } from './fuzz/fuzz.mjs';

interface Failure { fixture: string | null; entry: string; core: string; input: string; failed: string; mutation: string[] }
interface FuzzRun { cases: number; failures: Failure[]; counts: Record<string, number>; maxMemory: number; seconds: number }

const prepared = prepareInputs();
const describeFailures = (failures: Failure[]) => failures.map((f) => `${f.fixture ?? '(replay)'}: ${f.entry} on the ${f.core} core (${f.input}; ${f.mutation.join('; ')}): ${f.failed}`).join('\n');

describe('fuzzing the core', () => {
  it('passes every kept fixture', async () => {
    const names = existsSync(FIXTURES) ? readdirSync(FIXTURES).filter((f: string) => f.endsWith('.json')).sort() : [];
    expect(names.length, 'no fixtures in tests/fixtures/fuzz').toBeGreaterThan(0);
    const replays = names.map((n: string) => {
      const meta = JSON.parse(readFileSync(join(FIXTURES, n), 'utf8'));
      return { seed: meta.seed, case: meta.case, input: meta.input, steps: meta.mutation, bytes: new Uint8Array(readFileSync(join(FIXTURES, n.replace(/\.json$/, '.bin')))) };
    });
    const r: FuzzRun = await runFuzz({ prepared, replays });
    expect(r.cases).toBe(replays.length);
    expect(r.failures, describeFailures(r.failures)).toEqual([]);
  });

  it('survives a few thousand fresh cases on the release and debug cores', async () => {
    const seed = Number(process.env.SYSLAYER_FUZZ_SEED ?? (Date.now() % 0x7fffffff));
    const cases = Number(process.env.SYSLAYER_FUZZ_CASES ?? 4000);
    console.log(`fuzz-core: seed ${seed}, ${cases} cases (SYSLAYER_FUZZ_SEED=${seed} to replay)`);
    const r: FuzzRun = await runFuzz({ prepared, seed, from: 0, to: cases, fixtures: FIXTURES });
    expect(r.cases).toBe(cases);
    expect(r.failures, `seed ${seed}:\n${describeFailures(r.failures)}`).toEqual([]);
    // The oracles bite: many mutated clients still bind (and are checked), many are refused.
    expect(r.counts['bind:ok'], 'bound clients').toBeGreaterThan(cases / 4);
    expect(r.counts['bind:refused'], 'refused clients').toBeGreaterThan(cases / 20);
    expect(r.counts['link:refused'], 'refused layers').toBeGreaterThan(cases / 20);
  });
});

#!/usr/bin/env node
// Fuzzes the core's entry points (issue 11, DESIGN.md §8): seeded mutations of the SDK's layers and
// clients, unbound and bound, through link, scan, prepare, check, detach, bind, unbind and verify,
// on the release and the debug core (odd cases), one worker thread with a watchdog. Too long for
// CI; tests/fuzz-core.test.ts runs a few thousand cases of the same generator there.
//
//   npm run fuzz [-- --cases N] [-- --seed S] [-- --timeout MS]
//
// Prints cases/s, counts per entry point and outcome, the seed and the largest core memory; writes
// benchmarks/results/fuzz-core-<seed>.json. Every failure is kept as a fixture under
// tests/fixtures/fuzz/ and the run exits 1.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { prepareInputs, runFuzz, FIXTURES } from '../tests/fuzz/fuzz.mjs';
import { memoryBound } from '../tests/fuzz/run-case.mjs';

const { values } = parseArgs({
  options: {
    cases: { type: 'string', default: '100000' },
    seed: { type: 'string', default: `${(Date.now() % 0x7fffffff) >>> 0}` },
    timeout: { type: 'string', default: '2000' },
  },
});
const seed = Number(values.seed);
const cases = Number(values.cases);

const prepared = prepareInputs();
console.log(`fuzzing the core: seed ${seed}, ${cases} cases (even: release core, odd: debug core), watchdog ${values.timeout} ms per case`);
console.log(`inputs: ${prepared.inputs.layers.length} layers, ${prepared.inputs.clients.length} clients (unbound and bound); ` +
  `${[...prepared.inputs.layers, ...prepared.inputs.clients].reduce((n, x) => n + x.targets.length, 0)} field targets`);
const r = await runFuzz({
  prepared,
  seed,
  from: 0,
  to: cases,
  timeoutMs: Number(values.timeout),
  fixtures: FIXTURES,
  onProgress: ({ done, elapsed }) => {
    if (done % 10000 === 0) process.stderr.write(`  ${done} cases, ${Math.round(done / (elapsed / 1000))} cases/s\n`);
  },
});

const perEntry = {};
for (const [key, n] of Object.entries(r.counts)) {
  const [entry, outcome = 'count'] = key.split(':');
  (perEntry[entry] ??= {})[outcome] = n;
}
const summary = {
  seed,
  cases: r.cases,
  seconds: Number(r.seconds.toFixed(1)),
  casesPerSecond: Math.round(r.cases / r.seconds),
  outcomes: perEntry,
  maxCoreMemory: r.maxMemory,
  memoryBound: memoryBound(prepared.largestInput),
  failures: r.failures,
  node: process.version,
};
console.log(`${r.cases} cases in ${summary.seconds} s: ${summary.casesPerSecond} cases/s`);
for (const [entry, outcomes] of Object.entries(perEntry).sort()) {
  console.log(`  ${entry.padEnd(8)} ${Object.entries(outcomes).map(([o, n]) => `${o} ${n}`).join(', ')}`);
}
console.log(`largest core memory after a case: ${(r.maxMemory / 1048576).toFixed(1)} MiB (bound ${(summary.memoryBound / 1048576).toFixed(1)} MiB)`);
console.log(`failures: ${r.failures.length}`);
for (const f of r.failures) console.log(`  ${f.fixture}: ${f.entry} (${f.core} core, ${f.input}): ${f.failed}`);
const dir = new URL('./results/', import.meta.url).pathname;
mkdirSync(dir, { recursive: true });
writeFileSync(join(dir, `fuzz-core-${seed}.json`), `${JSON.stringify(summary, null, 2)}\n`);
process.exitCode = r.failures.length ? 1 : 0;

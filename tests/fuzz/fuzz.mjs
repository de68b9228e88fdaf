// Drives fuzz cases through a worker thread with a watchdog: cases go out in batches, the worker
// answers after each, and when no answer comes for `timeoutMs` the case under way is recorded as a
// hang and the worker replaced. Every failure (crash, failed oracle, hang, memory over its bound)
// is written as a fixture: <entry>-<seed>-<case>.bin, the mutated input, and a .json beside it.
import { Worker } from 'node:worker_threads';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fuzzInputs } from './inputs.mjs';
import { makeCase } from './cases.mjs';

const WORKER = new URL('./worker.mjs', import.meta.url);
const BATCH = 64;

export const FIXTURES = new URL('../fixtures/fuzz/', import.meta.url).pathname;

/** Prepares the inputs once: they are the same for every run. */
export function prepareInputs() {
  const inputs = fuzzInputs();
  const largestInput = Math.max(...[...inputs.layers, ...inputs.clients].map((x) => x.bytes.length));
  return { inputs, largestInput };
}

function keepFixture(dir, seed, a, core) {
  mkdirSync(dir, { recursive: true });
  const name = `${a.failure.entry}-${seed}-${a.index}`;
  writeFileSync(join(dir, `${name}.bin`), a.bytes);
  writeFileSync(join(dir, `${name}.json`), `${JSON.stringify({ seed, case: a.index, core, input: a.input, mutation: a.steps, entry: a.failure.entry, failed: a.failure.what }, null, 2)}\n`);
  return name;
}

/**
 * Runs cases [from, to) of run `seed` (or `replays`: fixtures to run again, each { seed, case,
 * input, steps, bytes }). Returns counts per entry point and outcome, failures, the largest core
 * memory seen, and the time taken.
 */
export async function runFuzz({ prepared, seed = 0, from = 0, to = 0, replays = null, timeoutMs = 2000, fixtures = null, onProgress = () => {} }) {
  const { inputs, largestInput } = prepared;
  const counts = {};
  const failures = [];
  let maxMemory = 0;
  let done = 0;
  const started = performance.now();
  // The work as a queue of single-case or range jobs: a replay is one job per fixture.
  const jobs = replays
    ? replays.map((r) => ({ seed: r.seed, from: r.case, to: r.case + 1, replay: { input: r.input, steps: r.steps, bytes: r.bytes } }))
    : Array.from({ length: Math.ceil((to - from) / BATCH) }, (_, i) => ({ seed, from: from + i * BATCH, to: Math.min(to, from + (i + 1) * BATCH), replay: null }));
  const fail = (a, seedOf) => {
    const core = a.index & 1 ? 'debug' : 'release';
    const fixture = fixtures ? keepFixture(fixtures, seedOf, a, core) : null;
    failures.push({ seed: seedOf, case: a.index, core, input: a.input, entry: a.failure.entry, failed: a.failure.what, mutation: a.steps, fixture });
  };
  while (jobs.length) {
    const worker = new Worker(WORKER, { workerData: { inputs, largestInput } });
    // One worker runs jobs until they end or it hangs; a hang ends it and the rest go to a new one.
    await new Promise((resolve, reject) => {
      let job = null;
      let next = 0;
      let timer = null;
      const arm = () => {
        clearTimeout(timer);
        timer = setTimeout(() => {
          const current = job.from + next;
          // The worker is gone with its case: made again here (cases are pure functions of seed and index).
          const c = makeCase(inputs, job.seed, current, job.replay);
          fail({ index: current, failure: { entry: 'hang', what: `no answer in ${timeoutMs} ms` }, input: c.input.label, steps: c.steps, bytes: c.bytes }, job.seed);
          counts['hang'] = (counts['hang'] ?? 0) + 1;
          done++;
          if (current + 1 < job.to) jobs.unshift({ ...job, from: current + 1 });
          worker.terminate().then(resolve, resolve);
        }, timeoutMs);
      };
      const send = () => {
        job = jobs.shift();
        if (!job) {
          clearTimeout(timer);
          worker.terminate().then(resolve, resolve);
          return;
        }
        next = 0;
        arm();
        worker.postMessage(job);
      };
      worker.on('message', (a) => {
        next++;
        done++;
        if (a.failure) fail(a, job.seed);
        else {
          for (const [k, v] of Object.entries(a.counts)) counts[k] = (counts[k] ?? 0) + v;
          maxMemory = Math.max(maxMemory, a.memory);
        }
        if (done % 1000 === 0) onProgress({ done, elapsed: performance.now() - started });
        if (job.from + next >= job.to) send();
        else arm();
      });
      worker.on('error', (e) => { clearTimeout(timer); reject(e); });
      send();
    });
  }
  return { counts, failures, maxMemory, cases: done, seconds: (performance.now() - started) / 1000 };
}

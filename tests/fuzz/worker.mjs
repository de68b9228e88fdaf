// A fuzz worker thread: one release and one debug core for its whole life (as a pool worker keeps
// one), running the cases the main thread sends and answering after each, so the main thread's
// watchdog knows which case hung when answers stop.
import { parentPort, workerData } from 'node:worker_threads';
import { compileCore, corePath } from '../../dist/src/core/core.js';
import { makeCase } from './cases.mjs';
import { FuzzCore, CaseFailure, runCase } from './run-case.mjs';

const { inputs, largestInput } = workerData;
const modules = [compileCore(corePath(false)), compileCore(corePath(true))];
const cores = [null, null];
/** Odd cases run on the debug core (assertions on), even ones on the release core. */
const coreFor = (index) => (cores[index & 1] ??= new FuzzCore(modules[index & 1], inputs.layers, largestInput));

parentPort.on('message', ({ seed, from, to, replay }) => {
  for (let index = from; index < to; index++) {
    const c = makeCase(inputs, seed, index, replay);
    let answer;
    try {
      const fc = coreFor(index);
      const { counts, memory } = runCase(fc, c, inputs.clients);
      answer = { index, counts, memory };
    } catch (error) {
      const failure = error instanceof CaseFailure ? { entry: error.entry, what: error.message } : { entry: 'fuzzer', what: `${error?.stack ?? error}` };
      // A trap can leave an instance half-way through a call: the next case gets a fresh core.
      cores[index & 1] = null;
      answer = { index, failure, input: c.input.label, steps: c.steps, bytes: c.bytes };
    }
    parentPort.postMessage(answer);
  }
});

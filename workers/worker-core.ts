// The one instance of the WebAssembly core of a pool worker, made from the module the main thread
// compiled (handed over in workerData) when the worker starts, and kept for its whole life: the
// scan and the rewrite tasks share it.
import { workerData } from 'piscina';
import { Core } from '../src/core/core.js';
import type { PoolWorkerData } from '../src/pool/tasks.js';

export const core = new Core((workerData as PoolWorkerData).module);

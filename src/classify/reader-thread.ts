// A thread that reads files for a directory scan of its own: it instantiates the core the main
// thread compiled and scans the batches it is sent, in order, answering each. Not a pool worker
// (workers/): it loads only the core and its record decoders, no piscina, so it is ready ~45 ms
// after it is made where a pool worker took 120-200 ms.
import { parentPort, workerData } from 'node:worker_threads';
import { Core } from '../core/core.js';
import type { ScanBatch } from '../pool/tasks.js';

const core = new Core((workerData as { module: WebAssembly.Module }).module);
const port = parentPort!;
port.on('message', (batch: ScanBatch) => port.postMessage(core.scanFiles(batch.root, batch.paths)));

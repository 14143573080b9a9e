/**
 * The script of a brighten worker thread (pool.ts starts it with the run's WorkerConfig as its workerData):
 * takes the wasm module its parent compiled, if it was handed one, and serves the windows its parent sends
 * with worker.ts's processor. Apart from worker.ts so that a run on the calling thread, which imports
 * worker.ts, never loads `node:worker_threads`.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { adoptSharedWasmModule } from '../kernels/wasm.js';
import type { WorkerConfig } from './protocol.js';
import { serveWorkerThread } from './worker.js';

if (parentPort !== null) {
  adoptSharedWasmModule(workerData);
  serveWorkerThread(parentPort, workerData as WorkerConfig);
}

/**
 * The script of a brighten worker thread (pool.ts starts it, and keeps it for the runs of a batch): takes the
 * wasm module its parent compiled, if its workerData hands it one, and serves the runs its parent sends with
 * worker.ts's processor. Apart from worker.ts so that a run on the calling thread, which imports
 * worker.ts, never loads `node:worker_threads`.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { adoptSharedWasmModule } from '../kernels/wasm.js';
import { serveWorkerThread } from './worker.js';

if (parentPort !== null) {
  adoptSharedWasmModule(workerData);
  serveWorkerThread(parentPort);
}

// Runs one farm job and SIGKILLs itself at the named step: a worker that dies exactly there.
import { readFileSync } from 'node:fs';
import { runFarmJob } from '../../dist/farm/job.js';

const [, , jobId, dataPath, killAt] = process.argv;
const data = JSON.parse(readFileSync(dataPath, 'utf8'));
const result = await runFarmJob(jobId, data, {
  at: (point) => {
    if (point === killAt) process.kill(process.pid, 'SIGKILL');
  },
});
process.stdout.write(JSON.stringify(result));

// The layout of the shared region used by samples/parallel-brighten: progress counters (as float64,
// so byte counts past 4 GiB stay exact) at the start, then the job, written with writeObject.
export const COUNTERS = {
  nextWindow: 0, // the next window nobody has claimed yet
  windowsDone: 1,
  bytesDone: 2,
  perWorker: 3, // then one count of windows per worker
  length: 3 + 64,
};
export const JOB_OFFSET = COUNTERS.length * 8;
export const REGION_SIZE = JOB_OFFSET + 4096;

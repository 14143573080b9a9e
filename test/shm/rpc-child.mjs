// A request/response server for test/shm/rpc.test.ts, run against the built library: answers
// { who, i } with { echo: who, i, pid } on the channel named argv[2]; stops after argv[3] requests.
import { Channel } from '../../dist/shm/channel.js';
import { serve } from '../../dist/shm/rpc.js';

const requests = Channel.open(process.argv[2]);
const limit = Number(process.argv[3]);
let served = 0;
const server = serve(requests, ({ who, i }) => {
  if (++served === limit) server.stop();
  return { echo: who, i, pid: process.pid };
});
await server.done;
requests.close();

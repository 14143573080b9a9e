/* A C peer for test/shm/foreign-peer.test.ts: receives <count> messages on channel <name>.req and
 * answers each on <name>.rep with every byte plus one. Built by the test with cc. */
#include "../../native/include/rawbright_ipc.h"

#include <stdlib.h>

int main(int argc, char** argv) {
  char name[256];
  rb_region requests, replies;
  static uint8_t buffer[1 << 20];
  if (argc != 3) return 2;
  snprintf(name, sizeof name, "%s.req", argv[1]);
  if (rb_region_open(name, &requests) != 0) return 3;
  snprintf(name, sizeof name, "%s.rep", argv[1]);
  if (rb_region_open(name, &replies) != 0) return 4;
  for (int i = 0, count = atoi(argv[2]); i < count; i++) {
    int clone = 0;
    long length = rb_channel_receive(&requests, buffer, sizeof buffer, &clone);
    if (length < 0 || clone) return 5;
    for (long j = 0; j < length; j++) buffer[j] = (uint8_t)(buffer[j] + 1);
    if (rb_channel_send(&replies, buffer, (uint32_t)length) != 0) return 6;
  }
  rb_region_close(&requests);
  rb_region_close(&replies);
  return 0;
}

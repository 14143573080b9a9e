/* A C peer for test/shm/foreign-peer.test.ts and foreign-primitives.test.ts, built by the tests with cc
 * from native/include/rawbright_ipc.h.
 *   c-peer <name> <count>  receives <count> messages on channel <name>.req and answers each on
 *                          <name>.rep with every byte plus one.
 *   c-peer serve           answers commands on stdin, one line each (regions opened by name on first use):
 *     ping -> pong;  event-set|event-reset <name> -> ok;  event-try <name> -> 1|0;
 *     event-wait <name> <ms> -> ok|timeout;  sem-post <name> <n> -> before <count>|full;
 *     sem-try <name> -> 1|0;  sem-wait <name> <ms> -> ok|timeout;  lock <name> -> locked|abandoned;
 *     unlock <name> -> unlocked;  exit.  Anything failing answers "error <errno>". */
#include "../../native/include/rawbright_ipc.h"

#include <stdlib.h>

static int echo(const char* base, int count) {
  char name[256];
  rb_region requests, replies;
  static uint8_t buffer[1 << 20];
  snprintf(name, sizeof name, "%s.req", base);
  if (rb_region_open(name, &requests) != 0) return 3;
  snprintf(name, sizeof name, "%s.rep", base);
  if (rb_region_open(name, &replies) != 0) return 4;
  for (int i = 0; i < count; i++) {
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

static struct {
  char name[256];
  rb_region region;
} opened[32];
static int openedCount = 0;

static rb_region* regionOf(const char* name, int* err) {
  for (int i = 0; i < openedCount; i++)
    if (strcmp(opened[i].name, name) == 0) return &opened[i].region;
  if (openedCount == 32) {
    *err = EMFILE;
    return NULL;
  }
  *err = rb_region_open(name, &opened[openedCount].region);
  if (*err != 0) return NULL;
  snprintf(opened[openedCount].name, sizeof opened[openedCount].name, "%s", name);
  return &opened[openedCount++].region;
}

/* One command; returns 0 to go on, 1 to exit. */
static int command(char* line) {
  char verb[32] = "", name[256] = "";
  long arg = 0;
  int err = 0;
  if (sscanf(line, "%31s %255s %ld", verb, name, &arg) < 1) return 0;
  if (strcmp(verb, "exit") == 0) return 1;
  if (strcmp(verb, "ping") == 0) {
    printf("pong\n");
    return 0;
  }
  rb_region* region = regionOf(name, &err);
  if (region == NULL) {
    printf("error %d\n", err);
    return 0;
  }
  if (strcmp(verb, "event-set") == 0) err = rb_event_set(region);
  else if (strcmp(verb, "event-reset") == 0) err = rb_event_reset(region);
  else if (strcmp(verb, "event-try") == 0 || strcmp(verb, "sem-try") == 0) {
    int taken = verb[0] == 'e' ? rb_event_try_wait(region) : rb_semaphore_try_wait(region);
    if (taken >= 0) {
      printf("%d\n", taken);
      return 0;
    }
    err = -taken;
  } else if (strcmp(verb, "event-wait") == 0 || strcmp(verb, "sem-wait") == 0) {
    err = verb[0] == 'e' ? rb_event_wait(region, arg) : rb_semaphore_wait(region, arg);
    if (err == ETIMEDOUT) {
      printf("timeout\n");
      return 0;
    }
  } else if (strcmp(verb, "sem-post") == 0) {
    uint32_t before = 0;
    err = rb_semaphore_release(region, (uint32_t)arg, &before);
    if (err == EOVERFLOW) {
      printf("full\n");
      return 0;
    }
    if (err == 0) {
      printf("before %u\n", before);
      return 0;
    }
  } else if (strcmp(verb, "lock") == 0) {
    if (region->dataSize != 0 || region->header.mutexCount != 1) err = EINVAL; /* not a NamedMutex */
    else {
      printf(rb_mutex_lock(region, 0) ? "abandoned\n" : "locked\n");
      return 0;
    }
  } else if (strcmp(verb, "unlock") == 0) {
    if (region->dataSize != 0 || region->header.mutexCount != 1) err = EINVAL; /* not a NamedMutex */
    else {
      rb_mutex_unlock(region, 0);
      printf("unlocked\n");
      return 0;
    }
  } else err = ENOSYS;
  if (err != 0) printf("error %d\n", err);
  else printf("ok\n");
  return 0;
}

int main(int argc, char** argv) {
  if (argc == 2 && strcmp(argv[1], "serve") == 0) {
    char line[512];
    setvbuf(stdout, NULL, _IOLBF, 0);
    while (fgets(line, sizeof line, stdin) != NULL)
      if (command(line)) break;
    for (int i = 0; i < openedCount; i++) rb_region_close(&opened[i].region);
    return 0;
  }
  if (argc != 3) return 2;
  return echo(argv[1], atoi(argv[2]));
}

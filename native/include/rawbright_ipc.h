/*
 * rawbright_ipc.h: the layouts of rawbright's shared memory regions, lock words and channels, for
 * peers written in C (or any language that can map a file and do 32-bit atomics). Linux only.
 * Header-only: include it in one C or C++ file. Layout version: RB_IPC_LAYOUT_VERSION.
 *
 * Region: the file /dev/shm/rawbright.<name>:
 *   [rb_region_header at 0 | lock words at mutexOffset + i * mutexSlotSize][data at headerSize]
 * Lifetime: every user holds flock(LOCK_SH) on its own descriptor while it uses the region; the
 *   name is removed only by a process that can take LOCK_EX (the last user). A foreign peer that
 *   holds LOCK_SH (rb_region_open does) keeps the name alive for as long as it is attached. A peer
 *   never unlinks; when it is the last to leave, the next create/open of the name by rawbright (or
 *   SharedMemory.cleanup()) reclaims it.
 * Lock word (uint32): 0 free; 1 free but abandoned; token >= 1024 held by the attachment that drew
 *   it, which holds an F_OFD_SETLK write lock on byte (1 << 40) + token of the file for as long as
 *   it is attached; bit 31 = a waiter may sleep (FUTEX_WAIT, not private): the unlocker wakes one.
 *   A word held by a token whose byte nobody write-locks belongs to a dead holder: take it over.
 * Channel (in the region's data, little-endian uint32 words): 0 magic "RBCH" (0x48434252),
 *   1 version RB_CHANNEL_VERSION (2), 2 capacity (power of two), 4 head (bytes ever taken), 5 tail (bytes ever
 *   committed), 6 data sequence (futex, +1 per send), 7 space sequence (futex, +1 per receive),
 *   8 receivers sleeping, 9 senders sleeping; ring at byte 64 of records
 *   [uint32 length, bit 31 = V8 structured clone][payload padded to 4]. head and tail change only
 *   under lock word 0, each by one store after the bytes it covers are in place. A record header
 *   word of RB_CHANNEL_SKIP (0xFFFFFFFF) marks the rest of the ring up to its end as padding: the
 *   record follows at the ring's start (rawbright's senders put a record there when it would
 *   otherwise wrap, so receivers can read it in place); a receiver skips it, and frees it with the
 *   record after it by one head store. A sender may also write records that wrap (these do).
 * Event and Semaphore: a region of 64 data bytes (int32 words, little-endian), word 0 magic, word 1
 *   version RB_PRIMITIVE_VERSION (1), published by the creator with the magic stored last.
 * Event: 0 "RBEV" (0x56454252), 1 version, 2 manual (1 = manual reset), 3 state (1 = set),
 *   4 sequence (futex: +1 by every set), 5 waiters sleeping. set: state = 1, sequence += 1, and if
 *   waiters != 0 FUTEX_WAKE every waiter on the sequence. A waiter reads the sequence, then takes
 *   the event (manual: state == 1; auto: compare-exchange state 1 -> 0, so one waiter per set), else
 *   adds itself to waiters, FUTEX_WAITs on the sequence it read and looks again. reset: state = 0.
 * Semaphore: 0 "RBSE" (0x45534252), 1 version, 2 maximum, 3 count (futex), 4 waiters sleeping.
 *   wait: compare-exchange count -> count - 1 while count > 0, else add itself to waiters and
 *   FUTEX_WAIT on count (the value it read). release(n): compare-exchange count -> count + n unless
 *   that passes the maximum, then if waiters != 0 FUTEX_WAKE every waiter on count.
 * Named mutex (rawbright's NamedMutex): a region with no data (dataSize 0) and one lock word:
 *   rb_mutex_lock(region, 0) / rb_mutex_unlock(region, 0).
 */
#ifndef RAWBRIGHT_IPC_H
#define RAWBRIGHT_IPC_H

#define _GNU_SOURCE 1
#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define RB_IPC_LAYOUT_VERSION 2
#define RB_REGION_FORMAT 2
#define RB_LOCK_WAITERS 0x80000000u
#define RB_LOCK_FIRST_TOKEN 1024u
#define RB_LIVENESS_BASE ((off_t)1 << 40)
#define RB_CHANNEL_MAGIC 0x48434252u
#define RB_CHANNEL_RING 64u
#define RB_CHANNEL_CLONE 0x80000000u
#define RB_CHANNEL_VERSION 2u
#define RB_CHANNEL_SKIP 0xFFFFFFFFu
#define RB_PRIMITIVE_VERSION 1u
#define RB_PRIMITIVE_BYTES 64u
#define RB_EVENT_MAGIC 0x56454252u
#define RB_SEMAPHORE_MAGIC 0x45534252u

typedef struct {
  char magic[8]; /* "RBSHMEM\0" */
  uint32_t version; /* RB_REGION_FORMAT */
  uint32_t lockProtocol; /* 1 */
  uint64_t dataSize;
  uint64_t headerSize; /* where the data starts; a multiple of the page size */
  uint32_t mutexCount;
  uint32_t mutexOffset;
  uint32_t mutexSlotSize;
  uint32_t lockWordSize;
  char abi[32]; /* "x86_64", "aarch64", ... */
  uint32_t creatorPid;
  uint32_t reserved;
  uint64_t createdAtMs;
} rb_region_header;

typedef struct {
  int fd;
  uint8_t* base;
  size_t length;
  uint8_t* data;
  uint64_t dataSize;
  uint32_t token;
  rb_region_header header;
} rb_region;

static long rb_futex(uint32_t* word, int op, uint32_t value, const struct timespec* timeout) {
  return syscall(SYS_futex, word, op, value, timeout, NULL, 0);
}

static struct flock rb_liveness(uint32_t token, short type) {
  struct flock range;
  memset(&range, 0, sizeof range);
  range.l_type = type;
  range.l_whence = SEEK_SET;
  range.l_start = RB_LIVENESS_BASE + (off_t)token;
  range.l_len = 1;
  return range;
}

/* Joins region <name>: LOCK_SH (keeps the name), maps it, checks its header, draws a token. 0 or errno. */
static int rb_region_open(const char* name, rb_region* region) {
  char path[300];
  struct stat st;
  memset(region, 0, sizeof *region);
  snprintf(path, sizeof path, "/dev/shm/rawbright.%s", name);
  region->fd = open(path, O_RDWR | O_CLOEXEC);
  if (region->fd < 0) return errno;
  if (flock(region->fd, LOCK_SH) != 0 || fstat(region->fd, &st) != 0) goto fail;
  if ((size_t)st.st_size < sizeof(rb_region_header)) { errno = EINVAL; goto fail; }
  region->length = (size_t)st.st_size;
  region->base = (uint8_t*)mmap(NULL, region->length, PROT_READ | PROT_WRITE, MAP_SHARED, region->fd, 0);
  if (region->base == MAP_FAILED) { region->base = NULL; goto fail; }
  memcpy(&region->header, region->base, sizeof region->header);
  if (memcmp(region->header.magic, "RBSHMEM", 8) != 0 || region->header.version != RB_REGION_FORMAT ||
      region->header.headerSize + region->header.dataSize != region->length) {
    errno = EINVAL;
    goto fail;
  }
  region->data = region->base + region->header.headerSize;
  region->dataSize = region->header.dataSize;
  for (int attempt = 0; attempt < 64; attempt++) {
    uint32_t bits = 0;
    if (getrandom(&bits, sizeof bits, 0) != sizeof bits) goto fail;
    uint32_t token = RB_LOCK_FIRST_TOKEN + bits % (RB_LOCK_WAITERS - RB_LOCK_FIRST_TOKEN);
    struct flock range = rb_liveness(token, F_WRLCK);
    if (fcntl(region->fd, F_OFD_SETLK, &range) == 0) {
      region->token = token;
      return 0;
    }
  }
  errno = EAGAIN;
fail: {
  int err = errno;
  if (region->base != NULL) munmap(region->base, region->length);
  close(region->fd);
  region->fd = -1;
  return err;
}
}

/* Leaves the region: unmapping and closing drops the liveness lock and LOCK_SH. */
static void rb_region_close(rb_region* region) {
  if (region->base != NULL) munmap(region->base, region->length);
  if (region->fd >= 0) close(region->fd);
  region->base = NULL;
  region->fd = -1;
}

static uint32_t* rb_lock_word(rb_region* region, uint32_t index) {
  return (uint32_t*)(region->base + region->header.mutexOffset + (size_t)index * region->header.mutexSlotSize);
}

static int rb_token_alive(rb_region* region, uint32_t token) {
  struct flock probe = rb_liveness(token, F_RDLCK);
  if (fcntl(region->fd, F_OFD_GETLK, &probe) != 0) return 1;
  return probe.l_type != F_UNLCK;
}

/* Takes lock word <index>, sleeping while a live holder has it. 0 acquired, 1 acquired abandoned. */
static int rb_mutex_lock(rb_region* region, uint32_t index) {
  uint32_t* word = rb_lock_word(region, index);
  int slept = 0;
  for (;;) {
    uint32_t value = __atomic_load_n(word, __ATOMIC_ACQUIRE);
    uint32_t holder = value & ~RB_LOCK_WAITERS;
    int abandoned;
    if (holder == 0) abandoned = 0;
    else if (holder >= RB_LOCK_FIRST_TOKEN && holder != region->token && rb_token_alive(region, holder)) {
      /* Held: mark a waiter and sleep at most 20 ms, then look at the holder's liveness again. */
      uint32_t marked = value | RB_LOCK_WAITERS;
      if (value == marked || __atomic_compare_exchange_n(word, &value, marked, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
        struct timespec slice = {0, 20000000};
        rb_futex(word, FUTEX_WAIT, marked, &slice);
        slept = 1;
      }
      continue;
    } else abandoned = 1;
    uint32_t desired = region->token | (value & RB_LOCK_WAITERS) | (slept ? RB_LOCK_WAITERS : 0);
    if (__atomic_compare_exchange_n(word, &value, desired, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) return abandoned;
  }
}

static void rb_mutex_unlock(rb_region* region, uint32_t index) {
  uint32_t* word = rb_lock_word(region, index);
  uint32_t before = __atomic_exchange_n(word, 0u, __ATOMIC_ACQ_REL);
  if (before & RB_LOCK_WAITERS) rb_futex(word, FUTEX_WAKE, 1, NULL);
}

static uint32_t* rb_channel_words(rb_region* region) { return (uint32_t*)region->data; }

/* Queues <length> raw bytes (received in Node as a Uint8Array), sleeping while the ring is full. 0 or errno. */
static int rb_channel_send(rb_region* region, const void* bytes, uint32_t length) {
  uint32_t* w = rb_channel_words(region);
  uint32_t capacity = w[2], mask = capacity - 1;
  uint8_t* ring = region->data + RB_CHANNEL_RING;
  uint32_t record = 4 + ((length + 3) & ~3u);
  if (__atomic_load_n(&w[0], __ATOMIC_ACQUIRE) != RB_CHANNEL_MAGIC || w[1] != RB_CHANNEL_VERSION || record > capacity)
    return EINVAL;
  for (;;) {
    uint32_t seq = __atomic_load_n(&w[7], __ATOMIC_SEQ_CST);
    rb_mutex_lock(region, 0);
    uint32_t head = __atomic_load_n(&w[4], __ATOMIC_ACQUIRE), tail = __atomic_load_n(&w[5], __ATOMIC_ACQUIRE);
    if (capacity - (tail - head) >= record) {
      uint32_t at = (tail + 4) & mask, first = length < capacity - at ? length : capacity - at;
      memcpy(ring + at, bytes, first);
      memcpy(ring, (const uint8_t*)bytes + first, length - first);
      memcpy(ring + (tail & mask), &length, 4);
      __atomic_store_n(&w[5], tail + record, __ATOMIC_RELEASE);
      rb_mutex_unlock(region, 0);
      __atomic_add_fetch(&w[6], 1, __ATOMIC_SEQ_CST);
      if (__atomic_load_n(&w[8], __ATOMIC_SEQ_CST) != 0) rb_futex(&w[6], FUTEX_WAKE, 0x7fffffff, NULL);
      return 0;
    }
    rb_mutex_unlock(region, 0);
    __atomic_add_fetch(&w[9], 1, __ATOMIC_SEQ_CST);
    rb_futex(&w[7], FUTEX_WAIT, seq, NULL);
    __atomic_sub_fetch(&w[9], 1, __ATOMIC_SEQ_CST);
  }
}

/* Takes the oldest message into <out> (room for <room> bytes), sleeping while the ring is empty.
 * Returns its length, or -EMSGSIZE (message left queued) / -EINVAL. *clone tells a V8 serialization. */
static long rb_channel_receive(rb_region* region, void* out, uint32_t room, int* clone) {
  uint32_t* w = rb_channel_words(region);
  uint32_t capacity = w[2], mask = capacity - 1;
  uint8_t* ring = region->data + RB_CHANNEL_RING;
  if (__atomic_load_n(&w[0], __ATOMIC_ACQUIRE) != RB_CHANNEL_MAGIC || w[1] != RB_CHANNEL_VERSION) return -EINVAL;
  for (;;) {
    uint32_t seq = __atomic_load_n(&w[6], __ATOMIC_SEQ_CST);
    rb_mutex_lock(region, 0);
    uint32_t head = __atomic_load_n(&w[4], __ATOMIC_ACQUIRE), tail = __atomic_load_n(&w[5], __ATOMIC_ACQUIRE);
    if (tail != head) {
      uint32_t word, length, record, start = head;
      memcpy(&word, ring + (head & mask), 4);
      if (word == RB_CHANNEL_SKIP) {
        start = head + (capacity - (head & mask));
        if (start - head >= tail - head) { rb_mutex_unlock(region, 0); return -EINVAL; }
        memcpy(&word, ring + (start & mask), 4);
      }
      length = word & ~RB_CHANNEL_CLONE;
      record = 4 + ((length + 3) & ~3u);
      if (word == RB_CHANNEL_SKIP || record > tail - start || length > room) {
        rb_mutex_unlock(region, 0);
        return length > room && word != RB_CHANNEL_SKIP ? -EMSGSIZE : -EINVAL;
      }
      uint32_t at = (start + 4) & mask, first = length < capacity - at ? length : capacity - at;
      memcpy(out, ring + at, first);
      memcpy((uint8_t*)out + first, ring, length - first);
      __atomic_store_n(&w[4], start + record, __ATOMIC_RELEASE);
      rb_mutex_unlock(region, 0);
      __atomic_add_fetch(&w[7], 1, __ATOMIC_SEQ_CST);
      if (__atomic_load_n(&w[9], __ATOMIC_SEQ_CST) != 0) rb_futex(&w[7], FUTEX_WAKE, 0x7fffffff, NULL);
      if (clone != NULL) *clone = (word & RB_CHANNEL_CLONE) != 0;
      return (long)length;
    }
    rb_mutex_unlock(region, 0);
    __atomic_add_fetch(&w[8], 1, __ATOMIC_SEQ_CST);
    rb_futex(&w[6], FUTEX_WAIT, seq, NULL);
    __atomic_sub_fetch(&w[8], 1, __ATOMIC_SEQ_CST);
  }
}

/* The words of an event or semaphore region, or NULL if the region is not one of <magic>. */
static uint32_t* rb_primitive_words(rb_region* region, uint32_t magic) {
  uint32_t* w = (uint32_t*)region->data;
  if (region->dataSize != RB_PRIMITIVE_BYTES || __atomic_load_n(&w[0], __ATOMIC_ACQUIRE) != magic ||
      w[1] != RB_PRIMITIVE_VERSION)
    return NULL;
  return w;
}

/* The time left until <deadline> (CLOCK_MONOTONIC) into *left; 0 if it has passed. */
static int rb_time_left(const struct timespec* deadline, struct timespec* left) {
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  int64_t ns = (int64_t)(deadline->tv_sec - now.tv_sec) * 1000000000 + (deadline->tv_nsec - now.tv_nsec);
  if (ns <= 0) return 0;
  left->tv_sec = (time_t)(ns / 1000000000);
  left->tv_nsec = (long)(ns % 1000000000);
  return 1;
}

static struct timespec rb_deadline(long timeout_ms) {
  struct timespec at;
  clock_gettime(CLOCK_MONOTONIC, &at);
  int64_t ns = at.tv_nsec + (int64_t)timeout_ms * 1000000;
  at.tv_sec += (time_t)(ns / 1000000000);
  at.tv_nsec = (long)(ns % 1000000000);
  return at;
}

/* Sleeps on <word> while it holds <seen>, counted in *waiters; 0, or ETIMEDOUT once <deadline> passed. */
static int rb_sleep_on(uint32_t* word, uint32_t seen, uint32_t* waiters, long timeout_ms, const struct timespec* deadline) {
  struct timespec left;
  if (timeout_ms >= 0 && !rb_time_left(deadline, &left)) return ETIMEDOUT;
  __atomic_add_fetch(waiters, 1, __ATOMIC_SEQ_CST);
  rb_futex(word, FUTEX_WAIT, seen, timeout_ms >= 0 ? &left : NULL);
  __atomic_sub_fetch(waiters, 1, __ATOMIC_SEQ_CST);
  return 0;
}

/* Sets the event: a manual-reset event releases every waiter until reset, an auto-reset one the first. 0 or EINVAL. */
static int rb_event_set(rb_region* region) {
  uint32_t* w = rb_primitive_words(region, RB_EVENT_MAGIC);
  if (w == NULL) return EINVAL;
  __atomic_store_n(&w[3], 1u, __ATOMIC_SEQ_CST);
  __atomic_add_fetch(&w[4], 1, __ATOMIC_SEQ_CST);
  if (__atomic_load_n(&w[5], __ATOMIC_SEQ_CST) != 0) rb_futex(&w[4], FUTEX_WAKE, 0x7fffffff, NULL);
  return 0;
}

static int rb_event_reset(rb_region* region) {
  uint32_t* w = rb_primitive_words(region, RB_EVENT_MAGIC);
  if (w == NULL) return EINVAL;
  __atomic_store_n(&w[3], 0u, __ATOMIC_SEQ_CST);
  return 0;
}

/* 1 if the event is set now (an auto-reset event is taken: unset again), 0 if not, -EINVAL. */
static int rb_event_try_wait(rb_region* region) {
  uint32_t* w = rb_primitive_words(region, RB_EVENT_MAGIC);
  if (w == NULL) return -EINVAL;
  if (w[2] == 1) return __atomic_load_n(&w[3], __ATOMIC_SEQ_CST) == 1;
  uint32_t expected = 1;
  return __atomic_compare_exchange_n(&w[3], &expected, 0u, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
}

/* Waits until the event is set, at most <timeout_ms> (< 0: forever). 0, ETIMEDOUT or EINVAL. */
static int rb_event_wait(rb_region* region, long timeout_ms) {
  uint32_t* w = rb_primitive_words(region, RB_EVENT_MAGIC);
  if (w == NULL) return EINVAL;
  struct timespec deadline = rb_deadline(timeout_ms < 0 ? 0 : timeout_ms);
  for (;;) {
    uint32_t seen = __atomic_load_n(&w[4], __ATOMIC_SEQ_CST);
    if (rb_event_try_wait(region) == 1) return 0;
    if (rb_sleep_on(&w[4], seen, &w[5], timeout_ms, &deadline) != 0) return ETIMEDOUT;
  }
}

/* 1 if a permit was taken now, 0 if none is free, -EINVAL. */
static int rb_semaphore_try_wait(rb_region* region) {
  uint32_t* w = rb_primitive_words(region, RB_SEMAPHORE_MAGIC);
  if (w == NULL) return -EINVAL;
  for (;;) {
    uint32_t count = __atomic_load_n(&w[3], __ATOMIC_SEQ_CST);
    if ((int32_t)count <= 0) return 0;
    if (__atomic_compare_exchange_n(&w[3], &count, count - 1, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST)) return 1;
  }
}

/* Takes a permit, waiting at most <timeout_ms> (< 0: forever). 0, ETIMEDOUT or EINVAL. */
static int rb_semaphore_wait(rb_region* region, long timeout_ms) {
  uint32_t* w = rb_primitive_words(region, RB_SEMAPHORE_MAGIC);
  if (w == NULL) return EINVAL;
  struct timespec deadline = rb_deadline(timeout_ms < 0 ? 0 : timeout_ms);
  for (;;) {
    uint32_t count = __atomic_load_n(&w[3], __ATOMIC_SEQ_CST);
    if ((int32_t)count > 0) {
      if (__atomic_compare_exchange_n(&w[3], &count, count - 1, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST)) return 0;
      continue;
    }
    if (rb_sleep_on(&w[3], count, &w[4], timeout_ms, &deadline) != 0) return ETIMEDOUT;
  }
}

/* Gives back <count> permits; *before gets the count before. 0, EOVERFLOW (past the maximum:
 * nothing released) or EINVAL. */
static int rb_semaphore_release(rb_region* region, uint32_t count, uint32_t* before) {
  uint32_t* w = rb_primitive_words(region, RB_SEMAPHORE_MAGIC);
  if (w == NULL || count < 1) return EINVAL;
  for (;;) {
    uint32_t now = __atomic_load_n(&w[3], __ATOMIC_SEQ_CST);
    if ((uint64_t)now + count > w[2]) return EOVERFLOW;
    if (__atomic_compare_exchange_n(&w[3], &now, now + count, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST)) {
      if (before != NULL) *before = now;
      if (__atomic_load_n(&w[4], __ATOMIC_SEQ_CST) != 0) rb_futex(&w[3], FUTEX_WAKE, 0x7fffffff, NULL);
      return 0;
    }
  }
}

#endif

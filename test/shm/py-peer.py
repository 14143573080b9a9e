"""A Python peer (standard library only: mmap, ctypes, fcntl) for test/shm/foreign-peer.test.ts and
foreign-primitives.test.ts, following native/include/rawbright_ipc.h. 32-bit atomics come from the
system's libatomic through ctypes; the futex is a raw syscall.

  py-peer.py <name> <count>  receives <count> messages on channel <name>.req and answers each on
                             <name>.rep with every byte plus one.
  py-peer.py serve           answers the commands of test/shm/c-peer.c on stdin, one line each.
"""
import ctypes
import fcntl
import mmap
import os
import random
import struct
import sys
import time

libc = ctypes.CDLL(None, use_errno=True)
atomic = ctypes.CDLL("libatomic.so.1")
atomic.__atomic_load_4.restype = ctypes.c_uint32
atomic.__atomic_load_4.argtypes = [ctypes.c_void_p, ctypes.c_int]
atomic.__atomic_store_4.argtypes = [ctypes.c_void_p, ctypes.c_uint32, ctypes.c_int]
atomic.__atomic_exchange_4.restype = ctypes.c_uint32
atomic.__atomic_exchange_4.argtypes = [ctypes.c_void_p, ctypes.c_uint32, ctypes.c_int]
atomic.__atomic_fetch_add_4.restype = ctypes.c_uint32
atomic.__atomic_fetch_add_4.argtypes = [ctypes.c_void_p, ctypes.c_uint32, ctypes.c_int]
atomic.__atomic_compare_exchange_4.restype = ctypes.c_bool
atomic.__atomic_compare_exchange_4.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_uint32, ctypes.c_int, ctypes.c_int]
SEQ_CST = 5
SYS_FUTEX = 202 if os.uname().machine == "x86_64" else 98
FUTEX_WAIT, FUTEX_WAKE = 0, 1
F_OFD_GETLK = getattr(fcntl, "F_OFD_GETLK", 36)
F_OFD_SETLK = getattr(fcntl, "F_OFD_SETLK", 37)
WAITERS, FIRST_TOKEN, LIVENESS = 0x80000000, 1024, 1 << 40


class Timespec(ctypes.Structure):
    _fields_ = [("sec", ctypes.c_long), ("nsec", ctypes.c_long)]


def load(addr): return atomic.__atomic_load_4(addr, SEQ_CST)
def store(addr, v): atomic.__atomic_store_4(addr, v & 0xFFFFFFFF, SEQ_CST)
def add(addr, v): atomic.__atomic_fetch_add_4(addr, v & 0xFFFFFFFF, SEQ_CST)


def xchg(addr, v): return atomic.__atomic_exchange_4(addr, v, SEQ_CST)


def cas(addr, expected, desired):
    box = ctypes.c_uint32(expected)
    return atomic.__atomic_compare_exchange_4(addr, ctypes.byref(box), desired, SEQ_CST, SEQ_CST)


def futex(addr, op, value, timeout_ns=None):
    ts = None if timeout_ns is None else ctypes.byref(Timespec(timeout_ns // 10**9, timeout_ns % 10**9))
    return libc.syscall(ctypes.c_long(SYS_FUTEX), ctypes.c_void_p(addr), ctypes.c_int(op), ctypes.c_uint32(value), ts, None, 0)


def flock_struct(kind, token):
    return struct.pack("hhqqi4x", kind, os.SEEK_SET, LIVENESS + token, 1, 0)


class Region:
    """One attachment: LOCK_SH keeps the name alive while we use it; a token's OFD lock shows we live."""

    def __init__(self, name):
        self.fd = os.open(f"/dev/shm/rawbright.{name}", os.O_RDWR)
        fcntl.flock(self.fd, fcntl.LOCK_SH)
        self.map = mmap.mmap(self.fd, os.fstat(self.fd).st_size)
        magic, version, _, data_size, header_size, self.mutex_count, self.mutex_offset = struct.unpack_from(
            "<8sIIQQII", self.map, 0
        )
        self.data_size = data_size
        if magic != b"RBSHMEM\0" or version != 2 or header_size + data_size != len(self.map):
            raise OSError(22, "not a rawbright region")
        self.base = ctypes.addressof(ctypes.c_char.from_buffer(self.map))
        self.data = self.base + header_size
        while True:
            token = FIRST_TOKEN + random.SystemRandom().randrange(WAITERS - FIRST_TOKEN)
            try:
                fcntl.fcntl(self.fd, F_OFD_SETLK, flock_struct(fcntl.F_WRLCK, token))
                self.token = token
                break
            except OSError:
                continue

    def alive(self, token):
        answer = fcntl.fcntl(self.fd, F_OFD_GETLK, flock_struct(fcntl.F_RDLCK, token))
        return struct.unpack_from("h", answer)[0] != fcntl.F_UNLCK

    def lock(self):
        """Takes lock word 0; returns whether its previous holder had died holding it (abandoned)."""
        word = self.base + self.mutex_offset
        slept = 0
        while True:
            value = load(word)
            holder = value & ~WAITERS
            if holder >= FIRST_TOKEN and holder != self.token and self.alive(holder):
                if value & WAITERS or cas(word, value, value | WAITERS):
                    futex(word, FUTEX_WAIT, value | WAITERS, 20_000_000)
                    slept = WAITERS
                continue
            if cas(word, value, self.token | (value & WAITERS) | slept):
                return holder != 0

    def unlock(self):
        word = self.base + self.mutex_offset
        if xchg(word, 0) & WAITERS:
            futex(word, FUTEX_WAKE, 1)


class Channel:
    def __init__(self, name):
        self.region = Region(name)
        d = self.region.data
        self.w = [d + 4 * i for i in range(16)]
        if load(self.w[0]) != 0x48434252 or load(self.w[1]) != 2:
            raise SystemExit("not a channel of layout version 2")
        self.capacity = load(self.w[2])
        self.ring = 64 + self.region.data - self.region.base  # offset in the mmap

    def _put(self, at, data):
        at &= self.capacity - 1
        first = min(len(data), self.capacity - at)
        self.region.map[self.ring + at:self.ring + at + first] = data[:first]
        self.region.map[self.ring:self.ring + len(data) - first] = data[first:]

    def _get(self, at, n):
        at &= self.capacity - 1
        first = min(n, self.capacity - at)
        return self.region.map[self.ring + at:self.ring + at + first] + self.region.map[self.ring:self.ring + n - first]

    def send(self, data):
        record = 4 + ((len(data) + 3) & ~3)
        while True:
            seq = load(self.w[7])
            self.region.lock()
            head, tail = load(self.w[4]), load(self.w[5])
            if self.capacity - ((tail - head) & 0xFFFFFFFF) >= record:
                self._put(tail + 4, data)
                self._put(tail, struct.pack("<I", len(data)))
                store(self.w[5], tail + record)
                self.region.unlock()
                add(self.w[6], 1)
                if load(self.w[8]):
                    futex(self.w[6], FUTEX_WAKE, 0x7FFFFFFF)
                return
            self.region.unlock()
            add(self.w[9], 1)
            futex(self.w[7], FUTEX_WAIT, seq)
            add(self.w[9], -1)

    def receive(self):
        while True:
            seq = load(self.w[6])
            self.region.lock()
            head, tail = load(self.w[4]), load(self.w[5])
            if head != tail:
                (word,) = struct.unpack("<I", self._get(head, 4))
                start = head
                if word == 0xFFFFFFFF:  # skip marker: the record follows at the ring's start
                    start = (head + self.capacity - (head & (self.capacity - 1))) & 0xFFFFFFFF
                    (word,) = struct.unpack("<I", self._get(start, 4))
                length = word & 0x7FFFFFFF
                data = self._get(start + 4, length)
                store(self.w[4], start + 4 + ((length + 3) & ~3))
                self.region.unlock()
                add(self.w[7], 1)
                if load(self.w[9]):
                    futex(self.w[7], FUTEX_WAKE, 0x7FFFFFFF)
                return data
            self.region.unlock()
            add(self.w[8], 1)
            futex(self.w[6], FUTEX_WAIT, seq)
            add(self.w[8], -1)


class Primitive:
    """An Event or Semaphore region: 64 data bytes, word 0 magic, word 1 version 1 (rawbright_ipc.h)."""

    def __init__(self, name, magic):
        self.region = Region(name)
        self.w = [self.region.data + 4 * i for i in range(16)]
        if self.region.data_size != 64 or load(self.w[0]) != magic or load(self.w[1]) != 1:
            raise OSError(22, "not that kind of primitive")

    def sleep_on(self, word, seen, waiters, deadline):
        """Sleeps on <word> while it holds <seen>; False once the deadline (time.monotonic) passed."""
        left = None if deadline is None else deadline - time.monotonic()
        if left is not None and left <= 0:
            return False
        add(waiters, 1)
        futex(word, FUTEX_WAIT, seen, None if left is None else int(left * 1e9))
        add(waiters, -1)
        return True


class Event(Primitive):
    def __init__(self, name):
        super().__init__(name, 0x56454252)

    def set(self):
        store(self.w[3], 1)
        add(self.w[4], 1)
        if load(self.w[5]):
            futex(self.w[4], FUTEX_WAKE, 0x7FFFFFFF)

    def reset(self):
        store(self.w[3], 0)

    def try_wait(self):
        if load(self.w[2]) == 1:
            return load(self.w[3]) == 1
        return cas(self.w[3], 1, 0)

    def wait(self, timeout_ms):
        deadline = None if timeout_ms < 0 else time.monotonic() + timeout_ms / 1000
        while True:
            seen = load(self.w[4])
            if self.try_wait():
                return True
            if not self.sleep_on(self.w[4], seen, self.w[5], deadline):
                return False


class Semaphore(Primitive):
    def __init__(self, name):
        super().__init__(name, 0x45534252)

    def try_wait(self):
        while True:
            count = load(self.w[3])
            if count == 0 or count & 0x80000000:
                return False
            if cas(self.w[3], count, count - 1):
                return True

    def wait(self, timeout_ms):
        deadline = None if timeout_ms < 0 else time.monotonic() + timeout_ms / 1000
        while True:
            count = load(self.w[3])
            if count != 0 and not count & 0x80000000:
                if cas(self.w[3], count, count - 1):
                    return True
                continue
            if not self.sleep_on(self.w[3], count, self.w[4], deadline):
                return False

    def release(self, n):
        """Returns the count before, or None if n more would pass the maximum (nothing released)."""
        while True:
            now = load(self.w[3])
            if now + n > load(self.w[2]):
                return None
            if cas(self.w[3], now, now + n):
                if load(self.w[4]):
                    futex(self.w[3], FUTEX_WAKE, 0x7FFFFFFF)
                return now


def serve():
    opened = {}

    def get(kind, name):
        if (kind, name) not in opened:
            opened[(kind, name)] = {"event": Event, "sem": Semaphore, "mutex": Region}[kind](name)
        return opened[(kind, name)]

    def answer(verb, name, arg):
        if verb == "ping":
            return "pong"
        if verb.startswith("event-"):
            event = get("event", name)
            if verb == "event-set":
                event.set()
                return "ok"
            if verb == "event-reset":
                event.reset()
                return "ok"
            if verb == "event-try":
                return "1" if event.try_wait() else "0"
            if verb == "event-wait":
                return "ok" if event.wait(arg) else "timeout"
        if verb.startswith("sem-"):
            semaphore = get("sem", name)
            if verb == "sem-try":
                return "1" if semaphore.try_wait() else "0"
            if verb == "sem-wait":
                return "ok" if semaphore.wait(arg) else "timeout"
            if verb == "sem-post":
                before = semaphore.release(arg)
                return "full" if before is None else f"before {before}"
        if verb in ("lock", "unlock"):
            region = get("mutex", name)
            if region.data_size != 0 or region.mutex_count != 1:  # not a NamedMutex
                return "error 22"
            if verb == "unlock":
                region.unlock()
                return "unlocked"
            return "abandoned" if region.lock() else "locked"
        return "error 38"

    for line in sys.stdin:
        parts = line.split()
        if not parts:
            continue
        if parts[0] == "exit":
            break
        try:
            reply = answer(parts[0], parts[1] if len(parts) > 1 else "", int(parts[2]) if len(parts) > 2 else 0)
        except OSError as error:
            reply = f"error {error.errno}"
        print(reply, flush=True)


if __name__ == "__main__":
    if sys.argv[1:] == ["serve"]:
        serve()
    else:
        name, count = sys.argv[1], int(sys.argv[2])
        requests, replies = Channel(f"{name}.req"), Channel(f"{name}.rep")
        for _ in range(count):
            replies.send(bytes((b + 1) & 255 for b in requests.receive()))

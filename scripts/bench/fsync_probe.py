#!/usr/bin/env python3
"""Prints one JSON line: how many 512-byte append+fdatasync pairs a second the
disk under DIR sustains for SECONDS (default 2), one at a time in each of
STREAMS files synced side by side (default 1). One stream is the ceiling of
any design that makes each record durable with its own sync; four streams
are what the two gateways' logs do at once (an audit log and a database
each), and show what one sync then takes. MODE "overwrite" writes over a
file already written and synced (no size or block change for the sync to
commit) instead of appending; cpu_us is this process's CPU a sync.

   fsync_probe.py DIR [SECONDS [STREAMS [append|overwrite]]]
"""
import json
import os
import sys
import threading
import time

d = sys.argv[1]
seconds = float(sys.argv[2]) if len(sys.argv) > 2 else 2.0
streams = int(sys.argv[3]) if len(sys.argv) > 3 else 1
mode = sys.argv[4] if len(sys.argv) > 4 else "append"
if mode not in ("append", "overwrite"):
    sys.exit("mode must be append or overwrite")
lat = []
lock = threading.Lock()


def run(i):
    path = os.path.join(d, "fsync-probe-%d" % i)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    if mode == "overwrite":
        # Room for more syncs than the window can take, written and synced.
        chunk = b"\0" * (1 << 20)
        for _ in range(32):
            os.write(fd, chunk)
        os.fsync(fd)
        os.lseek(fd, 0, os.SEEK_SET)
    mine = []
    start = time.perf_counter()
    # In overwrite mode, never past what was written first (32 MiB).
    while time.perf_counter() - start < seconds and (mode == "append" or len(mine) < 65536):
        os.write(fd, b"x" * 512)
        t = time.perf_counter()
        os.fdatasync(fd)  # releases the GIL: the streams' syncs overlap
        mine.append(time.perf_counter() - t)
    os.close(fd)
    os.unlink(path)
    with lock:
        lat.extend(mine)


cpu0 = os.times()
start = time.perf_counter()
threads = [threading.Thread(target=run, args=(i,)) for i in range(streams)]
for t in threads:
    t.start()
for t in threads:
    t.join()
elapsed = time.perf_counter() - start
cpu1 = os.times()
cpu_us = ((cpu1.user + cpu1.system) - (cpu0.user + cpu0.system)) / max(1, len(lat)) * 1e6
lat.sort()
q = lambda p: round(lat[min(len(lat) - 1, int(p * len(lat)))] * 1e6, 1)
print(json.dumps({"label": "fsync_probe", "streams": streams, "mode": mode,
                  "cpu_us": round(cpu_us, 1),
                  "per_s": round(len(lat) / elapsed, 1),
                  "p50_us": q(0.50), "p99_us": q(0.99), "n": len(lat)}))

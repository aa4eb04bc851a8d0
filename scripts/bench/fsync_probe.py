#!/usr/bin/env python3
"""Prints one JSON line: how many 512-byte append+fdatasync pairs a second the
disk under DIR sustains for SECONDS (default 2), one at a time in each of
STREAMS files synced side by side (default 1). One stream is the ceiling of
any design that makes each record durable with its own sync; four streams
are what the two gateways' logs do at once (an audit log and a database
each), and show what one sync then takes.

   fsync_probe.py DIR [SECONDS [STREAMS]]
"""
import json
import os
import sys
import threading
import time

d = sys.argv[1]
seconds = float(sys.argv[2]) if len(sys.argv) > 2 else 2.0
streams = int(sys.argv[3]) if len(sys.argv) > 3 else 1
lat = []
lock = threading.Lock()


def run(i):
    path = os.path.join(d, "fsync-probe-%d" % i)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    mine = []
    start = time.perf_counter()
    while time.perf_counter() - start < seconds:
        os.write(fd, b"x" * 512)
        t = time.perf_counter()
        os.fdatasync(fd)  # releases the GIL: the streams' syncs overlap
        mine.append(time.perf_counter() - t)
    os.close(fd)
    os.unlink(path)
    with lock:
        lat.extend(mine)


start = time.perf_counter()
threads = [threading.Thread(target=run, args=(i,)) for i in range(streams)]
for t in threads:
    t.start()
for t in threads:
    t.join()
elapsed = time.perf_counter() - start
lat.sort()
q = lambda p: round(lat[min(len(lat) - 1, int(p * len(lat)))] * 1e6, 1)
print(json.dumps({"label": "fsync_probe", "streams": streams,
                  "per_s": round(len(lat) / elapsed, 1),
                  "p50_us": q(0.50), "p99_us": q(0.99), "n": len(lat)}))

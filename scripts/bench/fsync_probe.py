#!/usr/bin/env python3
"""Prints one JSON line: how many 512-byte append+fdatasync pairs a second the
disk under DIR sustains, one at a time, for SECONDS (default 2). This is the
ceiling of any design that makes each record durable with its own sync.

   fsync_probe.py DIR [SECONDS]
"""
import json
import os
import sys
import time

d = sys.argv[1]
seconds = float(sys.argv[2]) if len(sys.argv) > 2 else 2.0
path = os.path.join(d, "fsync-probe")
fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
lat = []
start = time.perf_counter()
while time.perf_counter() - start < seconds:
    os.write(fd, b"x" * 512)
    t = time.perf_counter()
    os.fdatasync(fd)
    lat.append(time.perf_counter() - t)
elapsed = time.perf_counter() - start
os.close(fd)
os.unlink(path)
lat.sort()
q = lambda p: round(lat[min(len(lat) - 1, int(p * len(lat)))] * 1e6, 1)
print(json.dumps({"label": "fsync_probe", "per_s": round(len(lat) / elapsed, 1),
                  "p50_us": q(0.50), "p99_us": q(0.99), "n": len(lat)}))

#!/usr/bin/env python3
"""The psutil "seed" sample on a given process tree, ns per sample.

Usage: psutil_sample.py N ROOT_PID
One sample = virtual_memory() + Process(root).children(recursive=True) + memory_info() of each,
as the monitor_memory.py scripts users run today do. Prints one number (ns per sample).
"""
import sys
import time

import psutil

n = int(sys.argv[1])
root = psutil.Process(int(sys.argv[2]))
root.memory_info()
t = time.perf_counter_ns()
for _ in range(n):
    psutil.virtual_memory()
    procs = [root] + root.children(recursive=True)
    total = sum(p.memory_info().rss for p in procs)
print((time.perf_counter_ns() - t) / n)

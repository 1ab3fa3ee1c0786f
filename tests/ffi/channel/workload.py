"""The program `jetmem record` runs in tests/ffi/channel/test_channel.py: a
seed-style run (load, warm-up, 50 frames of "inference") marked with the
module-level jetmem API only, plus a multiprocessing `spawn` worker and a
`fork` worker that mark "worker" phases, and a C program (started with
Python's default close_fds) that marks through jetmem_attach.

Usage: python3 workload.py PIDS.json C_PROGRAM
Writes the pid of each writer to PIDS.json for the checker.
"""

import json
import multiprocessing
import os
import subprocess
import sys
import time
import types

import jetmem

MiB = 1 << 20
FRAMES = 50
WORKER_PHASES = 3


def worker(conn):
    """Runs in a spawned and in a forked child: marks on the same channel."""
    for _ in range(WORKER_PHASES):
        with jetmem.phase("worker"):
            time.sleep(0.003)
    conn.send(os.getpid())
    conn.close()


def run_worker(method):
    ctx = multiprocessing.get_context(method)
    parent, child = ctx.Pipe()
    p = ctx.Process(target=worker, args=(child,))
    p.start()
    pid = parent.recv()
    p.join()
    assert p.exitcode == 0, f"{method} worker failed: {p.exitcode}"
    return pid


class _FakeCuda:
    """torch.cuda's memory API as watch_torch() reads it, CUDA initialised."""

    is_initialized = staticmethod(lambda: True)
    current_device = staticmethod(lambda: 0)
    memory_allocated = staticmethod(lambda dev: 7 * MiB)
    memory_reserved = staticmethod(lambda dev: 500 * MiB)
    max_memory_allocated = staticmethod(lambda dev: 9 * MiB)
    max_memory_reserved = staticmethod(lambda dev: 510 * MiB)


@jetmem.phase("warm-up")
def warm_up():
    time.sleep(0.02)


def main():
    pids_path, c_program = sys.argv[1], sys.argv[2]
    assert jetmem.current() is None and jetmem.attached() is not None, "runs under jetmem record"
    with jetmem.phase("load"):
        time.sleep(0.03)
    warm_up()
    # A stand-in torch that the program "loaded": watch_torch pushes its figures.
    fake = types.ModuleType("torch")
    fake.cuda = _FakeCuda
    sys.modules["torch"] = fake
    watcher = jetmem.watch_torch("5ms")
    for i in range(FRAMES):
        with jetmem.phase("inference"):
            jetmem.record_allocator(allocated=(100 + i) * MiB)
            time.sleep(0.002)  # shorter than the 5 ms interval: the sample at its end
        jetmem.mark("frame")
    watcher.stop()
    spawn_pid = run_worker("spawn")
    fork_pid = run_worker("fork")
    c = subprocess.run([c_program], check=True)  # default close_fds=True
    assert c.returncode == 0
    with open(pids_path, "w") as f:
        json.dump({"main": os.getpid(), "spawn": spawn_pid, "fork": fork_pid,
                   "c": int(open(pids_path + ".c").read()),
                   "channel": os.environ["JETMEM_CHANNEL"]}, f)


if __name__ == "__main__":
    main()

"""Drives libjetmem through ffi/python/jetmem (the package): a real trace plus every misuse.

Usage: JETMEM_LIB=target/debug/libjetmem.so python3 tests/ffi/test_ctypes.py OUT.jmt
The trace it writes is checked by tests/ffi/run.sh (phases and allocator peaks).
"""

import os
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "ffi", "python"))

import jetmem  # noqa: E402

MiB = 1 << 20
failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print(f"FAIL: {what}")


def raises(code, fn, *args, **kw):
    try:
        fn(*args, **kw)
    except jetmem.Error as e:
        check(e.code == code, f"{fn.__name__}: expected status {code}, got {e.code} ({e})")
        check(bool(e.message), f"{fn.__name__}: status {code} has a message")
        return
    check(False, f"{fn.__name__}: expected jetmem.Error({code}), nothing raised")


class _FakeCuda:
    """torch.cuda's memory API with fixed figures, on device 1."""

    @staticmethod
    def is_available():
        return True

    @staticmethod
    def is_initialized():
        return True

    @staticmethod
    def current_device():
        return 1

    memory_allocated = staticmethod(lambda dev: 11 * MiB)
    memory_reserved = staticmethod(lambda dev: 22 * MiB)
    max_memory_allocated = staticmethod(lambda dev: 33 * MiB)
    max_memory_reserved = staticmethod(lambda dev: 44 * MiB)


def torch_allocator_with_a_stand_in_torch(t):
    """torch_allocator pushes allocated, reserved, max_allocated, max_reserved in
    that order for the current device: run.sh checks device 1's figures."""
    import types

    saved = sys.modules.get("torch")
    fake = types.ModuleType("torch")
    fake.cuda = _FakeCuda
    sys.modules["torch"] = fake
    try:
        check(jetmem.torch_allocator(t) is True, "torch_allocator pushes with CUDA")
        fake.cuda = type("Uninitialised", (_FakeCuda,), {"is_initialized": staticmethod(
            lambda: False)})
        check(jetmem.torch_allocator(t) is False,
              "torch_allocator before CUDA is initialised is a no-op")
        fake.cuda = None
        check(jetmem.torch_allocator(t) is False, "torch_allocator without CUDA is a no-op")
    finally:
        if saved is None:
            del sys.modules["torch"]
        else:
            sys.modules["torch"] = saved
    sys.modules.pop("torch", None)  # torch not loaded: never imported by jetmem
    try:
        check(jetmem.torch_allocator(t) is False, "torch_allocator without torch is a no-op")
        check("torch" not in sys.modules, "torch_allocator does not import torch")
    finally:
        if saved is not None:
            sys.modules["torch"] = saved


def traced_run(path):
    """The run that run.sh reports on: phases, frames, allocator figures."""
    check(jetmem.current() is None, "no tracer before trace()")
    with jetmem.trace(path, interval="5ms", label="py-ctypes", cuda=False) as t:
        check(jetmem.current() is t, "trace() makes the tracer current")
        with t.phase("load"):
            t.record_allocator(16 * MiB, 32 * MiB, 16 * MiB, 32 * MiB)
        for i in range(3):
            with jetmem.phase("inference"):  # module level: the current tracer
                jetmem.mark("frame")
                t.record_allocator((100 + i) * MiB, 200 * MiB, (150 + i) * MiB, 256 * MiB)
                time.sleep(0.01)  # 10 ms at a 5 ms interval: the sampler takes samples
        # None = unknown: must not become 0 in the trace.
        t.record_allocator(64 * MiB, None, None, None)
        torch_allocator_with_a_stand_in_torch(t)
    check(jetmem.current() is None, "leaving the with block stops the tracer")


def misuse(tmp):
    # Start failures raise with the C code and leave no file behind.
    missing = os.path.join(tmp, "no", "such", "dir", "x.jmt")
    raises(jetmem.IO_ERROR, jetmem.trace, missing, cuda=False)
    check(not os.path.exists(missing), "failed start leaves no file")
    bad = os.path.join(tmp, "bad.jmt")
    raises(jetmem.INVALID_UTF8, jetmem.trace, bad, label=b"\xff\xfe", cuda=False)
    raises(jetmem.INVALID_ARGUMENT, jetmem.trace, bad, interval="10ns", cuda=False)
    raises(jetmem.NO_SUCH_PROCESS, jetmem.trace, bad, pid=(1 << 32) - 2, cuda=False)
    check(not os.path.exists(bad), "failed starts leave no file")

    t = jetmem.trace(os.path.join(tmp, "misuse.jmt"), interval="1ms", cuda=False)
    raises(jetmem.INVALID_UTF8, t.mark, b"\xc3\x28")
    raises(jetmem.INVALID_ARGUMENT, t.record_allocator, 1, 2, 3, 4, device=256)
    try:
        t.mark("x", kind="sideways")
        check(False, "bad kind raises ValueError")
    except ValueError:
        pass
    try:
        t.mark("a\0b")
        check(False, "NUL in a label raises ValueError")
    except ValueError:
        pass

    # Many threads at once: every call returns OK or QUEUE_FULL, nothing else.
    errors = []
    full = []

    def worker(n):
        for _ in range(500):
            try:
                t.mark(f"thread-{n}")
            except jetmem.Error as e:
                if e.code == jetmem.QUEUE_FULL:
                    full.append(1)
                else:
                    errors.append(e)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    check(not errors, f"concurrent marks give OK or QUEUE_FULL only: {errors[:3]}")
    check(t.markers_lost == len(full), f"markers_lost {t.markers_lost} == {len(full)} QUEUE_FULL")

    t.stop()
    raises(jetmem.ALREADY_STOPPED, t.stop)
    raises(jetmem.ALREADY_STOPPED, t.mark, "late")
    raises(jetmem.ALREADY_STOPPED, t.record_allocator, 1, 2, 3, 4)
    t.close()
    t.close()  # idempotent
    jetmem.mark("no tracer")  # module level without a tracer: a no-op
    with jetmem.phase("no tracer"):
        pass


def replace_and_fork(tmp):
    """Issue 14: trace() silently replaced a 30 KB trace with 349 bytes, and a
    fork's copy of a tracer returned OK for marks (lost) and PANIC for stop."""
    old = os.path.join(tmp, "old.jmt")
    with open(old, "wb") as f:
        f.write(b"\x89JETMEM\n" + b"x" * 30_000)
    before = open(old, "rb").read()
    raises(jetmem.EXISTS, jetmem.trace, old, cuda=False)
    check(open(old, "rb").read() == before, "an existing trace is kept without force")
    fifo = os.path.join(tmp, "fifo.jmt")
    os.mkfifo(fifo)
    raises(jetmem.EXISTS, jetmem.trace, fifo, cuda=False, force=True)
    check(os.path.exists(fifo) and not os.path.isfile(fifo), "force never replaces a FIFO")
    left = [n for n in os.listdir(tmp) if n.endswith(".tmp")]
    check(not left, f"failed starts leave no temporary file: {left}")

    t = jetmem.trace(old, interval="1ms", cuda=False, force=True)
    t.mark("before fork")
    pid = os.fork()
    if pid == 0:
        code = 0
        for fn, args in ((t.mark, ("in child",)), (t.stop, ())):
            try:
                fn(*args)
                code |= 1
            except jetmem.Error as e:
                if e.code != jetmem.FORKED:
                    code |= 2
        os._exit(code)
    _, status = os.waitpid(pid, 0)
    check(os.waitstatus_to_exitcode(status) == 0,
          f"the fork's copy gives FORKED for mark and stop (child exit {status})")
    t.mark("after fork")
    t.stop()
    check(open(old, "rb").read() != before, "force=True replaced the regular file")


def intervals():
    import datetime

    ns = jetmem._interval_ns
    check(ns("5ms") == 5_000_000, "5ms")
    check(ns("250us") == 250_000, "250us")
    check(ns("1.5s") == 1_500_000_000, "1.5s")
    check(ns(0.01) == 10_000_000, "a number is seconds")
    check(ns(datetime.timedelta(milliseconds=20)) == 20_000_000, "timedelta")
    check(ns(None) == 0, "None is the library default")
    for bad in ("5 parsecs", "ms", "-1ms"):
        try:
            ns(bad)
            check(False, f"bad interval {bad!r} raises ValueError")
        except ValueError:
            pass


FIXTURES = os.path.join(HERE, "..", "fixtures")
KiB = 1024


def queries():
    """platform(), memory(), under_pressure() on captured device files (values by hand
    from tests/fixtures/*/proc/meminfo and etc/nv_tegra_release)."""
    nano = os.path.join(FIXTURES, "nano-4gb-jp4.6-meminfo")
    m = jetmem.memory(root=nano, cuda=False)
    s, g = m["system"], m["gpu"]
    check(m["architecture"] == "unified", f"nano is unified: {m}")
    check(s["total_bytes"] == 4059240 * KiB, f"MemTotal: {s}")
    check(s["used_bytes"] == (4059240 - 592696) * KiB, f"used = MemTotal - MemAvailable: {s}")
    check(s["used_tegrastats_bytes"] == 3324672 * KiB,
          f"used (tegrastats) = 4059240 - 313692 - 57932 - 362944 kB: {s}")
    check(s["available_bytes"] == 592696 * KiB and s["free_bytes"] == 313692 * KiB, f"{s}")
    check(g["source"] == "meminfo-nvmap" and g["used_bytes"] == 244748 * KiB, f"GPU: {g}")
    check(g["subset_of_system"] and g["cpu_os_used_bytes"] == (4059240 - 592696 - 244748) * KiB,
          f"GPU is a subset: {g}")
    check(m["cuda"]["device_total_bytes"] is None, "no CUDA probed under a root")
    check(m["torch"] is None, "torch not loaded")
    # 592696 / 4059240 = 14.6 % available: under the 20 % threshold.
    check(jetmem.under_pressure(root=nano, cuda=False) is True, "nano under pressure")
    p = jetmem.platform(root=os.path.join(FIXTURES, "orin-nano-super-jp6.2.1-r36.4.7"), cuda=False)
    check(p["architecture"] == "unified" and p["l4t"] == "36.4.7" and p["jetpack"] == "6.2.1",
          f"platform: {p}")
    check(p["model"] == "NVIDIA Jetson Orin Nano Engineering Reference Developer Kit Super",
          f"model: {p}")
    # The same keys and values as `jetmem info --json` on the same files.
    cli = os.environ.get("JETMEM_BIN")
    if cli:
        import json
        import subprocess
        info = json.loads(subprocess.run([cli, "info", "--json", "--root", nano], check=True,
                                         capture_output=True, text=True).stdout)
        for part in ("system", "gpu", "cuda"):
            for key, value in m[part].items():
                check(key in info[part], f"info --json has {part}.{key}")
                check(info[part].get(key) == value,
                      f"{part}.{key}: memory() {value} vs info --json {info[part].get(key)}")
        p_nano = jetmem.platform(root=nano, cuda=False)
        for key, value in p_nano.items():
            want = info["architecture"] if key == "architecture" else info["platform"].get(key)
            check(want == value, f"platform {key}: {value} vs info --json {want}")
    here = jetmem.memory(cuda=False)
    check(here["system"]["total_bytes"] and here["system"]["used_bytes"] is not None,
          f"this machine: {here}")
    raises(jetmem.SAMPLER_ERROR, jetmem.memory,
           root="/nonexistent/root", cuda=False)


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    out = sys.argv[1]
    check(jetmem.version().count(".") == 2, f"version looks like x.y.z: {jetmem.version()}")
    intervals()
    queries()
    traced_run(out)
    check(os.path.getsize(out) > 12, "the trace has more than its preamble")
    with tempfile.TemporaryDirectory() as tmp:
        misuse(tmp)
    with tempfile.TemporaryDirectory() as tmp:
        replace_and_fork(tmp)
    if failures:
        sys.exit(f"{len(failures)} check(s) failed")
    print(f"test_ctypes.py: ok ({out})")


if __name__ == "__main__":
    main()

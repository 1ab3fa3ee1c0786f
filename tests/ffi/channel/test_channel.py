"""The marker channel end to end, on this machine: `jetmem record` of an
unmodified Python program (workload.py) with spawn and fork workers and a C
program; the report's phase_summary is checked against what they did. Then
a recorder killed with SIGKILL: its writers keep running, and the next record
removes the ring it left. Then the torch side-effect check.

Usage: JETMEM_LIB=... python3 test_channel.py JETMEM_BIN C_PROGRAM WORKDIR
"""

import glob
import json
import os
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
PYDIR = os.path.join(HERE, "..", "..", "..", "ffi", "python")
sys.path.insert(0, os.path.join(HERE, ".."))

from test_ctypes import MiB, check, failures, jetmem  # noqa: E402 (also puts PYDIR on the path)


def env():
    e = dict(os.environ)
    e["PYTHONPATH"] = os.pathsep.join([PYDIR, e.get("PYTHONPATH", "")])
    return e


def channels():
    return set(glob.glob(f"/dev/shm/jetmem-{os.getuid()}-*"))


def recorded_run(jetmem_bin, c_program, work):
    trace = os.path.join(work, "channel.jmt")
    pids_path = os.path.join(work, "pids.json")
    e = env()
    e["JETMEM_TEST_PIDFILE"] = pids_path
    subprocess.run([jetmem_bin, "record", "--no-report", "--no-cuda", "-i", "5ms", "-o", trace,
                    "--force", "--", sys.executable, os.path.join(HERE, "workload.py"),
                    pids_path, c_program], env=e, check=True)
    pids = json.load(open(pids_path))
    shm = "/dev/shm" + pids.pop("channel")
    check(not os.path.exists(shm), f"the recording removed its channel {shm}")
    report = jetmem.load(trace, jetmem_bin=jetmem_bin)
    want = json.loads(subprocess.run([jetmem_bin, "report", "--format", "json", trace],
                                     capture_output=True, check=True).stdout)
    check(report == want, "jetmem.load() equals jetmem report --format json")
    rows = {r["label"]: r for r in report["phase_summary"]}
    check(list(rows) == ["load", "warm-up", "inference", "worker", "cframe"],
          f"phase labels in first-begin order: {list(rows)}")

    def row(label, count, pid_list, min_s):
        r = rows.get(label)
        if r is None:
            check(False, f"{label}: no summary row")
            return
        check(r["count"] == count, f"{label}: count {r['count']} != {count}")
        check(r["unclosed"] == 0, f"{label}: {r['unclosed']} unclosed")
        check(r["pids"] == sorted(pid_list), f"{label}: pids {r['pids']} != {sorted(pid_list)}")
        # Each occurrence slept min_s (durations are reported in whole ms, the
        # mean in floating point); none took a second on an idle-enough machine.
        lo = min_s - 1e-9
        check(r["duration_max_s"] is not None and lo <= r["duration_max_s"] < 1.0,
              f"{label}: max {r['duration_max_s']} s")
        mean, p95, top = r["duration_mean_s"], r["duration_p95_s"], r["duration_max_s"]
        check(mean is not None and lo <= mean <= top + 1e-9 and lo <= p95 <= top,
              f"{label}: mean {mean} and p95 {p95} between {min_s} s and max {top}")
        check(r["system_used_peak_bytes"] is not None,
              f"{label}: a phase shorter than the interval takes the sample at its end")

    row("load", 1, [pids["main"]], 0.03)
    row("warm-up", 1, [pids["main"]], 0.02)
    row("inference", 50, [pids["main"]], 0.002)
    row("worker", 6, [pids["spawn"], pids["fork"]], 0.003)
    row("cframe", 5, [pids["c"]], 0.003)
    inference = rows.get("inference", {})
    check(inference.get("cuda_alloc_peak_bytes") == 149 * MiB,
          f"inference: allocator peak {inference.get('cuda_alloc_peak_bytes')} != 149 MiB")
    cuda = report.get("cuda") or {}
    # watch_torch pushed the stand-in's 510 MiB max reserved; the C program 64 MiB allocated.
    check(cuda.get("reserved_peak_bytes") == 510 * MiB,
          f"watch_torch's figures reached the trace: {cuda}")
    check(len(set(pids.values())) == 4, f"four distinct writer processes: {pids}")


KILLED_WRITER = """
import os, sys, time
import jetmem
print(os.getpid(), os.environ["JETMEM_CHANNEL"], flush=True)
for i in range(400):
    with jetmem.phase("after-kill"):
        time.sleep(0.005)
print("writer done", flush=True)
"""


def killed_recorder(jetmem_bin, work):
    rec = subprocess.Popen([jetmem_bin, "record", "--no-report", "--no-cuda", "-o",
                            os.path.join(work, "killed.jmt"), "--force", "--",
                            sys.executable, "-c", KILLED_WRITER],
                           env=env(), stdout=subprocess.PIPE, text=True)
    pid_text, name = rec.stdout.readline().split()
    writer_pid = int(pid_text)
    time.sleep(0.3)
    stale = {"/dev/shm" + name}
    check(stale <= channels(), f"the channel exists while recording: {stale}")
    for path in stale:
        mode = os.stat(path).st_mode & 0o777
        check(mode == 0o600, f"{path}: mode {mode:o}, not readable by others (0600)")
    rec.send_signal(signal.SIGKILL)
    rec.wait()
    # The writer was not killed with its recorder: it keeps marking into a ring
    # nobody drains (it fills, losses are counted) and finishes normally.
    done = rec.stdout.readline().strip()
    check(done == "writer done", f"the writer finished after its recorder died: {done!r}")
    for _ in range(200):
        try:
            os.kill(writer_pid, 0)
            time.sleep(0.01)
        except ProcessLookupError:
            break
    check(stale <= channels(), "a SIGKILLed recorder leaves its ring")
    subprocess.run([jetmem_bin, "record", "--no-report", "--no-cuda", "-o",
                    os.path.join(work, "next.jmt"), "--force", "--", "true"], check=True)
    check(not (stale & channels()), f"the next record removed the stale ring: {stale & channels()}")


TORCH_FREE = """
import sys, time
import jetmem
assert jetmem.torch_allocator() is False
w = jetmem.watch_torch("1ms")
time.sleep(0.02)
w.stop()
sys.exit(3 if "torch" in sys.modules else 0)
"""


def torch_never_imported(work):
    # A `torch` package that importing would put in sys.modules.
    fake = os.path.join(work, "fake-torch")
    os.makedirs(os.path.join(fake, "torch"), exist_ok=True)
    open(os.path.join(fake, "torch", "__init__.py"), "w").write("cuda = None\n")
    e = env()
    e["PYTHONPATH"] = os.pathsep.join([fake, e["PYTHONPATH"]])
    e.pop("JETMEM_CHANNEL", None)
    r = subprocess.run([sys.executable, "-c", TORCH_FREE], env=e)
    check(r.returncode == 0, f"importing jetmem and calling torch_allocator/watch_torch "
                             f"left torch out of sys.modules (exit {r.returncode})")
    # Outside jetmem record and without a tracer, the module-level calls do nothing.
    r = subprocess.run([sys.executable, "-c",
                        "import jetmem; jetmem.mark('x'); jetmem.record_allocator(1)\n"
                        "with jetmem.phase('p'): pass\n"
                        "assert jetmem.attached() is None and jetmem._lib is None"], env=e)
    check(r.returncode == 0, "no tracer, no recorder: nothing happens, the library is not loaded")


def own_tracer_summary(jetmem_bin, work):
    """t.summary() after the with block is the report of the tracer's own file."""
    os.environ["JETMEM_BIN"] = jetmem_bin
    path = os.path.join(work, "own.jmt")
    with jetmem.trace(path, interval="5ms", cuda=False) as t:
        for _ in range(4):
            with jetmem.phase("step"):  # the program's own tracer wins over any channel
                time.sleep(0.006)
    s = t.summary()
    check(s == jetmem.load(path), "t.summary() equals jetmem.load() of its file")
    rows = s["phase_summary"]
    check([(r["label"], r["count"], r["pids"]) for r in rows] == [("step", 4, [os.getpid()])],
          f"own tracer's phase summary: {rows}")


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    jetmem_bin, c_program, work = sys.argv[1:]
    recorded_run(jetmem_bin, c_program, work)
    own_tracer_summary(jetmem_bin, work)
    killed_recorder(jetmem_bin, work)
    torch_never_imported(work)
    if failures:
        sys.exit(f"{len(failures)} check(s) failed")
    print("test_channel.py: ok")


if __name__ == "__main__":
    main()

"""`jetmem record --cuda-hook` end to end against the fake libcuda.so.1: the
runtime-like C loader (dlopen + dlsym + cuGetProcAddress_v2) runs the Python
ctypes program as its child; the report's cuda_hook figures must be exactly
the sizes loader.c and alloc.py allocate, per process and for the tree.

Usage: test_cudahook.py JETMEM LOADER FAKECUDA_DIR WORKDIR
       test_cudahook.py --qemu JETMEM LOADER FAKECUDA_DIR WORKDIR
The --qemu form runs an aarch64 LOADER under `qemu-aarch64 -L
/usr/aarch64-linux-gnu` (the hook beside JETMEM must then be the aarch64 one)
with `true` as its child: only the loader's figures are checked there.
"""
import json
import os
import subprocess
import sys

MiB = 1 << 20


def qemu(jetmem, loader, fake_dir, work):
    trace = os.path.join(work, "cudahook-aarch64.jmt")
    cmd = ["qemu-aarch64", "-L", "/usr/aarch64-linux-gnu", "-E", "LD_LIBRARY_PATH=" + fake_dir,
           loader, "true"]
    subprocess.run(
        [jetmem, "record", "--cuda-hook", "--no-report", "--force", "-o", trace, "--"] + cmd,
        check=True,
    )
    hook = json.loads(
        subprocess.run(
            [jetmem, "report", "--format", "json", trace], check=True, capture_output=True,
            text=True,
        ).stdout
    )["cuda_hook"]
    p = next(p for p in hook["processes"] if p["allocations"] == 9)
    assert len(hook["processes"]) == 2, hook
    want = {
        "device_peak_bytes": 112 * MiB, "device_end_bytes": 65 * MiB,
        "managed_peak_bytes": 10 * MiB, "pinned_peak_bytes": 14 * MiB,
        "vmm_peak_bytes": 6 * MiB, "allocations": 9, "frees": 6,
    }
    for k, v in want.items():
        assert p[k] == v, f"aarch64 {k}: got {p[k]}, want {v} in {p}"
    assert hook["device_peak_bytes"] == 112 * MiB and hook["pinned_peak_bytes"] == 14 * MiB, hook
    print("cudahook (aarch64, qemu): all checks passed")


def main():
    if sys.argv[1] == "--qemu":
        return qemu(*sys.argv[2:6])
    jetmem, loader, fake_dir, work = sys.argv[1:5]
    here = os.path.dirname(os.path.abspath(__file__))
    env = dict(os.environ)
    env["LD_LIBRARY_PATH"] = fake_dir + ":" + env.get("LD_LIBRARY_PATH", "")
    trace = os.path.join(work, "cudahook.jmt")
    cmd = [sys.executable, os.path.join(here, "alloc.py")]
    subprocess.run(
        [jetmem, "record", "--cuda-hook", "--no-report", "--force", "-o", trace, "--", loader]
        + cmd,
        env=env,
        check=True,
    )
    report = json.loads(
        subprocess.run(
            [jetmem, "report", "--format", "json", trace],
            env=env, check=True, capture_output=True, text=True,
        ).stdout
    )
    hook = report["cuda_hook"]
    procs = hook["processes"]
    assert len(procs) == 3, procs
    # The loader started first: the lower pid is not guaranteed, the counts are.
    loader_p = next(p for p in procs if p["allocations"] == 9)
    py_p = next(p for p in procs if p["allocations"] == 3)
    # The forked child counts its own 3 MiB only, not its parent's allocations.
    forked = next(p for p in procs if p["allocations"] == 1)
    assert (forked["device_peak_bytes"], forked["device_end_bytes"], forked["frees"]) == (
        3 * MiB, 0, 1), forked
    assert forked["pinned_peak_bytes"] == forked["managed_peak_bytes"] == 0, forked
    want_loader = {
        "name": os.path.basename(loader)[:15],
        # 64 + 32 + 16, then 32 freed before the 1 MiB pitched allocation.
        "device_peak_bytes": 112 * MiB,
        "device_end_bytes": 65 * MiB,  # 64 + 1 left at exit; 16 freed after the child
        "managed_peak_bytes": 10 * MiB,
        "pinned_peak_bytes": 14 * MiB,  # 8 + 4 + 2 registered
        "vmm_peak_bytes": 6 * MiB,
        "allocations": 9,
        "frees": 6,
    }
    want_py = {
        "device_peak_bytes": 200 * MiB,
        "device_end_bytes": 0,
        "managed_peak_bytes": 0,
        "pinned_peak_bytes": 20 * MiB,
        "vmm_peak_bytes": 0,
        "allocations": 3,
        "frees": 3,
    }
    for got, want in ((loader_p, want_loader), (py_p, want_py)):
        for k, v in want.items():
            assert got[k] == v, f"{k}: got {got[k]}, want {v} in {got}"
    # The recorder names a process when it first sees it: the forked child may
    # still carry the loader's name if it was seen before its exec.
    assert py_p["name"].startswith("python") or py_p["name"] == want_loader["name"], py_p
    # Tree totals at their peak moment: the child's 200 MiB while the loader
    # held 81 MiB device; 20 MiB pinned while the loader held 8.
    assert hook["device_peak_bytes"] == 281 * MiB, hook
    assert hook["pinned_peak_bytes"] == 28 * MiB, hook
    assert hook["managed_peak_bytes"] == 10 * MiB, hook
    assert hook["vmm_peak_bytes"] == 6 * MiB, hook
    assert hook["table_overflow"] == 0, hook
    # The loader exits holding 65 MiB of device memory: advice names it.
    codes = [a["code"] for a in report["advice"]]
    assert "cuda-memory-at-exit" in codes, report["advice"]
    leak = next(a for a in report["advice"] if a["code"] == "cuda-memory-at-exit")
    assert f"(pid {loader_p['pid']}) 65.0 MiB" in leak["message"], leak

    # Text and Markdown show the per-process table.
    text = subprocess.run(
        [jetmem, "report", trace], env=env, check=True, capture_output=True, text=True
    ).stdout
    assert "CUDA allocations (--cuda-hook" in text, text
    assert "device peak" in text and str(py_p["pid"]) in text, text

    # Hooked, but no process loads libcuda: the command runs as without the
    # hook (same output and exit status), and cuda_hook is there, empty.
    nocuda = os.path.join(work, "nocuda.jmt")
    ran = subprocess.run(
        [jetmem, "record", "--cuda-hook", "--no-report", "--force", "-o", nocuda, "--",
         "sh", "-c", "echo hooked-but-no-cuda; exit 3"],
        env=env, capture_output=True, text=True,
    )
    assert (ran.returncode, ran.stdout) == (3, "hooked-but-no-cuda\n"), ran
    out = subprocess.run(
        [jetmem, "report", "--format", "json", nocuda],
        env=env, check=True, capture_output=True, text=True,
    ).stdout
    empty = json.loads(out)["cuda_hook"]
    assert empty is not None and empty["processes"] == [] and empty["device_peak_bytes"] == 0, empty

    # Not hooked: cuda_hook is null.
    plain = os.path.join(work, "plain.jmt")
    subprocess.run(
        [jetmem, "record", "--no-report", "--force", "-o", plain, "--", "true"],
        env=env, check=True,
    )
    out = subprocess.run(
        [jetmem, "report", "--format", "json", plain],
        env=env, check=True, capture_output=True, text=True,
    ).stdout
    assert json.loads(out)["cuda_hook"] is None
    print("cudahook: all checks passed")


main()

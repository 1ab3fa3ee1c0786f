"""The --cuda-hook test's second process: Python ctypes on libcuda.so.1 (each
attribute is a dlsym on the library's handle). Device 200 MiB then 50 MiB,
pinned 20 MiB, all freed; test_cudahook.py expects these sizes."""
import ctypes
import time

MiB = 1 << 20
cuda = ctypes.CDLL("libcuda.so.1")


def ok(rc, what):
    if rc != 0:
        raise SystemExit(f"alloc.py: {what} returned {rc}")


ok(cuda.cuInit(0), "cuInit")
dev = ctypes.c_ulonglong()
ok(cuda.cuMemAlloc_v2(ctypes.byref(dev), ctypes.c_size_t(200 * MiB)), "cuMemAlloc_v2 200 MiB")
host = ctypes.c_void_p()
ok(cuda.cuMemAllocHost_v2(ctypes.byref(host), ctypes.c_size_t(20 * MiB)), "cuMemAllocHost_v2")
ctypes.memset(host, 1, 20 * MiB)  # pinned host memory is real memory
time.sleep(0.3)  # long enough for the recorder to see this process
ok(cuda.cuMemFree_v2(dev), "cuMemFree_v2")
ok(cuda.cuMemAlloc_v2(ctypes.byref(dev), ctypes.c_size_t(50 * MiB)), "cuMemAlloc_v2 50 MiB")
ok(cuda.cuMemFree_v2(dev), "cuMemFree_v2")
ok(cuda.cuMemFreeHost(host), "cuMemFreeHost")

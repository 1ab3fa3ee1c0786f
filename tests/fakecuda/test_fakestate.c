/*
 * Part of test_fakecuda: the fakes as one GPU shared by processes
 * (FAKECUDA_STATE / FAKENVML_STATE, fakestate.h). Every expected figure is
 * computed from the knobs and the sizes allocated here.
 */
#include <dlfcn.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test_check.h"

typedef int CUresult;
typedef void *CUcontext;
typedef unsigned long long CUdeviceptr;

static CUresult (*cuInit)(unsigned int);
static CUresult (*cuDevicePrimaryCtxRetain)(CUcontext *, int);
static CUresult (*cuDevicePrimaryCtxRelease_v2)(int);
static CUresult (*cuCtxSetCurrent)(CUcontext);
static CUresult (*cuMemGetInfo_v2)(size_t *, size_t *);
static CUresult (*cuMemAlloc_v2)(CUdeviceptr *, size_t);
static CUresult (*cuMemFree_v2)(CUdeviceptr);
static CUresult (*cuMemAllocManaged)(CUdeviceptr *, size_t, unsigned int);
static CUresult (*cuMemHostAlloc)(void **, size_t, unsigned int);
static CUresult (*cuMemFreeHost)(void *);
static CUresult (*cuMemCreate)(unsigned long long *, size_t, const void *, unsigned long long);
static CUresult (*cuMemRelease)(unsigned long long);

typedef struct {
    unsigned int pid;
    unsigned long long used;
    unsigned int gpu_instance, compute_instance;
} proc_info;
typedef struct {
    unsigned long long total, free, used;
} nvml_memory;

static int (*nvmlInit_v2)(void);
static int (*nvmlDeviceGetHandleByIndex_v2)(unsigned int, void **);
static int (*nvmlDeviceGetMemoryInfo)(void *, nvml_memory *);
static int (*nvmlDeviceGetComputeRunningProcesses_v3)(void *, unsigned int *, proc_info *);

static int failures;



enum { FREE = 1000000, TOTAL = 2000000, CTX = 1000, NVML_FREE = 1500000, NVML_TOTAL = 1900000 };

static size_t cuda_free(void)
{
    size_t f = 0, t = 0;
    CHECK(cuMemGetInfo_v2(&f, &t) == 0 && t == TOTAL);
    return f;
}

/* NVML's device 0: its free, and the used figure NVML gives `pid` (0 when absent). */
static unsigned long long nvml_free(unsigned int pid, unsigned long long *pid_used)
{
    void *dev = NULL;
    nvml_memory m = {0, 0, 0};
    proc_info infos[8];
    unsigned int n = 8;
    CHECK(nvmlDeviceGetHandleByIndex_v2(0, &dev) == 0);
    CHECK(nvmlDeviceGetMemoryInfo(dev, &m) == 0 && m.total == NVML_TOTAL &&
          m.used == m.total - m.free);
    CHECK(nvmlDeviceGetComputeRunningProcesses_v3(dev, &n, infos) == 0);
    *pid_used = 0;
    for (unsigned int i = 0; i < n; i++)
        if (infos[i].pid == pid)
            *pid_used = infos[i].used;
    return m.free;
}

static void context(void)
{
    CUcontext ctx = NULL;
    CHECK(cuInit(0) == 0);
    CHECK(cuDevicePrimaryCtxRetain(&ctx, 0) == 0 && cuCtxSetCurrent(ctx) == 0);
}

/* A child that holds `bytes` until told to exit (a byte on `go`); it says
 * it holds them with a byte on `ready`. */
static pid_t holder(size_t bytes, int ready, int go)
{
    pid_t pid = fork();
    if (pid != 0)
        return pid;
    CUdeviceptr p = 0;
    char c = 0;
    context();
    int ok = cuMemAlloc_v2(&p, bytes) == 0;
    if (write(ready, &c, 1) != 1 || read(go, &c, 1) != 1)
        ok = 0;
    _exit(ok && failures == 0 ? 0 : 1); /* exits holding `bytes`, as device_alloc does */
}

/* `children` processes at once, each `rounds` alloc + free pairs: the table
 * must come out as it went in. */
static void concurrent(int children, int rounds)
{
    size_t before = cuda_free();
    pid_t pids[16];
    for (int i = 0; i < children; i++) {
        pids[i] = fork();
        if (pids[i] == 0) {
            int bad = 0;
            CUcontext ctx = NULL;
            bad |= cuDevicePrimaryCtxRetain(&ctx, 0) != 0 || cuCtxSetCurrent(ctx) != 0;
            for (int r = 0; r < rounds && !bad; r++) {
                CUdeviceptr p = 0;
                bad |= cuMemAlloc_v2(&p, 4096 + (size_t)i) != 0 || cuMemFree_v2(p) != 0;
            }
            bad |= cuDevicePrimaryCtxRelease_v2(0) != 0;
            _exit(bad);
        }
    }
    for (int i = 0; i < children; i++) {
        int status = -1;
        CHECK(waitpid(pids[i], &status, 0) == pids[i] && WIFEXITED(status) &&
              WEXITSTATUS(status) == 0);
    }
    CHECK(cuda_free() == before);
}

void check_state(void *cuda, void *nvml)
{
    *(void **)&cuInit = lookup(cuda, "cuInit");
    *(void **)&cuDevicePrimaryCtxRetain = lookup(cuda, "cuDevicePrimaryCtxRetain");
    *(void **)&cuDevicePrimaryCtxRelease_v2 = lookup(cuda, "cuDevicePrimaryCtxRelease_v2");
    *(void **)&cuCtxSetCurrent = lookup(cuda, "cuCtxSetCurrent");
    *(void **)&cuMemGetInfo_v2 = lookup(cuda, "cuMemGetInfo_v2");
    *(void **)&cuMemAlloc_v2 = lookup(cuda, "cuMemAlloc_v2");
    *(void **)&cuMemFree_v2 = lookup(cuda, "cuMemFree_v2");
    *(void **)&cuMemAllocManaged = lookup(cuda, "cuMemAllocManaged");
    *(void **)&cuMemHostAlloc = lookup(cuda, "cuMemHostAlloc");
    *(void **)&cuMemFreeHost = lookup(cuda, "cuMemFreeHost");
    *(void **)&cuMemCreate = lookup(cuda, "cuMemCreate");
    *(void **)&cuMemRelease = lookup(cuda, "cuMemRelease");
    *(void **)&nvmlInit_v2 = lookup(nvml, "nvmlInit_v2");
    *(void **)&nvmlDeviceGetHandleByIndex_v2 = lookup(nvml, "nvmlDeviceGetHandleByIndex_v2");
    *(void **)&nvmlDeviceGetMemoryInfo = lookup(nvml, "nvmlDeviceGetMemoryInfo");
    *(void **)&nvmlDeviceGetComputeRunningProcesses_v3 =
        lookup(nvml, "nvmlDeviceGetComputeRunningProcesses_v3");

    char path[] = "/tmp/fakestate.XXXXXX"; /* mkstemp leaves it empty: a new table */
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    close(fd);
    char text[32];
    setenv("FAKECUDA_STATE", path, 1);
    setenv("FAKENVML_STATE", path, 1);
    snprintf(text, sizeof text, "%d", FREE);
    setenv("FAKECUDA_FREE", text, 1);
    snprintf(text, sizeof text, "%d", TOTAL);
    setenv("FAKECUDA_TOTAL", text, 1);
    snprintf(text, sizeof text, "%d", CTX);
    setenv("FAKECUDA_CONTEXT_BYTES", text, 1);
    snprintf(text, sizeof text, "%d:100000:%d", NVML_TOTAL, NVML_FREE);
    setenv("FAKENVML_MEMORY", text, 1);
    CHECK(nvmlInit_v2() == 0);
    unsigned int me = (unsigned int)getpid();
    unsigned long long mine = 1;

    /* The context costs CTX, device and VMM allocations what they ask,
     * managed and pinned memory nothing; frees give it back. */
    context();
    CHECK(cuda_free() == FREE - CTX);
    CHECK(nvml_free(me, &mine) == NVML_FREE - CTX && mine == CTX);
    CUdeviceptr a = 0, b = 0, m = 0;
    unsigned long long h = 0;
    void *pinned = NULL;
    char prop[64] = {0};
    CHECK(cuMemAlloc_v2(&a, 300000) == 0 && cuMemAlloc_v2(&b, 200000) == 0);
    CHECK(cuMemCreate(&h, 100000, prop, 0) == 0);
    CHECK(cuMemAllocManaged(&m, 50000, 1) == 0 && cuMemHostAlloc(&pinned, 70000, 0) == 0);
    CHECK(cuda_free() == FREE - CTX - 600000);
    CHECK(nvml_free(me, &mine) == NVML_FREE - CTX - 600000 && mine == CTX + 600000);
    CHECK(cuMemFree_v2(a) == 0 && cuMemRelease(h) == 0);
    CHECK(cuMemFree_v2(m) == 0 && cuMemFreeHost(pinned) == 0);
    CHECK(cuMemFree_v2(a) == 1); /* freed already */
    CHECK(cuda_free() == FREE - CTX - 200000);

    /* Past the device's free: out of memory, and nothing charged. */
    CHECK(cuMemAlloc_v2(&a, FREE) == 2);
    CHECK(cuda_free() == FREE - CTX - 200000);

    /* Another process's use counts while it lives and goes when it exits. */
    int ready[2], go[2];
    char c = 0;
    CHECK(pipe(ready) == 0 && pipe(go) == 0);
    pid_t child = holder(50000, ready[1], go[0]);
    CHECK(read(ready[0], &c, 1) == 1);
    CHECK(cuda_free() == FREE - 2 * CTX - 250000);
    unsigned long long theirs = 0;
    CHECK(nvml_free((unsigned int)child, &theirs) == NVML_FREE - 2 * CTX - 250000 &&
          theirs == CTX + 50000);
    int status = -1;
    CHECK(write(go[1], &c, 1) == 1 && waitpid(child, &status, 0) == child && WIFEXITED(status) &&
          WEXITSTATUS(status) == 0);
    CHECK(cuda_free() == FREE - CTX - 200000);
    CHECK(nvml_free((unsigned int)child, &theirs) == NVML_FREE - CTX - 200000 && theirs == 0);

    /* Concurrent updates from several processes leave a consistent table. */
    concurrent(6, 200);

    /* A skew charges more than asked (and frees what it charged). */
    setenv("FAKECUDA_STATE_SKEW", "20", 1);
    context();
    CHECK(cuMemAlloc_v2(&a, 100000) == 0 && cuda_free() == FREE - CTX - 200000 - 120000);
    CHECK(cuMemFree_v2(a) == 0 && cuda_free() == FREE - CTX - 200000);
    CHECK(cuMemFree_v2(b) == 0 && cuda_free() == FREE - CTX);
    CHECK(cuDevicePrimaryCtxRelease_v2(0) == 0 && cuDevicePrimaryCtxRelease_v2(0) == 0);
    CHECK(nvml_free(me, &mine) == NVML_FREE && mine == 0);

    /* A file that is not a state table is an error, never rewritten. */
    context();
    FILE *f = fopen(path, "w");
    CHECK(f != NULL && fputs("not a table", f) >= 0 && fclose(f) == 0);
    size_t fr = 0, tt = 0;
    CHECK(cuMemGetInfo_v2(&fr, &tt) == 999);
    CHECK(cuMemAlloc_v2(&a, 10) == 999);
    f = fopen(path, "r");
    CHECK(f != NULL && fgets(text, sizeof text, f) != NULL && strcmp(text, "not a table") == 0);
    if (f != NULL)
        fclose(f);
    CHECK(cuDevicePrimaryCtxRelease_v2(0) == 999);

    /* The state knobs need FAKECUDA_STATE; NVML's excludes a process list. */
    unsetenv("FAKECUDA_STATE");
    CHECK(cuInit(0) == 1);
    unsetenv("FAKECUDA_STATE_SKEW");
    unsetenv("FAKECUDA_CONTEXT_BYTES");
    CHECK(cuInit(0) == 0);
    setenv("FAKENVML_PROCS", "1:2", 1);
    CHECK(nvmlInit_v2() == 2);
    unsetenv("FAKENVML_PROCS");
    unsetenv("FAKENVML_STATE");
    unsetenv("FAKENVML_MEMORY");
    unsetenv("FAKECUDA_FREE");
    unsetenv("FAKECUDA_TOTAL");
    unlink(path);
}

int check_state_failures(void) { return failures; }

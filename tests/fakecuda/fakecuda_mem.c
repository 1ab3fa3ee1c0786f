/*
 * The allocation side of the fake libcuda.so.1 (linked into the same library
 * as fakecuda.c), for the --cuda-hook tests: the driver-API allocation and
 * free functions the hook intercepts, with their real signatures, and
 * cuGetProcAddress / cuGetProcAddress_v2, which (like the real driver) map a
 * base name to its versioned function: "cuMemAlloc" gives cuMemAlloc_v2 for
 * cudaVersion >= 3020, "<name>_ptsz" when flags ask for the per-thread
 * default stream (CU_GET_PROC_ADDRESS_PER_THREAD_DEFAULT_STREAM = 2).
 *
 * Device, managed and VMM allocations get fake addresses / handles from a
 * counter (never dereferenced); pinned host memory is real (malloc), so a
 * test can touch it. Every call needs cuInit first (else 3); a zero size or
 * null out-parameter is CUDA_ERROR_INVALID_VALUE (1), like the real driver.
 *
 * With FAKECUDA_STATE (fakecuda.c) device and VMM allocations are charged to
 * the state file and their sizes kept here until freed; freeing a device
 * address or VMM handle this process does not hold is then
 * CUDA_ERROR_INVALID_VALUE, like the real driver.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef int CUresult;
typedef unsigned long long CUdeviceptr;
typedef unsigned long long CUmemGenericAllocationHandle;
typedef void *CUstream;
typedef void *CUmemoryPool;

enum {
    CUDA_SUCCESS = 0,
    CUDA_ERROR_INVALID_VALUE = 1,
    CUDA_ERROR_OUT_OF_MEMORY = 2,
    CUDA_ERROR_NOT_INITIALIZED = 3,
    CUDA_ERROR_NOT_FOUND = 500,
};

int fakecuda_initialised(void) __attribute__((visibility("hidden")));
int fakecuda_state_on(void) __attribute__((visibility("hidden")));
CUresult fakecuda_charge(long long bytes) __attribute__((visibility("hidden")));
size_t fakecuda_skewed(size_t bytes) __attribute__((visibility("hidden")));

/* Live device allocations and VMM handles (FAKECUDA_STATE only): their
 * charged sizes, for the frees. Addresses and handles never collide (the
 * address counter starts far above any handle). */
struct live {
    unsigned long long key;
    size_t bytes;
};
static pthread_mutex_t live_lock = PTHREAD_MUTEX_INITIALIZER;
static struct live *lives;
static size_t nlive, cap_live;

/* A forked child holds none of its parent's allocations (fakecuda.c drops
 * its context too). */
static void forget_lives(void) { nlive = 0; }

__attribute__((constructor)) static void on_load(void) { pthread_atfork(NULL, NULL, forget_lives); }

/* Charges `size` bytes (skewed) for `key` and remembers what it charged;
 * the CUresult of the charge. */
static CUresult hold(unsigned long long key, size_t size)
{
    if (!fakecuda_state_on())
        return CUDA_SUCCESS;
    size_t bytes = fakecuda_skewed(size);
    CUresult rc = fakecuda_charge((long long)bytes);
    if (rc != CUDA_SUCCESS)
        return rc;
    pthread_mutex_lock(&live_lock);
    if (nlive == cap_live) {
        size_t cap = cap_live != 0 ? 2 * cap_live : 64;
        struct live *grown = realloc(lives, cap * sizeof *grown);
        if (grown == NULL) {
            pthread_mutex_unlock(&live_lock);
            fakecuda_charge(-(long long)bytes);
            return CUDA_ERROR_OUT_OF_MEMORY;
        }
        lives = grown;
        cap_live = cap;
    }
    lives[nlive++] = (struct live){key, bytes};
    pthread_mutex_unlock(&live_lock);
    return CUDA_SUCCESS;
}

/* Forgets `key` and releases its charge; INVALID_VALUE when it is not held. */
static CUresult release(unsigned long long key)
{
    if (!fakecuda_state_on())
        return CUDA_SUCCESS;
    size_t bytes = 0;
    int found = 0;
    pthread_mutex_lock(&live_lock);
    for (size_t i = 0; i < nlive && !found; i++)
        if (lives[i].key == key) {
            bytes = lives[i].bytes;
            lives[i] = lives[--nlive];
            found = 1;
        }
    pthread_mutex_unlock(&live_lock);
    return found ? fakecuda_charge(-(long long)bytes) : CUDA_ERROR_INVALID_VALUE;
}

static _Atomic unsigned long long next_device = 0x700000000000ULL;
static _Atomic unsigned long long next_handle = 1;

/* A fake device address for `size` bytes, of which `charged` are charged
 * to FAKECUDA_STATE (0 for managed memory). */
static CUresult fake_address_charged(CUdeviceptr *dptr, size_t size, size_t charged)
{
    if (!fakecuda_initialised())
        return CUDA_ERROR_NOT_INITIALIZED;
    if (dptr == NULL || size == 0)
        return CUDA_ERROR_INVALID_VALUE;
    unsigned long long rounded = (size + 511) & ~511ULL;
    unsigned long long p = atomic_fetch_add(&next_device, rounded);
    CUresult rc = hold(p, charged);
    if (rc == CUDA_SUCCESS)
        *dptr = p;
    return rc;
}

static CUresult fake_address(CUdeviceptr *dptr, size_t size)
{
    return fake_address_charged(dptr, size, size);
}

static CUresult check_free(unsigned long long p)
{
    if (!fakecuda_initialised())
        return CUDA_ERROR_NOT_INITIALIZED;
    return p != 0 ? CUDA_SUCCESS : CUDA_ERROR_INVALID_VALUE;
}

/* cuMemFree*, cuMemRelease: a held device address or VMM handle. */
static CUresult device_free(unsigned long long p)
{
    CUresult rc = check_free(p);
    return rc == CUDA_SUCCESS ? release(p) : rc;
}

CUresult cuMemAlloc_v2(CUdeviceptr *dptr, size_t size) { return fake_address(dptr, size); }

CUresult cuMemAllocPitch_v2(CUdeviceptr *dptr, size_t *pitch, size_t width, size_t height,
                            unsigned int elem)
{
    if (pitch == NULL || elem == 0 || width == 0 || height == 0)
        return CUDA_ERROR_INVALID_VALUE;
    size_t p = (width + 511) & ~(size_t)511; /* rows padded to 512 bytes */
    CUresult rc = fake_address(dptr, p * height);
    if (rc == CUDA_SUCCESS)
        *pitch = p;
    return rc;
}

CUresult cuMemAllocAsync(CUdeviceptr *dptr, size_t size, CUstream s)
{
    (void)s;
    return fake_address(dptr, size);
}

CUresult cuMemAllocAsync_ptsz(CUdeviceptr *dptr, size_t size, CUstream s)
{
    return cuMemAllocAsync(dptr, size, s);
}

CUresult cuMemAllocFromPoolAsync(CUdeviceptr *dptr, size_t size, CUmemoryPool pool, CUstream s)
{
    (void)pool;
    (void)s;
    return fake_address(dptr, size);
}

CUresult cuMemAllocManaged(CUdeviceptr *dptr, size_t size, unsigned int flags)
{
    (void)flags;
    return fake_address_charged(dptr, size, 0);
}

CUresult cuMemFree_v2(CUdeviceptr p) { return device_free(p); }

CUresult cuMemFreeAsync(CUdeviceptr p, CUstream s)
{
    (void)s;
    return device_free(p);
}

CUresult cuMemFreeAsync_ptsz(CUdeviceptr p, CUstream s) { return cuMemFreeAsync(p, s); }

CUresult cuMemHostAlloc(void **pp, size_t size, unsigned int flags)
{
    (void)flags;
    if (!fakecuda_initialised())
        return CUDA_ERROR_NOT_INITIALIZED;
    if (pp == NULL || size == 0)
        return CUDA_ERROR_INVALID_VALUE;
    *pp = malloc(size);
    return *pp != NULL ? CUDA_SUCCESS : CUDA_ERROR_INVALID_VALUE;
}

CUresult cuMemAllocHost_v2(void **pp, size_t size) { return cuMemHostAlloc(pp, size, 0); }

CUresult cuMemFreeHost(void *p)
{
    CUresult rc = check_free((unsigned long long)(uintptr_t)p);
    if (rc == CUDA_SUCCESS)
        free(p);
    return rc;
}

CUresult cuMemHostRegister_v2(void *p, size_t size, unsigned int flags)
{
    (void)flags;
    if (!fakecuda_initialised())
        return CUDA_ERROR_NOT_INITIALIZED;
    return p != NULL && size != 0 ? CUDA_SUCCESS : CUDA_ERROR_INVALID_VALUE;
}

CUresult cuMemHostUnregister(void *p) { return check_free((unsigned long long)(uintptr_t)p); }

CUresult cuMemCreate(CUmemGenericAllocationHandle *handle, size_t size, const void *prop,
                     unsigned long long flags)
{
    (void)flags;
    if (!fakecuda_initialised())
        return CUDA_ERROR_NOT_INITIALIZED;
    if (handle == NULL || size == 0 || prop == NULL)
        return CUDA_ERROR_INVALID_VALUE;
    unsigned long long h = atomic_fetch_add(&next_handle, 1);
    CUresult rc = hold(h, size);
    if (rc == CUDA_SUCCESS)
        *handle = h;
    return rc;
}

CUresult cuMemRelease(CUmemGenericAllocationHandle h) { return device_free(h); }

CUresult cuGetProcAddress(const char *symbol, void **pfn, int version, unsigned long long flags);
CUresult cuGetProcAddress_v2(const char *symbol, void **pfn, int version, unsigned long long flags,
                             int *status);

struct proc {
    const char *name;
    void *fn;
};

#define PROC(f) {#f, (void *)f}
static const struct proc procs[] = {
    PROC(cuMemAlloc_v2),           PROC(cuMemAllocPitch_v2),   PROC(cuMemAllocAsync),
    PROC(cuMemAllocAsync_ptsz),    PROC(cuMemAllocFromPoolAsync), PROC(cuMemAllocManaged),
    PROC(cuMemFree_v2),            PROC(cuMemFreeAsync),       PROC(cuMemFreeAsync_ptsz),
    PROC(cuMemAllocHost_v2),       PROC(cuMemHostAlloc),       PROC(cuMemFreeHost),
    PROC(cuMemHostRegister_v2),    PROC(cuMemHostUnregister),  PROC(cuMemCreate),
    PROC(cuMemRelease),            PROC(cuGetProcAddress),
};

static void *find_proc(const char *name)
{
    for (size_t i = 0; i < sizeof procs / sizeof procs[0]; i++)
        if (strcmp(procs[i].name, name) == 0)
            return procs[i].fn;
    return NULL;
}

static void *lookup(const char *symbol, int version, unsigned long long flags)
{
    char name[128];
    void *fn = NULL;
    if (flags & 2) {
        snprintf(name, sizeof name, "%s_ptsz", symbol);
        fn = find_proc(name);
    }
    if (fn == NULL && version >= 3020) {
        snprintf(name, sizeof name, "%s_v2", symbol);
        fn = find_proc(name);
    }
    return fn != NULL ? fn : find_proc(symbol);
}

CUresult cuGetProcAddress(const char *symbol, void **pfn, int version, unsigned long long flags)
{
    if (symbol == NULL || pfn == NULL)
        return CUDA_ERROR_INVALID_VALUE;
    *pfn = lookup(symbol, version, flags);
    return *pfn != NULL ? CUDA_SUCCESS : CUDA_ERROR_NOT_FOUND;
}

CUresult cuGetProcAddress_v2(const char *symbol, void **pfn, int version, unsigned long long flags,
                             int *status)
{
    CUresult rc = cuGetProcAddress(symbol, pfn, version, flags);
    if (status != NULL)
        *status = rc == CUDA_SUCCESS ? 0 : 1; /* CU_GET_PROC_ADDRESS_SUCCESS / SYMBOL_NOT_FOUND */
    return rc;
}

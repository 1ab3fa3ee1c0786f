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
 */
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
    CUDA_ERROR_NOT_INITIALIZED = 3,
    CUDA_ERROR_NOT_FOUND = 500,
};

int fakecuda_initialised(void) __attribute__((visibility("hidden")));

static _Atomic unsigned long long next_device = 0x700000000000ULL;
static _Atomic unsigned long long next_handle = 1;

static CUresult fake_address(CUdeviceptr *dptr, size_t size)
{
    if (!fakecuda_initialised())
        return CUDA_ERROR_NOT_INITIALIZED;
    if (dptr == NULL || size == 0)
        return CUDA_ERROR_INVALID_VALUE;
    unsigned long long rounded = (size + 511) & ~511ULL;
    *dptr = atomic_fetch_add(&next_device, rounded);
    return CUDA_SUCCESS;
}

static CUresult check_free(unsigned long long p)
{
    if (!fakecuda_initialised())
        return CUDA_ERROR_NOT_INITIALIZED;
    return p != 0 ? CUDA_SUCCESS : CUDA_ERROR_INVALID_VALUE;
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
    return fake_address(dptr, size);
}

CUresult cuMemFree_v2(CUdeviceptr p) { return check_free(p); }

CUresult cuMemFreeAsync(CUdeviceptr p, CUstream s)
{
    (void)s;
    return check_free(p);
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
    *handle = atomic_fetch_add(&next_handle, 1);
    return CUDA_SUCCESS;
}

CUresult cuMemRelease(CUmemGenericAllocationHandle h) { return check_free(h); }

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

/*
 * A fake CUDA driver library (libcuda.so.1) for testing jetmem's GPU path on
 * machines without a GPU. It exports the driver-API entry points jetmem uses,
 * with the real signatures and error codes, and answers from environment
 * knobs that are re-read on every cuInit() call:
 *
 *   FAKECUDA_NO_DEVICE=1     cuInit returns 100 (CUDA_ERROR_NO_DEVICE)
 *   FAKECUDA_INTEGRATED=1    CU_DEVICE_ATTRIBUTE_INTEGRATED (18) is 1 (Jetson)
 *   FAKECUDA_NAME=<text>     device name        (default "FakeCUDA Device")
 *   FAKECUDA_FREE=<bytes>    cuMemGetInfo free  (default 6442450944 = 6 GiB)
 *   FAKECUDA_TOTAL=<bytes>   total memory       (default 8589934592 = 8 GiB)
 *   FAKECUDA_DRIVER_VERSION=<n>  cuDriverGetVersion (default 12020)
 *   FAKECUDA_UUID=<32 hex digits> cuDeviceGetUuid's 16 bytes, in order (default
 *                            all zero: NVML's GPU-00000000-0000-0000-0000-000000000000,
 *                            the fake NVML's default device)
 *
 * One GPU shared by processes (opt-in; the figures above stay static without it):
 *
 *   FAKECUDA_STATE=<path>    a state file (fakestate.h) holding every process's
 *                            live device bytes: cuMemAlloc_v2, cuMemAllocPitch_v2,
 *                            cuMemAllocAsync(_ptsz), cuMemAllocFromPoolAsync and
 *                            cuMemCreate add what they allocate, their frees take
 *                            it off; a process's first primary context adds
 *                            FAKECUDA_CONTEXT_BYTES. cuMemGetInfo's free is then
 *                            FAKECUDA_FREE (the idle device's free) minus every
 *                            live process's use, and an allocation past it fails
 *                            with 2 (CUDA_ERROR_OUT_OF_MEMORY). Managed memory and
 *                            pinned host memory are not charged. Give the fake
 *                            NVML the same file (FAKENVML_STATE) for its figures.
 *   FAKECUDA_CONTEXT_BYTES=<bytes>  what a process's primary context costs on the
 *                            device (default 0; real discrete GPUs: a few hundred MiB)
 *   FAKECUDA_STATE_SKEW=<percent>   charges every allocation <percent> % more than
 *                            asked (default 0): a wrong figure, for negative tests
 *                            of checks that compare against cuMemGetInfo or NVML
 *
 * A knob that does not parse (or FREE > TOTAL) makes cuInit fail with
 * CUDA_ERROR_INVALID_VALUE and say why on stderr, so a typo in a test cannot
 * silently fall back to the defaults.
 *
 * Like the real driver: every call except cuDriverGetVersion, cuGetErrorString
 * and cuGetErrorName needs a successful cuInit first (else 3,
 * CUDA_ERROR_NOT_INITIALIZED); there is one device, ordinal 0 (else 101,
 * CUDA_ERROR_INVALID_DEVICE); cuMemGetInfo needs a current context (else 201,
 * CUDA_ERROR_INVALID_CONTEXT).
 *
 * The allocation functions and cuGetProcAddress(_v2) are in fakecuda_mem.c.
 *
 * Build: gcc -shared -fPIC -Wl,-soname,libcuda.so.1 -Wl,-Bsymbolic -o libcuda.so.1 fakecuda.c fakecuda_mem.c
 */
#include "fakestate.h"

#include <errno.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef int CUresult;
typedef int CUdevice;
typedef struct CUctx_st *CUcontext;

enum {
    CUDA_SUCCESS = 0,
    CUDA_ERROR_INVALID_VALUE = 1,
    CUDA_ERROR_OUT_OF_MEMORY = 2,
    CUDA_ERROR_NOT_INITIALIZED = 3,
    CUDA_ERROR_NO_DEVICE = 100,
    CUDA_ERROR_INVALID_DEVICE = 101,
    CUDA_ERROR_INVALID_CONTEXT = 201,
    CUDA_ERROR_UNKNOWN = 999,
};

enum { CU_DEVICE_ATTRIBUTE_INTEGRATED = 18 };

struct CUctx_st {
    int primary_refs;
};

static struct CUctx_st primary_ctx;
static CUcontext current_ctx;
static int initialised;
static int integrated;
static int driver_version = 12020;
static char device_name[256] = "FakeCUDA Device";
static size_t mem_free = 6442450944ULL;
static size_t mem_total = 8589934592ULL;
static unsigned char device_uuid[16];
static char state_path[4096]; /* "" when FAKECUDA_STATE is unset */
static unsigned long long context_bytes;
static unsigned long long state_skew;

/* Reads an unsigned decimal knob; returns 0 on success (or when unset). */
static int knob_u64(const char *name, unsigned long long *out)
{
    const char *text = getenv(name);
    if (text == NULL)
        return 0;
    char *end = NULL;
    errno = 0;
    unsigned long long value = strtoull(text, &end, 10);
    if (errno != 0 || end == text || *end != '\0' || text[0] == '-') {
        fprintf(stderr, "fakecuda: %s=%s is not an unsigned decimal number\n", name, text);
        return -1;
    }
    *out = value;
    return 0;
}

static int knob_flag(const char *name)
{
    const char *text = getenv(name);
    return text != NULL && strcmp(text, "1") == 0;
}

/* Reads FAKECUDA_UUID (32 hex digits) into `out`; 0 on success (or when unset). */
static int knob_uuid(unsigned char out[16])
{
    const char *text = getenv("FAKECUDA_UUID");
    memset(out, 0, 16);
    if (text == NULL)
        return 0;
    if (strlen(text) != 32 || strspn(text, "0123456789abcdefABCDEF") != 32) {
        fprintf(stderr, "fakecuda: FAKECUDA_UUID=%s is not 32 hex digits\n", text);
        return -1;
    }
    for (int i = 0; i < 16; i++) {
        char byte[3] = {text[2 * i], text[2 * i + 1], '\0'};
        out[i] = (unsigned char)strtoul(byte, NULL, 16);
    }
    return 0;
}

/* FAKECUDA_STATE and the knobs that need it; 0 on success. */
static int read_state_knobs(void)
{
    const char *path = getenv("FAKECUDA_STATE");
    context_bytes = 0;
    state_skew = 0;
    state_path[0] = '\0';
    if (knob_u64("FAKECUDA_CONTEXT_BYTES", &context_bytes) != 0 ||
        knob_u64("FAKECUDA_STATE_SKEW", &state_skew) != 0)
        return -1;
    if (path == NULL) {
        if (getenv("FAKECUDA_CONTEXT_BYTES") != NULL || getenv("FAKECUDA_STATE_SKEW") != NULL) {
            fprintf(stderr, "fakecuda: FAKECUDA_CONTEXT_BYTES and FAKECUDA_STATE_SKEW need "
                            "FAKECUDA_STATE\n");
            return -1;
        }
        return 0;
    }
    if (path[0] == '\0' || strlen(path) >= sizeof state_path || state_skew > 1000) {
        fprintf(stderr, "fakecuda: FAKECUDA_STATE must be a path (or the skew above 1000 %%)\n");
        return -1;
    }
    strcpy(state_path, path);
    return 0;
}

static CUresult read_knobs(void)
{
    unsigned long long free_b = 6442450944ULL, total_b = 8589934592ULL, version = 12020;
    if (knob_u64("FAKECUDA_FREE", &free_b) != 0 || knob_u64("FAKECUDA_TOTAL", &total_b) != 0 ||
        knob_u64("FAKECUDA_DRIVER_VERSION", &version) != 0 || knob_uuid(device_uuid) != 0 ||
        read_state_knobs() != 0)
        return CUDA_ERROR_INVALID_VALUE;
    if (free_b > total_b) {
        fprintf(stderr, "fakecuda: FAKECUDA_FREE (%llu) exceeds FAKECUDA_TOTAL (%llu)\n", free_b,
                total_b);
        return CUDA_ERROR_INVALID_VALUE;
    }
    const char *name = getenv("FAKECUDA_NAME");
    snprintf(device_name, sizeof device_name, "%s", name != NULL ? name : "FakeCUDA Device");
    integrated = knob_flag("FAKECUDA_INTEGRATED");
    mem_free = (size_t)free_b;
    mem_total = (size_t)total_b;
    driver_version = (int)version;
    return CUDA_SUCCESS;
}

/* For fakecuda_mem.c: whether cuInit succeeded. */
__attribute__((visibility("hidden"))) int fakecuda_initialised(void) { return initialised; }

/* With FAKECUDA_STATE, a forked child starts without the parent's context,
 * as CUDA contexts do not survive fork(); without it nothing changes. */
static void forget_context(void)
{
    if (state_path[0] != '\0') {
        primary_ctx.primary_refs = 0;
        current_ctx = NULL;
    }
}

__attribute__((constructor)) static void on_load(void) { pthread_atfork(NULL, NULL, forget_context); }

/* For fakecuda_mem.c: whether allocations are charged to FAKECUDA_STATE. */
__attribute__((visibility("hidden"))) int fakecuda_state_on(void) { return state_path[0] != '\0'; }

/* Adds `device` bytes and `contexts` to this process's use in the state
 * file; nothing without FAKECUDA_STATE. */
static CUresult charge(long long device, int contexts)
{
    if (!fakecuda_state_on())
        return CUDA_SUCCESS;
    int rc = fakestate_update(state_path, device, contexts, context_bytes, mem_free);
    if (rc < 0)
        fprintf(stderr, "fakecuda: FAKECUDA_STATE=%s: not a state file, full, or a bad "
                        "update (%lld bytes, %d contexts)\n", state_path, device, contexts);
    return rc == 0 ? CUDA_SUCCESS : rc == 1 ? CUDA_ERROR_OUT_OF_MEMORY : CUDA_ERROR_UNKNOWN;
}

/* For fakecuda_mem.c: what an allocation of `bytes` is charged (FAKECUDA_STATE_SKEW). */
__attribute__((visibility("hidden"))) size_t fakecuda_skewed(size_t bytes)
{
    return bytes / 100 * (100 + state_skew) + bytes % 100 * (100 + state_skew) / 100;
}

/* For fakecuda_mem.c: charges (bytes > 0) or releases (bytes < 0) device memory. */
__attribute__((visibility("hidden"))) CUresult fakecuda_charge(long long bytes)
{
    return charge(bytes, 0);
}

CUresult cuInit(unsigned int flags)
{
    initialised = 0;
    if (flags != 0)
        return CUDA_ERROR_INVALID_VALUE;
    if (knob_flag("FAKECUDA_NO_DEVICE"))
        return CUDA_ERROR_NO_DEVICE;
    CUresult rc = read_knobs();
    if (rc == CUDA_SUCCESS)
        initialised = 1;
    return rc;
}

CUresult cuDriverGetVersion(int *version)
{
    if (version == NULL)
        return CUDA_ERROR_INVALID_VALUE;
    *version = driver_version;
    return CUDA_SUCCESS;
}

CUresult cuDeviceGetCount(int *count)
{
    if (!initialised)
        return CUDA_ERROR_NOT_INITIALIZED;
    if (count == NULL)
        return CUDA_ERROR_INVALID_VALUE;
    *count = 1;
    return CUDA_SUCCESS;
}

CUresult cuDeviceGet(CUdevice *device, int ordinal)
{
    if (!initialised)
        return CUDA_ERROR_NOT_INITIALIZED;
    if (device == NULL)
        return CUDA_ERROR_INVALID_VALUE;
    if (ordinal != 0)
        return CUDA_ERROR_INVALID_DEVICE;
    *device = 0;
    return CUDA_SUCCESS;
}

static CUresult check_device(CUdevice dev)
{
    if (!initialised)
        return CUDA_ERROR_NOT_INITIALIZED;
    return dev == 0 ? CUDA_SUCCESS : CUDA_ERROR_INVALID_DEVICE;
}

CUresult cuDeviceGetName(char *name, int len, CUdevice dev)
{
    CUresult rc = check_device(dev);
    if (rc != CUDA_SUCCESS)
        return rc;
    if (name == NULL || len <= 0)
        return CUDA_ERROR_INVALID_VALUE;
    snprintf(name, (size_t)len, "%s", device_name);
    return CUDA_SUCCESS;
}

CUresult cuDeviceGetAttribute(int *value, int attribute, CUdevice dev)
{
    CUresult rc = check_device(dev);
    if (rc != CUDA_SUCCESS)
        return rc;
    if (value == NULL || attribute != CU_DEVICE_ATTRIBUTE_INTEGRATED)
        return CUDA_ERROR_INVALID_VALUE;
    *value = integrated;
    return CUDA_SUCCESS;
}

/* CUuuid is { char bytes[16]; }. */
CUresult cuDeviceGetUuid(unsigned char *uuid, CUdevice dev)
{
    CUresult rc = check_device(dev);
    if (rc != CUDA_SUCCESS)
        return rc;
    if (uuid == NULL)
        return CUDA_ERROR_INVALID_VALUE;
    memcpy(uuid, device_uuid, sizeof device_uuid);
    return CUDA_SUCCESS;
}

CUresult cuDeviceTotalMem_v2(size_t *bytes, CUdevice dev)
{
    CUresult rc = check_device(dev);
    if (rc != CUDA_SUCCESS)
        return rc;
    if (bytes == NULL)
        return CUDA_ERROR_INVALID_VALUE;
    *bytes = mem_total;
    return CUDA_SUCCESS;
}

CUresult cuDevicePrimaryCtxRetain(CUcontext *ctx, CUdevice dev)
{
    CUresult rc = check_device(dev);
    if (rc != CUDA_SUCCESS)
        return rc;
    if (ctx == NULL)
        return CUDA_ERROR_INVALID_VALUE;
    if (primary_ctx.primary_refs == 0 && (rc = charge(0, 1)) != CUDA_SUCCESS)
        return rc;
    primary_ctx.primary_refs++;
    *ctx = &primary_ctx;
    return CUDA_SUCCESS;
}

CUresult cuDevicePrimaryCtxRelease_v2(CUdevice dev)
{
    CUresult rc = check_device(dev);
    if (rc != CUDA_SUCCESS)
        return rc;
    if (primary_ctx.primary_refs <= 0)
        return CUDA_ERROR_INVALID_CONTEXT;
    if (primary_ctx.primary_refs == 1 && (rc = charge(0, -1)) != CUDA_SUCCESS)
        return rc;
    primary_ctx.primary_refs--;
    return CUDA_SUCCESS;
}

CUresult cuCtxSetCurrent(CUcontext ctx)
{
    if (!initialised)
        return CUDA_ERROR_NOT_INITIALIZED;
    if (ctx != NULL && ctx != &primary_ctx)
        return CUDA_ERROR_INVALID_CONTEXT;
    current_ctx = ctx;
    return CUDA_SUCCESS;
}

CUresult cuCtxGetCurrent(CUcontext *ctx)
{
    if (!initialised)
        return CUDA_ERROR_NOT_INITIALIZED;
    if (ctx == NULL)
        return CUDA_ERROR_INVALID_VALUE;
    *ctx = current_ctx;
    return CUDA_SUCCESS;
}

CUresult cuMemGetInfo_v2(size_t *free_bytes, size_t *total_bytes)
{
    if (!initialised)
        return CUDA_ERROR_NOT_INITIALIZED;
    if (current_ctx == NULL || primary_ctx.primary_refs <= 0)
        return CUDA_ERROR_INVALID_CONTEXT;
    if (free_bytes == NULL || total_bytes == NULL)
        return CUDA_ERROR_INVALID_VALUE;
    size_t used = 0;
    if (fakecuda_state_on()) {
        struct fakestate_file f;
        if (fakestate_read(state_path, &f) != 0) {
            fprintf(stderr, "fakecuda: FAKECUDA_STATE=%s is not a state file\n", state_path);
            return CUDA_ERROR_UNKNOWN;
        }
        used = (size_t)fakestate_total_used(&f);
    }
    *free_bytes = mem_free > used ? mem_free - used : 0;
    *total_bytes = mem_total;
    return CUDA_SUCCESS;
}

struct error_text {
    CUresult code;
    const char *name;
    const char *text;
};

/* Names and texts as the real driver reports them. */
static const struct error_text errors[] = {
    {CUDA_SUCCESS, "CUDA_SUCCESS", "no error"},
    {CUDA_ERROR_INVALID_VALUE, "CUDA_ERROR_INVALID_VALUE", "invalid argument"},
    {CUDA_ERROR_OUT_OF_MEMORY, "CUDA_ERROR_OUT_OF_MEMORY", "out of memory"},
    {CUDA_ERROR_NOT_INITIALIZED, "CUDA_ERROR_NOT_INITIALIZED", "initialization error"},
    {CUDA_ERROR_NO_DEVICE, "CUDA_ERROR_NO_DEVICE", "no CUDA-capable device is detected"},
    {CUDA_ERROR_INVALID_DEVICE, "CUDA_ERROR_INVALID_DEVICE", "invalid device ordinal"},
    {CUDA_ERROR_INVALID_CONTEXT, "CUDA_ERROR_INVALID_CONTEXT", "invalid device context"},
    {CUDA_ERROR_UNKNOWN, "CUDA_ERROR_UNKNOWN", "unknown error"},
};

static const struct error_text *find_error(CUresult code)
{
    for (size_t i = 0; i < sizeof errors / sizeof errors[0]; i++)
        if (errors[i].code == code)
            return &errors[i];
    return NULL;
}

CUresult cuGetErrorString(CUresult code, const char **text)
{
    if (text == NULL)
        return CUDA_ERROR_INVALID_VALUE;
    const struct error_text *e = find_error(code);
    *text = e != NULL ? e->text : NULL;
    return e != NULL ? CUDA_SUCCESS : CUDA_ERROR_INVALID_VALUE;
}

CUresult cuGetErrorName(CUresult code, const char **name)
{
    if (name == NULL)
        return CUDA_ERROR_INVALID_VALUE;
    const struct error_text *e = find_error(code);
    *name = e != NULL ? e->name : NULL;
    return e != NULL ? CUDA_SUCCESS : CUDA_ERROR_INVALID_VALUE;
}

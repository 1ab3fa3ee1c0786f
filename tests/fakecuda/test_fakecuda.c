/*
 * Checks the fake libcuda.so.1 the way jetmem uses the real one: dlopen it,
 * look every entry point up by name, and drive each environment knob.
 * With the fake NVML as well, test_fakestate.c checks both as one GPU shared
 * by processes (FAKECUDA_STATE / FAKENVML_STATE).
 * Usage: test_fakecuda /path/to/libcuda.so.1 [/path/to/libnvidia-ml.so.1]
 *        (exit 0 = all checks passed)
 */
#include <dlfcn.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_check.h"

typedef int CUresult;
typedef int CUdevice;
typedef void *CUcontext;

static CUresult (*cuInit)(unsigned int);
static CUresult (*cuDriverGetVersion)(int *);
static CUresult (*cuDeviceGetCount)(int *);
static CUresult (*cuDeviceGet)(CUdevice *, int);
static CUresult (*cuDeviceGetName)(char *, int, CUdevice);
static CUresult (*cuDeviceGetAttribute)(int *, int, CUdevice);
static CUresult (*cuDeviceTotalMem_v2)(size_t *, CUdevice);
static CUresult (*cuDeviceGetUuid)(unsigned char *, CUdevice);
static CUresult (*cuDevicePrimaryCtxRetain)(CUcontext *, CUdevice);
static CUresult (*cuDevicePrimaryCtxRelease_v2)(CUdevice);
static CUresult (*cuCtxSetCurrent)(CUcontext);
static CUresult (*cuCtxGetCurrent)(CUcontext *);
static CUresult (*cuMemGetInfo_v2)(size_t *, size_t *);
static CUresult (*cuGetErrorString)(CUresult, const char **);
static CUresult (*cuGetErrorName)(CUresult, const char **);

static int failures;



static void clear_knobs(void)
{
    unsetenv("FAKECUDA_NO_DEVICE");
    unsetenv("FAKECUDA_INTEGRATED");
    unsetenv("FAKECUDA_NAME");
    unsetenv("FAKECUDA_FREE");
    unsetenv("FAKECUDA_TOTAL");
    unsetenv("FAKECUDA_DRIVER_VERSION");
    unsetenv("FAKECUDA_UUID");
}

/* The sampler's sequence: device 0, primary context, make current, query. */
static void check_device(const char *name, int integrated, size_t free_b, size_t total_b,
                         const unsigned char uuid_b[16])
{
    unsigned char uuid[16];
    int count = -1, attr = -1;
    CUdevice dev = -1;
    char text[64];
    size_t total = 0, f = 0, t = 0;
    CUcontext ctx = NULL, cur = NULL;

    CHECK(cuDeviceGetCount(&count) == 0 && count == 1);
    CHECK(cuDeviceGet(&dev, 0) == 0 && dev == 0);
    CHECK(cuDeviceGet(&dev, 1) == 101);
    CHECK(cuDeviceGetName(text, sizeof text, 0) == 0 && strcmp(text, name) == 0);
    CHECK(cuDeviceGetAttribute(&attr, 18, 0) == 0 && attr == integrated);
    CHECK(cuDeviceGetAttribute(&attr, 75, 0) == 1);
    CHECK(cuDeviceTotalMem_v2(&total, 0) == 0 && total == total_b);
    CHECK(cuDeviceGetUuid(uuid, 0) == 0 && memcmp(uuid, uuid_b, 16) == 0);
    CHECK(cuDeviceGetUuid(uuid, 1) == 101);
    CHECK(cuMemGetInfo_v2(&f, &t) == 201); /* no current context yet */
    CHECK(cuDevicePrimaryCtxRetain(&ctx, 0) == 0 && ctx != NULL);
    CHECK(cuCtxSetCurrent(ctx) == 0);
    CHECK(cuCtxGetCurrent(&cur) == 0 && cur == ctx);
    CHECK(cuMemGetInfo_v2(&f, &t) == 0 && f == free_b && t == total_b);
    CHECK(cuDevicePrimaryCtxRelease_v2(0) == 0);
    CHECK(cuMemGetInfo_v2(&f, &t) == 201); /* released: context gone */
    CHECK(cuCtxSetCurrent(NULL) == 0);
}

void check_state(void *cuda, void *nvml);
int check_state_failures(void);

int main(int argc, char **argv)
{
    if (argc != 2 && argc != 3) {
        fprintf(stderr, "usage: %s /path/to/libcuda.so.1 [/path/to/libnvidia-ml.so.1]\n",
                argv[0]);
        return 2;
    }
    void *lib = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
    if (lib == NULL) {
        fprintf(stderr, "FAIL: dlopen: %s\n", dlerror());
        return 1;
    }
    *(void **)&cuInit = lookup(lib, "cuInit");
    *(void **)&cuDriverGetVersion = lookup(lib, "cuDriverGetVersion");
    *(void **)&cuDeviceGetCount = lookup(lib, "cuDeviceGetCount");
    *(void **)&cuDeviceGet = lookup(lib, "cuDeviceGet");
    *(void **)&cuDeviceGetName = lookup(lib, "cuDeviceGetName");
    *(void **)&cuDeviceGetAttribute = lookup(lib, "cuDeviceGetAttribute");
    *(void **)&cuDeviceTotalMem_v2 = lookup(lib, "cuDeviceTotalMem_v2");
    *(void **)&cuDeviceGetUuid = lookup(lib, "cuDeviceGetUuid");
    *(void **)&cuDevicePrimaryCtxRetain = lookup(lib, "cuDevicePrimaryCtxRetain");
    *(void **)&cuDevicePrimaryCtxRelease_v2 = lookup(lib, "cuDevicePrimaryCtxRelease_v2");
    *(void **)&cuCtxSetCurrent = lookup(lib, "cuCtxSetCurrent");
    *(void **)&cuCtxGetCurrent = lookup(lib, "cuCtxGetCurrent");
    *(void **)&cuMemGetInfo_v2 = lookup(lib, "cuMemGetInfo_v2");
    *(void **)&cuGetErrorString = lookup(lib, "cuGetErrorString");
    *(void **)&cuGetErrorName = lookup(lib, "cuGetErrorName");

    int version = 0, count = -1;
    const char *text = NULL;

    /* Before cuInit: only the version and error-text calls work. */
    clear_knobs();
    CHECK(cuDeviceGetCount(&count) == 3);
    CHECK(cuDriverGetVersion(&version) == 0 && version == 12020);

    /* Defaults: a discrete 8 GiB device with 6 GiB free. */
    static const unsigned char zero_uuid[16];
    static const unsigned char some_uuid[16] = {0x5a, 0x4e, 0x01, 0x02, 0xab, 0xcd, 0x00, 0x11,
                                                0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99};
    CHECK(cuInit(0) == 0);
    check_device("FakeCUDA Device", 0, 6442450944ULL, 8589934592ULL, zero_uuid);

    /* A Jetson-like integrated device with chosen figures. */
    setenv("FAKECUDA_INTEGRATED", "1", 1);
    setenv("FAKECUDA_NAME", "Orin", 1);
    setenv("FAKECUDA_FREE", "1234567", 1);
    setenv("FAKECUDA_TOTAL", "7990000000", 1);
    setenv("FAKECUDA_DRIVER_VERSION", "11040", 1);
    setenv("FAKECUDA_UUID", "5a4e0102ABCD00112233445566778899", 1);
    CHECK(cuInit(0) == 0);
    CHECK(cuDriverGetVersion(&version) == 0 && version == 11040);
    check_device("Orin", 1, 1234567ULL, 7990000000ULL, some_uuid);

    /* No device: cuInit fails with 100 and nothing else works afterwards. */
    clear_knobs();
    setenv("FAKECUDA_NO_DEVICE", "1", 1);
    CHECK(cuInit(0) == 100);
    CHECK(cuDeviceGetCount(&count) == 3);
    CHECK(cuGetErrorName(100, &text) == 0 && strcmp(text, "CUDA_ERROR_NO_DEVICE") == 0);
    CHECK(cuGetErrorString(100, &text) == 0 &&
          strcmp(text, "no CUDA-capable device is detected") == 0);

    /* A knob that does not parse, or free > total, is an error, not a default. */
    clear_knobs();
    setenv("FAKECUDA_FREE", "6GiB", 1);
    CHECK(cuInit(0) == 1);
    clear_knobs();
    setenv("FAKECUDA_FREE", "9", 1);
    setenv("FAKECUDA_TOTAL", "8", 1);
    CHECK(cuInit(0) == 1);
    clear_knobs();
    setenv("FAKECUDA_UUID", "5a4e-0102", 1);
    CHECK(cuInit(0) == 1);

    /* Unknown codes: error, and the text pointer is cleared. */
    text = "stale";
    CHECK(cuGetErrorString(12345, &text) == 1 && text == NULL);
    CHECK(cuGetErrorName(201, &text) == 0 && strcmp(text, "CUDA_ERROR_INVALID_CONTEXT") == 0);

    /* One GPU shared by processes (FAKECUDA_STATE), with the fake NVML beside it. */
    clear_knobs();
    if (argc == 3) {
        void *nvml = dlopen(argv[2], RTLD_NOW | RTLD_LOCAL);
        if (nvml == NULL) {
            fprintf(stderr, "FAIL: dlopen: %s\n", dlerror());
            return 1;
        }
        check_state(lib, nvml);
        failures += check_state_failures();
    }

    dlclose(lib);
    if (failures != 0) {
        fprintf(stderr, "fakecuda: %d check(s) failed\n", failures);
        return 1;
    }
    printf("fakecuda: all checks passed (%s)\n", argv[1]);
    return 0;
}

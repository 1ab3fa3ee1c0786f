/*
 * A fake NVML (libnvidia-ml.so.1) for testing jetmem's per-process GPU
 * figures on machines without a GPU. It exports the entry points jetmem uses
 * with nvml.h's signatures and return codes, and answers from environment
 * knobs re-read on every nvmlInit_v2() call:
 *
 *   FAKENVML_PROCS=<pid>:<bytes>[,<pid>:<bytes>...]
 *                           the compute processes on device 0; <bytes> "na"
 *                           is NVML_VALUE_NOT_AVAILABLE (default: none)
 *   FAKENVML_PROCS_FILE=<path>
 *                           like FAKENVML_PROCS, but read from the file on every
 *                           process-list call (a test's traced command writes its
 *                           own pids there); a missing file is no processes
 *   FAKENVML_NOT_SUPPORTED=1
 *                           the process list answers 3 (NVML_ERROR_NOT_SUPPORTED),
 *                           as Jetson JetPack 5/6 does
 *   FAKENVML_NO_DEVICE=1    nvmlDeviceGetCount_v2 reports 0 devices
 *
 * A knob that does not parse makes nvmlInit_v2 fail with 2
 * (NVML_ERROR_INVALID_ARGUMENT) and say why on stderr.
 *
 * Built with -DFAKENVML_V1_ONLY it exports only the unversioned
 * nvmlDeviceGetComputeRunningProcesses (v1 struct), as old drivers do.
 *
 * Build: gcc -shared -fPIC -Wl,-soname,libnvidia-ml.so.1 -o libnvidia-ml.so.1 fakenvml.c
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef int nvmlReturn_t;
typedef struct nvmlDevice_st *nvmlDevice_t;

enum {
    NVML_SUCCESS = 0,
    NVML_ERROR_UNINITIALIZED = 1,
    NVML_ERROR_INVALID_ARGUMENT = 2,
    NVML_ERROR_NOT_SUPPORTED = 3,
    NVML_ERROR_INSUFFICIENT_SIZE = 7,
};

#define NVML_VALUE_NOT_AVAILABLE (~0ULL)
#define MAX_PROCS 64

typedef struct {
    unsigned int pid;
    unsigned long long usedGpuMemory;
} nvmlProcessInfo_v1_t;

typedef struct {
    unsigned int pid;
    unsigned long long usedGpuMemory;
    unsigned int gpuInstanceId;
    unsigned int computeInstanceId;
} nvmlProcessInfo_t;

struct nvmlDevice_st {
    int unused;
};

static struct nvmlDevice_st device0;
static int initialised;
static int not_supported;
static int no_device;
static unsigned int nprocs;
static nvmlProcessInfo_v1_t procs[MAX_PROCS];

static int flag(const char *name) {
    const char *v = getenv(name);
    return v != NULL && strcmp(v, "1") == 0;
}

/* Parses a pid:bytes list into procs/nprocs; 0 on success. */
static int parse_procs(const char *s) {
    nprocs = 0;
    if (s == NULL || *s == '\0') {
        return 0;
    }
    while (*s != '\0') {
        char *end;
        errno = 0;
        unsigned long pid = strtoul(s, &end, 10);
        if (errno != 0 || end == s || *end != ':' || nprocs == MAX_PROCS) {
            return -1;
        }
        s = end + 1;
        unsigned long long bytes;
        if (strncmp(s, "na", 2) == 0) {
            bytes = NVML_VALUE_NOT_AVAILABLE;
            end = (char *)s + 2;
        } else {
            errno = 0;
            bytes = strtoull(s, &end, 10);
            if (errno != 0 || end == s) {
                return -1;
            }
        }
        procs[nprocs].pid = (unsigned int)pid;
        procs[nprocs].usedGpuMemory = bytes;
        nprocs++;
        if (*end == ',') {
            end++;
        } else if (*end == '\n' && end[1] == '\0') {
            end++;
        } else if (*end != '\0') {
            return -1;
        }
        s = end;
    }
    return 0;
}

nvmlReturn_t nvmlInit_v2(void) {
    if (parse_procs(getenv("FAKENVML_PROCS")) != 0) {
        fprintf(stderr, "fakenvml: FAKENVML_PROCS does not parse (want pid:bytes,...)\n");
        return NVML_ERROR_INVALID_ARGUMENT;
    }
    not_supported = flag("FAKENVML_NOT_SUPPORTED");
    no_device = flag("FAKENVML_NO_DEVICE");
    initialised = 1;
    return NVML_SUCCESS;
}

nvmlReturn_t nvmlShutdown(void) {
    if (!initialised) {
        return NVML_ERROR_UNINITIALIZED;
    }
    initialised = 0;
    return NVML_SUCCESS;
}

const char *nvmlErrorString(nvmlReturn_t r) {
    switch (r) {
    case NVML_SUCCESS: return "Success";
    case NVML_ERROR_UNINITIALIZED: return "Uninitialized";
    case NVML_ERROR_INVALID_ARGUMENT: return "Invalid Argument";
    case NVML_ERROR_NOT_SUPPORTED: return "Not Supported";
    case NVML_ERROR_INSUFFICIENT_SIZE: return "Insufficient Size";
    default: return "Unknown Error";
    }
}

nvmlReturn_t nvmlDeviceGetCount_v2(unsigned int *count) {
    if (!initialised) {
        return NVML_ERROR_UNINITIALIZED;
    }
    if (count == NULL) {
        return NVML_ERROR_INVALID_ARGUMENT;
    }
    *count = no_device ? 0 : 1;
    return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetHandleByIndex_v2(unsigned int index, nvmlDevice_t *device) {
    if (!initialised) {
        return NVML_ERROR_UNINITIALIZED;
    }
    if (device == NULL || index != 0 || no_device) {
        return NVML_ERROR_INVALID_ARGUMENT;
    }
    *device = &device0;
    return NVML_SUCCESS;
}

/* FAKENVML_PROCS_FILE, when set, replaces the list; 0 on success. */
static int reread_file(void) {
    const char *path = getenv("FAKENVML_PROCS_FILE");
    if (path == NULL) {
        return 0;
    }
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        nprocs = 0;
        return 0;
    }
    char buf[4096];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    return parse_procs(buf);
}

/* Shared by every version: `size` is the caller's struct size. */
static nvmlReturn_t running(nvmlDevice_t device, unsigned int *count, void *infos, size_t size) {
    if (!initialised) {
        return NVML_ERROR_UNINITIALIZED;
    }
    if (device != &device0 || count == NULL) {
        return NVML_ERROR_INVALID_ARGUMENT;
    }
    if (not_supported) {
        return NVML_ERROR_NOT_SUPPORTED;
    }
    if (reread_file() != 0) {
        fprintf(stderr, "fakenvml: FAKENVML_PROCS_FILE does not parse (want pid:bytes,...)\n");
        return NVML_ERROR_INVALID_ARGUMENT;
    }
    if (*count < nprocs) {
        *count = nprocs;
        return NVML_ERROR_INSUFFICIENT_SIZE;
    }
    if (nprocs > 0 && infos == NULL) {
        return NVML_ERROR_INVALID_ARGUMENT;
    }
    for (unsigned int i = 0; i < nprocs; i++) {
        if (size == sizeof(nvmlProcessInfo_t)) {
            nvmlProcessInfo_t *p = (nvmlProcessInfo_t *)infos + i;
            p->pid = procs[i].pid;
            p->usedGpuMemory = procs[i].usedGpuMemory;
            p->gpuInstanceId = 0xFFFFFFFFu;
            p->computeInstanceId = 0xFFFFFFFFu;
        } else {
            ((nvmlProcessInfo_v1_t *)infos)[i] = procs[i];
        }
    }
    *count = nprocs;
    return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetComputeRunningProcesses(nvmlDevice_t d, unsigned int *c,
                                                  nvmlProcessInfo_v1_t *i) {
    return running(d, c, i, sizeof *i);
}

#ifndef FAKENVML_V1_ONLY
nvmlReturn_t nvmlDeviceGetComputeRunningProcesses_v2(nvmlDevice_t d, unsigned int *c,
                                                     nvmlProcessInfo_t *i) {
    return running(d, c, i, sizeof *i);
}

nvmlReturn_t nvmlDeviceGetComputeRunningProcesses_v3(nvmlDevice_t d, unsigned int *c,
                                                     nvmlProcessInfo_t *i) {
    return running(d, c, i, sizeof *i);
}
#endif

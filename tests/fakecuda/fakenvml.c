/*
 * A fake NVML (libnvidia-ml.so.1) for testing jetmem's per-process and
 * device-wide GPU figures on machines without a GPU. It exports the entry
 * points jetmem uses with nvml.h's signatures, struct layouts and return
 * codes, and answers from environment knobs re-read on every nvmlInit_v2() call:
 *
 *   FAKENVML_PROCS=<pid>:<bytes>[,<pid>:<bytes>...]
 *                           the compute processes on device 0; <bytes> "na"
 *                           is NVML_VALUE_NOT_AVAILABLE (default: none; other
 *                           devices have none)
 *   FAKENVML_PROCS_FILE=<path>
 *                           like FAKENVML_PROCS, but read from the file on every
 *                           process-list call (a test's traced command writes its
 *                           own pids there); a missing file is no processes
 *   FAKENVML_NOT_SUPPORTED=1
 *                           the process list answers 3 (NVML_ERROR_NOT_SUPPORTED),
 *                           as Jetson JetPack 5/6 does
 *   FAKENVML_NO_DEVICE=1    nvmlDeviceGetCount_v2 reports 0 devices
 *   FAKENVML_UUIDS=<uuid>[,<uuid>...]
 *                           one device per UUID (nvmlDeviceGetUUID), in NVML's
 *                           index order, at most 4 (default: one device,
 *                           GPU-00000000-0000-0000-0000-000000000000)
 *   FAKENVML_MEMORY=<total>:<reserved>:<free>[,...]
 *                           nvmlDeviceGetMemoryInfo(_v2) of each device in
 *                           order, bytes; "ns" for a device (and every device
 *                           without an entry, so all when unset) answers 3
 *                           (NVML_ERROR_NOT_SUPPORTED), as Jetson Orin does.
 *                           v2 gets used = total - reserved - free, v1
 *                           used = total - free (the v1 comment in nvml.h:
 *                           "Sum of Reserved and Allocated")
 *   FAKENVML_MEMORY_V2_MISMATCH=1
 *                           nvmlDeviceGetMemoryInfo_v2 answers 25
 *                           (NVML_ERROR_ARGUMENT_VERSION_MISMATCH) whatever
 *                           version word it is given
 *   FAKENVML_STATE=<path>   the fake libcuda's state file (FAKECUDA_STATE, fakestate.h:
 *                           one GPU shared by processes), read on every call:
 *                           device 0's free is FAKENVML_MEMORY's (the idle device)
 *                           minus every live process's use, and its compute
 *                           processes are those of the file, each with its live
 *                           device bytes plus its context's cost. Needs a
 *                           FAKENVML_MEMORY entry for device 0; excludes
 *                           FAKENVML_PROCS and FAKENVML_PROCS_FILE.
 *
 * A knob that does not parse (or reserved + free above total) makes
 * nvmlInit_v2 fail with 2 (NVML_ERROR_INVALID_ARGUMENT) and say why on stderr.
 * nvmlDeviceGetMemoryInfo_v2 checks the caller's version word like the real
 * library (sizeof(nvmlMemory_v2_t) | 2 << 24, else 25).
 *
 * Built with -DFAKENVML_V1_ONLY it exports only the unversioned
 * nvmlDeviceGetComputeRunningProcesses (v1 struct) and nvmlDeviceGetMemoryInfo,
 * as drivers before nvmlDeviceGetMemoryInfo_v2 do.
 *
 * Build: gcc -shared -fPIC -Wl,-soname,libnvidia-ml.so.1 -o libnvidia-ml.so.1 fakenvml.c
 */
#include "fakestate.h"

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
    NVML_ERROR_ARGUMENT_VERSION_MISMATCH = 25,
    NVML_ERROR_UNKNOWN = 999,
};

#define NVML_VALUE_NOT_AVAILABLE (~0ULL)
#define MAX_PROCS 64
#define MAX_DEVICES 4
#define UUID_LEN 96

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

typedef struct {
    unsigned long long total;
    unsigned long long free;
    unsigned long long used;
} nvmlMemory_t;

typedef struct {
    unsigned int version;
    unsigned long long total;
    unsigned long long reserved;
    unsigned long long free;
    unsigned long long used;
} nvmlMemory_v2_t;

#define NVML_MEMORY_V2 ((unsigned int)(sizeof(nvmlMemory_v2_t) | (2u << 24)))

struct nvmlDevice_st {
    char uuid[UUID_LEN];
    int memory_supported;
    unsigned long long total, reserved, free;
};

static struct nvmlDevice_st devices[MAX_DEVICES];
static unsigned int ndevices;
static int initialised;
static int not_supported;
static int no_device;
static int v2_mismatch;
static unsigned int nprocs;
static nvmlProcessInfo_v1_t procs[MAX_PROCS];
static const char *state_path; /* FAKENVML_STATE, or NULL */

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

/* Parses FAKENVML_UUIDS into devices/ndevices; 0 on success. */
static int parse_uuids(const char *s) {
    memset(devices, 0, sizeof devices);
    if (s == NULL) {
        strcpy(devices[0].uuid, "GPU-00000000-0000-0000-0000-000000000000");
        ndevices = 1;
        return 0;
    }
    ndevices = 0;
    while (*s != '\0') {
        size_t n = strcspn(s, ",");
        if (n == 0 || n >= UUID_LEN || ndevices == MAX_DEVICES) {
            return -1;
        }
        memcpy(devices[ndevices].uuid, s, n);
        devices[ndevices].uuid[n] = '\0';
        ndevices++;
        s += n;
        if (*s == ',') {
            s++;
        }
    }
    return ndevices > 0 ? 0 : -1;
}

/* Reads one unsigned decimal that ends at `stop`, moving *s past `stop`; 0 on success. */
static int number(const char **s, char stop, unsigned long long *out) {
    char *end;
    if (**s < '0' || **s > '9') {
        return -1;
    }
    errno = 0;
    *out = strtoull(*s, &end, 10);
    if (errno != 0 || *end != stop) {
        return -1;
    }
    *s = stop == '\0' ? end : end + 1;
    return 0;
}

/* Parses FAKENVML_MEMORY onto the devices (after parse_uuids); 0 on success. */
static int parse_memory(const char *s) {
    for (unsigned int i = 0; s != NULL && *s != '\0'; i++) {
        if (i == ndevices) {
            return -1;
        }
        struct nvmlDevice_st *d = &devices[i];
        size_t n = strcspn(s, ",");
        char last = s[n];
        if (n == 2 && strncmp(s, "ns", 2) == 0) {
            s += last == ',' ? 3 : 2;
            continue;
        }
        if (number(&s, ':', &d->total) != 0 || number(&s, ':', &d->reserved) != 0 ||
            number(&s, last, &d->free) != 0 || d->reserved > d->total ||
            d->free > d->total - d->reserved) {
            return -1;
        }
        d->memory_supported = 1;
    }
    return 0;
}

nvmlReturn_t nvmlInit_v2(void) {
    if (parse_procs(getenv("FAKENVML_PROCS")) != 0) {
        fprintf(stderr, "fakenvml: FAKENVML_PROCS does not parse (want pid:bytes,...)\n");
        return NVML_ERROR_INVALID_ARGUMENT;
    }
    if (parse_uuids(getenv("FAKENVML_UUIDS")) != 0) {
        fprintf(stderr, "fakenvml: FAKENVML_UUIDS does not parse (want 1-4 uuid,...)\n");
        return NVML_ERROR_INVALID_ARGUMENT;
    }
    if (parse_memory(getenv("FAKENVML_MEMORY")) != 0) {
        fprintf(stderr, "fakenvml: FAKENVML_MEMORY does not parse (want total:reserved:free "
                        "or ns per device, reserved + free <= total)\n");
        return NVML_ERROR_INVALID_ARGUMENT;
    }
    state_path = getenv("FAKENVML_STATE");
    if (state_path != NULL &&
        (*state_path == '\0' || getenv("FAKENVML_PROCS") != NULL ||
         getenv("FAKENVML_PROCS_FILE") != NULL || !devices[0].memory_supported)) {
        fprintf(stderr, "fakenvml: FAKENVML_STATE needs a path and FAKENVML_MEMORY for device 0, "
                        "and excludes FAKENVML_PROCS(_FILE)\n");
        return NVML_ERROR_INVALID_ARGUMENT;
    }
    not_supported = flag("FAKENVML_NOT_SUPPORTED");
    no_device = flag("FAKENVML_NO_DEVICE");
    v2_mismatch = flag("FAKENVML_MEMORY_V2_MISMATCH");
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
    case NVML_ERROR_ARGUMENT_VERSION_MISMATCH: return "Argument Version Mismatch";
    case NVML_ERROR_UNKNOWN: return "Unknown Error";
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
    *count = no_device ? 0 : ndevices;
    return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetHandleByIndex_v2(unsigned int index, nvmlDevice_t *device) {
    if (!initialised) {
        return NVML_ERROR_UNINITIALIZED;
    }
    if (device == NULL || index >= ndevices || no_device) {
        return NVML_ERROR_INVALID_ARGUMENT;
    }
    *device = &devices[index];
    return NVML_SUCCESS;
}

/* The device behind a handle, or NULL when it is not one of ours. */
static struct nvmlDevice_st *lookup(nvmlDevice_t device) {
    for (unsigned int i = 0; i < ndevices; i++) {
        if (device == &devices[i]) {
            return &devices[i];
        }
    }
    return NULL;
}

nvmlReturn_t nvmlDeviceGetUUID(nvmlDevice_t device, char *uuid, unsigned int length) {
    if (!initialised) {
        return NVML_ERROR_UNINITIALIZED;
    }
    struct nvmlDevice_st *d = lookup(device);
    if (d == NULL || uuid == NULL) {
        return NVML_ERROR_INVALID_ARGUMENT;
    }
    if (strlen(d->uuid) >= length) {
        return NVML_ERROR_INSUFFICIENT_SIZE;
    }
    strcpy(uuid, d->uuid);
    return NVML_SUCCESS;
}

/* The device whose memory the caller wants written to `memory`, or why not; 0 on success. */
static nvmlReturn_t memory_of(nvmlDevice_t device, const void *memory,
                              struct nvmlDevice_st **out) {
    if (!initialised) {
        return NVML_ERROR_UNINITIALIZED;
    }
    *out = lookup(device);
    if (*out == NULL || memory == NULL) {
        return NVML_ERROR_INVALID_ARGUMENT;
    }
    return (*out)->memory_supported ? NVML_SUCCESS : NVML_ERROR_NOT_SUPPORTED;
}

/* Device `d`'s free bytes: FAKENVML_MEMORY's, less what FAKENVML_STATE's
 * processes use on device 0; 0 on success. */
static nvmlReturn_t free_of(const struct nvmlDevice_st *d, unsigned long long *free_b) {
    *free_b = d->free;
    if (state_path == NULL || d != &devices[0]) {
        return NVML_SUCCESS;
    }
    struct fakestate_file f;
    if (fakestate_read(state_path, &f) != 0) {
        fprintf(stderr, "fakenvml: FAKENVML_STATE=%s is not a state file\n", state_path);
        return NVML_ERROR_UNKNOWN;
    }
    unsigned long long used = fakestate_total_used(&f);
    *free_b = d->free > used ? d->free - used : 0;
    return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetMemoryInfo(nvmlDevice_t device, nvmlMemory_t *memory) {
    struct nvmlDevice_st *d;
    nvmlReturn_t rc = memory_of(device, memory, &d);
    if (rc != NVML_SUCCESS) {
        return rc;
    }
    unsigned long long free_b;
    if ((rc = free_of(d, &free_b)) != NVML_SUCCESS) {
        return rc;
    }
    memory->total = d->total;
    memory->free = free_b;
    memory->used = d->total - free_b;
    return NVML_SUCCESS;
}

#ifndef FAKENVML_V1_ONLY
nvmlReturn_t nvmlDeviceGetMemoryInfo_v2(nvmlDevice_t device, nvmlMemory_v2_t *memory) {
    struct nvmlDevice_st *d;
    nvmlReturn_t rc = memory_of(device, memory, &d);
    if (rc != NVML_SUCCESS) {
        return rc;
    }
    if (v2_mismatch || memory->version != NVML_MEMORY_V2) {
        return NVML_ERROR_ARGUMENT_VERSION_MISMATCH;
    }
    unsigned long long free_b;
    if ((rc = free_of(d, &free_b)) != NVML_SUCCESS) {
        return rc;
    }
    memory->total = d->total;
    memory->reserved = d->reserved;
    memory->free = free_b;
    memory->used = d->total - d->reserved - free_b;
    return NVML_SUCCESS;
}
#endif

/* FAKENVML_STATE's processes replace the list; 0 on success. */
static int read_state(void) {
    struct fakestate_file f;
    if (fakestate_read(state_path, &f) != 0) {
        return -1;
    }
    nprocs = 0;
    for (int i = 0; i < FAKESTATE_SLOTS && nprocs < MAX_PROCS; i++) {
        if (f.slots[i].pid != 0) {
            procs[nprocs].pid = f.slots[i].pid;
            procs[nprocs].usedGpuMemory = fakestate_used(&f.slots[i]);
            nprocs++;
        }
    }
    return 0;
}

/* FAKENVML_PROCS_FILE (or FAKENVML_STATE), when set, replaces the list; 0 on success. */
static int reread_file(void) {
    if (state_path != NULL) {
        return read_state();
    }
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
    struct nvmlDevice_st *d = lookup(device);
    if (d == NULL || count == NULL) {
        return NVML_ERROR_INVALID_ARGUMENT;
    }
    if (not_supported) {
        return NVML_ERROR_NOT_SUPPORTED;
    }
    if (d != &devices[0]) {
        *count = 0;
        return NVML_SUCCESS;
    }
    if (reread_file() != 0) {
        fprintf(stderr, "fakenvml: FAKENVML_PROCS_FILE does not parse (want pid:bytes,...), "
                        "or FAKENVML_STATE is not a state file\n");
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

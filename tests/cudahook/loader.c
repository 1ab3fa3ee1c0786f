/*
 * A CUDA-runtime-like program for the --cuda-hook test: it dlopens
 * libcuda.so.1 (RTLD_LOCAL, as libcudart does) and resolves the driver both
 * through dlsym(handle, ...) and through cuGetProcAddress_v2 with base names
 * ("cuMemAlloc" -> cuMemAlloc_v2, per-thread-stream "_ptsz" variants), makes
 * known allocations of every kind, then runs argv[1..] as a child while it
 * still holds 81 MiB of device and 8 MiB of pinned memory, and frees some
 * after the child exits. Before that, a forked child (no exec) allocates
 * and frees 3 MiB: the hook's fork handler must start it from zero. The
 * figures test_cudahook.py expects follow from the sizes here.
 *
 * Usage: cudahook_loader CMD [ARGS...]   (libcuda.so.1 found by the loader path)
 */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

typedef int CUresult;
typedef unsigned long long CUdeviceptr;
#define MiB (1024ULL * 1024ULL)
#define PTSZ 2ULL /* CU_GET_PROC_ADDRESS_PER_THREAD_DEFAULT_STREAM */

static void *lib;
static CUresult (*get_proc)(const char *, void **, int, unsigned long long, int *);

static void die(const char *what)
{
    fprintf(stderr, "cudahook_loader: %s\n", what);
    exit(1);
}

static void check(CUresult rc, const char *what)
{
    if (rc != 0) {
        fprintf(stderr, "cudahook_loader: %s returned %d\n", what, rc);
        exit(1);
    }
}

static void *by_dlsym(const char *name)
{
    void *f = dlsym(lib, name);
    if (f == NULL)
        die(name);
    return f;
}

static void *by_proc(const char *name, unsigned long long flags)
{
    void *f = NULL;
    int status = -1;
    check(get_proc(name, &f, 12000, flags, &status), name);
    if (f == NULL || status != 0)
        die(name);
    return f;
}

static void pause_ms(long ms)
{
    struct timespec t = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&t, NULL);
}

int main(int argc, char **argv)
{
    if (argc < 2)
        die("usage: cudahook_loader CMD [ARGS...]");
    /* Before libcuda is loaded, a global lookup finds nothing, hook or not. */
    if (dlsym(RTLD_DEFAULT, "cuMemAlloc_v2") != NULL)
        die("cuMemAlloc_v2 visible before libcuda was loaded");
    if (dlsym(RTLD_NEXT, "malloc") == NULL)
        die("dlsym(RTLD_NEXT, malloc) failed");
    lib = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
    if (lib == NULL)
        die(dlerror());
    CUresult (*cuInit)(unsigned) = by_dlsym("cuInit");
    check(cuInit(0), "cuInit");
    get_proc = by_dlsym("cuGetProcAddress_v2");

    CUresult (*mem_alloc)(CUdeviceptr *, size_t) = by_proc("cuMemAlloc", 0);
    CUresult (*alloc_async)(CUdeviceptr *, size_t, void *) = by_proc("cuMemAllocAsync", PTSZ);
    CUresult (*free_async)(CUdeviceptr, void *) = by_proc("cuMemFreeAsync", PTSZ);
    CUresult (*mem_free)(CUdeviceptr) = by_dlsym("cuMemFree_v2");
    CUresult (*pitch_alloc)(CUdeviceptr *, size_t *, size_t, size_t, unsigned) =
        by_proc("cuMemAllocPitch", 0);
    CUresult (*alloc_host)(void **, size_t) = by_dlsym("cuMemAllocHost_v2");
    CUresult (*host_alloc)(void **, size_t, unsigned) = by_proc("cuMemHostAlloc", 0);
    CUresult (*free_host)(void *) = by_proc("cuMemFreeHost", 0);
    CUresult (*host_register)(void *, size_t, unsigned) = by_proc("cuMemHostRegister", 0);
    CUresult (*host_unregister)(void *) = by_proc("cuMemHostUnregister", 0);
    CUresult (*alloc_managed)(CUdeviceptr *, size_t, unsigned) = by_proc("cuMemAllocManaged", 0);
    CUresult (*mem_create)(unsigned long long *, size_t, const void *, unsigned long long) =
        by_proc("cuMemCreate", 0);
    CUresult (*mem_release)(unsigned long long) = by_proc("cuMemRelease", 0);

    CUdeviceptr d1, d2, d3, d4, m;
    size_t pitch = 0;
    void *p1, *p2;
    check(mem_alloc(&d1, 64 * MiB), "cuMemAlloc 64 MiB");
    check(mem_alloc(&d2, 32 * MiB), "cuMemAlloc 32 MiB");
    check(alloc_async(&d3, 16 * MiB, NULL), "cuMemAllocAsync_ptsz 16 MiB");
    check(mem_free(d2), "cuMemFree_v2");
    check(pitch_alloc(&d4, &pitch, 1000, 1024, 4), "cuMemAllocPitch 1000 x 1024");
    if (pitch != 1024)
        die("unexpected pitch");
    check(alloc_host(&p1, 8 * MiB), "cuMemAllocHost_v2 8 MiB");
    check(host_alloc(&p2, 4 * MiB, 0), "cuMemHostAlloc 4 MiB");
    void *p3 = malloc(2 * MiB);
    if (p3 == NULL)
        die("malloc");
    check(host_register(p3, 2 * MiB, 0), "cuMemHostRegister_v2 2 MiB");
    check(free_host(p2), "cuMemFreeHost");
    check(host_unregister(p3), "cuMemHostUnregister");
    free(p3);
    check(alloc_managed(&m, 10 * MiB, 1), "cuMemAllocManaged 10 MiB");
    check(mem_free(m), "cuMemFree_v2 (managed)");
    unsigned long long handle;
    char prop[64] = {0};
    check(mem_create(&handle, 6 * MiB, prop, 0), "cuMemCreate 6 MiB");
    check(mem_release(handle), "cuMemRelease");
    /* Not counted: failed calls change nothing. */
    if (mem_alloc(NULL, MiB) == 0)
        die("cuMemAlloc(NULL) succeeded");

    /* A forked child (no exec) starts from zero: 3 MiB of its own, freed. */
    pid_t forked = fork();
    if (forked < 0)
        die("fork");
    if (forked == 0) {
        CUdeviceptr f;
        check(mem_alloc(&f, 3 * MiB), "cuMemAlloc 3 MiB (forked child)");
        pause_ms(300);
        check(mem_free(f), "cuMemFree_v2 (forked child)");
        _exit(0);
    }
    int fstatus = 0;
    if (waitpid(forked, &fstatus, 0) < 0 || !WIFEXITED(fstatus) || WEXITSTATUS(fstatus) != 0)
        die("the forked child failed");

    pause_ms(300); /* long enough for the recorder to see this process */
    pid_t child = fork();
    if (child < 0)
        die("fork");
    if (child == 0) {
        execvp(argv[1], argv + 1);
        _exit(127);
    }
    int status = 0;
    if (waitpid(child, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
        die("the child failed");
    check(free_async(d3, NULL), "cuMemFreeAsync_ptsz");
    (void)p1; /* left allocated at exit, with d1 and d4 */
    return 0;
}

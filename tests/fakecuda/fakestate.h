/*
 * One GPU shared by several processes, for the fake libcuda.so.1 and
 * libnvidia-ml.so.1 (included by fakecuda.c, fakecuda_mem.c and fakenvml.c,
 * each of which can still be built alone): a small file both fakes name
 * (FAKECUDA_STATE and FAKENVML_STATE), holding per process the device bytes
 * it has live and whether it has a context (and what that context costs).
 *
 * The file is a fixed table, FAKESTATE_SLOTS slots after an 8-byte magic;
 * an empty (new) file is a table of free slots. Every read and update opens
 * the file anew (O_CLOEXEC: a forked child then has its own open file
 * description, so flock excludes parent and child from each other too) and
 * holds flock on it: LOCK_EX to update, LOCK_SH to read. A slot whose pid no
 * longer exists is free, as the real driver releases what a process held
 * when it exits. A file of another size or magic is an error, never rewritten.
 */
#ifndef FAKESTATE_H
#define FAKESTATE_H

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#define FAKESTATE_SLOTS 64
#define FAKESTATE_MAGIC "FAKEGPU1"

struct fakestate_slot {
    uint32_t pid; /* 0: free */
    uint32_t contexts;
    uint64_t device_bytes;
    uint64_t context_bytes; /* charged while contexts > 0 */
};

struct fakestate_file {
    char magic[8];
    struct fakestate_slot slots[FAKESTATE_SLOTS];
};

#define FAKESTATE_UNUSED __attribute__((unused))

/* What a slot's process uses on the device: its allocations and its context. */
FAKESTATE_UNUSED static uint64_t fakestate_used(const struct fakestate_slot *s)
{
    return s->device_bytes + (s->contexts > 0 ? s->context_bytes : 0);
}

FAKESTATE_UNUSED static uint64_t fakestate_total_used(const struct fakestate_file *f)
{
    uint64_t sum = 0;
    for (int i = 0; i < FAKESTATE_SLOTS; i++)
        sum += fakestate_used(&f->slots[i]);
    return sum;
}

FAKESTATE_UNUSED static int fakestate_alive(uint32_t pid)
{
    return kill((pid_t)pid, 0) == 0 || errno == EPERM;
}

/* Reads the table from `fd` (locked), freeing the slots of exited processes;
 * 0 on success, -1 when the file is not such a table. */
FAKESTATE_UNUSED static int fakestate_load(int fd, struct fakestate_file *f)
{
    struct stat st;
    memset(f, 0, sizeof *f);
    memcpy(f->magic, FAKESTATE_MAGIC, sizeof f->magic);
    if (fstat(fd, &st) != 0)
        return -1;
    if (st.st_size == 0)
        return 0;
    if (st.st_size != (off_t)sizeof *f || pread(fd, f, sizeof *f, 0) != (ssize_t)sizeof *f ||
        memcmp(f->magic, FAKESTATE_MAGIC, sizeof f->magic) != 0)
        return -1;
    for (int i = 0; i < FAKESTATE_SLOTS; i++)
        if (f->slots[i].pid != 0 && !fakestate_alive(f->slots[i].pid))
            memset(&f->slots[i], 0, sizeof f->slots[i]);
    return 0;
}

/* The live processes' slots of `path` (all free when the file does not
 * exist yet); 0 on success, -1 on an unreadable or foreign file. */
FAKESTATE_UNUSED static int fakestate_read(const char *path, struct fakestate_file *f)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        memset(f, 0, sizeof *f);
        return errno == ENOENT ? 0 : -1;
    }
    int rc = flock(fd, LOCK_SH) == 0 ? fakestate_load(fd, f) : -1;
    close(fd); /* drops the lock */
    return rc;
}

/*
 * Adds `device_delta` bytes and `context_delta` contexts (whose cost is
 * `context_bytes`) to this process's slot of `path`. An increase that would
 * take every process's use past `limit` changes nothing and returns 1 (the
 * device is full); 0 on success, -1 on a foreign file, a full table, I/O
 * errors or a decrease below zero.
 */
FAKESTATE_UNUSED static int fakestate_update(const char *path, int64_t device_delta,
                                             int32_t context_delta, uint64_t context_bytes,
                                             uint64_t limit)
{
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0)
        return -1;
    struct fakestate_file f;
    int rc = -1;
    if (flock(fd, LOCK_EX) != 0 || fakestate_load(fd, &f) != 0)
        goto out;
    uint32_t pid = (uint32_t)getpid();
    struct fakestate_slot *s = NULL;
    for (int i = 0; i < FAKESTATE_SLOTS && s == NULL; i++)
        if (f.slots[i].pid == pid)
            s = &f.slots[i];
    for (int i = 0; i < FAKESTATE_SLOTS && s == NULL; i++)
        if (f.slots[i].pid == 0) {
            s = &f.slots[i];
            s->pid = pid;
        }
    if (s == NULL)
        goto out;
    struct fakestate_slot next = *s;
    if ((device_delta < 0 && (uint64_t)-device_delta > next.device_bytes) ||
        (context_delta < 0 && (uint32_t)-context_delta > next.contexts))
        goto out;
    next.device_bytes += (uint64_t)device_delta; /* wraps back for a decrease */
    next.contexts += (uint32_t)context_delta;
    if (context_delta > 0 && s->contexts == 0)
        next.context_bytes = context_bytes;
    uint64_t after = fakestate_total_used(&f) - fakestate_used(s) + fakestate_used(&next);
    if (after > fakestate_total_used(&f) && after > limit) {
        rc = 1;
        goto out;
    }
    *s = next;
    if (s->contexts == 0 && s->device_bytes == 0)
        memset(s, 0, sizeof *s);
    if (pwrite(fd, &f, sizeof f, 0) == (ssize_t)sizeof f)
        rc = 0;
out:
    close(fd); /* drops the lock */
    return rc;
}

#endif

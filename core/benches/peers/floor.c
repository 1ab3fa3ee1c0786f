// floorlib.c - C floor callable from Python via ctypes, for same-process ratios.
// gcc -O2 -shared -fPIC -o floorlib.so floorlib.c
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdint.h>
#include <time.h>
#include <unistd.h>
#include <stdio.h>
static volatile long sink;
static char buf[65536];
static inline uint64_t now_ns(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec * 1000000000ull + t.tv_nsec; }
// ns per call: pread(fd, buf, bufsz, 0) on an fd kept open
double pread_ns(const char *path, long n, int bufsz) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  uint64_t a = now_ns();
  for (long i = 0; i < n; i++) sink = pread(fd, buf, bufsz, 0);
  uint64_t b = now_ns();
  close(fd);
  return (double)(b - a) / n;
}
// ns per call: open + read until EOF + close
double orc_ns(const char *path, long n, int bufsz) {
  uint64_t a = now_ns();
  for (long i = 0; i < n; i++) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    ssize_t r, t = 0;
    while ((r = read(fd, buf + t, bufsz - t)) > 0) t += r;
    close(fd);
    sink = t;
  }
  return (double)(now_ns() - a) / n;
}

// One project-like sample, floor version: pread(/proc/meminfo) + parse 10 keys,
// pread(/proc/<pid>/statm) + parse for every pid of the tree; fds kept open.
#include <string.h>
static const char *K[10] = {"MemTotal","MemFree","MemAvailable","Buffers","Cached","SwapTotal","SwapFree","Shmem","Slab","NvMapMemUsed"};
static unsigned long long parse_u(const char **pp, const char *e) {
  const char *p = *pp; unsigned long long v = 0;
  while (p < e && *p == ' ') p++;
  while (p < e && (unsigned)(*p - '0') < 10) v = v * 10 + (*p++ - '0');
  *pp = p; return v;
}
// The 10 keys of K from meminfo text [p, e), in bytes.
static void parse_meminfo10(const char *p, const char *e, unsigned long long out[10]) {
  while (p < e) {
    const char *c = memchr(p, ':', e - p); if (!c) break;
    size_t kl = c - p;
    for (int k = 0; k < 10; k++) if (strlen(K[k]) == kl && !memcmp(K[k], p, kl)) { const char *q = c + 1; out[k] = parse_u(&q, e) << 10; break; }
    const char *nl = memchr(c, '\n', e - c); if (!nl) break; p = nl + 1;
  }
}
double sample_ns(long n, const int *pids, int npids) {
  int mfd = open("/proc/meminfo", O_RDONLY | O_CLOEXEC);
  int fds[64]; char path[64];
  for (int k = 0; k < npids && k < 64; k++) { snprintf(path, 64, "/proc/%d/statm", pids[k]); fds[k] = open(path, O_RDONLY | O_CLOEXEC); }
  unsigned long long out[10], acc = 0;
  uint64_t a = now_ns();
  for (long i = 0; i < n; i++) {
    ssize_t r = pread(mfd, buf, 4096, 0);
    parse_meminfo10(buf, buf + r, out);
    for (int k = 0; k < npids; k++) {
      r = pread(fds[k], buf, 256, 0);
      const char *q = buf; parse_u(&q, buf + r); acc += parse_u(&q, buf + r) * 4096;
    }
    sink = acc + out[2];
  }
  double ns = (double)(now_ns() - a) / n;
  close(mfd); for (int k = 0; k < npids; k++) close(fds[k]);
  return ns;
}

// Added for jetmem's sampler benchmark: the floor of a whole-system sample,
// pread(/proc/meminfo) + the same 10-key parse + pread of one cgroup file + parse.
double system_sample_ns(long n, const char *cgpath) {
  int mfd = open("/proc/meminfo", O_RDONLY | O_CLOEXEC);
  int cfd = cgpath ? open(cgpath, O_RDONLY | O_CLOEXEC) : -1;
  unsigned long long out[10], acc = 0;
  uint64_t a = now_ns();
  for (long i = 0; i < n; i++) {
    ssize_t r = pread(mfd, buf, 4096, 0);
    parse_meminfo10(buf, buf + r, out);
    if (cfd >= 0) { r = pread(cfd, buf, 64, 0); const char *q = buf; acc += parse_u(&q, buf + r); }
    sink = acc + out[2];
  }
  double ns = (double)(now_ns() - a) / n;
  close(mfd); if (cfd >= 0) close(cfd);
  return ns;
}

// The floor of a sustained sampler: wakes at absolute deadlines `interval_ns`
// apart for `secs` seconds and each time does the same-file work as one jetmem
// tree sample: pread + parse /proc/meminfo, pread the cgroup file, pread + parse
// statm of every pid (fds kept open; any number of pids). Returns this thread's
// CPU time as a percentage of one core.
#include <stdlib.h>
double tick_floor_all_pct(long secs, long interval_ns, const int *pids, int npids, const char *cgpath,
                          const char *const *slow, int nslow, const char *const *second, int nsecond,
                          long slow_ns);
double tick_floor_every_pct(long secs, long interval_ns, const int *pids, int npids, const char *cgpath) {
  return tick_floor_all_pct(secs, interval_ns, pids, npids, cgpath, NULL, 0, NULL, 0, 100000000l);
}

// Added for jetmem's 1 kHz benchmark: the floor above at 1 ms.
double tick_floor_cpu_pct(long secs, const int *pids, int npids, const char *cgpath) {
  return tick_floor_every_pct(secs, 1000000l, pids, npids, cgpath);
}

// Added for jetmem's whole-recorder benchmark: the floor of the recorder's
// whole read schedule (docs/sampler.md, "What is read, and how often"). Each
// tick: tick_floor_every_pct's reads (meminfo, the cgroup file, every statm).
// Every `slow_ns`: each file of `slow` pread whole (PSI, zram, the cgroup peak
// and limit, each thread's children file), or, for a directory, an fstat (the
// thread-count check of a task directory). Every second: each file of
// `second` pread whole (status, comm), or, for a directory, listed again
// (lseek + getdents64 until the end). Every descriptor is opened once and
// kept, as the recorder keeps them. Returns this thread's CPU time as a
// percentage of one core.
#include <sys/stat.h>
#include <sys/syscall.h>
static int open_kept(const char *path, int *is_dir) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  struct stat st;
  *is_dir = fd >= 0 && fstat(fd, &st) == 0 && S_ISDIR(st.st_mode);
  return fd;
}
static void read_kept(int fd, int is_dir, int list) {
  if (fd < 0) return;
  if (!is_dir) { ssize_t r, off = 0; while ((r = pread(fd, buf, sizeof buf, off)) > 0) { off += r; if (r < (ssize_t)sizeof buf) break; } sink += off; return; }
  if (!list) { struct stat st; fstat(fd, &st); sink += st.st_nlink; return; }
  lseek(fd, 0, SEEK_SET);
  long n; while ((n = syscall(SYS_getdents64, fd, buf, sizeof buf)) > 0) sink += n;
}
double tick_floor_all_pct(long secs, long interval_ns, const int *pids, int npids, const char *cgpath,
                          const char *const *slow, int nslow, const char *const *second, int nsecond,
                          long slow_ns) {
  int mfd = open("/proc/meminfo", O_RDONLY | O_CLOEXEC);
  int cfd = cgpath ? open(cgpath, O_RDONLY | O_CLOEXEC) : -1;
  int *fds = calloc(npids > 0 ? npids : 1, sizeof(int)); char path[64];
  for (int k = 0; k < npids; k++) { snprintf(path, 64, "/proc/%d/statm", pids[k]); fds[k] = open(path, O_RDONLY | O_CLOEXEC); }
  int *sfd = calloc(nslow > 0 ? nslow : 1, sizeof(int)), *sdir = calloc(nslow > 0 ? nslow : 1, sizeof(int));
  int *pfd = calloc(nsecond > 0 ? nsecond : 1, sizeof(int)), *pdir = calloc(nsecond > 0 ? nsecond : 1, sizeof(int));
  for (int k = 0; k < nslow; k++) sfd[k] = open_kept(slow[k], &sdir[k]);
  for (int k = 0; k < nsecond; k++) pfd[k] = open_kept(second[k], &pdir[k]);
  struct timespec c0; clock_gettime(CLOCK_THREAD_CPUTIME_ID, &c0);
  uint64_t start = now_ns(), next_slow = start, next_second = start; unsigned long long out[10], acc = 0;
  long ticks = secs * 1000000000l / interval_ns;
  for (long k = 1; k <= ticks; k++) {
    uint64_t d = start + (uint64_t)k * (uint64_t)interval_ns;
    struct timespec ts = { (time_t)(d / 1000000000ull), (long)(d % 1000000000ull) };
    clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
    ssize_t r = pread(mfd, buf, 4096, 0);
    parse_meminfo10(buf, buf + r, out);
    if (cfd >= 0) { r = pread(cfd, buf, 64, 0); const char *q = buf; acc += parse_u(&q, buf + r); }
    for (int j = 0; j < npids; j++) { r = pread(fds[j], buf, 256, 0); if (r <= 0) continue; const char *q = buf; parse_u(&q, buf + r); acc += parse_u(&q, buf + r); }
    if (d >= next_slow) { for (int j = 0; j < nslow; j++) read_kept(sfd[j], sdir[j], 0); next_slow = d + slow_ns; }
    if (d >= next_second) { for (int j = 0; j < nsecond; j++) read_kept(pfd[j], pdir[j], 1); next_second = d + 1000000000ull; }
    sink = acc + out[2];
  }
  struct timespec c1; clock_gettime(CLOCK_THREAD_CPUTIME_ID, &c1);
  close(mfd); if (cfd >= 0) close(cfd); for (int j = 0; j < npids; j++) close(fds[j]);
  for (int j = 0; j < nslow; j++) if (sfd[j] >= 0) close(sfd[j]);
  for (int j = 0; j < nsecond; j++) if (pfd[j] >= 0) close(pfd[j]);
  free(fds); free(sfd); free(sdir); free(pfd); free(pdir);
  double cpu = (c1.tv_sec - c0.tv_sec) + (c1.tv_nsec - c0.tv_nsec) / 1e9;
  return cpu / secs * 100.0;
}

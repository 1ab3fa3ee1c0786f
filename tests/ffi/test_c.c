/* Drives libjetmem from C: a real trace plus every misuse, checked by status code.
 *
 * Usage: test_c OUT.jmt SCRATCH_DIR   (tests/ffi/run.sh builds it, runs it under valgrind
 * and checks the trace's phases and allocator peaks with `jetmem report`.)
 */
#include "jetmem.h"

#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MIB (1024ull * 1024ull)
#define THREADS 8
#define MARKS_PER_THREAD 1000

static int failures = 0;
static jetmem_tracer *shared_tracer;

#define EXPECT(code, call)                                                           \
  do {                                                                               \
    jetmem_status got_ = (call);                                                     \
    if (got_ != (code)) {                                                            \
      fprintf(stderr, "FAIL %s:%d: %s gave %d, expected %s (%d)\n", __FILE__,        \
              __LINE__, #call, (int)got_, #code, (int)(code));                       \
      failures++;                                                                    \
    }                                                                                \
  } while (0)

#include "../support/check.h"

static jetmem_tracer *start(const char *path, const char *label) {
  jetmem_config cfg;
  EXPECT(JETMEM_STATUS_OK, jetmem_config_default(&cfg));
  cfg.output_path = path;
  cfg.interval_ns = 5000000; /* 5 ms */
  cfg.label = label;
  cfg.flags = JETMEM_FLAG_NO_CUDA;
  jetmem_tracer *t = NULL;
  EXPECT(JETMEM_STATUS_OK, jetmem_tracer_start(&cfg, &t));
  return t;
}

/* The run that run.sh reports on. */
static void traced_run(const char *path) {
  jetmem_tracer *t = start(path, "c-test");
  if (t == NULL) return;
  EXPECT(JETMEM_STATUS_OK, jetmem_mark(t, JETMEM_MARK_KIND_BEGIN, "load"));
  EXPECT(JETMEM_STATUS_OK, jetmem_record_allocator(t, 16 * MIB, 32 * MIB, 16 * MIB, 32 * MIB));
  usleep(20000);
  EXPECT(JETMEM_STATUS_OK, jetmem_mark(t, JETMEM_MARK_KIND_END, "load"));
  for (int i = 0; i < 3; i++) {
    EXPECT(JETMEM_STATUS_OK, jetmem_mark(t, JETMEM_MARK_KIND_BEGIN, "inference"));
    EXPECT(JETMEM_STATUS_OK, jetmem_mark(t, JETMEM_MARK_KIND_INSTANT, "frame"));
    EXPECT(JETMEM_STATUS_OK,
           jetmem_record_allocator(t, (100 + i) * MIB, 200 * MIB, (300 + i) * MIB, 400 * MIB));
    usleep(10000);
    EXPECT(JETMEM_STATUS_OK, jetmem_mark(t, JETMEM_MARK_KIND_END, "inference"));
  }
  EXPECT(JETMEM_STATUS_OK, jetmem_record_allocator(t, 64 * MIB, JETMEM_UNKNOWN, JETMEM_UNKNOWN,
                                                   JETMEM_UNKNOWN));
  EXPECT(JETMEM_STATUS_OK, jetmem_tracer_stop(t));
  jetmem_tracer_free(t);
}

static long queue_full[THREADS];

static void *mark_many(void *arg) {
  long n = (long)arg;
  long bad = 0;
  for (int i = 0; i < MARKS_PER_THREAD; i++) {
    jetmem_status s = jetmem_mark(shared_tracer, JETMEM_MARK_KIND_INSTANT, "worker");
    if (s == JETMEM_STATUS_QUEUE_FULL)
      queue_full[n]++;
    else if (s != JETMEM_STATUS_OK)
      bad++;
  }
  return (void *)bad;
}

/* Marks until the tracer is stopped under it; anything but OK, QUEUE_FULL or
 * ALREADY_STOPPED counts as bad. */
static void *mark_until_stopped(void *arg) {
  jetmem_tracer *t = arg;
  long bad = 0;
  for (;;) {
    jetmem_status s = jetmem_mark(t, JETMEM_MARK_KIND_INSTANT, "race");
    if (s == JETMEM_STATUS_ALREADY_STOPPED) break;
    if (s != JETMEM_STATUS_OK && s != JETMEM_STATUS_QUEUE_FULL) bad++;
    if (s == JETMEM_STATUS_QUEUE_FULL) sched_yield();
  }
  return (void *)bad;
}

static void stop_races_marks(const char *dir) {
  char path[4096];
  snprintf(path, sizeof path, "%s/race.jmt", dir);
  jetmem_tracer *t = start(path, NULL);
  if (t == NULL) return;
  pthread_t th[4];
  for (int i = 0; i < 4; i++) pthread_create(&th[i], NULL, mark_until_stopped, t);
  usleep(20000);
  EXPECT(JETMEM_STATUS_OK, jetmem_tracer_stop(t));
  for (int i = 0; i < 4; i++) {
    void *bad = NULL;
    pthread_join(th[i], &bad);
    CHECK(bad == NULL);
  }
  jetmem_tracer_free(t);
}

static void misuse(const char *dir) {
  char path[4096], missing[4096];
  snprintf(path, sizeof path, "%s/misuse.jmt", dir);
  snprintf(missing, sizeof missing, "%s/no/such/dir/x.jmt", dir);
  jetmem_config cfg;
  jetmem_tracer *sentinel = (jetmem_tracer *)&cfg; /* never dereferenced */
  jetmem_tracer *t = sentinel;
  struct stat st;

  EXPECT(JETMEM_STATUS_NULL_PARAMETER, jetmem_config_default(NULL));
  EXPECT(JETMEM_STATUS_OK, jetmem_config_default(&cfg));
  cfg.flags = JETMEM_FLAG_NO_CUDA;
  EXPECT(JETMEM_STATUS_NULL_PARAMETER, jetmem_tracer_start(NULL, &t));
  EXPECT(JETMEM_STATUS_NULL_PARAMETER, jetmem_tracer_start(&cfg, &t)); /* no output path */
  cfg.output_path = path;
  EXPECT(JETMEM_STATUS_NULL_PARAMETER, jetmem_tracer_start(&cfg, NULL));
  cfg.interval_ns = 10;
  EXPECT(JETMEM_STATUS_INVALID_ARGUMENT, jetmem_tracer_start(&cfg, &t));
  cfg.interval_ns = 0; /* 0 = the default */
  cfg.flags = 0x80000000u;
  EXPECT(JETMEM_STATUS_INVALID_ARGUMENT, jetmem_tracer_start(&cfg, &t));
  cfg.flags = JETMEM_FLAG_NO_CUDA;
  cfg.label = "\xff\xfe";
  EXPECT(JETMEM_STATUS_INVALID_UTF8, jetmem_tracer_start(&cfg, &t));
  cfg.label = NULL;
  cfg.pid = 4294967294u;
  EXPECT(JETMEM_STATUS_NO_SUCH_PROCESS, jetmem_tracer_start(&cfg, &t));
  cfg.pid = 0;
  cfg.output_path = missing;
  EXPECT(JETMEM_STATUS_IO_ERROR, jetmem_tracer_start(&cfg, &t));
  CHECK(t == sentinel); /* outputs only on success */
  CHECK(stat(path, &st) != 0); /* a failed start leaves no file */

  t = start(path, NULL);
  if (t == NULL) return;
  EXPECT(JETMEM_STATUS_NULL_PARAMETER, jetmem_mark(NULL, JETMEM_MARK_KIND_INSTANT, "x"));
  EXPECT(JETMEM_STATUS_NULL_PARAMETER, jetmem_mark(t, JETMEM_MARK_KIND_INSTANT, NULL));
  EXPECT(JETMEM_STATUS_INVALID_ARGUMENT, jetmem_mark(t, 7, "x"));
  EXPECT(JETMEM_STATUS_INVALID_UTF8, jetmem_mark(t, JETMEM_MARK_KIND_INSTANT, "\xc3\x28"));
  EXPECT(JETMEM_STATUS_NULL_PARAMETER, jetmem_record_allocator(NULL, 1, 2, 3, 4));
  EXPECT(JETMEM_STATUS_INVALID_ARGUMENT, jetmem_record_allocator_device(t, 256, 1, 2, 3, 4));

  /* Many threads at once: every mark is accepted or dropped as QUEUE_FULL, and
   * every drop is counted by jetmem_tracer_markers_lost. */
  pthread_t th[THREADS];
  shared_tracer = t;
  for (long i = 0; i < THREADS; i++) pthread_create(&th[i], NULL, mark_many, (void *)i);
  long full = 0;
  for (int i = 0; i < THREADS; i++) {
    void *bad = NULL;
    pthread_join(th[i], &bad);
    CHECK(bad == NULL);
    full += queue_full[i];
  }
  uint64_t lost = 12345;
  EXPECT(JETMEM_STATUS_NULL_PARAMETER, jetmem_tracer_markers_lost(NULL, &lost));
  EXPECT(JETMEM_STATUS_NULL_PARAMETER, jetmem_tracer_markers_lost(t, NULL));
  CHECK(lost == 12345);
  EXPECT(JETMEM_STATUS_OK, jetmem_tracer_markers_lost(t, &lost));
  CHECK(lost == (uint64_t)full);

  EXPECT(JETMEM_STATUS_NULL_PARAMETER, jetmem_tracer_stop(NULL));
  EXPECT(JETMEM_STATUS_OK, jetmem_tracer_stop(t));
  EXPECT(JETMEM_STATUS_ALREADY_STOPPED, jetmem_tracer_stop(t));
  EXPECT(JETMEM_STATUS_ALREADY_STOPPED, jetmem_mark(t, JETMEM_MARK_KIND_INSTANT, "late"));
  EXPECT(JETMEM_STATUS_ALREADY_STOPPED, jetmem_record_allocator(t, 1, 2, 3, 4));
  jetmem_tracer_free(t);
  jetmem_tracer_free(NULL); /* a no-op */

  /* A tracer freed while running is stopped first and its file is complete. */
  snprintf(path, sizeof path, "%s/freed-running.jmt", dir);
  t = start(path, NULL);
  EXPECT(JETMEM_STATUS_OK, jetmem_mark(t, JETMEM_MARK_KIND_INSTANT, "x"));
  jetmem_tracer_free(t);
  CHECK(stat(path, &st) == 0 && st.st_size > 12);
}

static void messages(void) {
  char buf[256];
  size_t n = 12345;
  for (int code = JETMEM_STATUS_OK; code <= JETMEM_STATUS_SAMPLER_ERROR; code++) {
    EXPECT(JETMEM_STATUS_OK, jetmem_status_message(code, NULL, 0, &n));
    size_t need = n;
    CHECK(need > 0 && need < sizeof buf);
    EXPECT(JETMEM_STATUS_BUFFER_TOO_SMALL, jetmem_status_message(code, buf, need, &n));
    EXPECT(JETMEM_STATUS_OK, jetmem_status_message(code, buf, need + 1, &n));
    CHECK(strlen(buf) == n);
  }
  n = 7;
  EXPECT(JETMEM_STATUS_INVALID_ARGUMENT, jetmem_status_message(999, buf, sizeof buf, &n));
  EXPECT(JETMEM_STATUS_NULL_PARAMETER, jetmem_status_message(0, buf, sizeof buf, NULL));
  CHECK(n == 7);
  CHECK(strcmp(jetmem_version(), JETMEM_VERSION) == 0);
}

/* The in-program queries on captured device files (values by hand from the fixtures),
 * then on this machine; every pointer misuse gives its status and writes nothing. */
static void queries(const char *fixtures) {
  char nano[512], orin[512];
  snprintf(nano, sizeof nano, "%s/nano-4gb-jp4.6-meminfo", fixtures);
  snprintf(orin, sizeof orin, "%s/orin-nano-super-jp6.2.1-r36.4.7", fixtures);
  jetmem_memory m;
  EXPECT(JETMEM_STATUS_OK, jetmem_memory_query(nano, JETMEM_FLAG_NO_CUDA, &m));
  CHECK(m.architecture == JETMEM_ARCHITECTURE_UNIFIED);
  CHECK(m.total_bytes == 4059240ull * 1024);
  CHECK(m.used_bytes == (4059240ull - 592696) * 1024);
  CHECK(m.used_tegrastats_bytes == 3324672ull * 1024); /* 4059240 - 313692 - 57932 - 362944 */
  CHECK(m.gpu_source == JETMEM_GPU_SOURCE_MEMINFO_NVMAP);
  CHECK(m.gpu_used_bytes == 244748ull * 1024 && m.gpu_subset_of_system == 1);
  CHECK(m.cuda_device_total_bytes == JETMEM_UNKNOWN);
  int32_t pressure = -1;
  EXPECT(JETMEM_STATUS_OK, jetmem_under_pressure(nano, JETMEM_FLAG_NO_CUDA, &pressure));
  CHECK(pressure == 1); /* 14.6 % available */
  jetmem_platform p;
  EXPECT(JETMEM_STATUS_OK, jetmem_platform_query(orin, JETMEM_FLAG_NO_CUDA, &p));
  CHECK(strcmp(p.l4t, "36.4.7") == 0 && strcmp(p.jetpack, "6.2.1") == 0);
  CHECK(strcmp(p.model, "NVIDIA Jetson Orin Nano Engineering Reference Developer Kit Super") == 0);
  EXPECT(JETMEM_STATUS_OK, jetmem_memory_query(NULL, JETMEM_FLAG_NO_CUDA, &m));
  CHECK(m.total_bytes != JETMEM_UNKNOWN && m.used_bytes <= m.total_bytes);
  EXPECT(JETMEM_STATUS_NULL_PARAMETER, jetmem_memory_query(NULL, JETMEM_FLAG_NO_CUDA, NULL));
  EXPECT(JETMEM_STATUS_NULL_PARAMETER, jetmem_platform_query(NULL, 0, NULL));
  EXPECT(JETMEM_STATUS_NULL_PARAMETER, jetmem_under_pressure(NULL, 0, NULL));
  EXPECT(JETMEM_STATUS_INVALID_ARGUMENT, jetmem_memory_query(NULL, 1u << 7, &m));
  EXPECT(JETMEM_STATUS_SAMPLER_ERROR, jetmem_memory_query("/nonexistent/root", JETMEM_FLAG_NO_CUDA, &m));
}

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: %s OUT.jmt SCRATCH_DIR\n", argv[0]);
    return 2;
  }
  messages();
  queries(getenv("JETMEM_FIXTURES") ? getenv("JETMEM_FIXTURES") : "tests/fixtures");
  traced_run(argv[1]);
  misuse(argv[2]);
  stop_races_marks(argv[2]);
  if (failures) {
    fprintf(stderr, "test_c: %d check(s) failed\n", failures);
    return 1;
  }
  printf("test_c: ok (%s)\n", argv[1]);
  return 0;
}

/* Times jetmem_mark from C through the shared library (PLT call included).
 * With --attach instead of OUT.jmt, the handle comes from jetmem_attach: the
 * marks go into the marker channel of the `jetmem record` it runs under, which
 * drains it at each sample (4096 slots, so a 12 ms pause drains it as well).
 *
 * Batches of 512 marks are timed with CLOCK_MONOTONIC; between batches the
 * program sleeps 12 ms so the writer drains the 1024-entry queue and every
 * timed mark is accepted (the count of other statuses is printed and must be 0).
 * Prints the median and best per-mark cost over the batches.
 *
 *   cargo build --release -p jetmem-ffi
 *   gcc -O2 -I ffi/include tests/ffi/bench_mark.c -o /tmp/bench_mark \
 *       -L target/release -Wl,-rpath,$PWD/target/release -ljetmem
 *   /tmp/bench_mark /tmp/bench.jmt
 *   target/release/jetmem record --no-report --no-cuda -o /tmp/ch.jmt -- /tmp/bench_mark --attach
 */
#include "jetmem.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BATCH 512
#define BATCHES 400

static double now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int cmp(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: %s OUT.jmt | --attach\n", argv[0]);
    return 2;
  }
  int attach = strcmp(argv[1], "--attach") == 0;
  jetmem_tracer *t = NULL;
  if (attach) {
    if (jetmem_attach(&t) != JETMEM_STATUS_OK) return 1;
  } else {
    jetmem_config cfg;
    jetmem_config_default(&cfg);
    cfg.output_path = argv[1];
    cfg.flags = JETMEM_FLAG_NO_CUDA;
    if (jetmem_tracer_start(&cfg, &t) != JETMEM_STATUS_OK) return 1;
  }

  static double per_mark[BATCHES];
  long not_ok = 0;
  struct timespec pause = {0, 12 * 1000 * 1000};
  for (int b = 0; b < BATCHES; b++) {
    nanosleep(&pause, NULL);
    double t0 = now_ns();
    for (int i = 0; i < BATCH; i++)
      not_ok += jetmem_mark(t, JETMEM_MARK_KIND_INSTANT, "frame") != JETMEM_STATUS_OK;
    per_mark[b] = (now_ns() - t0) / BATCH;
  }
  jetmem_tracer_stop(t);
  jetmem_tracer_free(t);
  qsort(per_mark, BATCHES, sizeof per_mark[0], cmp);
  printf("jetmem_mark from C (%s): median %.1f ns, best %.1f ns, p90 %.1f ns per mark "
         "(%d batches of %d; %ld not accepted)\n",
         attach ? "jetmem_attach, marker channel" : "in-process tracer",
         per_mark[BATCHES / 2], per_mark[0], per_mark[BATCHES * 9 / 10], BATCHES, BATCH, not_ok);
  return not_ok != 0;
}

/* Marks through jetmem_attach under `jetmem record`: 5 "cframe" phases.
 * Writes its pid to $JETMEM_TEST_PIDFILE.c for the checker. Exit 0 on success. */
#include "jetmem.h"
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

int main(void) {
  jetmem_tracer *t = NULL;
  jetmem_status s = jetmem_attach(&t);
  if (s != JETMEM_STATUS_OK) {
    fprintf(stderr, "jetmem_attach: %d\n", (int)s);
    return 1;
  }
  const char *pidfile = getenv("JETMEM_TEST_PIDFILE");
  if (pidfile) {
    char path[4096];
    snprintf(path, sizeof path, "%s.c", pidfile);
    FILE *f = fopen(path, "w");
    if (!f) return 2;
    fprintf(f, "%d\n", (int)getpid());
    fclose(f);
  }
  struct timespec ms3 = {0, 3000000};
  for (int i = 0; i < 5; i++) {
    if (jetmem_mark(t, JETMEM_MARK_KIND_BEGIN, "cframe") != JETMEM_STATUS_OK) return 3;
    nanosleep(&ms3, NULL);
    if (jetmem_mark(t, JETMEM_MARK_KIND_END, "cframe") != JETMEM_STATUS_OK) return 3;
  }
  if (jetmem_record_allocator(t, 64u << 20, JETMEM_UNKNOWN, JETMEM_UNKNOWN, JETMEM_UNKNOWN)
      != JETMEM_STATUS_OK) return 4;
  if (jetmem_tracer_stop(t) != JETMEM_STATUS_OK) return 5;
  if (jetmem_mark(t, JETMEM_MARK_KIND_INSTANT, "late") != JETMEM_STATUS_ALREADY_STOPPED) return 6;
  jetmem_tracer_free(t);
  return 0;
}

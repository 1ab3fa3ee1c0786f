/* CHECK(cond): counts a failed condition in the including file's `failures`
 * (an int it defines) and prints where; the C test programs share it
 * (tests/ffi/test_c.c, the fake drivers' tests through test_check.h). */
#ifndef JETMEM_TEST_SUPPORT_CHECK_H
#define JETMEM_TEST_SUPPORT_CHECK_H

#include <stdio.h>

#define CHECK(cond)                                                                    \
    do {                                                                               \
        if (!(cond)) {                                                                 \
            fprintf(stderr, "FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond);           \
            failures++;                                                                \
        }                                                                              \
    } while (0)

#endif

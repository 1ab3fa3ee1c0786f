/* The checks shared by the fake drivers' test programs (test_fakecuda.c and
 * test_fakestate.c, linked into one binary): CHECK (tests/support/check.h)
 * counts a failed condition in the including file's `failures`; lookup()
 * resolves a symbol or exits. */
#ifndef JETMEM_TEST_CHECK_H
#define JETMEM_TEST_CHECK_H

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>

#include "../support/check.h"

static void *lookup(void *lib, const char *name)
{
    void *sym = dlsym(lib, name);
    if (sym == NULL) {
        fprintf(stderr, "FAIL: symbol %s missing: %s\n", name, dlerror());
        exit(1);
    }
    return sym;
}

#endif

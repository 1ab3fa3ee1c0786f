/*
 * Loads a shared library with every symbol bound at once (RTLD_NOW), so a
 * library that needs a newer glibc than the one it runs on fails here.
 * Built with `zig cc -target aarch64-linux-gnu.2.31` by cross/check-jetpack5.sh
 * and run under qemu-aarch64 against Debian 11's glibc 2.31.
 */
#include <dlfcn.h>
#include <stdio.h>

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s LIBRARY.so\n", argv[0]);
        return 2;
    }
    void *lib = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
    if (lib == NULL) {
        fprintf(stderr, "dlopen failed: %s\n", dlerror());
        return 1;
    }
    printf("dlopen ok: %s\n", argv[1]);
    return dlclose(lib) == 0 ? 0 : 1;
}

/* "Legacy" code: knows nothing of ilenstr, takes plain char * and stops at the first \0.
 * strlen, strcmp and strcpy are exported straight from wasi-libc (see the build script);
 * printf is variadic, which WebAssembly exports cannot be, hence this one fixed form. */
#include <stdio.h>

/* printf("%s", s) to WASI's stdout, flushed; returns the bytes written, or -1. */
int legacy_printf(const char *s) {
  int written = printf("%s", s);

  return fflush(stdout) == 0 ? written : -1;
}

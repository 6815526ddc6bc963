#include "ilenstr.h"

#include <malloc.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* The last byte's value meaning "the count is in the size_t before me". */
#define ESCAPE 255

/* Writes the terminating \0 and the spare count of a string of len bytes in an allocation
 * of usable bytes. */
static void encode(char *s, size_t usable, size_t len) {
  unsigned char *last = (unsigned char *)s + usable - 1;
  size_t spare = usable - len - 1;

  s[len] = '\0'; /* when spare == 0 this is also the last byte, and reads as 0 */
  if (spare < ESCAPE) {
    *last = (unsigned char)spare;
  } else {
    memcpy(last - sizeof spare, &spare, sizeof spare);
    *last = ESCAPE;
  }
}

size_t ilenstr_spare(const char *s) {
  const unsigned char *last = (const unsigned char *)s + malloc_usable_size((void *)s) - 1;
  size_t spare;

  if (*last != ESCAPE) return *last;
  memcpy(&spare, last - sizeof spare, sizeof spare);
  return spare;
}

size_t ilenstr_len(const char *s) {
  return malloc_usable_size((void *)s) - 1 - ilenstr_spare(s);
}

char *ilenstr_alloc(size_t len) {
  char *s;

  if (len == SIZE_MAX) return NULL;
  s = malloc(len + 1);
  if (s != NULL) encode(s, malloc_usable_size(s), len);
  return s;
}

char *ilenstr_new(const char *bytes, size_t len) {
  char *s = ilenstr_alloc(len);

  if (s != NULL) memcpy(s, bytes, len);
  return s;
}

/* What to ask realloc for when a string of usable bytes must hold needed bytes. */
static size_t grown_size(size_t usable, size_t needed) {
  size_t geometric = usable <= SIZE_MAX / 3 * 2 ? usable + usable / 2 : needed;

  return geometric > needed ? geometric : needed;
}

char *ilenstr_append(char *s, const char *bytes, size_t len) {
  size_t old_len = ilenstr_len(s);
  size_t usable = malloc_usable_size(s);
  size_t new_len;

  if (len > SIZE_MAX - 1 - old_len) return NULL;
  new_len = old_len + len;
  if (new_len + 1 > usable) {
    /* bytes may point into s (s appended to itself): find it again after a move */
    uintptr_t from = (uintptr_t)bytes, start = (uintptr_t)s;
    int inside = from >= start && from < start + usable;
    char *moved = realloc(s, grown_size(usable, new_len + 1));

    if (moved == NULL) return NULL;
    if (inside) bytes = moved + (from - start);
    s = moved;
    usable = malloc_usable_size(s);
  }
  if (bytes != NULL) memmove(s + old_len, bytes, len);
  encode(s, usable, new_len);
  return s;
}

int ilenstr_cmp(const char *a, const char *b) {
  size_t len_a = ilenstr_len(a), len_b = ilenstr_len(b);
  int c = memcmp(a, b, len_a < len_b ? len_a : len_b);

  if (c != 0) return c < 0 ? -1 : 1;
  return (len_a > len_b) - (len_a < len_b);
}

char *ilenstr_dup(const char *s) {
  return ilenstr_new(s, ilenstr_len(s));
}

void ilenstr_free(char *s) {
  free(s);
}

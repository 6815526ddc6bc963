/* ilenstr: C strings with an implicit length field, the seed's "half-baked idea".
 * An ilenstr is a plain malloc'd, \0-terminated char array, so it can be passed to
 * any function taking char *; its length is found in O(1) from the allocator's usable size
 * and the last usable byte, so it may also hold \0 bytes.
 *
 * Layout of an allocation of U usable bytes (U = malloc_usable_size(s)) holding a string of
 * L bytes, with S = U - L - 1 spare bytes after the terminating \0:
 *
 *   S = 0:         [ L bytes ][\0]                    the \0 is the last byte, read as 0
 *   1 <= S < 255:  [ L bytes ][\0][ ... ][S]          the last byte holds S
 *   S >= 255:      [ L bytes ][\0][ ... ][S: size_t][255]
 *                  the last byte is 255 and the sizeof(size_t) bytes before it hold S
 *                  (native byte order); S >= 255 leaves room for them
 *
 * so ilenstr_len(s) = U - 1 - S. The bytes between the \0 and the count are unspecified. */
#ifndef ILENSTR_H
#define ILENSTR_H

#include <stddef.h>

/* A string of len bytes copied from bytes (which may contain \0). NULL if out of memory. */
char *ilenstr_new(const char *bytes, size_t len);

/* A string of len bytes whose contents the caller fills in (the \0 and the length are
 * already written). NULL if out of memory. */
char *ilenstr_alloc(size_t len);

/* The length, in O(1): malloc_usable_size and one or five bytes at the end. */
size_t ilenstr_len(const char *s);

/* How many bytes follow the terminating \0 (the S above). */
size_t ilenstr_spare(const char *s);

/* Appends len bytes (which may lie inside s itself; NULL: bytes the caller then fills in
 * at s + the old length, as for ilenstr_alloc). Fills the spare bytes when they are
 * enough, otherwise reallocs to at least 1.5 times the usable size, so that repeated appends
 * cost amortised O(1) per byte. Returns the string, which may have moved, or NULL if out of
 * memory, in which case s is unchanged and still valid (like realloc). */
char *ilenstr_append(char *s, const char *bytes, size_t len);

/* Byte-wise comparison (memcmp order, a proper prefix sorts first): -1, 0 or 1. */
int ilenstr_cmp(const char *a, const char *b);

/* A copy of exactly the right size (no spare bytes from earlier appends). NULL if out of
 * memory. */
char *ilenstr_dup(const char *s);

void ilenstr_free(char *s);

#endif

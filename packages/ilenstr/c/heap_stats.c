/* Counts what is live on the whole C heap. wasi-libc's dlmalloc has no mallinfo, so the link
 * wraps malloc, calloc, realloc and free (wasm-ld --wrap): every call, ours and libc's own
 * (stdio, strdup...), goes through the counters below. */
#include <malloc.h>
#include <stddef.h>

void *__real_malloc(size_t size);
void *__real_calloc(size_t count, size_t size);
void *__real_realloc(void *p, size_t size);
void __real_free(void *p);

static size_t live_blocks, live_bytes;

static void *counted(void *p) {
  if (p != NULL) {
    live_blocks++;
    live_bytes += malloc_usable_size(p);
  }
  return p;
}

void *__wrap_malloc(size_t size) {
  return counted(__real_malloc(size));
}

void *__wrap_calloc(size_t count, size_t size) {
  return counted(__real_calloc(count, size));
}

void __wrap_free(void *p) {
  if (p != NULL) {
    live_blocks--;
    live_bytes -= malloc_usable_size(p);
  }
  __real_free(p);
}

/* Nothing here calls realloc(p, 0), whose meaning varies between allocators. */
void *__wrap_realloc(void *p, size_t size) {
  size_t old_bytes = p != NULL ? malloc_usable_size(p) : 0;
  void *moved = __real_realloc(p, size);

  if (moved == NULL) return NULL; /* p is untouched */
  if (p == NULL) live_blocks++;
  live_bytes = live_bytes - old_bytes + malloc_usable_size(moved);
  return moved;
}

size_t heap_live_blocks(void) {
  return live_blocks;
}

size_t heap_live_bytes(void) {
  return live_bytes;
}

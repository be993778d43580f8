/* One eclip_last_error() per thread for the whole process: a preload library
 * (libeclip_preload.so / libeclip_preload_cuda.so) and libeclip_c.so loaded side by side each
 * export eclip_last_error, and whichever one a caller finds must give the message of the last
 * failed eclip call on that thread, whichever library the call went to.
 *
 * Usage: shared_error_test preload-first|c-first <preload library> <libeclip_c.so>
 *   preload-first: the preload RTLD_GLOBAL (as LD_PRELOAD puts it first), then libeclip_c
 *                  RTLD_LOCAL (as Python's ctypes.CDLL loads it);
 *   c-first:       libeclip_c RTLD_GLOBAL (as a program linked with it), then the preload.
 * Compiled as C: eclip_c.h is valid C. Exit 0 = every check held. */
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eclip/eclip_c.h"

typedef const char* (*last_error_fn)(void);
typedef int (*backend_create_fn)(const char*, eclip_backend**);
typedef int (*set_worker_fn)(int);
typedef int (*void_fn)(void);
typedef int (*active_fn)(int*);

static int failures = 0;
static last_error_fn c_last, preload_last;

#define CHECK(cond)                                              \
  do {                                                           \
    if (!(cond)) {                                               \
      fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
      ++failures;                                                \
    }                                                            \
  } while (0)

/* POSIX's way to turn dlsym's object pointer into a function pointer (ISO C has none). */
#define LOAD(fn, handle, name) (*(void**)(&(fn)) = must((handle), (name)))

static void* must(void* handle, const char* name) {
  void* p = dlsym(handle, name);
  if (p == NULL) {
    fprintf(stderr, "dlsym %s: %s\n", name, dlerror());
    exit(1);
  }
  return p;
}

/* Both libraries' eclip_last_error give `expected` (a substring; "" means empty). */
static void both_say(const char* expected, int line) {
  const char* a = c_last();
  const char* b = preload_last();
  const int ok_a = expected[0] ? strstr(a, expected) != NULL : a[0] == '\0';
  const int ok_b = expected[0] ? strstr(b, expected) != NULL : b[0] == '\0';
  if (!ok_a || !ok_b) {
    fprintf(stderr, "line %d: expected \"%s\" from both; libeclip_c says \"%s\", the preload says \"%s\"\n", line,
            expected, a, b);
    ++failures;
  }
}
#define BOTH_SAY(s) both_say(s, __LINE__)

static void* other_thread(void* unused) {
  (void)unused;
  BOTH_SAY(""); /* a new thread has no message of another thread's */
  return NULL;
}

int main(int argc, char** argv) {
  void *preload, *c;
  backend_create_fn create;
  void (*destroy)(eclip_backend*);
  set_worker_fn set_worker;
  void_fn begin_request;
  active_fn active;
  eclip_backend* be = NULL;
  int on = -1;
  pthread_t t;

  if (argc != 4 || (strcmp(argv[1], "preload-first") != 0 && strcmp(argv[1], "c-first") != 0)) {
    fprintf(stderr, "usage: %s preload-first|c-first <preload library> <libeclip_c.so>\n", argv[0]);
    return 2;
  }
  if (strcmp(argv[1], "preload-first") == 0) {
    preload = dlopen(argv[2], RTLD_NOW | RTLD_GLOBAL);
    c = dlopen(argv[3], RTLD_NOW | RTLD_LOCAL);
  } else {
    c = dlopen(argv[3], RTLD_NOW | RTLD_GLOBAL);
    preload = dlopen(argv[2], RTLD_NOW | RTLD_LOCAL);
  }
  if (preload == NULL || c == NULL) {
    fprintf(stderr, "dlopen: %s\n", dlerror());
    return 1;
  }
  /* Each library's own definition (dlsym on a handle searches that library first). */
  /* two definitions: the test compares two copies */
  CHECK(LOAD(c_last, c, "eclip_last_error") != LOAD(preload_last, preload, "eclip_last_error"));
  LOAD(create, c, "eclip_backend_create");
  LOAD(destroy, c, "eclip_backend_destroy");
  LOAD(set_worker, preload, "eclip_set_worker");
  LOAD(begin_request, preload, "eclip_begin_request");
  LOAD(active, preload, "eclip_preload_active");

  /* A libeclip_c failure, read through both. */
  CHECK(create("tpu", &be) == ECLIP_E_INVALID_ARGUMENT);
  BOTH_SAY("unknown backend spec \"tpu\"");
  /* A preload failure, read through both. */
  CHECK(set_worker(-5) == ECLIP_E_INVALID_ARGUMENT);
  BOTH_SAY("worker -5");
  /* A success in either clears it for both. */
  CHECK(set_worker(1) == ECLIP_OK);
  BOTH_SAY("");
  CHECK(create("sim:mi9000", &be) == ECLIP_E_INVALID_ARGUMENT);
  BOTH_SAY("mi9000");
  CHECK(create("sim", &be) == ECLIP_OK);
  BOTH_SAY("");
  /* No plan (ECLIP_PLAN unset): the preload passes through and says so. */
  CHECK(active(&on) == ECLIP_OK && on == 0);
  CHECK(begin_request() == ECLIP_E_UNAVAILABLE);
  BOTH_SAY("no plan is active");
  /* Per thread. */
  if (pthread_create(&t, NULL, other_thread, NULL) != 0 || pthread_join(t, NULL) != 0) return 1;
  BOTH_SAY("no plan is active");

  destroy(be);
  if (failures == 0) printf("one eclip_last_error for libeclip_c and %s (%s)\n", argv[2], argv[1]);
  return failures == 0 ? 0 : 1;
}

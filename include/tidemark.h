/* tidemark.h: ask the tidemark tracer for a heap-graph snapshot, or label a moment of
 * the run, from the program itself. Both are no-ops when the program is not traced
 * (no libtidemark_preload.so loaded), so they can stay in production code. C and C++;
 * no library to link (glibc's dlsym, in libc since glibc 2.34; link -ldl before that).
 *
 *   tidemark_snapshot();            // a snapshot soon, taken by the tracer's thread
 *   tidemark_mark("warm-up done");  // a label on the timeline (at most 255 bytes kept)
 */
#ifndef TIDEMARK_H
#define TIDEMARK_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>

#ifdef __cplusplus
extern "C" {
#endif

static inline void tidemark_snapshot(void) {
  static void (*request)(void);
  static int looked;
  if (!looked) {
    request = (void (*)(void))dlsym(RTLD_DEFAULT, "tidemark_request_snapshot");
    looked = 1;
  }
  if (request) request();
}

static inline void tidemark_mark(const char* label) {
  static void (*mark)(const char*);
  static int looked;
  if (!looked) {
    mark = (void (*)(const char*))dlsym(RTLD_DEFAULT, "tidemark_record_mark");
    looked = 1;
  }
  if (mark) mark(label);
}

#ifdef __cplusplus
}
#endif

#endif /* TIDEMARK_H */

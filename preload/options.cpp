// Parses the tracer's environment variables without allocating.
#include "options.h"

#include <cstdlib>
#include <cstring>

namespace tidemark::preload {
namespace {

void parse(const char* text, const char** out) { *out = text; }
void parse(const char* text, bool* out) { *out = strcmp(text, "0") != 0 && *text != '\0'; }
void parse(const char* text, GuardHeap* out) {
  if (strcmp(text, "auto") == 0) {
    *out = GuardHeap::Auto;
  } else {
    bool on;
    parse(text, &on);
    *out = on ? GuardHeap::Always : GuardHeap::Never;
  }
}
void parse(const char* text, uint32_t* out) {
  char* end;
  unsigned long value = strtoul(text, &end, 10);
  if (*text && !*end && value < 86'400'000ul) *out = static_cast<uint32_t>(value);
}

}  // namespace

Options readOptions() {
  Options options;
#define TIDEMARK_OPTION_READ(field, env, type, fallback) \
  if (const char* text = getenv(env)) parse(text, &options.field);
  TIDEMARK_OPTIONS(TIDEMARK_OPTION_READ)
#undef TIDEMARK_OPTION_READ
  // 0 means "off" for the snapshot options; the writer's intervals need a period.
  if (options.sampleIntervalMs == 0) options.sampleIntervalMs = Options{}.sampleIntervalMs;
  if (options.flushIntervalMs == 0) options.flushIntervalMs = Options{}.flushIntervalMs;
  return options;
}

}  // namespace tidemark::preload

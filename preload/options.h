// The tracer's options, read once from the environment at start into a plain struct.
// `tidemark record` sets these variables; docs/guide.md lists them.
#pragma once

#include <cstdint>

namespace tidemark::preload {

// When a snapshot guards the heap instead of copying it (heap_guard.h): TIDEMARK_GUARD_HEAP
// is "0", "1" or "auto".
enum class GuardHeap : uint8_t { Never, Auto, Always };

// X(field, environment variable, type, default)
#define TIDEMARK_OPTIONS(X)                                       \
  X(outputPrefix, "TIDEMARK_OUTPUT", const char*, "tidemark")     \
  X(outputFile, "TIDEMARK_OUTPUT_FILE", const char*, nullptr)     \
  X(manifestPath, "TIDEMARK_MANIFEST", const char*, nullptr)      \
  X(followExec, "TIDEMARK_FOLLOW_EXEC", bool, true)               \
  X(sampleIntervalMs, "TIDEMARK_SAMPLE_MS", uint32_t, 100)        \
  X(flushIntervalMs, "TIDEMARK_FLUSH_MS", uint32_t, 200)          \
  X(compressionLevel, "TIDEMARK_ZSTD_LEVEL", uint32_t, 3)         \
  X(verifyUnwind, "TIDEMARK_VERIFY_UNWIND", bool, false)          \
  X(snapshotAtExit, "TIDEMARK_SNAPSHOT_AT_EXIT", bool, true)      \
  X(snapshotIntervalMs, "TIDEMARK_SNAPSHOT_MS", uint32_t, 0)      \
  X(snapshotSignal, "TIDEMARK_SNAPSHOT_SIGNAL", uint32_t, 40)     \
  X(guardHeap, "TIDEMARK_GUARD_HEAP", GuardHeap, GuardHeap::Auto) \
  X(clearFreed, "TIDEMARK_CLEAR_FREED", bool, true)

struct Options {
#define TIDEMARK_OPTION_FIELD(field, env, type, fallback) type field = fallback;
  TIDEMARK_OPTIONS(TIDEMARK_OPTION_FIELD)
#undef TIDEMARK_OPTION_FIELD
};

// Reads the environment with getenv only (no allocation). Pointers stay valid as long as
// the environment is not changed, which the tracer copies out of at start.
Options readOptions();

}  // namespace tidemark::preload

// Where glibc malloc keeps the main arena's state (its static `main_arena`). Its top,
// bins and fast bins point at chunk headers, and a chunk's header overlaps the last word
// of the block before it: scanned as a root, it would hold the last block carved from
// the heap, or one next to a free chunk, "possibly lost" when nothing else points at it
// (memcheck, with its own allocator, has no such words). It is bookkeeping, never a root.
#pragma once

#include "range_set.h"

namespace tidemark::preload {

// The main arena's range in the object whose code `malloc` (the allocator's malloc) is,
// found by its shape (glibc 2.27 or later on x86-64); {0, 0} when that allocator is not
// glibc's or the shape is not there.
AddressRange findMainArena(const void* malloc);

}  // namespace tidemark::preload

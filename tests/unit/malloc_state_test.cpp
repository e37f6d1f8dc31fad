// glibc malloc's main arena, found by its shape, checked against what malloc then does.
#include "../../preload/malloc_state.h"

#include <malloc.h>

#include <catch2/catch.hpp>
#include <cstdint>
#include <cstdlib>

using namespace tidemark::preload;

TEST_CASE("main arena: its top chunk follows a block carved from it, and takes it back") {
  AddressRange arena = findMainArena(reinterpret_cast<const void*>(&malloc));
  REQUIRE(arena.end - arena.begin == 2200);
  auto top = [&] { return *reinterpret_cast<const uint64_t*>(arena.begin + 96); };
  // Bigger than any free chunk of this young process, below the mmap threshold: carved
  // from the top chunk, whose header then takes the block's last usable word.
  auto* block = static_cast<char*>(malloc(120'000));
  REQUIRE(block);
  auto address = reinterpret_cast<uint64_t>(block);
  CHECK(top() == address + malloc_usable_size(block) - 8);
  free(block);  // too big for the tcache: merged back into the top chunk
  CHECK(top() == address - 16);
}

// glibc malloc's main arena, found by its shape, checked against what malloc then does.
#include "../../preload/malloc_state.h"

#include <malloc.h>

#include <catch2/catch.hpp>
#include <cstdint>
#include <cstdlib>
#include <vector>

using namespace tidemark::preload;

TEST_CASE("main arena: its top chunk follows a block carved from it, and takes it back") {
  AddressRange arena = findMainArena(reinterpret_cast<const void*>(&malloc));
  REQUIRE(arena.end - arena.begin == 2200);
  auto top = [&] { return *reinterpret_cast<const uint64_t*>(arena.begin + 96); };
  // Below the mmap threshold, and once the free chunks big enough are used up (other
  // tests ran in this process before, or not): carved from the top chunk, whose header
  // then takes the block's last usable word.
  std::vector<void*> used;
  auto carved = [&](char* block) {
    return top() == reinterpret_cast<uint64_t>(block) + malloc_usable_size(block) - 8;
  };
  char* block = nullptr;
  for (int i = 0; i < 1000 && (!block || !carved(block)); ++i) {
    if (block) used.push_back(block);
    block = static_cast<char*>(malloc(120'000));
  }
  REQUIRE(block);
  CHECK(carved(block));
  auto address = reinterpret_cast<uint64_t>(block);
  // Freed (too big for the tcache), it merges back into the top chunk, with the chunk
  // before it if that is free.
  uint64_t header = *reinterpret_cast<const uint64_t*>(address - 8);
  uint64_t before = header & 1 ? 0 : *reinterpret_cast<const uint64_t*>(address - 16);
  free(block);
  CHECK(top() == address - 16 - before);
  for (void* p : used) free(p);
}

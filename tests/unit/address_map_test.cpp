// The replay's open-addressing map against std::unordered_map under random operations.
#include "address_map.h"

#include <catch2/catch.hpp>
#include <random>
#include <unordered_map>

using tidemark::analysis::AddressMap;

TEST_CASE("address map: finds, inserts and takes as std::unordered_map does") {
  AddressMap<uint32_t> map;
  std::unordered_map<uint64_t, uint32_t> reference;
  std::mt19937_64 random(7);
  // Few distinct keys, 16 bytes apart like heap blocks: long probe runs, many erasures.
  auto key = [&] { return 0x10000 + (random() % 5000) * 16; };
  for (int step = 0; step < 200'000; ++step) {
    uint64_t k = key();
    switch (random() % 3) {
      case 0: {
        auto [value, inserted] = map.tryEmplace(k, step);
        auto [it, expected] = reference.try_emplace(k, step);
        REQUIRE(inserted == expected);
        REQUIRE(*value == it->second);
        break;
      }
      case 1: {
        auto it = reference.find(k);
        std::optional<uint32_t> taken = map.take(k);
        REQUIRE(taken.has_value() == (it != reference.end()));
        if (taken) {
          REQUIRE(*taken == it->second);
          reference.erase(it);
        }
        break;
      }
      default: {
        auto* value = map.find(k);
        auto it = reference.find(k);
        REQUIRE((value != nullptr) == (it != reference.end()));
        if (value) REQUIRE(*value == it->second);
      }
    }
    REQUIRE(map.size() == reference.size());
  }
  for (const auto& [k, v] : reference) {
    REQUIRE(map.find(k));
    CHECK(*map.find(k) == v);
  }
}

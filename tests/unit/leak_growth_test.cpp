// Growth rates of lost bytes: the unit follows the span, and a group's growth counts
// from the first snapshot that had it.
#include "leak_growth.h"

#include <catch2/catch.hpp>
#include <string>

using namespace tidemark::analysis;

TEST_CASE("a growth is per second over two minutes or less, then per minute, then per hour") {
  Growth seconds = growthOver(6000, 60);
  CHECK(seconds.change == 6000);
  CHECK(seconds.bytesPerUnit == Approx(100));
  CHECK(std::string(seconds.unit) == "second");
  Growth minutes = growthOver(6000, 600);
  CHECK(minutes.bytesPerUnit == Approx(600));
  CHECK(std::string(minutes.unit) == "minute");
  Growth hours = growthOver(-36000, 10 * 3600);
  CHECK(hours.bytesPerUnit == Approx(-3600));
  CHECK(std::string(hours.unit) == "hour");
}

TEST_CASE("a leak group grows from its bytes at the first snapshot that had it") {
  LeakGroup group;
  group.bytes = 300;
  group.firstGroupS = 1;
  group.firstGroupBytes = 100;
  auto growth = growthSinceFirstSeen(group, 3);
  REQUIRE(growth);
  CHECK(growth->change == 200);
  CHECK(growth->bytesPerUnit == Approx(100));
  CHECK_FALSE(growthSinceFirstSeen(group, 1));  // that snapshot itself: nothing to say
}

// The viewer's plot arithmetic: tick steps, labels, downsampling that keeps every peak.
#include "plot_math.h"

#include <catch2/catch.hpp>

using namespace tidemark::viewer;

TEST_CASE("byte and time labels") {
  CHECK(formatBytes(0) == "0 B");
  CHECK(formatBytes(1000) == "1000 B");
  CHECK(formatBytes(1536) == "1.5 KiB");
  CHECK(formatBytes(2 * 1024 * 1024) == "2 MiB");
  CHECK(formatSignedBytes(1536) == "+1.5 KiB");
  CHECK(formatSignedBytes(-200) == "-200 B");
  CHECK(formatSignedBytes(0) == "0 B");
  CHECK(formatCount(950) == "950");
  CHECK(formatCount(12'500) == "12k");
  CHECK(formatCount(3'250'000) == "3.2M");
  CHECK(formatSeconds(0.25) == "250 ms");
  CHECK(formatSeconds(2.5) == "2.5 s");
  CHECK(formatSeconds(125) == "2 m 05 s");
  CHECK(formatSeconds(7320) == "2 h 02 m");
  CHECK(formatTick(2.14, 0.02) == "2.14 s");
  CHECK(formatTick(2.5, 0.5) == "2.5 s");
  CHECK(formatTick(0.2505, 0.0005) == "250.5 ms");
  CHECK(formatTick(0.25, 0.05) == "250 ms");
  CHECK(formatTick(120, 20) == "2 m 00 s");
}

TEST_CASE("ticks fall on round steps inside the range") {
  auto t = niceTicks(0, 9.5 * 1024 * 1024, 6, TickUnit::Bytes);
  REQUIRE(t.size() >= 4);
  CHECK(t[0] == 0);
  CHECK(t[1] == 2 * 1024 * 1024);  // steps of 2 MiB: at most 6 ticks over 9.5 MiB
  CHECK(t.back() <= 9.5 * 1024 * 1024);
  auto s = niceTicks(0.3, 2.29, 8, TickUnit::Seconds);
  REQUIRE(!s.empty());
  CHECK(s[0] == Approx(0.5));
  CHECK(s[1] - s[0] == Approx(0.5));  // the first of 1, 2, 5 x 0.1 not below 2/8 of a second
  CHECK(s.size() <= 8);
  CHECK(niceTicks(1, 1, 5, TickUnit::Plain).empty());
  // Counts step by powers of ten, not by the clock's minutes.
  CHECK(niceTicks(0, 93000, 2, TickUnit::Plain) == std::vector<double>{0, 50000});
  auto day = niceTicks(0, 86400, 8, TickUnit::Seconds);  // a day: every 3 hours
  REQUIRE(day.size() == 9);
  CHECK(day[1] == 10800);
}

TEST_CASE("downsampling keeps each column's min, max and last value") {
  std::vector<double> times, values;
  for (int i = 0; i < 1000; ++i) {
    times.push_back(i / 1000.0);
    values.push_back(i == 437 ? 1e9 : i);  // one spike
  }
  auto columns = downsample(times, values, 0, 1, 10);
  REQUIRE(columns.size() == 10);
  CHECK(columns[4].max == 1e9);  // the spike survives
  CHECK(columns[4].min == 400);
  CHECK(columns[9].last == 999);
  for (const auto& c : columns) CHECK_FALSE(c.empty);
  auto sparse = downsample({0.5}, {7}, 0, 1, 4);
  CHECK(sparse[2].last == 7);
  CHECK(sparse[0].empty);
}

TEST_CASE("axes map values to pixels and back") {
  Axis y{0, 100, 500, 100};  // screen y grows downwards
  CHECK(y.toPixel(0) == 500);
  CHECK(y.toPixel(100) == 100);
  CHECK(y.toValue(300) == Approx(50));
}

// The helper's range set and the hooks' mapping change log, against plain models.
#include "../../preload/range_set.h"

#include <catch2/catch.hpp>
#include <set>
#include <utility>
#include <vector>

#include "../../preload/mapping_changes.h"

using tidemark::preload::AddressRange;
using tidemark::preload::coveredByEither;
using tidemark::preload::MappingChange;
using tidemark::preload::MappingChangeRecord;
using tidemark::preload::RangeSet;

namespace {

using Ranges = std::vector<std::pair<uint64_t, uint64_t>>;

// A set with its storage, as the snapshot job holds them.
template <uint32_t kCapacity>
struct StoredRangeSet {
  AddressRange storage[kCapacity];
  uint32_t count = 0;
  RangeSet set{storage, kCapacity, &count};
};

Ranges contents(const RangeSet& set) {
  Ranges out;
  for (const AddressRange& r : set) out.emplace_back(r.begin, r.end);
  return out;
}

}  // namespace

TEST_CASE("range set: adding merges overlapping and touching ranges") {
  StoredRangeSet<8> stored;
  RangeSet& set = stored.set;
  REQUIRE(set.add(100, 200));
  REQUIRE(set.add(300, 400));
  REQUIRE(set.add(500, 600));
  CHECK(set.size() == 3);
  REQUIRE(set.add(200, 250));  // touches the first
  CHECK(contents(set) == Ranges{{100, 250}, {300, 400}, {500, 600}});
  REQUIRE(set.add(240, 520));  // overlaps three
  CHECK(contents(set) == Ranges{{100, 600}});
  REQUIRE(set.add(50, 60));
  CHECK(contents(set) == Ranges{{50, 60}, {100, 600}});
}

TEST_CASE("range set: removing trims, splits and drops ranges") {
  StoredRangeSet<3> stored;
  RangeSet& set = stored.set;
  REQUIRE(set.add(100, 200));
  REQUIRE(set.add(300, 400));
  REQUIRE(set.remove(150, 350));  // the end of one, the start of the next
  CHECK(contents(set) == Ranges{{100, 150}, {350, 400}});
  REQUIRE(set.remove(360, 370));  // a hole: one range becomes two
  CHECK(contents(set) == Ranges{{100, 150}, {350, 360}, {370, 400}});
  CHECK_FALSE(set.remove(110, 120));  // a fourth range does not fit: left as it was
  CHECK(set.size() == 3);
  REQUIRE(set.remove(0, 1000));
  CHECK(set.size() == 0);
}

TEST_CASE("range set: overlaps and coverage match an address-by-address model") {
  StoredRangeSet<64> storedA, storedB;
  RangeSet &a = storedA.set, &b = storedB.set;
  std::set<uint64_t> inA, inB;
  uint64_t seed = 12345;
  auto next = [&] { return (seed = seed * 6364136223846793005ull + 1442695040888963407ull) >> 33; };
  for (int step = 0; step < 2000; ++step) {
    uint64_t begin = next() % 200, end = begin + next() % 20;
    bool toA = next() % 2, adding = next() % 3 != 0;
    RangeSet& set = toA ? a : b;
    std::set<uint64_t>& model = toA ? inA : inB;
    if (adding ? set.add(begin, end) : set.remove(begin, end)) {
      for (uint64_t x = begin; x < end; ++x) adding ? (void)model.insert(x) : (void)model.erase(x);
    }
    uint64_t qBegin = next() % 220, qEnd = qBegin + 1 + next() % 30;
    bool overlapModel = false, coveredModel = true;
    for (uint64_t x = qBegin; x < qEnd; ++x) {
      overlapModel |= inA.count(x) > 0;
      coveredModel &= inA.count(x) > 0 || inB.count(x) > 0;
    }
    INFO("step " << step << " query [" << qBegin << ", " << qEnd << ")");
    REQUIRE(a.overlaps(qBegin, qEnd) == overlapModel);
    REQUIRE(coveredByEither(a, b, qBegin, qEnd) == coveredModel);
    for (size_t i = 1; i < a.size(); ++i) REQUIRE(a.begin()[i - 1].end <= a.begin()[i].begin);
  }
}

TEST_CASE("mapping change log: whole pages read back in order, overrun detected") {
  uint64_t first = tidemark::preload::mappingChangesNoted();
  uint64_t marks = tidemark::preload::dontForkChangesNoted();
  tidemark::preload::noteMappingChange(MappingChange::DontFork, 0x1000, 0x1800);
  tidemark::preload::noteMappingChange(MappingChange::Unmapped, 0x2000, 0x1000);
  tidemark::preload::noteMappingChange(MappingChange::DoFork, 0x2010, 0x1000);  // off a page
  CHECK(tidemark::preload::dontForkChangesNoted() == marks + 1);                // counted apart
  MappingChangeRecord r;
  REQUIRE(tidemark::preload::mappingChange(first, &r));
  CHECK(r.change == MappingChange::DontFork);
  CHECK(r.begin == 0x1000);
  CHECK(r.end == 0x3000);  // 0x1800 bytes cover two pages
  REQUIRE(tidemark::preload::mappingChange(first + 1, &r));
  CHECK(r.change == MappingChange::Unmapped);
  CHECK(r.begin == 0x2000);
  CHECK(r.end == 0x3000);
  CHECK_FALSE(tidemark::preload::mappingChange(first + 2, &r));  // the kernel refuses 0x2010
  for (int i = 0; i < 100'000; ++i) {
    tidemark::preload::noteMappingChange(MappingChange::Mapped, 0x5000, 0x1000);
  }
  CHECK_FALSE(tidemark::preload::mappingChange(first, &r));       // overwritten since
  CHECK(tidemark::preload::dontForkChangesNoted() == marks + 1);  // still known
  CHECK(tidemark::preload::mappingChange(tidemark::preload::mappingChangesNoted() - 1, &r));
}

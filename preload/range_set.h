// A set of addresses kept as sorted, disjoint [begin, end) ranges in storage the caller
// owns: the snapshot helper runs while every thread is stopped and may not allocate.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>

namespace tidemark::preload {

struct AddressRange {
  uint64_t begin;
  uint64_t end;

  bool overlaps(uint64_t b, uint64_t e) const { return b < end && begin < e; }
};

class RangeSet {
 public:
  // The set is ranges[0, *count): sorted by begin, disjoint (touching ranges may stay apart).
  RangeSet(AddressRange* ranges, uint32_t capacity, uint32_t* count)
      : ranges_(ranges), capacity_(capacity), count_(count) {}

  // False when the set is full (it is left unchanged).
  bool add(uint64_t begin, uint64_t end) {
    if (begin >= end) return true;
    // Every range that overlaps or touches [begin, end) merges with it.
    AddressRange* first =
        std::lower_bound(ranges_, ranges_ + *count_, begin,
                         [](const AddressRange& r, uint64_t b) { return r.end < b; });
    AddressRange* last = first;
    while (last < ranges_ + *count_ && last->begin <= end) ++last;
    if (first == last) {  // nothing to merge with: a new range at `first`
      if (*count_ == capacity_) return false;
      memmove(first + 1, first, (ranges_ + *count_ - first) * sizeof *first);
      *first = {begin, end};
      ++*count_;
      return true;
    }
    first->begin = std::min(first->begin, begin);
    first->end = std::max((last - 1)->end, end);
    erase(first + 1, last);
    return true;
  }

  // False when a range split in two would not fit (the set is left unchanged).
  bool remove(uint64_t begin, uint64_t end) {
    if (begin >= end) return true;
    AddressRange* first =
        std::lower_bound(ranges_, ranges_ + *count_, begin,
                         [](const AddressRange& r, uint64_t b) { return r.end <= b; });
    AddressRange* last = first;
    while (last < ranges_ + *count_ && last->begin < end) ++last;
    if (first == last) return true;
    if (last - first == 1 && first->begin < begin && end < first->end) {  // a hole inside
      if (*count_ == capacity_) return false;
      memmove(first + 1, first, (ranges_ + *count_ - first) * sizeof *first);
      ++*count_;
      first->end = begin;
      (first + 1)->begin = end;
      return true;
    }
    // Keep the part of the first range before `begin` and of the last after `end`.
    if (first->begin < begin) (first++)->end = begin;
    if (first < last && end < (last - 1)->end) (--last)->begin = end;
    erase(first, last);
    return true;
  }

  bool overlaps(uint64_t begin, uint64_t end) const {
    const AddressRange* it =
        std::lower_bound(ranges_, ranges_ + *count_, begin,
                         [](const AddressRange& r, uint64_t b) { return r.end <= b; });
    return it < ranges_ + *count_ && it->begin < end;
  }

  // The first address at or after `at` that the set does not hold (`at` itself when the
  // set does not hold it).
  uint64_t endOfRun(uint64_t at) const {
    const AddressRange* it =
        std::lower_bound(ranges_, ranges_ + *count_, at,
                         [](const AddressRange& r, uint64_t b) { return r.end <= b; });
    while (it < ranges_ + *count_ && it->begin <= at) at = std::max(at, (it++)->end);
    return at;
  }

  uint32_t size() const { return *count_; }
  const AddressRange* begin() const { return ranges_; }
  const AddressRange* end() const { return ranges_ + *count_; }

 private:
  void erase(AddressRange* from, AddressRange* to) {
    memmove(from, to, (ranges_ + *count_ - to) * sizeof *from);
    *count_ -= static_cast<uint32_t>(to - from);
  }

  AddressRange* ranges_;
  uint32_t capacity_;
  uint32_t* count_;
};

// True when every address of [begin, end) is in a or in b.
inline bool coveredByEither(const RangeSet& a, const RangeSet& b, uint64_t begin, uint64_t end) {
  for (uint64_t at = begin; at < end;) {
    uint64_t next = std::max(a.endOfRun(at), b.endOfRun(at));
    if (next == at) return false;
    at = next;
  }
  return true;
}

}  // namespace tidemark::preload

// The bitmap by which the tracer's tables know a page no insert wrote (written_pages.h).
#include "../../preload/written_pages.h"

#include <catch2/catch.hpp>

using tidemark::preload::WrittenPages;

TEST_CASE("a table's page may hold a slot once an insert on that page was noted") {
  static WrittenPages<size_t{100} << 20> pages;  // 25,600 pages: words beyond the first
  CHECK_FALSE(pages.mayHold(0));
  CHECK_FALSE(pages.mayHold((size_t{100} << 20) - 8));
  pages.note(4096 * 70 + 24);  // a slot inside the 71st page (second word of the bitmap)
  for (size_t offset : {size_t{4096 * 70}, size_t{4096 * 70 + 24}, size_t{4096 * 71 - 8}}) {
    CHECK(pages.mayHold(offset));
  }
  CHECK_FALSE(pages.mayHold(4096 * 69 + 4088));  // the page before
  CHECK_FALSE(pages.mayHold(4096 * 71));         // the page after
  CHECK_FALSE(pages.mayHold(4096 * 6));          // the same bit in the first word
  pages.note(4096 * 70);                         // noting again changes nothing else
  pages.note((size_t{100} << 20) - 8);           // the last page
  CHECK(pages.mayHold((size_t{100} << 20) - 4096));
  CHECK_FALSE(pages.mayHold((size_t{100} << 20) - 4097));
  CHECK(pages.mayHold(4096 * 70));
}

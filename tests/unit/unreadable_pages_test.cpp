// The scanning child's fault handler (preload/unreadable_pages): a page of the program's
// memory that faults reads as zeros and is noted with its mapping; any other fault is told
// and kills. Each case runs in a forked child: the handler and its notes are the process's.
#include "../../preload/unreadable_pages.h"

#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstring>
#include <string>

using namespace tidemark::preload;

namespace {

constexpr size_t kPage = 4096;

// Three pages, the middle one unreadable (PROT_NONE: SIGSEGV when read).
char* mapWithHole() {
  auto* pages = static_cast<char*>(
      mmap(nullptr, 3 * kPage, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
  REQUIRE(pages != MAP_FAILED);
  memset(pages, 0x5a, 3 * kPage);
  REQUIRE(mprotect(pages + kPage, kPage, PROT_NONE) == 0);
  return pages;
}

uint64_t sum(const char* pages) {
  uint64_t total = 0;
  for (size_t i = 0; i < 3 * kPage; ++i) total += static_cast<unsigned char>(pages[i]);
  return total;
}

struct Case {
  const char* pages;
  int report;  // a pipe's write end for what the fatal handler is told
};

bool inPages(const void* self, uint64_t address) {
  auto& c = *static_cast<const Case*>(self);
  auto begin = reinterpret_cast<uint64_t>(c.pages);
  return address >= begin && address < begin + 3 * kPage;
}

bool nowhere(const void*, uint64_t) { return false; }

void tell(const void* self, const UnreadableRun& fault) {
  auto& c = *static_cast<const Case*>(self);
  (void)!write(c.report, &fault, sizeof fault);
}

// Runs `body` in a forked child; its wait status.
template <typename Body>
int inChild(Body&& body) {
  pid_t child = fork();
  if (child == 0) _exit(body());
  int status = 0;
  waitpid(child, &status, 0);
  return status;
}

}  // namespace

TEST_CASE("a fault in the program's memory reads as zeros and is noted with its mapping") {
  int status = inChild([] {
    char* pages = mapWithHole();
    Case c{pages, -1};
    readUnreadableAsZeros(inPages, tell, &c);
    // Two pages of 0x5a around one of zeros.
    if (sum(pages) != 2 * kPage * 0x5a) return 1;
    if (unreadableRunCount() != 1 || unreadableRunsOverflowed()) return 2;
    const UnreadableRun& run = unreadableRun(0);
    if (run.begin != reinterpret_cast<uint64_t>(pages + kPage)) return 3;
    if (run.end != run.begin + kPage || run.signal != SIGSEGV || run.code != SEGV_ACCERR) return 4;
    if (!strstr(run.mapping, " ---p ")) return 5;  // as it was when the page faulted
    return 0;
  });
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
}

TEST_CASE("a fault outside the program's memory is told, and kills") {
  int report[2];
  REQUIRE(pipe(report) == 0);
  char* pages = mapWithHole();
  int status = inChild([&] {
    Case c{pages, report[1]};
    readUnreadableAsZeros(nowhere, tell, &c);
    return sum(pages) > 0 ? 0 : 1;  // never returns
  });
  close(report[1]);
  CHECK(WIFSIGNALED(status));
  CHECK(WTERMSIG(status) == SIGSEGV);
  UnreadableRun fault{};
  REQUIRE(read(report[0], &fault, sizeof fault) == sizeof fault);
  close(report[0]);
  CHECK(fault.begin == reinterpret_cast<uint64_t>(pages + kPage));
  CHECK(fault.signal == SIGSEGV);
  CHECK(std::string(fault.mapping).find(" ---p ") != std::string::npos);
  munmap(pages, 3 * kPage);
}

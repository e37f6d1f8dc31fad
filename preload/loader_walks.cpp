// Walks of the loaded objects against fork (see loader_walks.h).
#include "loader_walks.h"

#include <sched.h>

#include <atomic>
#include <cstdint>

namespace tidemark::preload {
namespace {

std::atomic<uint32_t> walks{0};    // under way
std::atomic<uint32_t> forking{0};  // a fork waits for them, or is under way

}  // namespace

LoaderWalk::LoaderWalk() {
  for (;;) {
    walks.fetch_add(1);
    if (forking.load() == 0) return;
    walks.fetch_sub(1);  // the fork goes first
    while (forking.load() != 0) sched_yield();
  }
}

LoaderWalk::~LoaderWalk() { walks.fetch_sub(1); }

int walkLoadedObjects(int (*visit)(dl_phdr_info*, size_t, void*), void* data) {
  LoaderWalk walk;
  return dl_iterate_phdr(visit, data);
}

void holdLoaderWalks() {
  // One fork at a time: a second waits for the first to let the walks go.
  uint32_t expected = 0;
  while (!forking.compare_exchange_weak(expected, 1)) {
    expected = 0;
    sched_yield();
  }
  while (walks.load() != 0) sched_yield();
}

void releaseLoaderWalks() { forking.store(0); }

void resetLoaderWalksInChild() {
  walks.store(0);
  forking.store(0);
}

}  // namespace tidemark::preload

// Walks of the loaded objects against fork: a child forked while another thread is inside
// dl_iterate_phdr inherits glibc's lock held and waits for it forever in its own walk,
// unless the fork waits for the walk (preload/loader_walks.h).
#include "../../preload/loader_walks.h"

#include <pthread.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <thread>

using namespace tidemark::preload;

namespace {

std::atomic<bool> stop{false};

// Slow on purpose: the walking thread is inside dl_iterate_phdr most of the time.
int slowVisit(dl_phdr_info*, size_t, void*) {
  auto until = std::chrono::steady_clock::now() + std::chrono::microseconds(50);
  while (std::chrono::steady_clock::now() < until) {
  }
  return 0;
}

int countObjects(dl_phdr_info*, size_t, void* data) {
  ++*static_cast<int*>(data);
  return 0;
}

// Forks 30 times while another thread walks; each child walks once and exits 0. The
// number of children that did within a second each (a hung one is killed).
int childrenThatWalked() {
  int walked = 0;
  for (int i = 0; i < 30; ++i) {
    pid_t child = fork();
    if (child == 0) {
      int objects = 0;
      walkLoadedObjects(countObjects, &objects);
      _exit(objects > 0 ? 0 : 1);
    }
    int status = -1;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(1);
    while (waitpid(child, &status, WNOHANG) == 0) {
      if (std::chrono::steady_clock::now() > deadline) {
        kill(child, SIGKILL);
        waitpid(child, &status, 0);
        break;
      }
      std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
    walked += WIFEXITED(status) && WEXITSTATUS(status) == 0;
  }
  return walked;
}

}  // namespace

TEST_CASE("a fork waits for the walks of the loaded objects under way, and its child walks") {
  static bool registered =
      pthread_atfork(holdLoaderWalks, releaseLoaderWalks, resetLoaderWalksInChild) == 0;
  REQUIRE(registered);
  stop = false;
  std::thread walker([] {
    while (!stop) walkLoadedObjects(slowVisit, nullptr);
  });
  int walked = childrenThatWalked();
  stop = true;
  walker.join();
  CHECK(walked == 30);  // without the atfork handlers: 0
}

// Test program: waits in epoll_wait, epoll_pwait and epoll_pwait2, each on an empty epoll
// set with a 1.5 s timeout, and prints what each returned and after how long. Under snapshots
// every 100 ms each stop restarts the call; it must still time out, with 0.
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace {

double nowMs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

void report(const char* call, int result, double startedMs) {
  printf("%s returned %d (%s) after %.0f ms\n", call, result, result < 0 ? strerror(errno) : "ok",
         nowMs() - startedMs);
}

}  // namespace

int main() {
  int ep = epoll_create1(EPOLL_CLOEXEC);
  if (ep < 0) return 2;
  epoll_event events[1];
  double start = nowMs();
  report("epoll_wait", epoll_wait(ep, events, 1, 1500), start);
  start = nowMs();
  report("epoll_pwait", epoll_pwait(ep, events, 1, 1500, nullptr), start);
  const timespec timeout{1, 500'000'000};
  start = nowMs();
  report("epoll_pwait2", epoll_pwait2(ep, events, 1, &timeout, nullptr), start);
  fflush(stdout);
  close(ep);
  return 0;
}

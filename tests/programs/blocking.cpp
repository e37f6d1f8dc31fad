// Test program: threads blocked in the calls a stop-the-world snapshot could interrupt,
// while snapshots are taken every few milliseconds. Each call must complete as if no
// snapshot happened: an EINTR the program did not cause is counted and fails the run.
//   blocking SECONDS
// Threads: epoll_wait (no timeout), read from a pipe, accept, nanosleep in a loop,
// sigtimedwait, recv with SO_RCVTIMEO, poll, futex-based condition wait; a churn thread
// allocates meanwhile. Also leaks 3 blocks of 96 bytes (leakThree) and keeps 5 of 48
// bytes reachable (keepFive). Prints "eintr=N" and exits 0 when N is 0.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <thread>
#include <vector>

namespace {

std::atomic<int> eintr{0};
std::atomic<bool> stopping{false};
void* kept[5];

void check(long result, const char* what) {
  if (result < 0 && errno == EINTR) {
    ++eintr;
    fprintf(stderr, "EINTR from %s\n", what);
  }
}

__attribute__((noinline)) void leakThree() {
  for (int i = 0; i < 3; ++i) {
    void* p = calloc(1, 96);
    asm volatile("" : : "r"(p) : "memory");
  }
}

__attribute__((noinline)) void keepFive() {
  for (auto& k : kept) k = calloc(1, 48);
}

}  // namespace

int main(int argc, char** argv) {
  int seconds = argc > 1 ? atoi(argv[1]) : 2;
  keepFive();
  leakThree();

  int wake = eventfd(0, 0);
  int epoll = epoll_create1(0);
  epoll_event ev{};
  ev.events = EPOLLIN;
  epoll_ctl(epoll, EPOLL_CTL_ADD, wake, &ev);
  int pipeFds[2], pollFds[2];  // poll has a pipe of its own: read would take its byte
  if (pipe(pipeFds) != 0 || pipe(pollFds) != 0) return 2;
  int listener = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof addr;
  bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  listen(listener, 4);
  getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &length);
  int pair[2];
  socketpair(AF_UNIX, SOCK_STREAM, 0, pair);
  timeval timeout{30, 0};
  setsockopt(pair[0], SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  sigset_t usr;
  sigemptyset(&usr);
  sigaddset(&usr, SIGUSR1);
  pthread_sigmask(SIG_BLOCK, &usr, nullptr);  // inherited by every thread below
  std::mutex mutex;
  std::condition_variable condition;

  std::vector<std::thread> threads;
  threads.emplace_back([&] {
    epoll_event out;
    check(epoll_wait(epoll, &out, 1, -1), "epoll_wait");
  });
  threads.emplace_back([&] {
    char c;
    check(read(pipeFds[0], &c, 1), "read");
  });
  threads.emplace_back([&] { check(accept(listener, nullptr, nullptr), "accept"); });
  threads.emplace_back([&] {
    while (!stopping) {
      timespec ts{0, 5'000'000};
      check(nanosleep(&ts, nullptr), "nanosleep");
    }
  });
  threads.emplace_back([&] {
    timespec ts{30, 0};
    check(sigtimedwait(&usr, nullptr, &ts), "sigtimedwait");
  });
  threads.emplace_back([&] {
    char c;
    check(recv(pair[0], &c, 1, 0), "recv");
  });
  threads.emplace_back([&] {
    pollfd p{pollFds[0], POLLIN | POLLHUP, 0};
    check(poll(&p, 1, 30'000), "poll");
  });
  threads.emplace_back([&] {
    std::unique_lock lock(mutex);
    condition.wait(lock, [] { return stopping.load(); });
  });
  threads.emplace_back([&] {
    while (!stopping) {
      std::vector<std::vector<int>> churn(64);
      for (auto& v : churn) v.resize(16);
    }
  });

  std::this_thread::sleep_for(std::chrono::seconds(seconds));
  stopping = true;
  uint64_t one = 1;
  check(write(wake, &one, sizeof one), "write");
  check(write(pipeFds[1], "x", 1), "write");
  check(write(pollFds[1], "x", 1), "write");
  int client = socket(AF_INET, SOCK_STREAM, 0);
  check(connect(client, reinterpret_cast<sockaddr*>(&addr), sizeof addr), "connect");
  check(write(pair[1], "y", 1), "write");
  kill(getpid(), SIGUSR1);
  { std::lock_guard lock(mutex); }
  condition.notify_all();
  for (auto& t : threads) t.join();
  printf("eintr=%d\n", eintr.load());
  return eintr == 0 ? 0 : 1;
}

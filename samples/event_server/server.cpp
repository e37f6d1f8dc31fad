// tidemark's sample event-loop server, in the Node.js style: one epoll loop thread on
// 127.0.0.1, a worker pool for blocking file reads with eventfd completions, a timer and
// an event emitter. It carries the planted leaks documented in leaks.h.
//
// Protocol (one line each way): "REQ <anything>" → "OK <request> <checksum>" (or
// "ERR <request>" on the validation-error path); "QUIT" → "BYE" and a clean exit.
// SIGTERM and SIGINT also exit cleanly.
//
//   event_server [--port P] [--port-file FILE] [--leaks abcde|none] [--pool-threads N]
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "event_emitter.h"
#include "leaks.h"
#include "thread_pool.h"

namespace sample {
namespace {

struct Options {
  int port = 0;
  std::string portFile;
  std::string leaks = "abcde";
  unsigned poolThreads = 2;
};

struct Connection {
  uint64_t id = 0;
  int fd = -1;
  std::string input;
  std::string output;
  Session* session = nullptr;  // (b) forgotten on close
};

struct Stats {
  uint64_t requests;
  uint64_t connections;
  uint64_t open;
  uint64_t cached;
};

class Server {
 public:
  Server(const Options& options);
  int run();

 private:
  void accept();
  void onReadable(Connection& c);
  void onWritable(Connection& c);
  void handleLine(Connection& c, const std::string& line);
  void handleRequest(Connection& c);
  void send(uint64_t connectionId, const std::string& text);
  void close(uint64_t connectionId);
  void onTimer();
  void watch(int fd, uint64_t key, uint32_t events, int op = EPOLL_CTL_ADD);

  Options options_;
  LeakSwitches leaks_;
  ThreadPool pool_;
  std::unordered_map<uint64_t, std::unique_ptr<Connection>> connections_;
  int epoll_ = -1, listen_ = -1, timer_ = -1, signals_ = -1, dataFd_ = -1;
  off_t dataBytes_ = 0;
  uint64_t nextConnection_ = 16;  // keys below 16 name the server's own fds
  uint64_t requests_ = 0;
  uint64_t connectionsServed_ = 0;
  bool running_ = true;
};

enum : uint64_t { kListenKey = 1, kPoolKey = 2, kTimerKey = 3, kSignalKey = 4 };

Server::Server(const Options& options)
    : options_(options), leaks_(LeakSwitches::parse(options.leaks)), pool_(options.poolThreads) {}

void Server::watch(int fd, uint64_t key, uint32_t events, int op) {
  epoll_event ev{};
  ev.events = events;
  ev.data.u64 = key;
  epoll_ctl(epoll_, op, fd, &ev);
}

int Server::run() {
  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGTERM);
  sigaddset(&mask, SIGINT);
  sigprocmask(SIG_BLOCK, &mask, nullptr);
  signals_ = signalfd(-1, &mask, SFD_CLOEXEC);

  listen_ = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  int one = 1;
  setsockopt(listen_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(options_.port));
  socklen_t length = sizeof addr;
  if (bind(listen_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      listen(listen_, 128) != 0 ||
      getsockname(listen_, reinterpret_cast<sockaddr*>(&addr), &length) != 0) {
    perror("event_server: listen");
    return 1;
  }
  int port = ntohs(addr.sin_port);
  if (!options_.portFile.empty()) {
    std::string tmp = options_.portFile + ".tmp";
    FILE* f = fopen(tmp.c_str(), "w");
    if (!f) return perror("event_server: port file"), 1;
    fprintf(f, "%d\n", port);
    fclose(f);
    rename(tmp.c_str(), options_.portFile.c_str());  // readers never see a partial file
  }
  dataFd_ = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
  struct stat st;
  fstat(dataFd_, &st);
  dataBytes_ = st.st_size;

  timer_ = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
  itimerspec every50ms{{0, 50'000'000}, {0, 50'000'000}};
  timerfd_settime(timer_, 0, &every50ms, nullptr);

  epoll_ = epoll_create1(EPOLL_CLOEXEC);
  watch(listen_, kListenKey, EPOLLIN);
  watch(pool_.completionFd(), kPoolKey, EPOLLIN);
  watch(timer_, kTimerKey, EPOLLIN);
  watch(signals_, kSignalKey, EPOLLIN);

  epoll_event events[64];
  while (running_) {
    int n = epoll_wait(epoll_, events, 64, -1);
    if (n < 0) {
      if (errno == EINTR) continue;
      perror("event_server: epoll_wait");
      return 1;
    }
    for (int i = 0; i < n; ++i) {
      uint64_t key = events[i].data.u64;
      if (key == kListenKey) {
        accept();
      } else if (key == kPoolKey) {
        pool_.runCompletions();
      } else if (key == kTimerKey) {
        onTimer();
      } else if (key == kSignalKey) {
        running_ = false;
      } else if (auto it = connections_.find(key); it != connections_.end()) {
        if (events[i].events & EPOLLOUT) onWritable(*it->second);
        if (events[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) onReadable(*it->second);
      }
    }
  }
  while (!connections_.empty()) close(connections_.begin()->first);
  printf("event_server: served %llu requests over %llu connections, %llu cached\n",
         static_cast<unsigned long long>(requests_),
         static_cast<unsigned long long>(connectionsServed_),
         static_cast<unsigned long long>(cachedResponses()));
  for (int fd : {epoll_, listen_, timer_, signals_, dataFd_}) ::close(fd);
  return 0;
}

void Server::accept() {
  for (;;) {
    int fd = accept4(listen_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) return;
    auto c = std::make_unique<Connection>();
    c->id = nextConnection_++;
    c->fd = fd;
    watch(fd, c->id, EPOLLIN);
    connections_.emplace(c->id, std::move(c));
  }
}

void Server::onReadable(Connection& c) {
  char buffer[4096];
  for (;;) {
    ssize_t n = read(c.fd, buffer, sizeof buffer);
    if (n > 0) {
      c.input.append(buffer, static_cast<size_t>(n));
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) break;
    close(c.id);  // EOF or error
    return;
  }
  uint64_t id = c.id;
  size_t end;
  while ((end = c.input.find('\n')) != std::string::npos) {
    std::string line = c.input.substr(0, end);
    c.input.erase(0, end + 1);
    handleLine(c, line);
    if (!connections_.count(id)) return;
  }
}

void Server::onWritable(Connection& c) {
  ssize_t n = write(c.fd, c.output.data(), c.output.size());
  if (n > 0) c.output.erase(0, static_cast<size_t>(n));
  if (c.output.empty()) watch(c.fd, c.id, EPOLLIN, EPOLL_CTL_MOD);
}

void Server::handleLine(Connection& c, const std::string& line) {
  if (line.rfind("REQ", 0) == 0) {
    handleRequest(c);
  } else if (line == "QUIT") {
    send(c.id, "BYE\n");
    running_ = false;
  } else {
    send(c.id, "ERR unknown command\n");
  }
}

void Server::handleRequest(Connection& c) {
  uint64_t request = ++requests_;
  if (!c.session) {
    ++connectionsServed_;
    if (leaks_.session) c.session = openSession(c.id, "127.0.0.1");
    if (leaks_.listener) subscribeConnection(processEmitter(), c.id);
  }
  bool failed = leaks_.errorBuffer && request % 7 == 0;
  if (failed) leakErrorBuffer(request);
  auto buffer = std::make_shared<std::vector<unsigned char>>(4096);
  auto* job = new Job;
  job->id = request;
  bool scratch = leaks_.poolScratch;
  int fd = dataFd_;
  off_t offset = static_cast<off_t>((request * 4096) % static_cast<uint64_t>(dataBytes_));
  job->work = [buffer, fd, offset, scratch](Job& j) {
    ssize_t n = pread(fd, buffer->data(), buffer->size(), offset);  // the blocking part
    buffer->resize(n > 0 ? static_cast<size_t>(n) : 0);
    if (scratch && j.id % 10 == 0) poolScratch(j.id);
  };
  uint64_t connection = c.id;
  bool cache = leaks_.cache;
  job->complete = [this, buffer, connection, cache, failed](Job& j) {
    uint64_t checksum = 0;
    for (unsigned char byte : *buffer) checksum = checksum * 31 + byte;
    if (cache) cacheResponse(j.id, checksum);
    send(connection, failed ? "ERR " + std::to_string(j.id) + "\n"
                            : "OK " + std::to_string(j.id) + " " + std::to_string(checksum) + "\n");
  };
  pool_.submit(job);
}

void Server::send(uint64_t connectionId, const std::string& text) {
  auto it = connections_.find(connectionId);
  if (it == connections_.end()) return;  // the client left before its answer
  Connection& c = *it->second;
  if (c.output.empty()) {
    ssize_t n = write(c.fd, text.data(), text.size());
    if (n == static_cast<ssize_t>(text.size())) return;
    c.output = text.substr(n > 0 ? static_cast<size_t>(n) : 0);
  } else {
    c.output += text;
  }
  watch(c.fd, c.id, EPOLLIN | EPOLLOUT, EPOLL_CTL_MOD);
}

void Server::close(uint64_t connectionId) {
  auto it = connections_.find(connectionId);
  if (it == connections_.end()) return;
  epoll_ctl(epoll_, EPOLL_CTL_DEL, it->second->fd, nullptr);
  ::close(it->second->fd);
  it->second->session = nullptr;  // (b) the bug: the session is never deleted
  connections_.erase(it);
}

void Server::onTimer() {
  uint64_t expirations;
  ssize_t ignored = read(timer_, &expirations, sizeof expirations);
  (void)ignored;
  auto stats = std::make_unique<Stats>(
      Stats{requests_, connectionsServed_, connections_.size(), cachedResponses()});
  processEmitter().emit("tick", stats->requests);
}

}  // namespace
}  // namespace sample

int main(int argc, char** argv) {
  sample::Options options;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) {
        fprintf(stderr, "event_server: %s needs a value\n", arg.c_str());
        exit(2);
      }
      return argv[++i];
    };
    if (arg == "--port") {
      options.port = atoi(value().c_str());
    } else if (arg == "--port-file") {
      options.portFile = value();
    } else if (arg == "--leaks") {
      options.leaks = value();
    } else if (arg == "--pool-threads") {
      options.poolThreads = static_cast<unsigned>(atoi(value().c_str()));
    } else {
      fprintf(stderr,
              "usage: event_server [--port P] [--port-file FILE] [--leaks abcde|none] "
              "[--pool-threads N]\n");
      return 2;
    }
  }
  sample::Server server(options);
  return server.run();
}

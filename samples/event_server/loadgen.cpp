// Load generator for the sample servers: sends exactly N requests over M connections on
// 127.0.0.1 (each connection sends its share one at a time, waiting for each answer),
// closes them, and with --quit asks the server to exit. Bounded: every wait times out.
//
//   loadgen (--port P | --port-file FILE) --requests N --connections M [--quit]
// Exit status 0 when every request was answered, 1 otherwise.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

namespace {

constexpr int kTimeoutSeconds = 20;

int connectTo(int port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  timeval timeout{kTimeoutSeconds, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

// Sends one line and reads one line back; false on error or timeout. The server answers
// only what was asked, so a read never returns more than this line: reading it in one
// call instead of a byte at a time keeps the load generator's own system time (0.5 s for
// 20,000 requests) out of the server's measurements.
bool exchange(int fd, const std::string& request, std::string* answer) {
  if (write(fd, request.data(), request.size()) != static_cast<ssize_t>(request.size())) {
    return false;
  }
  answer->clear();
  char buffer[256];
  ssize_t n;
  while ((n = read(fd, buffer, sizeof buffer)) > 0) {
    answer->append(buffer, static_cast<size_t>(n));
    if (answer->back() == '\n') {
      answer->pop_back();
      return true;
    }
  }
  return false;
}

int waitForPort(const std::string& portFile) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(kTimeoutSeconds);
  while (std::chrono::steady_clock::now() < deadline) {
    std::ifstream in(portFile);
    int port = 0;
    if (in >> port && port > 0) return port;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return -1;
}

}  // namespace

int main(int argc, char** argv) {
  int port = -1;
  std::string portFile;
  long requests = 0, connections = 1;
  bool quit = false;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    bool hasValue = i + 1 < argc;
    if (arg == "--port" && hasValue)
      port = atoi(argv[++i]);
    else if (arg == "--port-file" && hasValue)
      portFile = argv[++i];
    else if (arg == "--requests" && hasValue)
      requests = atol(argv[++i]);
    else if (arg == "--connections" && hasValue)
      connections = atol(argv[++i]);
    else if (arg == "--quit")
      quit = true;
    else {
      fprintf(stderr,
              "usage: loadgen (--port P | --port-file FILE) --requests N "
              "--connections M [--quit]\n");
      return 2;
    }
  }
  if (port < 0 && !portFile.empty()) port = waitForPort(portFile);
  if (port <= 0 || connections < 1 || requests < connections) {
    fprintf(stderr, "loadgen: need a server port and requests >= connections >= 1\n");
    return 2;
  }

  std::atomic<long> answered{0};
  std::vector<std::thread> clients;
  for (long c = 0; c < connections; ++c) {
    long share = requests / connections + (c < requests % connections ? 1 : 0);
    clients.emplace_back([&, share] {
      int fd = connectTo(port);
      if (fd < 0) return;
      std::string answer;
      for (long i = 0; i < share; ++i) {
        if (!exchange(fd, "REQ\n", &answer)) break;
        if (answer.rfind("OK ", 0) == 0 || answer.rfind("ERR ", 0) == 0) ++answered;
      }
      close(fd);
    });
  }
  for (auto& t : clients) t.join();

  if (quit) {
    int fd = connectTo(port);
    std::string answer;
    if (fd < 0 || !exchange(fd, "QUIT\n", &answer) || answer != "BYE") {
      fprintf(stderr, "loadgen: the server did not acknowledge QUIT\n");
      return 1;
    }
    close(fd);
  }
  printf("loadgen: %ld of %ld requests answered over %ld connections\n", answered.load(), requests,
         connections);
  return answered.load() == requests ? 0 : 1;
}

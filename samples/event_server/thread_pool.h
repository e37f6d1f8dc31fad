// A libuv-style worker pool: blocking jobs run on pool threads, their completions are
// posted back to the loop thread through an eventfd.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace sample {

struct Job {
  uint64_t id = 0;
  std::function<void(Job&)> work;      // runs on a pool thread
  std::function<void(Job&)> complete;  // runs on the loop thread
};

class ThreadPool {
 public:
  explicit ThreadPool(unsigned threads);
  ~ThreadPool();

  // Called from the loop thread; takes ownership of the job.
  void submit(Job* job);
  // The fd the loop polls; readable when completions wait.
  int completionFd() const { return eventFd_; }
  // Runs the completion of every finished job and deletes it (loop thread).
  void runCompletions();

 private:
  void workerMain(unsigned index);

  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<Job*> pending_;
  std::deque<Job*> finished_;
  std::vector<std::thread> workers_;
  bool stopping_ = false;
  int eventFd_ = -1;
};

}  // namespace sample

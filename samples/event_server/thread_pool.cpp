// Worker pool with eventfd completions (see thread_pool.h).
#include "thread_pool.h"

#include <pthread.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <string>

namespace sample {

ThreadPool::ThreadPool(unsigned threads) {
  eventFd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  for (unsigned i = 0; i < threads; ++i) workers_.emplace_back([this, i] { workerMain(i); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  for (auto& t : workers_) t.join();
  for (Job* job : pending_) delete job;
  for (Job* job : finished_) delete job;
  close(eventFd_);
}

void ThreadPool::submit(Job* job) {
  {
    std::lock_guard lock(mutex_);
    pending_.push_back(job);
  }
  wake_.notify_one();
}

void ThreadPool::workerMain(unsigned index) {
  std::string name = "pool-" + std::to_string(index);
  pthread_setname_np(pthread_self(), name.c_str());
  for (;;) {
    Job* job;
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [this] { return stopping_ || !pending_.empty(); });
      if (pending_.empty()) return;
      job = pending_.front();
      pending_.pop_front();
    }
    job->work(*job);
    {
      std::lock_guard lock(mutex_);
      finished_.push_back(job);
    }
    uint64_t one = 1;
    ssize_t ignored = write(eventFd_, &one, sizeof one);
    (void)ignored;
  }
}

void ThreadPool::runCompletions() {
  uint64_t count;
  ssize_t ignored = read(eventFd_, &count, sizeof count);
  (void)ignored;
  std::deque<Job*> done;
  {
    std::lock_guard lock(mutex_);
    done.swap(finished_);
  }
  for (Job* job : done) {
    job->complete(*job);
    delete job;
  }
}

}  // namespace sample

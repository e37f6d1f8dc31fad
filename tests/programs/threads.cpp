// Test program: four threads, each leaking a known amount from its own stack.
// Thread t (0..3) leaks t+1 blocks of 1000+t bytes in leakOnThread; everything else is freed.
// Expected: leakOnThread leaks 10 blocks, 1000*1+1001*2+1002*3+1003*4 = 10020 bytes.
#include <cstdlib>
#include <cstring>
#include <thread>
#include <vector>

__attribute__((noinline)) void leakOnThread(int t) {
  for (int i = 0; i <= t; ++i) {
    void* p = malloc(1000 + t);
    memset(p, t, 1000 + t);
    asm volatile("" : : "r"(p) : "memory");
  }
}

int main() {
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([t] {
      for (int i = 0; i < 20000; ++i) {
        auto* churn = new std::vector<int>(i % 64 + 1);
        delete churn;
      }
      leakOnThread(t);
    });
  }
  for (auto& t : threads) t.join();
  return 0;
}

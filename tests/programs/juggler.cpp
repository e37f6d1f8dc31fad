// Test program: a snapshot must be one moment of the program, however it copies memory.
// A juggler thread moves 2,000 small nodes between two lists without pause; a node is
// always on a list or in the juggler's hands (a register, its stack). A toggler thread
// hangs a chain of 100 nodes from two anchors on pages of their own by turns, never from
// neither, and never holds it in a register (lock xor in memory). A snapshot that saw
// some heap pages before a change and others after it would find nodes on no list, or
// the chain on no anchor: definitely lost. Around them, 240 MB of 4 KiB blocks chained
// from a global (all reachable), the heap a guarded snapshot keeps out of its copy (more
// than the scan holds at once: it lets windows go and reads them again), and
// the planted leak: plantTen drops 10 blocks of 1,000 bytes before the juggling starts
// (marked "planted"). Asks for a snapshot every 20 ms by itself.
//   juggler SECONDS
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <thread>

#include "tidemark.h"

namespace {

struct Node {
  Node* next;
  char payload[56];
};

struct Big {
  Big* next;
  char payload[4096 - sizeof(Big*)];
};

Big* chain;
Node* lists[2];
Big* anchors[2];  // their first word holds the chain, or a spare node, by turns
Node* spares[2];
std::atomic<bool> stopping{false};

__attribute__((noinline)) void plantTen() {
  for (int i = 0; i < 10; ++i) {
    void* p = malloc(1000);
    memset(p, i, 1000);
    asm volatile("" : : "r"(p) : "memory");
  }
}

// Big blocks with the nodes among them, so that the lists run across many pages.
void build() {
  for (int i = 0; i < 40'000; ++i) {
    auto* big = static_cast<Big*>(malloc(sizeof(Big)));
    memset(big->payload, 1, sizeof big->payload);
    big->next = chain;
    chain = big;
    if (i % 20 == 0) {
      auto* node = static_cast<Node*>(calloc(1, sizeof(Node)));
      node->next = lists[0];
      lists[0] = node;
    }
  }
}

// Moves the head of list `from` to the other list; false when `from` is empty.
bool moveOne(int from) {
  Node* node = lists[from];
  if (!node) return false;
  lists[from] = node->next;
  node->payload[0]++;  // a write to the node's page while only this thread holds it
  node->next = lists[1 - from];
  lists[1 - from] = node;
  return true;
}

// By turns: a whole list over to the other (every node's page written in turn), and one
// node back and forth between the heads (the same few pages written all the time).
void juggle() {
  int from = 0;
  for (unsigned round = 0; !stopping.load(std::memory_order_relaxed); ++round) {
    if (round % 2 == 0) {
      while (moveOne(from)) {
      }
      from = 1 - from;
    } else {
      for (int i = 0; i < 1000; ++i) {
        moveOne(from);
        from = 1 - from;
      }
    }
  }
}

// The chain hangs from anchor 0, or 1, or both; the keys (chain ^ spare) are no pointers.
void toggle() {
  auto word = [](int i) { return reinterpret_cast<std::atomic<uintptr_t>*>(anchors[i]); };
  uintptr_t keys[2];
  for (int i = 0; i < 2; ++i) keys[i] = word(i)->load() ^ reinterpret_cast<uintptr_t>(spares[i]);
  word(1)->fetch_xor(keys[1]);  // anchor 1 holds a spare first
  while (!stopping.load(std::memory_order_relaxed)) {
    word(1)->fetch_xor(keys[1]);  // both hold the chain
    word(0)->fetch_xor(keys[0]);  // anchor 1 alone
    word(0)->fetch_xor(keys[0]);  // both
    word(1)->fetch_xor(keys[1]);  // anchor 0 alone
  }
}

void buildChain() {
  Node* chainHead = nullptr;
  for (int i = 0; i < 100; ++i) {
    auto* node = static_cast<Node*>(calloc(1, sizeof(Node)));
    node->next = chainHead;
    chainHead = node;
  }
  for (int i = 0; i < 2; ++i) {
    spares[i] = static_cast<Node*>(calloc(1, sizeof(Node)));
    anchors[i] = static_cast<Big*>(calloc(1, sizeof(Big)));
    anchors[i]->next = reinterpret_cast<Big*>(chainHead);
    for (int k = 0; k < 10'000; ++k) {  // far apart: the child reads them at other times
      auto* big = static_cast<Big*>(malloc(sizeof(Big)));
      big->next = chain;
      chain = big;
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  int seconds = argc > 1 ? atoi(argv[1]) : 2;
  build();
  buildChain();
  plantTen();
  tidemark_mark("planted");
  std::thread juggler(juggle);
  std::thread toggler(toggle);
  auto end = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
  while (std::chrono::steady_clock::now() < end) {
    tidemark_snapshot();
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  stopping = true;
  juggler.join();
  toggler.join();
  int nodes = 0;
  for (Node* list : lists) {
    for (Node* n = list; n; n = n->next) ++nodes;
  }
  printf("nodes=%d\n", nodes);
  return nodes == 2'000 ? 0 : 1;
}

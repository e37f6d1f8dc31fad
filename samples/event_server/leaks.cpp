// The planted leaks documented in leaks.h. Keep the sizes and counts there in step.
#include "leaks.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace sample {

namespace {
CacheEntry* cacheHead = nullptr;  // (c) the only reference to every cached response
uint64_t cacheSize = 0;
uint64_t ticksSeen = 0;

void countTick(Listener*, uint64_t) { ++ticksSeen; }
}  // namespace

LeakSwitches LeakSwitches::parse(const std::string& letters) {
  LeakSwitches s;
  for (char c : letters) {
    switch (c) {
      case 'a':
        s.errorBuffer = true;
        break;
      case 'b':
        s.session = true;
        break;
      case 'c':
        s.cache = true;
        break;
      case 'd':
        s.listener = true;
        break;
      case 'e':
        s.poolScratch = true;
        break;
      default:
        break;
    }
  }
  return s;
}

__attribute__((noinline)) void leakErrorBuffer(uint64_t request) {
  // Formatted on the stack, then copied: printf leaves pointers into the buffer it writes
  // in dead stack words, which a later frame's unset locals can keep alive, and a leak
  // checker then calls the block possibly lost (memcheck did, in one test run).
  char text[256] = {};
  snprintf(text, sizeof text, "request %llu: validation failed, answering ERR",
           static_cast<unsigned long long>(request));
  char* message = static_cast<char*>(malloc(256));
  memcpy(message, text, sizeof text);  // no stale bytes that could look like pointers
  // The bug: the message is "logged" but never freed.
  asm volatile("" : : "r"(message) : "memory");
}

__attribute__((noinline)) char* copyPeerName(const char* peer) {
  char* name = static_cast<char*>(calloc(1, 32));
  snprintf(name, 32, "%s", peer);
  return name;
}

__attribute__((noinline)) Session* openSession(uint64_t connectionId, const char* peer) {
  auto* session = new Session{};
  session->id = connectionId;
  session->peerName = copyPeerName(peer);
  return session;
}

__attribute__((noinline)) void cacheResponse(uint64_t request, uint64_t checksum) {
  auto* entry = static_cast<CacheEntry*>(calloc(1, sizeof(CacheEntry)));
  entry->request = request;
  entry->checksum = checksum;
  snprintf(entry->text, sizeof entry->text, "OK %llu", static_cast<unsigned long long>(request));
  entry->next = cacheHead;
  cacheHead = entry;
  ++cacheSize;
}

uint64_t cachedResponses() { return cacheSize; }

EventEmitter& processEmitter() {
  static EventEmitter emitter;  // (d) lives as long as the process: listeners stay reachable
  return emitter;
}

__attribute__((noinline)) void subscribeConnection(EventEmitter& emitter, uint64_t connectionId) {
  auto* listener = new Listener{};
  snprintf(listener->event, sizeof listener->event, "tick");
  listener->callback = countTick;
  listener->context = reinterpret_cast<void*>(connectionId);
  emitter.on(listener);
}

__attribute__((noinline)) void poolScratch(uint64_t job) {
  char* scratch = static_cast<char*>(malloc(512));
  memset(scratch, static_cast<int>(job & 0xff), 512);
  asm volatile("" : : "r"(scratch) : "memory");
}

}  // namespace sample

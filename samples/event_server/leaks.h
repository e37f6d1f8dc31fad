// The planted leaks of the sample event server, each switched on by its letter in
// --leaks (default "abcde"). With N requests over M connections, where every connection
// sends at least one request (as the load generator does), the server leaves exactly:
//
// (a) leakErrorBuffer    every 7th request (request numbers 7, 14, ...) takes the
//                        validation-error path, which formats its message into a 256-byte
//                        malloc'ed buffer and drops it:
//                        floor(N/7) blocks, 256*floor(N/7) bytes — definitely lost.
// (b) openSession        a connection's first request creates a Session (operator new,
//                        64 bytes) that owns its peer name (copyPeerName, malloc, 32 bytes);
//                        closing the connection forgets the session:
//                        M blocks, 64*M bytes — definitely lost (Session), and
//                        M blocks, 32*M bytes (calloc) — indirectly lost (name, via Session).
// (c) cacheResponse      every request's response is kept in a global cache that never
//                        evicts: N blocks, 48*N bytes (calloc) — still reachable at exit.
// (d) subscribeConnection a connection's first request adds a 40-byte Listener to the
//                        process-wide emitter (a static) and never removes it:
//                        M blocks, 40*M bytes — still reachable at exit.
// (e) poolScratch        on a pool thread, every 10th job (one job per request, numbered
//                        like requests) allocates a 512-byte scratch buffer and drops it:
//                        floor(N/10) blocks, 512*floor(N/10) bytes — definitely lost.
//
// Every other allocation (requests, jobs, read buffers, responses, timers, connections)
// is freed. Each function below is noinline so it is a frame of its own in every stack.
// Leaked buffers are zero-filled, so no stale bytes in them look like pointers to a
// conservative scan (tidemark's snapshots, valgrind's leak check).
#pragma once

#include <cstdint>
#include <string>

#include "event_emitter.h"

namespace sample {

struct LeakSwitches {
  bool errorBuffer = false;  // a
  bool session = false;      // b
  bool cache = false;        // c
  bool listener = false;     // d
  bool poolScratch = false;  // e
  static LeakSwitches parse(const std::string& letters);
};

struct Session {
  uint64_t id;
  uint64_t connectedAtMs;
  uint64_t requests;
  char* peerName;
  uint64_t reserved[4];
};
static_assert(sizeof(Session) == 64);

struct CacheEntry {
  uint64_t request;
  uint64_t checksum;
  char text[24];
  CacheEntry* next;
};
static_assert(sizeof(CacheEntry) == 48);

// (a) Returns nothing: the message is logged and the buffer forgotten.
void leakErrorBuffer(uint64_t request);
// (b) The session of a connection; the caller drops it on close.
Session* openSession(uint64_t connectionId, const char* peer);
char* copyPeerName(const char* peer);
// (c)
void cacheResponse(uint64_t request, uint64_t checksum);
uint64_t cachedResponses();
// (d) The process-wide emitter, and the leak.
EventEmitter& processEmitter();
void subscribeConnection(EventEmitter& emitter, uint64_t connectionId);
// (e) Called on a pool thread.
void poolScratch(uint64_t job);

}  // namespace sample

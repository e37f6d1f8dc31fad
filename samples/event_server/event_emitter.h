// A Node.js-style event emitter: named events with a list of listeners.
#pragma once

#include <cstdint>
#include <cstring>

namespace sample {

// 40 bytes on x86-64; its size is part of the documented leak (d) in leaks.h.
struct Listener {
  char event[16];
  void (*callback)(Listener*, uint64_t);
  void* context;
  Listener* next;
};
static_assert(sizeof(Listener) == 40);

class EventEmitter {
 public:
  void on(Listener* listener) {
    listener->next = head_;
    head_ = listener;
  }
  void emit(const char* event, uint64_t value) {
    for (Listener* l = head_; l; l = l->next) {
      if (strncmp(l->event, event, sizeof l->event) == 0) l->callback(l, value);
    }
  }
  // Listeners are owned by whoever added them; the emitter never frees them.
  Listener* head() const { return head_; }

 private:
  Listener* head_ = nullptr;
};

}  // namespace sample

// Test program: every form of operator new running out of memory, as the standard says it
// goes: the new-handler is called until it gives up (here: it removes itself on its
// second call), then the throwing forms throw std::bad_alloc and the nothrow forms return
// nullptr. The tracer, built without exceptions, lets bad_alloc through and keeps the
// nothrow forms from throwing. Also loses two blocks from nothrow forms that succeeded
// (77 and 99 bytes). Prints one line per form; exits 0.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <new>

namespace {

// Larger than PTRDIFF_MAX: glibc's malloc refuses it whatever the overcommit policy.
// Volatile: the compiler is not to see (and warn about) a size it knows is too large.
volatile size_t tooMuch = size_t{PTRDIFF_MAX} + 1;
constexpr std::align_val_t kAlign{64};
int handlerCalls = 0;
void* volatile sink;

void giveUpOnSecondCall() {
  if (++handlerCalls == 2) std::set_new_handler(nullptr);
}

template <typename Allocate>
void tryForm(const char* form, Allocate allocate) {
  handlerCalls = 0;
  std::set_new_handler(giveUpOnSecondCall);
  const char* outcome;
  try {
    sink = allocate();
    outcome = sink ? "memory" : "nullptr";
  } catch (const std::bad_alloc&) {
    outcome = "bad_alloc";
  }
  printf("%s: %s, new-handler called %d times\n", form, outcome, handlerCalls);
}

__attribute__((noinline)) void loseNothrowBlocks() {
  sink = ::operator new[](77, std::nothrow);
  sink = ::operator new(99, kAlign, std::nothrow);
  sink = nullptr;
}

}  // namespace

int main() {
  tryForm("new", [] { return ::operator new(tooMuch); });
  tryForm("new[]", [] { return ::operator new[](tooMuch); });
  tryForm("new aligned", [] { return ::operator new(tooMuch, kAlign); });
  tryForm("new[] aligned", [] { return ::operator new[](tooMuch, kAlign); });
  tryForm("new nothrow", [] { return ::operator new(tooMuch, std::nothrow); });
  tryForm("new[] nothrow", [] { return ::operator new[](tooMuch, std::nothrow); });
  tryForm("new aligned nothrow", [] { return ::operator new(tooMuch, kAlign, std::nothrow); });
  tryForm("new[] aligned nothrow", [] { return ::operator new[](tooMuch, kAlign, std::nothrow); });
  std::set_new_handler(nullptr);
  loseNothrowBlocks();
  return 0;
}

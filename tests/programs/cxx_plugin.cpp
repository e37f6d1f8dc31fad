// A C++ library for test_cxx_loader (a C program): asks operator new for more than there
// is and catches the bad_alloc. Traced, the tracer's operator new throws it through the
// C++ runtime this library brought, which the tracer found when the library was loaded.
#include <cstddef>
#include <cstdint>
#include <new>

namespace {
// Larger than PTRDIFF_MAX: glibc's malloc refuses it whatever the overcommit policy.
volatile size_t tooMuch = size_t{PTRDIFF_MAX} + 1;
}  // namespace

extern "C" int plugin_new_fails() {
  try {
    ::operator delete(::operator new(tooMuch));
    return 0;
  } catch (const std::bad_alloc&) {
    return 1;
  }
}

// A C++ library for test_cxx_loader (a C program): asks operator new for more than there
// is and catches the bad_alloc. Traced, the tracer's operator new throws it through the
// C++ runtime this library brought, which the tracer found when the library was loaded.
#include <cstdint>
#include <new>

extern "C" int plugin_new_fails() {
  try {
    ::operator delete(::operator new(SIZE_MAX / 2));
    return 0;
  } catch (const std::bad_alloc&) {
    return 1;
  }
}

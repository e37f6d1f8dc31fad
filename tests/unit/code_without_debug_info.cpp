// A function with no debug information between two with line tables, the one before it
// ending in a row at its end address, as GCC's often do (written here by hand, so the
// layout never depends on the compiler). libdw takes the compile unit of the nearest
// range below an address and, in its sorted rows, the nearest row below it, which is
// that zero-length row: crt1.o's _start was named at a line of stl_uninitialized.h.
// Compiled with -g0 (tests/CMakeLists.txt): the assembler writes the only compile unit.
// The sections come in the order they are first named here, which the linker keeps.
#include "code_without_debug_info.h"

asm(R"(
  .text
  .p2align 4
  .type codeWithLines, @function
codeWithLines:
  .file 1 "code_with_lines.c"
  .loc 1 10
  ret
  .loc 1 11 0 view .Lrow_at_end   # a row at the end address: no instruction follows
  .size codeWithLines, .-codeWithLines

  .section .text.without_lines, "ax", @progbits

  .section .text.more_lines, "ax", @progbits
  .p2align 4
  .type moreCodeWithLines, @function
moreCodeWithLines:
  .loc 1 20
  ret
  .size moreCodeWithLines, .-moreCodeWithLines

  .section .text.label_without_type, "ax", @progbits
  .p2align 4
  .globl callThroughLabel   # no .type, no .size: a label, as in hand-written assembly
callThroughLabel:
  sub $8, %rsp              # the callee's stack is 16-byte aligned
  call *%rdi
  add $8, %rsp
  ret
)");

__attribute__((section(".text.without_lines"))) void* callFromCodeWithoutDebugInfo(
    void* (*callee)()) {
  void* result = callee();
  asm volatile("");  // keeps the call a call, not a jump
  return result;
}

// Test program: keeps the only pointer to a block of 888 bytes in rbx, a register a callee
// keeps for its caller, and calls _exit with it there (all in assembly, so no other copy
// is left in a register or a stack slot of main's). The thread that ends the trace waits
// inside the tracer for the exit snapshot, which scans it from the program's frame at
// that call, with the registers unwound from the tracer's frames: the block is reachable,
// as memcheck, which reads the registers too, says. Does not return.
#include <cstdio>

int main() {
  puts("exiting");  // a call of main's own: the stack is aligned for calls from here on
  fflush(stdout);
  asm volatile(
      "mov $888, %%edi\n\t"
      "call malloc@PLT\n\t"
      "mov %%rax, %%rbx\n\t"
      "xor %%eax, %%eax\n\t"
      "xor %%edi, %%edi\n\t"
      "call _exit@PLT\n\t"
      :
      :
      : "rax", "rbx", "rcx", "rdx", "rsi", "rdi", "r8", "r9", "r10", "r11", "memory");
  return 1;
}

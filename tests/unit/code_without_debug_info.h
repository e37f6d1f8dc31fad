// A function whose object has no DWARF (see code_without_debug_info.cpp).
#pragma once

// Calls callee and returns what it returns (a return address inside this function).
extern "C" __attribute__((noinline)) void* callFromCodeWithoutDebugInfo(void* (*callee)());

// The same from code under a label of assembly, a symbol without type or size.
extern "C" void* callThroughLabel(void* (*callee)());

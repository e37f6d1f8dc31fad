// Test library libtest_init_registry.so (init_registry.cpp), linked by test_library_init.
#pragma once

// Keeps `entry` in the registry the library's constructor allocated.
void registerEntry(int slot, void* entry);

// Allocates the library's cache (333 bytes), which its destructor frees.
void warmCache();

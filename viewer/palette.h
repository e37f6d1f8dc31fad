// The viewer's series colours, chosen to read on ImGui's dark and light themes. Tests
// look for these exact colours in screenshots.
#pragma once

#include <cstdint>

namespace tidemark::viewer::palette {

struct Rgb {
  uint8_t r, g, b;
  uint32_t imgui() const { return 0xff000000u | (uint32_t{b} << 16) | (uint32_t{g} << 8) | r; }
};

inline constexpr Rgb kHeap{64, 160, 255};       // live heap bytes
inline constexpr Rgb kRss{255, 170, 60};        // resident set size
inline constexpr Rgb kLost{235, 64, 64};        // definitely + indirectly lost, per snapshot
inline constexpr Rgb kSnapshot{180, 180, 190};  // snapshot markers
inline constexpr Rgb kMark{120, 220, 120};      // tidemark_mark() labels

}  // namespace tidemark::viewer::palette

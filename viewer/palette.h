// The viewer's colours, chosen to read on ImGui's dark and light themes. Tests look for
// these exact colours in screenshots.
#pragma once

#include <array>
#include <cstdint>

namespace tidemark::viewer::palette {

struct Rgb {
  uint8_t r, g, b;
  uint32_t imgui(float alpha = 1) const {
    auto a = static_cast<uint32_t>(alpha * 255 + 0.5f);
    return (a << 24) | (uint32_t{b} << 16) | (uint32_t{g} << 8) | r;
  }
};

inline constexpr Rgb kHeap{64, 160, 255};       // live heap bytes
inline constexpr Rgb kRss{255, 170, 60};        // resident set size
inline constexpr Rgb kLost{235, 64, 64};        // definitely + indirectly lost, per snapshot
inline constexpr Rgb kIndirect{170, 40, 60};    // indirectly lost, in the leak view
inline constexpr Rgb kPossible{240, 140, 60};   // possibly lost, in the leak view
inline constexpr Rgb kSnapshot{180, 180, 190};  // snapshot markers
inline constexpr Rgb kMark{120, 220, 120};      // tidemark_mark() labels
inline constexpr Rgb kRate{190, 120, 250};      // allocation calls per second
inline constexpr Rgb kSelection{250, 220, 80};  // the selected time range
inline constexpr Rgb kCursor{240, 240, 255};    // the chosen time
inline constexpr Rgb kGrowth{235, 64, 64};      // net growth in the comparison
inline constexpr Rgb kShrink{80, 200, 120};     // net shrinkage in the comparison
// The stacked top sites, bottom first; muted so the lines stay readable over them.
inline constexpr std::array<Rgb, 5> kSites{
    {{70, 130, 180}, {150, 110, 190}, {90, 160, 120}, {190, 140, 80}, {120, 120, 150}}};
// Flame graph bars (warm, by function name) and their labels.
inline constexpr std::array<Rgb, 6> kFlame{{{230, 110, 60},
                                            {235, 140, 70},
                                            {220, 160, 60},
                                            {225, 95, 80},
                                            {240, 175, 90},
                                            {210, 125, 50}}};
inline constexpr Rgb kFlameText{20, 20, 20};

}  // namespace tidemark::viewer::palette

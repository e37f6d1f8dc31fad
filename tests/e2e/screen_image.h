// Screenshots read back as pixels, and text found in them: the viewer tests check what
// was drawn, not what the code meant to draw.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "../../viewer/palette.h"

namespace tidemark::e2e {

struct Image {
  int width = 0, height = 0;
  std::vector<unsigned char> rgba;
  const unsigned char* at(int x, int y) const {
    return &rgba[(static_cast<size_t>(y) * width + x) * 4];
  }
  bool is(int x, int y, viewer::palette::Rgb c) const {
    const unsigned char* p = at(x, y);
    return p[0] == c.r && p[1] == c.g && p[2] == c.b;
  }
  // Pixels of colour `c` in the rectangle [x0, x1) x [y0, y1).
  int count(viewer::palette::Rgb c, int x0, int y0, int x1, int y1) const;
};

// Reads a PNG; fails the test when it cannot.
Image loadPng(const std::string& path);

struct Point {
  int x, y;
};
// Where `text` is drawn in colour `c` in ImGui's default font (ProggyClean, 13 px): the
// glyphs come from the font atlas ImGui itself builds, laid out as ImGui lays out a line,
// and every lit pixel of them must be `c` in the image, and nearly every other pixel of
// their box not. The top-left of the first match in reading order, or nullopt.
std::optional<Point> findText(const Image& image, const std::string& text, viewer::palette::Rgb c);

}  // namespace tidemark::e2e

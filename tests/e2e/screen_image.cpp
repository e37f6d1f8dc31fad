// Screenshot pixels and text search (see screen_image.h).
#include "screen_image.h"

#include <imgui.h>
#include <stb_image.h>

#include <catch2/catch.hpp>
#include <cmath>

namespace tidemark::e2e {

int Image::count(viewer::palette::Rgb c, int x0, int y0, int x1, int y1) const {
  int n = 0;
  for (int y = std::max(y0, 0); y < std::min(y1, height); ++y) {
    for (int x = std::max(x0, 0); x < std::min(x1, width); ++x) n += is(x, y, c);
  }
  return n;
}

Image loadPng(const std::string& path) {
  Image image;
  int channels = 0;
  unsigned char* data = stbi_load(path.c_str(), &image.width, &image.height, &channels, 4);
  REQUIRE(data);
  image.rgba.assign(data, data + static_cast<size_t>(image.width) * image.height * 4);
  stbi_image_free(data);
  return image;
}

namespace {

// The lit pixels of `text` as ImGui would draw it at (0, 0).
struct TextMask {
  int width = 0, height = 0;
  std::vector<bool> lit;
};

TextMask maskOf(const std::string& text) {
  ImFontAtlas atlas;
  ImFont* font = atlas.AddFontDefault();
  unsigned char* pixels = nullptr;
  int texWidth = 0, texHeight = 0;
  atlas.GetTexDataAsAlpha8(&pixels, &texWidth, &texHeight);
  TextMask mask;
  mask.height = static_cast<int>(std::ceil(font->FontSize));
  float pen = 0;
  for (char ch : text) pen += font->FindGlyph(static_cast<ImWchar>(ch))->AdvanceX;
  mask.width = static_cast<int>(std::ceil(pen));
  mask.lit.assign(static_cast<size_t>(mask.width) * mask.height, false);
  pen = 0;
  for (char ch : text) {
    const ImFontGlyph* g = font->FindGlyph(static_cast<ImWchar>(ch));
    int u0 = static_cast<int>(std::lround(g->U0 * texWidth));
    int v0 = static_cast<int>(std::lround(g->V0 * texHeight));
    int w = static_cast<int>(std::lround(g->X1 - g->X0));
    int h = static_cast<int>(std::lround(g->Y1 - g->Y0));
    for (int y = 0; y < h; ++y) {
      for (int x = 0; x < w; ++x) {
        int mx = static_cast<int>(std::lround(pen + g->X0)) + x;
        int my = static_cast<int>(std::lround(g->Y0)) + y;
        if (mx < 0 || my < 0 || mx >= mask.width || my >= mask.height) continue;
        if (pixels[(v0 + y) * texWidth + u0 + x] > 128) {
          mask.lit[static_cast<size_t>(my) * mask.width + mx] = true;
        }
      }
    }
    pen += g->AdvanceX;
  }
  return mask;
}

}  // namespace

std::optional<Point> findText(const Image& image, const std::string& text, viewer::palette::Rgb c) {
  TextMask mask = maskOf(text);
  size_t litCount = 0, firstLit = 0;
  for (size_t i = mask.lit.size(); i-- > 0;) {
    if (mask.lit[i]) ++litCount, firstLit = i;
  }
  if (litCount == 0) return std::nullopt;
  int fx = static_cast<int>(firstLit % mask.width), fy = static_cast<int>(firstLit / mask.width);
  for (int y = 0; y + mask.height <= image.height; ++y) {
    for (int x = 0; x + mask.width <= image.width; ++x) {
      if (!image.is(x + fx, y + fy, c)) continue;  // cheap rejection
      size_t wrong = 0;
      bool litMissing = false;
      for (int my = 0; my < mask.height && !litMissing; ++my) {
        for (int mx = 0; mx < mask.width; ++mx) {
          bool on = image.is(x + mx, y + my, c);
          if (mask.lit[static_cast<size_t>(my) * mask.width + mx]) {
            if (!on) {
              litMissing = true;
              break;
            }
          } else {
            wrong += on;
          }
        }
      }
      // Lit pixels all there; stray ones in the box at most a few (a neighbour's glyph).
      if (!litMissing && wrong * 50 <= litCount) return Point{x, y};
    }
  }
  return std::nullopt;
}

}  // namespace tidemark::e2e
